/**
 * Scores a generator on the saved /ask inputs of ClapNQ (bench/reader-collect.ts) as bench:clapnq
 * scores the full path: the answerability bar, the generator, the verifier (with USE-Lite vectors
 * from the saved ones, embedding and adding only texts not seen before), then gold cited,
 * abstained and selected-sentence precision / recall per half. Seconds instead of minutes.
 */
import { basename } from "node:path";
import { createEmbedder, type Embedder } from "../pipelines/embed/index.js";
import { bestSentenceOverlap } from "../pipelines/eval/answer-metrics.js";
import { citedSentences, stripMarkers } from "../pipelines/generate/answer-text.js";
import type { Generator } from "../pipelines/generate/types.js";
import { verifyAnswer } from "../pipelines/verify/verify.js";
import { type CachedQuestion, loadVectors, saveVectors } from "./reader-data.js";

export interface ScoredQuestion {
  q: CachedQuestion;
  abstained: boolean;
  goldCited: boolean;
  precision: number | null;
  recall: number | null;
  /** The generator's own time, ms. */
  ms: number;
}

export interface HalfFigures {
  goldCited: number;
  abstained: number;
  precision: number;
  recall: number;
  answered: number;
  answerable: number;
}

/** Vectors saved by the collector; texts it never embedded are embedded with USE-Lite here. */
export function cachedEmbed() {
  const vectors = loadVectors();
  let embedder: Embedder | undefined;
  let added = 0;
  return {
    async embed(texts: string[]): Promise<number[][]> {
      const missing = [...new Set(texts.filter((t) => !vectors.has(t)))];
      if (missing.length) {
        embedder ??= await createEmbedder("use-lite");
        const out = await embedder.embed(missing);
        for (const [i, t] of missing.entries()) {
          vectors.set(t, out[i]!);
        }
        added += missing.length;
      }
      return texts.map((t) => vectors.get(t)!);
    },
    async close() {
      if (added) {
        saveVectors(vectors);
      }
      await embedder?.close();
    },
  };
}

export async function scoreQuestions(
  questions: CachedQuestion[],
  generator: Generator,
  bar: number,
  /** Unset: the answer is scored as generated, unverified (for fast fitting; the verifier mostly keeps quotes). */
  embed?: (texts: string[]) => Promise<number[][]>,
): Promise<ScoredQuestion[]> {
  const out: ScoredQuestion[] = [];
  for (const q of questions) {
    if (q.answerability < bar || q.sources.length === 0) {
      out.push({ q, abstained: true, goldCited: false, precision: null, recall: null, ms: 0 });
      continue;
    }
    const t0 = performance.now();
    const generated = await generator.generate({ question: q.question, sources: q.sources });
    const ms = performance.now() - t0;
    const verified = embed
      ? await verifyAnswer(generated, q.sources, { mode: "remove", minSupportedShare: 0.5, embed })
      : generated;
    const goldCited =
      !verified.abstained && q.sources.some((s) => verified.cited.includes(s.n) && basename(s.hit.path) === q.goldFile);
    let precision: number | null = null;
    let recall: number | null = null;
    if (!verified.abstained && q.kind === "answerable") {
      const said = citedSentences(verified.text).map((s) => stripMarkers(s.text));
      const o = bestSentenceOverlap(
        said,
        q.gold.map((g) => g.selected),
      );
      precision = o.precision;
      recall = o.recall;
    }
    out.push({ q, abstained: verified.abstained, goldCited, precision, recall, ms });
  }
  return out;
}

const mean = (xs: Array<number | null>) => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
};

export function figures(scored: ScoredQuestion[], half: "A" | "B"): HalfFigures {
  const ans = scored.filter((s) => s.q.half === half && s.q.kind === "answerable");
  const una = scored.filter((s) => s.q.half === half && s.q.kind === "unanswerable");
  const answered = ans.filter((s) => !s.abstained);
  return {
    goldCited: ans.filter((s) => s.goldCited).length / Math.max(1, ans.length),
    abstained: una.filter((s) => s.abstained).length / Math.max(1, una.length),
    precision: mean(answered.map((s) => s.precision)),
    recall: mean(answered.map((s) => s.recall)),
    answered: answered.length,
    answerable: ans.length,
  };
}

export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
};
