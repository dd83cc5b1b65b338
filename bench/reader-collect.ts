/**
 * Saves what the extractive reader is given on the full /ask path, so reader changes can be scored
 * in seconds (`npm run bench:reader -- --cached`) instead of re-indexing ClapNQ each time.
 *
 * Indexes all ClapNQ dev passages as bench:clapnq does (watcher, queue, worker, USE-Lite, PGlite),
 * then answers every question through answerQuestion with the served deps (answerDepsOf: fusion,
 * lexical reranker, verifier) and records, per question, the sources packed for the generator, the
 * answerability judge's probability (its bar is applied when scoring, so the judge runs with a bar
 * that never abstains here), and every text embedded on the way with its vector (the verifier's
 * texts for a changed answer are embedded, and added, when scoring). Reads
 * /work/shared/eval-data/clapnq (`--data`); writes bench/out/clapnq-cache/ (gitignored).
 *
 *   npm run bench:reader-collect -- [--limit N] [--data DIR]
 */
import { createLexicalReranker } from "../pipelines/rerank/lexical.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { answerQuestion } from "../pipelines/answer/ask.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import type { ContextSource, Generator } from "../pipelines/generate/types.js";
import { answerDepsOf } from "../services/common/answer-deps.js";
import { DEFAULT_CLAPNQ_DIR, fileOf, halfOf, indexClapnq, readClapnq } from "./clapnq-data.js";
import { CACHE_DIR, type CachedQuestion, saveVectors } from "./reader-data.js";

const { values: args } = parseArgs({
  options: { limit: { type: "string" }, data: { type: "string", default: DEFAULT_CLAPNQ_DIR } },
});

async function main() {
  const limit = args.limit ? Number(args.limit) : undefined;
  const { answerable, unanswerable } = readClapnq(args.data);
  const indexed = await indexClapnq([...answerable, ...unanswerable]);
  console.log(`indexed ${indexed.indexed} of ${indexed.passages} passages in ${indexed.seconds.toFixed(0)} s`);

  const vectors = new Map<string, number[]>();
  const embedder = {
    ...indexed.embedder,
    identity: indexed.embedder.identity,
    maxInputTokens: indexed.embedder.maxInputTokens,
    countTokens: (t: string) => indexed.embedder.countTokens(t),
    close: () => indexed.embedder.close(),
    async embed(texts: string[]) {
      const out = await indexed.embedder.embed(texts);
      for (const [i, t] of texts.entries()) {
        vectors.set(t, out[i]!);
      }
      return out;
    },
  };
  const inner = createExtractiveGenerator();
  let packed: ContextSource[] = [];
  const generator: Generator = {
    ...inner,
    generate: (input) => {
      packed = input.sources;
      return inner.generate(input);
    },
  };
  const snapshot = await indexed.core.runtime.refresh();
  const served = answerDepsOf(indexed.core, snapshot, {}, { generator, reranker: createLexicalReranker() });
  // A bar no probability falls under: the judge runs and is recorded, the generator always reads.
  const deps = { ...served, embedder, answerability: { threshold: Number.MIN_VALUE } };

  const questions = [
    ...answerable.slice(0, limit).map((item) => ({ item, kind: "answerable" as const })),
    ...unanswerable.slice(0, limit).map((item) => ({ item, kind: "unanswerable" as const })),
  ];
  const saved: CachedQuestion[] = [];
  const t0 = performance.now();
  for (const [i, { item, kind }] of questions.entries()) {
    packed = [];
    let score = 1;
    await answerQuestion(
      deps,
      { question: item.input, topK: 8, deferMetrics: () => {} },
      {
        onAnswerability: (a) => {
          score = a.score;
        },
      },
    );
    saved.push({
      id: item.id,
      question: item.input,
      kind,
      half: halfOf(item),
      goldFile: fileOf(item.passages[0]!),
      gold: (item.output ?? []).map((o) => ({ answer: o.answer, selected: o.selected_sentences })),
      answerability: score,
      sources: packed,
    });
    if ((i + 1) % 100 === 0) {
      console.log(`  asked ${i + 1}/${questions.length} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(`${CACHE_DIR}/questions.json`, JSON.stringify(saved));
  saveVectors(vectors);
  console.log(
    `saved ${saved.length} questions and ${vectors.size} vectors to ${CACHE_DIR}; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  await indexed.close();
}

await main();
