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
 * generator's tokenizer over the sources as the generator received them); latency p50/p95; and what
 * the answers say: selected-sentence precision and recall against ClapNQ's `selected_sentences`
 * (best annotator), the reference answer's token recall and ROUGE-L, per half.
 */
import { loadavg } from "node:os";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { citedSentences, stripMarkers } from "../pipelines/generate/answer-text.js";
import type { Generator } from "../pipelines/generate/types.js";
import { bestSentenceOverlap, rougeL, tokenRecall } from "../pipelines/eval/answer-metrics.js";
import { meanOf } from "../pipelines/eval/metrics.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { createApp } from "../services/api/app.js";
import type { ApiDeps } from "../services/api/context.js";
import { createLogger } from "../services/common/log.js";
import { DEFAULT_CLAPNQ_DIR, fileOf, halfOf, indexClapnq, pct, readClapnq, type Item } from "./clapnq-data.js";
import { createLexicalReranker } from "../pipelines/rerank/lexical.js";

const { values: args } = parseArgs({
  options: {
    limit: { type: "string" },
    "top-k": { type: "string", default: "8" },
    data: { type: "string", default: DEFAULT_CLAPNQ_DIR },
    // Context compression (issue 18): keep this share of the packed sources' tokens; also prints mean context tokens.
    compress: { type: "string" },
  },
});
const log = createLogger("silent");

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
};

async function main() {
  const limit = args.limit ? Number(args.limit) : undefined;
  const { answerable: answerableAll, unanswerable: unanswerableAll } = readClapnq(args.data);
  const answerable = answerableAll.slice(0, limit ?? answerableAll.length);
  const unanswerable = unanswerableAll.slice(0, limit ?? unanswerableAll.length);

  const indexed = await indexClapnq([...answerableAll, ...unanswerableAll]);
  const { core, queue, metrics } = indexed;
  console.log(
    `ingested: ${indexed.indexed} of ${indexed.passages} unique passages indexed, ${indexed.failed} failed, in ${indexed.seconds.toFixed(1)} s`,
  );

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
    reranker: createLexicalReranker(),
    core,
    queue,
    metrics,
  };
  const app = createApp(deps);

  interface Result {
    kind: "answerable" | "unanswerable";
    half: "A" | "B";
    abstained: boolean;
    goldCited: boolean;
    ms: number;
    contextTokens: number;
    contextBudget: number;
    recount: number | null;
    /** Selected-sentence precision / recall (null when abstained or unanswerable). */
    ssPrecision: number | null;
    ssRecall: number | null;
    /** Best over annotators' reference answers; 0 when abstained, null when unanswerable. */
    tokenRecall: number | null;
    rougeL: number | null;
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
      body: JSON.stringify({ question: q.input, ...(args.compress && { compress: Number(args.compress) }) }),
    });
    const ms = performance.now() - start;
    const body = (await res.json()) as any;
    if (res.status !== 200) {
      throw new Error(`/ask ${res.status}: ${JSON.stringify(body)}`);
    }
    const gold = fileOf(q.passages[0]!);
    const said = saidOf(kind, body.abstained, body.answer, q.output ?? []);
    results.push({
      ...said,
      kind,
      half: halfOf(q),
      abstained: body.abstained,
      goldCited: !body.abstained && (body.citations as Array<{ path: string }>).some((c) => basename(c.path) === gold),
      ms,
      contextTokens: body.usage.contextTokens,
      contextBudget: body.usage.contextBudget,
      recount: lastRecount,
    });
    if ((i + 1) % 100 === 0) {
      console.log(`  asked ${i + 1}/${questions.length} (${((performance.now() - tAsk) / 1000).toFixed(0)} s)`);
    }
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
  console.log(
    `\nClapNQ dev, ${ans.length} answerable + ${una.length} unanswerable questions, ${indexed.passages} passages indexed, topK ${args["top-k"]}, extractive generator, lexical reranker, VERIFY_MODE=remove, VERIFY_MIN_SUPPORTED=0.5\n`,
  );
  console.log("| metric | value | goal |");
  console.log("|---|---|---|");
  console.log(
    `| answerable: answered with gold passage cited | ${answeredGold}/${ans.length} = ${pct(answeredGold, ans.length)} | >= 80% ${answeredGold / ans.length >= 0.8 ? "MET" : "NOT MET"} |`,
  );
  console.log(`| answerable: answered at all | ${answered}/${ans.length} = ${pct(answered, ans.length)} | |`);
  console.log(
    `| unanswerable: abstained | ${abstained}/${una.length} = ${pct(abstained, una.length)} | >= 90% ${abstained / una.length >= 0.9 ? "MET" : "NOT MET"} |`,
  );
  console.log(
    `| budget violations, first ${first100.length} (usage.contextTokens > contextBudget) | ${over(first100)} | 0 |`,
  );
  console.log(
    `| budget violations, first ${first100.length} (re-counted with ${inner.tokenizer.encoding}) | ${overRecount(first100)} (n=${first100.filter((r) => r.recount !== null).length} with sources) | 0 |`,
  );
  console.log(
    `| budget violations, all ${results.length} (usage / re-count) | ${over(results)} / ${overRecount(results)} | 0 |`,
  );
  console.log(
    `| re-count differs from usage.contextTokens | ${mismatch(results)} of ${results.filter((r) => r.recount !== null).length} | |`,
  );
  console.log(
    `| latency /ask p50 / p95 | ${quantile(ms, 0.5).toFixed(0)} ms / ${quantile(ms, 0.95).toFixed(0)} ms | |`,
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  console.log(
    `| mean context tokens sent${args.compress ? ` (compress ${args.compress})` : ""} | ${mean(results.map((r) => r.contextTokens)).toFixed(1)} | |`,
  );
  console.log(
    `| max contextTokens / budget seen | ${Math.max(...results.map((r) => r.contextTokens))} / ${Math.min(...results.map((r) => r.contextBudget))} | |`,
  );

  // The answerability judge was fitted on half A (npm run bench:answerability); B is held out.
  for (const half of ["A", "B"] as const) {
    const a = ans.filter((r) => r.half === half);
    const u = una.filter((r) => r.half === half);
    const g = a.filter((r) => r.goldCited).length;
    const x = u.filter((r) => r.abstained).length;
    console.log(
      `| half ${half}${half === "A" ? " (judge fitted here)" : " (held out)"}: answered with gold cited / unanswerable abstained | ${pct(g, a.length)} (${g}/${a.length}) / ${pct(x, u.length)} (${x}/${u.length}) | |`,
    );
  }

  // What the answers say (answerable questions): sentence figures over those answered, and
  // reference-answer figures over all (an abstention says nothing: 0).
  console.log(
    "\n| answerable, what the answer says | answered: selected-sentence precision | answered: selected-sentence recall | all: reference token recall | all: reference ROUGE-L | answered |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const [label, rs] of [
    ["all", ans],
    ["half A", ans.filter((r) => r.half === "A")],
    ["half B (held out)", ans.filter((r) => r.half === "B")],
  ] as const) {
    const answeredRs = rs.filter((r) => !r.abstained);
    console.log(
      `| ${label} | ${f3(meanOf(answeredRs.map((r) => r.ssPrecision)))} | ${f3(meanOf(answeredRs.map((r) => r.ssRecall)))} | ${f3(meanOf(rs.map((r) => r.tokenRecall)))} | ${f3(meanOf(rs.map((r) => r.rougeL)))} | ${answeredRs.length}/${rs.length} |`,
    );
  }
  console.log(
    `\nload average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} at the end of the run (1, 5, 15 min; 2 cores, shared)`,
  );

  await indexed.close();
}

/** Selected-sentence and reference-answer figures of one /ask answer. */
function saidOf(
  kind: "answerable" | "unanswerable",
  abstained: boolean,
  answer: string,
  output: NonNullable<Item["output"]>,
) {
  if (kind === "unanswerable") {
    return { ssPrecision: null, ssRecall: null, tokenRecall: null, rougeL: null };
  }
  const references = output.map((o) => o.answer).filter((a) => a.trim() !== "");
  if (abstained) {
    return {
      ssPrecision: null,
      ssRecall: null,
      tokenRecall: references.length ? 0 : null,
      rougeL: references.length ? 0 : null,
    };
  }
  const sentences = citedSentences(answer).map((s) => stripMarkers(s.text));
  const overlap = bestSentenceOverlap(
    sentences,
    output.map((o) => o.selected_sentences),
  );
  const plain = stripMarkers(answer);
  const best = (f: (a: string, r: string) => number) =>
    references.length ? Math.max(...references.map((r) => f(plain, r))) : null;
  return {
    ssPrecision: overlap.precision,
    ssRecall: overlap.recall,
    tokenRecall: best(tokenRecall),
    rougeL: best(rougeL),
  };
}

const f3 = (x: number | null) => (x === null ? "n/a" : x.toFixed(3));

await main();
