/**
 * ClapNQ dev end-to-end answering benchmark: every passage of the answerable and unanswerable dev
 * files (deduplicated by title + text) is written as a Markdown file and ingested through the
 * service's own watcher, in-process queue and worker on in-memory PGlite; every question is then
 * asked through the real POST /ask route (createApp) with the default extractive generator,
 * lexical reranker and verification. Figures only, no assertions.
 *
 *   npm run bench:clapnq -- [--limit N] [--top-k 8] [--data ../shared/eval-data/clapnq]
 *
 * --limit N takes the first N questions of each file (default: all).
 * Reports: answerable questions answered with the gold passage cited, answered at all;
 * unanswerable questions abstained; context budget violations (usage, and re-counted with the
 * generator's tokenizer over the sources as the generator received them); latency p50/p95.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { createEmbedder } from "../pipelines/embed/index.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import type { Generator } from "../pipelines/generate/types.js";
import { createApp } from "../services/api/app.js";
import type { ApiDeps } from "../services/api/context.js";
import { createCoreDeps } from "../services/common/deps.js";
import { createLogger } from "../services/common/log.js";
import { createMetrics } from "../services/common/metrics.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import { createSourceWatcher } from "../services/watcher/watcher.js";
import { createWorker } from "../services/worker/worker.js";

const { values: args } = parseArgs({
  options: {
    limit: { type: "string" },
    "top-k": { type: "string", default: "8" },
    data: { type: "string", default: new URL("../../shared/eval-data/clapnq/", import.meta.url).pathname },
  },
});
const MAX_FILE_BYTES = 1_000_000;
const log = createLogger("silent");

interface Passage {
  title: string;
  text: string;
}
interface Item {
  id: string;
  input: string;
  passages: Passage[];
}
const read = (name: string): Item[] =>
  readFileSync(join(args.data!, name), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Item);

const key = (p: Passage) => createHash("sha256").update(`${p.title}\u0000${p.text}`).digest("hex").slice(0, 16);
const fileOf = (p: Passage) => `p-${key(p)}.md`;

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : "n/a");
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
};

async function main() {
  const limit = args.limit ? Number(args.limit) : undefined;
  const answerableAll = read("clapnq_dev_answerable.jsonl");
  const unanswerableAll = read("clapnq_dev_unanswerable.jsonl");
  const answerable = answerableAll.slice(0, limit ?? answerableAll.length);
  const unanswerable = unanswerableAll.slice(0, limit ?? unanswerableAll.length);

  // Index ALL passages of both files (not only those of the limited questions), deduplicated.
  const dir = mkdtempSync(join(tmpdir(), "bench-clapnq-src-"));
  const dataDir = mkdtempSync(join(tmpdir(), "bench-clapnq-db-"));
  const passages = new Map<string, Passage>();
  for (const item of [...answerableAll, ...unanswerableAll]) for (const p of item.passages) passages.set(fileOf(p), p);
  for (const [file, p] of passages) writeFileSync(join(dir, file), `# ${p.title}\n\n${p.text}\n`);
  console.log(`passages: ${passages.size} unique (of ${answerableAll.length + unanswerableAll.length} questions' passages) in ${dir}`);

  const embedder = await createEmbedder("use-lite");
  const core = await createCoreDeps(
    { DATA_DIR: dataDir, DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES },
    log,
    { embedder, inMemory: true },
  );
  const queue = createInProcessQueue();
  const metrics = createMetrics({ queue: () => queue });
  createWorker({ core, queue, log, maxFileBytes: MAX_FILE_BYTES, metrics }).start();
  const watcher = createSourceWatcher({ catalog: core.catalog, queue, log, dirs: [dir], collection: "default", maxFileBytes: MAX_FILE_BYTES });
  const t0 = performance.now();
  await watcher.start();
  await queue.idle();
  const counts = await core.catalog.countDocuments();
  console.log(`ingested: ${counts.indexed ?? 0} documents indexed, ${counts.failed ?? 0} failed, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // The default extractive generator, wrapped only to re-count what it was given with its own
  // tokenizer, laid out as the prompt lays it out (renderSource, joined).
  const inner = createExtractiveGenerator();
  let lastRecount: number | null = null;
  const generator: Generator = {
    ...inner,
    promptTokens: (q) => inner.promptTokens(q),
    renderSource: (s) => inner.renderSource(s),
    generate: (input) => {
      lastRecount = inner.tokenizer.count(input.sources.map((s) => inner.renderSource(s)).join(""));
      return inner.generate(input);
    },
  };
  const deps: ApiDeps = {
    config: { MAX_BODY_BYTES: 64 * 1024, MAX_QUESTION_CHARS: 2000, DEFAULT_TOP_K: Number(args["top-k"]) },
    log,
    generator,
    core,
    queue,
    metrics,
  };
  const app = createApp(deps);

  interface Result {
    kind: "answerable" | "unanswerable";
    abstained: boolean;
    goldCited: boolean;
    ms: number;
    contextTokens: number;
    contextBudget: number;
    recount: number | null;
  }
  const results: Result[] = [];
  const questions = [
    ...answerable.map((q) => ({ q, kind: "answerable" as const })),
    ...unanswerable.map((q) => ({ q, kind: "unanswerable" as const })),
  ];
  const tAsk = performance.now();
  for (const [i, { q, kind }] of questions.entries()) {
    lastRecount = null;
    const start = performance.now();
    const res = await app.request("/ask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: q.input }),
    });
    const ms = performance.now() - start;
    const body = (await res.json()) as any;
    if (res.status !== 200) throw new Error(`/ask ${res.status}: ${JSON.stringify(body)}`);
    const gold = fileOf(q.passages[0]!);
    results.push({
      kind,
      abstained: body.abstained,
      goldCited: !body.abstained && (body.citations as Array<{ path: string }>).some((c) => basename(c.path) === gold),
      ms,
      contextTokens: body.usage.contextTokens,
      contextBudget: body.usage.contextBudget,
      recount: lastRecount,
    });
    if ((i + 1) % 100 === 0) console.log(`  asked ${i + 1}/${questions.length} (${((performance.now() - tAsk) / 1000).toFixed(0)} s)`);
  }

  const ans = results.filter((r) => r.kind === "answerable");
  const una = results.filter((r) => r.kind === "unanswerable");
  const over = (rs: Result[]) => rs.filter((r) => r.contextTokens > r.contextBudget).length;
  const overRecount = (rs: Result[]) => rs.filter((r) => r.recount !== null && r.recount > r.contextBudget).length;
  const mismatch = (rs: Result[]) => rs.filter((r) => r.recount !== null && r.recount !== r.contextTokens).length;
  const first100 = results.slice(0, 100);
  const ms = results.map((r) => r.ms);

  const answeredGold = ans.filter((r) => r.goldCited).length;
  const answered = ans.filter((r) => !r.abstained).length;
  const abstained = una.filter((r) => r.abstained).length;
  console.log(`\nClapNQ dev, ${ans.length} answerable + ${una.length} unanswerable questions, ${passages.size} passages indexed, topK ${args["top-k"]}, extractive generator, lexical reranker, VERIFY_MODE=remove, VERIFY_MIN_SUPPORTED=0.5\n`);
  console.log("| metric | value | goal |");
  console.log("|---|---|---|");
  console.log(`| answerable: answered with gold passage cited | ${answeredGold}/${ans.length} = ${pct(answeredGold, ans.length)} | >= 80% ${answeredGold / ans.length >= 0.8 ? "MET" : "NOT MET"} |`);
  console.log(`| answerable: answered at all | ${answered}/${ans.length} = ${pct(answered, ans.length)} | |`);
  console.log(`| unanswerable: abstained | ${abstained}/${una.length} = ${pct(abstained, una.length)} | >= 90% ${abstained / una.length >= 0.9 ? "MET" : "NOT MET"} |`);
  console.log(`| budget violations, first ${first100.length} (usage.contextTokens > contextBudget) | ${over(first100)} | 0 |`);
  console.log(`| budget violations, first ${first100.length} (re-counted with ${inner.tokenizer.encoding}) | ${overRecount(first100)} (n=${first100.filter((r) => r.recount !== null).length} with sources) | 0 |`);
  console.log(`| budget violations, all ${results.length} (usage / re-count) | ${over(results)} / ${overRecount(results)} | 0 |`);
  console.log(`| re-count differs from usage.contextTokens | ${mismatch(results)} of ${results.filter((r) => r.recount !== null).length} | |`);
  console.log(`| latency /ask p50 / p95 | ${quantile(ms, 0.5).toFixed(0)} ms / ${quantile(ms, 0.95).toFixed(0)} ms | |`);
  console.log(`| max contextTokens / budget seen | ${Math.max(...results.map((r) => r.contextTokens))} / ${Math.min(...results.map((r) => r.contextBudget))} | |`);

  await watcher.close();
  await queue.close();
  await core.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
