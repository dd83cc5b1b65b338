/**
 * Collects what the reader is given for every ClapNQ dev question: the packed sources of /ask's
 * answer path (hybrid retrieval, lexical reranker, packing; the answerability judge off so that
 * every question reaches the generator), with the question's gold `selected_sentences` and
 * reference answers. `npm run bench:reader` fits and reports the reader on this file without
 * re-indexing, so weights can be tried in seconds.
 *
 *   npx tsx bench/reader-collect.ts [--top-k 8] [--out bench/out/reader-packed.json]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { answerQuestion } from "../pipelines/answer/ask.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import type { ContextSource, Generator } from "../pipelines/generate/types.js";
import { createLexicalReranker } from "../pipelines/rerank/lexical.js";
import { defaultDenseWeight } from "../pipelines/retrieve/hybrid.js";
import { halfOf, indexClapnq, readClapnq } from "./clapnq-data.js";
import type { PackedQuestion } from "./reader-data.js";

const { values: args } = parseArgs({
  options: {
    "top-k": { type: "string", default: "8" },
    out: { type: "string", default: new URL("./out/reader-packed.json", import.meta.url).pathname },
  },
});

async function main() {
  const { answerable, unanswerable } = readClapnq();
  const indexed = await indexClapnq([...answerable, ...unanswerable]);
  console.log(`indexed ${indexed.indexed}/${indexed.passages} passages in ${indexed.seconds.toFixed(1)} s`);
  const { core } = indexed;
  const extractive = createExtractiveGenerator();
  let given: ContextSource[] = [];
  const generator: Generator = { ...extractive, generate: (input) => ((given = input.sources), extractive.generate(input)) };
  const deps = {
    store: core.store,
    embedder: core.embedder,
    generator,
    reranker: createLexicalReranker(),
    generationId: core.generation.id,
    denseWeight: defaultDenseWeight(core.embedder.identity.provider),
    verify: { mode: "remove" as const, minSupportedShare: 0.5 },
    answerability: { threshold: 0 },
    quality: { lexicalOnly: true },
  };
  const out: PackedQuestion[] = [];
  const t0 = performance.now();
  const all = [...answerable.map((item) => ({ item, kind: "answerable" as const })), ...unanswerable.map((item) => ({ item, kind: "unanswerable" as const }))];
  for (const [i, { item, kind }] of all.entries()) {
    given = [];
    await answerQuestion(deps, { question: item.input, topK: Number(args["top-k"]) });
    out.push({
      id: item.id,
      question: item.input,
      kind,
      half: halfOf(item),
      gold: (item.output ?? []).map((o) => ({ answer: o.answer, selected: o.selected_sentences })),
      sources: given.map((s) => ({ n: s.n, text: s.text, headingPath: s.hit.headingPath, score: s.hit.score, path: s.hit.path })),
    });
    if ((i + 1) % 100 === 0) console.log(`  ${i + 1}/${all.length} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await indexed.close();
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify(out));
  console.log(`wrote ${out.length} questions to ${args.out}; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
}

await main();
