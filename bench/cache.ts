/**
 * The answer cache under a replayed workload (issue 18): ClapNQ dev questions asked, repeated,
 * re-typed, paraphrased, turned into near misses (another number, a negation, another name),
 * asked of another collection holding the same passages, and asked again after the cited file was
 * edited. Everything goes through the real POST /ask (createApp) on in-memory PGlite with USE-Lite,
 * the extractive generator and the lexical reranker; the cache is on with the given threshold.
 *
 *   npm run bench:cache -- [--questions 40] [--min-similarity 1] [--edits 10] [--distractors 40] [--data ../shared/eval-data/clapnq]
 *
 * Prints: hit rate by kind of question, false hits (a hit whose cited chunks differ from a fresh
 * answer's to the same question, asked with cache: false right after), stale hits (a hit after an
 * edit to a document of its collection), hit p50 against miss p50, the similarity of paraphrases
 * and near misses to their originals (what the threshold was set from), and the load while it ran.
 * Figures only, no assertions.
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createEmbedder } from "../pipelines/embed/index.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { createApp } from "../services/api/app.js";
import type { ApiDeps } from "../services/api/context.js";
import { createCoreDeps } from "../services/common/deps.js";
import { createLogger } from "../services/common/log.js";
import { createMetrics } from "../services/common/metrics.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import { createSourceWatcher } from "../services/watcher/watcher.js";
import { createWorker } from "../services/common/ingest-worker.js";
import { DEFAULT_CLAPNQ_DIR, fileOf, readClapnq, type Passage } from "./clapnq-data.js";
import { createLexicalReranker } from "../pipelines/rerank/lexical.js";

const { values: args } = parseArgs({
  options: {
    questions: { type: "string", default: "40" },
    "min-similarity": { type: "string", default: "1" },
    edits: { type: "string", default: "10" },
    distractors: { type: "string", default: "40" },
    data: { type: "string", default: DEFAULT_CLAPNQ_DIR },
  },
});
const log = createLogger("silent");
const load0 = loadavg();

type Kind =
  | "first"
  | "repeat"
  | "retyped"
  | "paraphrase"
  | "number"
  | "negation"
  | "name"
  | "other-collection"
  | "after-edit";
interface Ask {
  kind: Kind;
  question: string;
  hit: boolean;
  similarity: number | null;
  ms: number;
  falseHit: boolean | null;
  stale: boolean;
}

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(0.5 * s.length) - 1)]! : NaN;
};
const quantiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) =>
    s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!.toFixed(3) : "-";
  return `min ${q(0)} p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)} max ${q(1)} (n=${s.length})`;
};
const cosine = (a: number[], b: number[]) => {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
};

// Near misses, made by rule from the question: each changes what is asked.
const AUX = /\b(is|was|are|were|did|does|do|can|could|has|have|had|will|would)\b/i;
const negate = (q: string) => (AUX.test(q) ? q.replace(AUX, (m) => `${m} not`) : q.replace(/^(\w+)/, "$1 did not"));
const otherNumber = (q: string) => (/\d+/.test(q) ? q.replace(/\d+/, (n) => String(Number(n) + 1)) : null);
const lowerFirst = (q: string) => q.charAt(0).toLowerCase() + q.slice(1);

async function main() {
  const n = Number(args.questions);
  const edits = Number(args.edits);
  const minSimilarity = Number(args["min-similarity"]);
  const { answerable, unanswerable } = readClapnq(args.data);
  const items = answerable.slice(0, n);
  // Distractors: passages of other questions, so retrieval has something to choose between.
  const d = Number(args.distractors);
  const distractors = [...answerable.slice(n, n + Math.ceil(d / 2)), ...unanswerable.slice(0, Math.floor(d / 2))];
  const passages = new Map<string, Passage>();
  for (const it of [...items, ...distractors]) {
    for (const p of it.passages) {
      passages.set(fileOf(p), p);
    }
  }

  const dirs = {
    one: mkdtempSync(join(tmpdir(), "bench-cache-one-")),
    two: mkdtempSync(join(tmpdir(), "bench-cache-two-")),
  };
  for (const dir of Object.values(dirs)) {
    for (const [file, p] of passages) {
      writeFileSync(join(dir, file), `# ${p.title}\n\n${p.text}\n`);
    }
  }
  const dataDir = mkdtempSync(join(tmpdir(), "bench-cache-db-"));
  const embedder = await createEmbedder("use-lite");
  const core = await createCoreDeps(
    { DATA_DIR: dataDir, DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES: 1_000_000 },
    log,
    { embedder, inMemory: true },
  );
  const queue = createInProcessQueue();
  const metrics = createMetrics({ queue: () => queue });
  createWorker({ core, queue, log, maxFileBytes: 1_000_000, metrics }).start();
  const watchers = Object.entries(dirs).map(([collection, dir]) =>
    createSourceWatcher({
      catalog: core.catalog,
      queue,
      log,
      dirs: [dir],
      collection,
      maxFileBytes: 1_000_000,
      stabilityMs: 100,
    }),
  );
  const t0 = performance.now();
  for (const w of watchers) {
    await w.start();
  }
  await queue.idle();
  console.log(
    `indexed ${passages.size} passages twice (collections one and two) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const deps: ApiDeps = {
    config: {
      MAX_BODY_BYTES: 64 * 1024,
      MAX_QUESTION_CHARS: 2000,
      DEFAULT_TOP_K: 8,
      ANSWER_CACHE: true,
      ANSWER_CACHE_MIN_SIMILARITY: minSimilarity,
    },
    log,
    generator: createExtractiveGenerator(),
    reranker: createLexicalReranker(),
    core,
    queue,
    metrics,
  };
  const app = createApp(deps);
  const post = async (question: string, body: Record<string, unknown>) => {
    const t = performance.now();
    const res = await app.request("/ask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question, ...body }),
    });
    const json = (await res.json()) as any;
    if (res.status !== 200) {
      throw new Error(`/ask ${res.status}: ${JSON.stringify(json)}`);
    }
    return { ms: performance.now() - t, body: json };
  };
  const chunks = (b: any) => JSON.stringify((b.citations as Array<{ chunkId: string }>).map((c) => c.chunkId).sort());

  const asks: Ask[] = [];
  const editedAt = new Map<string, number>(); // collection -> time of the last edit
  async function ask(kind: Kind, question: string, collection = "one") {
    const r = await post(question, { collection });
    const hit = r.body.cache.hit === true;
    let falseHit: boolean | null = null;
    let stale = false;
    if (hit) {
      // The same question answered fresh, right now: a correct hit cites the same chunks.
      const fresh = await post(question, { collection, cache: false });
      falseHit = chunks(fresh.body) !== chunks(r.body);
      const edited = editedAt.get(collection);
      stale = edited !== undefined && Date.now() - r.body.cache.ageMs < edited;
    }
    asks.push({ kind, question, hit, similarity: r.body.cache.similarity, ms: r.ms, falseHit, stale });
    return r.body;
  }

  const sims: Record<string, number[]> = { paraphrase: [], "near miss": [], "other question": [] };
  const vec = async (t: string) => (await embedder.embed([t]))[0]!;
  const firstBodies = new Map<string, any>();
  for (const [i, item] of items.entries()) {
    const q = item.input.trim();
    firstBodies.set(q, await ask("first", q));
    await ask("repeat", q);
    await ask("retyped", `  ${q.toUpperCase().replace(/\?$/, "")}  `);
    const paraphrases = [`can you tell me ${lowerFirst(q)}`, `${q.replace(/\?$/, "")}, please?`];
    for (const p of paraphrases) {
      await ask("paraphrase", p);
    }
    const nearMisses: Array<[Kind, string]> = [["negation", negate(q)]];
    const num = otherNumber(q);
    if (num) {
      nearMisses.push(["number", num]);
    }
    // Another question's title word in place of this one's (a name swap when it is a name).
    const other = items[(i + 1) % items.length]!.passages[0]!.title.split(/\s+/)[0]!;
    const mine = item.passages[0]!.title.split(/\s+/)[0]!;
    if (other.toLowerCase() !== mine.toLowerCase() && q.toLowerCase().includes(mine.toLowerCase())) {
      nearMisses.push(["name", q.replace(new RegExp(mine.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i"), other)]);
    }
    for (const [kind, text] of nearMisses) {
      await ask(kind, text);
    }
    await ask("other-collection", q, "two");
    const v = await vec(q);
    for (const p of paraphrases) {
      sims.paraphrase!.push(cosine(v, await vec(p)));
    }
    for (const [, text] of nearMisses) {
      sims["near miss"]!.push(cosine(v, await vec(text)));
    }
    sims["other question"]!.push(cosine(v, await vec(items[(i + 1) % items.length]!.input)));
    if ((i + 1) % 10 === 0) {
      console.log(`  ${i + 1}/${items.length} questions replayed`);
    }
  }

  // Edit the file each of the first `edits` answers cited (in collection one), then ask again.
  let editedQuestions = 0;
  for (const item of items.slice(0, edits)) {
    const q = item.input.trim();
    const body = firstBodies.get(q);
    const path = body?.citations?.[0]?.path as string | undefined;
    if (!path) {
      continue;
    }
    const file = join(dirs.one, path);
    writeFileSync(
      file,
      `${readFileSync(file, "utf8")}\nRevised: this passage was edited after the answer was cached.\n`,
    );
    editedAt.set("one", Date.now());
    await watchers[0]!.scan();
    await queue.idle();
    await ask("after-edit", q);
    editedQuestions++;
  }

  const kinds: Kind[] = [
    "first",
    "repeat",
    "retyped",
    "paraphrase",
    "number",
    "negation",
    "name",
    "other-collection",
    "after-edit",
  ];
  const hits = asks.filter((a) => a.hit);
  const misses = asks.filter((a) => !a.hit);
  const load1 = loadavg();
  console.log(
    `\nAnswer cache, ${items.length} ClapNQ dev questions, ANSWER_CACHE_MIN_SIMILARITY=${minSimilarity}, extractive generator, lexical reranker\n`,
  );
  console.log("| asked | n | hits | hit rate | false hits | stale hits |");
  console.log("|---|---|---|---|---|---|");
  for (const k of kinds) {
    const a = asks.filter((x) => x.kind === k);
    if (!a.length) {
      continue;
    }
    const h = a.filter((x) => x.hit);
    console.log(
      `| ${k} | ${a.length} | ${h.length} | ${((100 * h.length) / a.length).toFixed(1)}% | ${h.filter((x) => x.falseHit).length} | ${h.filter((x) => x.stale).length} |`,
    );
  }
  const falseHits = hits.filter((h) => h.falseHit).length;
  const staleHits = hits.filter((h) => h.stale).length;
  console.log(
    `| all | ${asks.length} | ${hits.length} | ${((100 * hits.length) / asks.length).toFixed(1)}% | ${falseHits} (${((100 * falseHits) / Math.max(1, hits.length)).toFixed(1)}% of hits) | ${staleHits} |`,
  );
  console.log(
    `\nafter ${editedQuestions} edits of a cited file: ${asks.filter((a) => a.kind === "after-edit" && a.hit).length} hits (goal 0)`,
  );
  const exact = hits.filter((h) => h.similarity === 1).map((h) => h.ms);
  const semantic = hits.filter((h) => h.similarity !== 1).map((h) => h.ms);
  console.log(
    `latency p50: hit ${p50(hits.map((h) => h.ms)).toFixed(1)} ms (exact ${p50(exact).toFixed(1)} ms n=${exact.length}, semantic ${p50(semantic).toFixed(1)} ms n=${semantic.length}) vs miss ${p50(misses.map((m) => m.ms)).toFixed(1)} ms (n=${misses.length}); goal: hit p50 < 10 ms`,
  );
  console.log("\ncosine similarity to the original question (USE-Lite):");
  for (const [k, xs] of Object.entries(sims)) {
    console.log(`  ${k}: ${quantiles(xs)}`);
  }
  console.log(
    `\nload average (1/5/15 min): start ${load0.map((x) => x.toFixed(1)).join(" ")}, end ${load1.map((x) => x.toFixed(1)).join(" ")}`,
  );

  for (const w of watchers) {
    await w.close();
  }
  await queue.close();
  await core.close();
  await embedder.close();
  for (const d of [...Object.values(dirs), dataDir]) {
    rmSync(d, { recursive: true, force: true });
  }
}

await main();
