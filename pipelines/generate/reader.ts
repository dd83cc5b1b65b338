import { logisticProbability, type LogisticModel } from "../answer/logistic.js";
import { contentTerms } from "../text/terms.js";
import {
  answerTypeOf,
  hasType,
  nameOf,
  READER_FEATURES,
  readSource,
  type ReaderFeature,
  type ReadSource,
  type ReadUnit,
} from "./reader-features.js";
import type { ContextSource } from "./types.js";

/**
 * A logistic model over READER_FEATURES: the probability that a sentence (or table row) of the
 * packed sources belongs in the answer. Fitted on ClapNQ's gold `selected_sentences`
 * (`npm run bench:reader`), stored in pipelines/answer/reader-model.ts. Units of the best unit's
 * source at or above `threshold` join the answer; the stopping bars below are fitted with it.
 */
export interface ReaderModel extends LogisticModel {
  /**
   * A unit beside one already in the answer joins at this (lower) bar: gold answers run on over
   * neighbouring sentences ("… It premiered in 1998."). Unset: `threshold`.
   */
  neighbourThreshold?: number;
  /**
   * The passage the reranker put first among those whose best unit has this share of the
   * best-supported unit's support is the one the answer is read from; unset: 0.6.
   */
  rankedPassageShare?: number;
  /** Most units an answer takes; unset: the generator's maxSentences. */
  maxUnits?: number;
}

export interface ScoredUnit {
  source: ContextSource;
  read: ReadSource;
  unit: ReadUnit;
  /**
   * The passage the unit belongs to: the packed chunks of one document, read in document order as
   * one text (a ClapNQ passage is packed as two to four chunks, and its answer runs across them).
   */
  passage: number;
  /** The unit's place in its passage. */
  index: number;
  features: Record<ReaderFeature, number>;
  /** IDF-weighted share of the question's terms in the unit (with its subject), times the rank prior. */
  support: number;
  probability: number;
}

/**
 * Scores every unit of the packed sources as an answer to `question`. Linear in the number of
 * units: the per-source splitting is cached (reader-features.ts), the rest is set lookups.
 */
export function scoreUnits(
  question: string,
  sources: ContextSource[],
  model: ReaderModel,
  rankPrior: number,
): ScoredUnit[] {
  const qTerms = [...new Set(contentTerms(question))];
  const reads = sources.map((s) => ({ source: s, read: readSource(s) }));
  const all = reads.flatMap((r) => r.read.units);
  if (qTerms.length === 0 || all.length === 0) {
    return [];
  }
  // Rare question terms are the evidence; "python" in the Python manual says little.
  const df = new Map(qTerms.map((t) => [t, 0]));
  for (const u of all) {
    for (const t of qTerms) {
      if (u.terms.has(t)) {
        df.set(t, df.get(t)! + 1);
      }
    }
  }
  const idf = new Map(qTerms.map((t) => [t, Math.log(1 + (all.length + 1) / (df.get(t)! + 0.5))]));
  const total = [...idf.values()].reduce((a, b) => a + b, 0);
  const cover = (has: (t: string) => boolean) => qTerms.reduce((s, t) => s + (has(t) ? idf.get(t)! : 0), 0) / total;
  const type = answerTypeOf(question);
  const askedDefault = /\bdefault/i.test(question);
  // Identifiers the question names literally ("ignore_errors", "gzip.open", "--force").
  const literals = (question.match(/[\w.%-]*[_.(%][\w.()%-]*|--?[a-z][\w-]*/gi) ?? [])
    .map((w) => w.toLowerCase().replace(/[().]+$/, ""))
    .filter((w) => w.length > 1);

  const scored: ScoredUnit[] = [];
  let bestCoverage = 0;
  for (const [passage, group] of passagesOf(reads).entries()) {
    const units = group.flatMap(({ source, read }) => read.units.map((unit) => ({ source, read, unit })));
    const covs = units.map(({ unit }) => cover((t) => unit.terms.has(t)));
    // Answers sit around the sentence that holds the question's terms: it, and the ones beside it.
    const bestPos = covs.reduce((b, c, i) => (c > covs[b]! ? i : b), 0);
    const passageBest = Math.max(...covs);
    // The document's lead sentence (not its heading line) states what the document is about: alone
    // it is a gold sentence for 64% of ClapNQ's half-A questions read from the gold passage. Not the
    // passage's first unit: for a document's first chunk that is its heading line, never quoted.
    const lead = units.findIndex(({ source, unit }) => source.hit.ordinal === 0 && saysSomething(source, unit));
    units.forEach(({ source, read, unit: u }, i) => {
      const subjectTerms = read.subjectTerms;
      const subjectText = read.subject?.toLowerCase() ?? "";
      const coverage = covs[i]!;
      bestCoverage = Math.max(bestCoverage, coverage);
      const next = units[i + 1]?.unit;
      const lower = u.text.toLowerCase();
      const features: Record<ReaderFeature, number> = {
        coverage,
        relCoverage: 0,
        passageCoverage: passageBest > 0 ? coverage / passageBest : 0,
        subjectCoverage: cover((t) => u.terms.has(t) || subjectTerms.has(t)),
        prevCoverage: covs[i - 1] ?? 0,
        nextCoverage: covs[i + 1] ?? 0,
        bestInSource: i === bestPos ? 1 : 0,
        nearBest: Math.abs(i - bestPos) === 1 ? 1 : 0,
        distBest: Math.log(1 + Math.abs(i - bestPos)),
        typeFound: hasType(type, u.text, question) ? 1 : 0,
        typeNext: next && hasType(type, next.text, question) ? 1 : 0,
        defaultAsked: askedDefault && /\bdefault/i.test(u.text) ? 1 : 0,
        first: i === lead ? 1 : 0,
        row: u.row ? 1 : 0,
        words: Math.log(1 + u.words.size),
        literal: literals.length
          ? literals.filter((l) => lower.includes(l) || subjectText.includes(l)).length / literals.length
          : 0,
        // How many of its passage's units hold more of the question. Chosen by cross-validation
        // within half A (bench:reader --cv: reach 0.948 against 0.930 without it), where anaphora,
        // position and coverage of the terms the title lacks did not help.
        coverageRank: Math.log(1 + covs.filter((c) => c > coverage).length),
      };
      scored.push({
        source,
        read,
        unit: u,
        passage,
        index: i,
        features,
        support: features.subjectCoverage * (1 + rankPrior / source.n),
        probability: 0,
      });
    });
  }
  for (const s of scored) {
    s.features.relCoverage = bestCoverage > 0 ? s.features.coverage / bestCoverage : 0;
    s.probability = logisticProbability(s.features, model);
  }
  return scored;
}

/**
 * The packed sources grouped into passages: the chunks of one document (and one section: a term's
 * description is not its neighbour's) in document order. Chunks end at sentences, so their units
 * read on as the document's do.
 */
function passagesOf<T extends { source: ContextSource }>(reads: T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const r of reads) {
    const h = r.source.hit;
    const key = `${h.documentId}\u0000${h.headingPath.join("\u0000")}`;
    const group = groups.get(key);
    if (group) {
      group.push(r);
    } else {
      groups.set(key, [r]);
    }
  }
  return [...groups.values()].map((g) => g.sort((a, b) => a.source.hit.ordinal - b.source.hit.ordinal));
}

export interface ReadAnswer {
  /** The units of the answer in source order, each with the text to write (subject prefixed where it is not named). */
  units: Array<{
    source: ContextSource;
    text: string;
    position: number /** Pulled in for its value: one claim with the unit before it. */;
    joinPrevious: boolean;
  }>;
}

/**
 * Chooses the answer: the passage to read from (the best-supported one, unless the reranker put
 * another well-supported one before it), its unit with the most support (question-term coverage
 * leaning on the reranker's order), then the units of that passage whose probability is at or
 * above the model's bar, and the next unit when it carries the asked-for value the chosen ones
 * lack ("The default is …"). Only one passage: ClapNQ's answers are all from one, and quoting a
 * second cost precision for more questions than it cited the gold passage for.
 * The subject of a definition is written before the first unit that does not name it.
 */
const RANKED_PASSAGE_SHARE = 0.6;

export function chooseAnswer(question: string, scored: ScoredUnit[], model: ReaderModel, most: number): ReadAnswer {
  const maxUnits = model.maxUnits ?? most;
  const prose = scored.filter(isProse);
  const better = (b: ScoredUnit | undefined, s: ScoredUnit) =>
    !b || s.support > b.support || (s.support === b.support && s.probability > b.probability) ? s : b;
  const top = prose.reduce<ScoredUnit | undefined>(better, undefined);
  if (!top) {
    return { units: [] };
  }
  // Where support overrules the reranker it is wrong as often as not. Of half A's 131 answered
  // questions, in 5 a passage ranked before the best-supported one had 0.3 of its support, and it
  // was the gold passage in all 5 (quoted beside the best-supported one, it cost that one's
  // precision); a passage ranked after it cleared the same bar in 90 and was the gold one in 1.
  const share = model.rankedPassageShare ?? RANKED_PASSAGE_SHARE;
  const rank = new Map<number, number>();
  for (const s of scored) {
    rank.set(s.passage, Math.min(rank.get(s.passage) ?? s.source.n, s.source.n));
  }
  const first = prose
    .filter((s) => s.support >= top.support * share)
    .reduce((f, s) => (rank.get(s.passage)! < rank.get(f.passage)! ? s : f), top).passage;
  const best = prose.filter((s) => s.passage === first).reduce<ScoredUnit | undefined>(better, undefined)!;
  const same = prose.filter((s) => s.passage === best.passage);
  const chosen = new Set([best]);
  for (const s of [...same].sort((a, b) => b.probability - a.probability)) {
    if (chosen.size >= maxUnits) {
      break;
    }
    // A table row is a fact of its own: rows beside the answering one only add noise.
    if (s.unit.row && s.features.coverage < best.features.coverage) {
      continue;
    }
    if (s.probability >= model.threshold) {
      chosen.add(s);
    }
  }
  // Then the answer grows over its neighbours while they clear the neighbour bar.
  const neighbourBar = model.neighbourThreshold ?? model.threshold;
  const byIndex = new Map(same.map((s) => [s.index, s]));
  for (let grew = true; grew && chosen.size < maxUnits; ) {
    grew = false;
    const beside = [...chosen]
      .filter((c) => c.passage === best.passage)
      .flatMap((c) => [byIndex.get(c.index - 1), byIndex.get(c.index + 1)])
      .filter((s): s is ScoredUnit => s !== undefined && !chosen.has(s) && !s.unit.row && s.probability >= neighbourBar)
      .sort((a, b) => b.probability - a.probability);
    if (beside[0]) {
      chosen.add(beside[0]);
      grew = true;
    }
  }
  const type = answerTypeOf(question);
  let pulled: ScoredUnit | undefined;
  if (best.features.typeFound === 0 && ["value", "number", "date", "code", "name"].includes(type)) {
    const next = scored.find((s) => s.passage === best.passage && s.index === best.index + 1);
    if (next && next.features.typeFound === 1) {
      pulled = next;
      chosen.add(next);
    }
  }
  // In the order the passages were packed, each read in document order.
  const ordered = [...chosen].sort((a, b) => a.passage - b.passage || a.index - b.index);
  const seen = new Set<string>();
  const subject = best.read.subject;
  let named = false;
  const units: ReadAnswer["units"] = [];
  for (const s of ordered) {
    if (seen.has(s.unit.text)) {
      continue;
    }
    seen.add(s.unit.text);
    let text = s.unit.text;
    if (subject && !named && s.passage === best.passage) {
      // As a word: "len" is not named by "length".
      const name = nameOf(subject).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (!new RegExp(`(?:^|[^\\w.])${name}(?![\\w])`, "i").test(s.unit.text)) {
        text = `${subject}: ${text}`;
      }
      named = true;
    }
    units.push({
      source: s.source,
      text,
      position: s.index,
      joinPrevious: s === pulled && units.at(-1)?.position === s.index - 1,
    });
  }
  return { units };
}

/** Headings, stubs and planted instructions are not answers (ReadUnit.sayable); nor is a heading line. */
export function isProse(s: ScoredUnit): boolean {
  return saysSomething(s.source, s.unit);
}

function saysSomething(source: ContextSource, unit: ReadUnit): boolean {
  if (!unit.sayable) {
    return false;
  }
  const bare = unit.text.replace(/^#+\s*/, "").trim();
  return !source.hit.headingPath.includes(bare);
}

export { READER_FEATURES };
