import { ABSTAIN_MESSAGE, isAbstention, stripMarkers } from "../generate/answer-text.js";
import type { AnswerSentence, ContextSource, GeneratedAnswer } from "../generate/types.js";
import { termOf } from "../generate/reader-features.js";
import { contentTerms } from "../text/terms.js";
import { mergeEvidence, numbersIn, sourceEvidence, termWeights, type SourceEvidence } from "./evidence.js";
import { closestSentences, cosine, judgeLexically, THRESHOLDS, type Judgement } from "./claim-support.js";
import { rebuild, withCites } from "./rewrite.js";
import type { SentenceCheck, VerifiedAnswer, VerifyOptions } from "./types.js";

interface Option {
  cites: number[];
  kind: "cited" | "together" | "other";
  evidence: SourceEvidence;
  judgement: Judgement;
  semantic: number | null;
}

interface Work {
  sentence: AnswerSentence;
  plain: string;
  claim: boolean;
  given: number[];
  unknown: number[];
  options: Option[];
}

// One embed call per answer, bounded: the answer's claims plus a few source sentences per claim.
const MAX_EMBED_TEXTS = 48;
const SENTENCES_PER_SOURCE = 3;
const OTHER_SOURCES_TRIED = 2;

/**
 * Checks every sentence of a generated answer against the sources it cites, and repairs or removes
 * what they do not support (see `THRESHOLDS` for the evidence). Citations to sources that were not
 * given are dropped; a sentence whose cited source does not support it moves to a given source
 * that does; a sentence no source supports is removed (or flagged). Too little support and the
 * answer abstains.
 */
export async function verifyAnswer(
  answer: GeneratedAnswer,
  sources: ContextSource[],
  opts: VerifyOptions,
): Promise<VerifiedAnswer> {
  const empty = {
    method: opts.embed ? "lexical+semantic" : "lexical",
    mode: opts.mode,
    sentences: 0,
    supported: 0,
    kept: 0,
    moved: 0,
    removed: 0,
    flagged: 0,
  };
  if (answer.abstained) {
    return {
      text: answer.text,
      abstained: true,
      cited: [],
      verification: { ...empty, citationsRemoved: 0, citationsNotGiven: 0, supportedShare: 0, details: [] },
    };
  }
  // The term a source's section describes (a signature heading it) is part of what it says: the
  // extractive reader names it before a description that does not ("len(s): Return the length …").
  const evidence = new Map(
    sources.map((s) => {
      const term = termOf(s.hit.headingPath.at(-1));
      return [s.n, sourceEvidence(s.n, term ? `${term}\n\n${s.text}` : s.text)];
    }),
  );
  const weight = termWeights([...evidence.values()]);
  const judge = (plain: string, ev: SourceEvidence) => judgeLexically(plain, ev, weight, Boolean(opts.embed));

  const work: Work[] = answer.sentences.map((sentence) => {
    const plain = stripMarkers(sentence.text);
    const claim = !isAbstention(plain) && (contentTerms(plain).length > 0 || numbersIn(plain).length > 0);
    const given = sentence.cites.filter((n) => evidence.has(n));
    const unknown = sentence.cites.filter((n) => !evidence.has(n));
    const options: Option[] = [];
    if (claim) {
      const option = (cites: number[], kind: Option["kind"], ev: SourceEvidence): Option => ({
        cites,
        kind,
        evidence: ev,
        judgement: judge(plain, ev),
        semantic: null,
      });
      for (const n of given) {
        options.push(option([n], "cited", evidence.get(n)!));
      }
      if (given.length > 1) {
        options.push(option(given, "together", mergeEvidence(given.map((n) => evidence.get(n)!))));
      }
      for (const [n, ev] of evidence) {
        if (!given.includes(n)) {
          options.push(option([n], "other", ev));
        }
      }
    }
    return { sentence, plain, claim, given, unknown, options };
  });

  // An embedder that fails leaves the uncertain sentences unsupported rather than failing the answer.
  const semantic = opts.embed
    ? await addSemantic(work, opts.embed).then(
        () => true,
        () => false,
      )
    : false;
  const details = work.map(decide(opts.mode));
  const claims = details.filter((d) => d.claim);
  const supported = claims.filter((d) => d.status === "kept" || d.status === "moved").length;
  const share = claims.length ? supported / claims.length : 0;
  const count = (status: SentenceCheck["status"]) => details.filter((d) => d.status === status).length;
  const verification = {
    ...empty,
    method: semantic ? "lexical+semantic" : opts.embed ? "lexical (the embedder failed)" : "lexical",
    sentences: details.length,
    supported,
    kept: count("kept"),
    moved: count("moved"),
    removed: count("removed"),
    flagged: count("flagged"),
    citationsRemoved: details.reduce((s, d) => s + d.citedBefore.filter((n) => !d.cites.includes(n)).length, 0),
    citationsNotGiven: details.reduce((s, d) => s + d.unknownCites.length, 0),
    supportedShare: Math.round(share * 1000) / 1000,
    details,
  };
  const abstainReason =
    supported === 0
      ? "No sentence of the generated answer is supported by the sources it was given."
      : share < opts.minSupportedShare
        ? `Only ${supported} of ${claims.length} sentences of the generated answer are supported by the sources.`
        : undefined;
  if (abstainReason) {
    return { text: ABSTAIN_MESSAGE, abstained: true, abstainReason, cited: [], verification };
  }

  const replacement = details.map((d, i) => {
    if (d.status === "removed") {
      return null;
    }
    const s = work[i]!.sentence;
    const same = d.cites.length === s.cites.length && d.cites.every((n, k) => n === s.cites[k]);
    return same ? s.text : withCites(s.text, d.cites);
  });
  const cited = [...new Set(details.filter((d) => d.status !== "removed").flatMap((d) => d.cites))].sort(
    (a, b) => a - b,
  );
  return { text: rebuild(answer.text, answer.sentences, replacement), abstained: false, cited, verification };
}

/** Settles every "maybe" that matters with one embedding batch; the rest stay unsupported. */
async function addSemantic(work: Work[], embed: (texts: string[]) => Promise<number[][]>) {
  const requests: Array<{ w: Work; option: Option; sentences: string[] }> = [];
  for (const w of work) {
    const cited = w.options.filter((o) => o.kind !== "other");
    if (cited.some((o) => o.judgement.verdict === "yes")) {
      continue;
    }
    const others = w.options.filter((o) => o.kind === "other");
    const tryOthers = others.some((o) => o.judgement.verdict === "yes")
      ? []
      : others
          .filter((o) => o.judgement.verdict === "maybe")
          .sort((a, b) => b.judgement.lexical - a.judgement.lexical)
          .slice(0, OTHER_SOURCES_TRIED);
    for (const option of [...cited.filter((o) => o.judgement.verdict === "maybe"), ...tryOthers]) {
      requests.push({ w, option, sentences: closestSentences(w.plain, option.evidence, SENTENCES_PER_SOURCE) });
    }
  }
  const index = new Map<string, number>();
  const settled: typeof requests = [];
  for (const r of requests) {
    const fresh = [r.w.plain, ...r.sentences].filter((t) => !index.has(t));
    if (index.size + fresh.length > MAX_EMBED_TEXTS) {
      continue;
    }
    for (const t of fresh) {
      index.set(t, index.size);
    }
    settled.push(r);
  }
  if (index.size === 0) {
    return;
  }
  const vectors = await embed([...index.keys()]);
  for (const { w, option, sentences } of settled) {
    const v = vectors[index.get(w.plain)!]!;
    option.semantic = Math.max(...sentences.map((s) => cosine(v, vectors[index.get(s)!]!)));
    if (option.judgement.verdict === "maybe") {
      option.judgement.verdict = option.semantic >= THRESHOLDS.semanticMin ? "yes" : "no";
    }
  }
}

const marks = (cites: number[]) => cites.map((n) => `[${n}]`).join("");

function decide(mode: VerifyOptions["mode"]) {
  return (w: Work): SentenceCheck => {
    const base = { text: w.plain, claim: w.claim, citedBefore: w.sentence.cites, unknownCites: w.unknown };
    const notGiven = w.unknown.length ? `; ${marks(w.unknown)} was not among the sources given` : "";
    if (!w.claim) {
      return {
        ...base,
        status: "kept",
        cites: w.given,
        lexical: 0,
        semantic: null,
        missing: [],
        reason: "not a claim",
      };
    }
    // A "maybe" the embedding budget did not reach counts as unsupported.
    const yes = (o: Option) => o.judgement.verdict === "yes";
    const report = (o: Option | undefined) => ({
      lexical: round(o?.judgement.lexical ?? 0),
      semantic: o?.semantic == null ? null : round(o.semantic),
      missing: o?.judgement.missing ?? [],
    });
    const cited = w.options.filter((o) => o.kind === "cited" && yes(o));
    if (cited.length) {
      const cites = cited.flatMap((o) => o.cites);
      return { ...base, status: "kept", cites, ...report(cited[0]), reason: `supported by ${marks(cites)}${notGiven}` };
    }
    const together = w.options.find((o) => o.kind === "together" && yes(o));
    if (together) {
      return {
        ...base,
        status: "kept",
        cites: together.cites,
        ...report(together),
        reason: `supported by ${marks(together.cites)} together${notGiven}`,
      };
    }
    const best = (os: Option[]) =>
      os.sort((a, b) => b.judgement.lexical - a.judgement.lexical + ((b.semantic ?? 0) - (a.semantic ?? 0)) / 10)[0];
    const other = best(w.options.filter((o) => o.kind === "other" && yes(o)));
    if (other) {
      const was = w.sentence.cites.length ? `cited ${marks(w.sentence.cites)}` : "cited nothing";
      return {
        ...base,
        status: "moved",
        cites: other.cites,
        ...report(other),
        reason: `${was}; ${marks(other.cites)} supports it`,
      };
    }
    const closest =
      best(w.options.filter((o) => o.kind === "cited")) ?? best(w.options.filter((o) => o.kind === "other"));
    const missing = closest?.judgement.missing ?? [];
    const why = missing.length ? `the sources do not state ${missing.join(", ")}` : "no source given supports it";
    return {
      ...base,
      status: mode === "remove" ? "removed" : "flagged",
      cites: mode === "remove" ? [] : w.given,
      ...report(closest),
      reason: `${why}${notGiven}`,
    };
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
