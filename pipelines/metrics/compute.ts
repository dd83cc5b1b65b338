import { isAbstention, stripMarkers } from "../generate/answer-text.js";
import { splitSentences } from "../text/sentences.js";
import { contentTerms } from "../text/terms.js";
import { lexicalSupport, numbersIn, sourceEvidence, termWeights } from "../verify/evidence.js";
import { cosine } from "../verify/claim-support.js";
import { answerCorrectness, answerRelevancy, claimF1, rankPrecision, share } from "./formulas.js";
import { createSupportBatch } from "./support.js";
import type { LlmJudgement, MetricsInput, MetricsOptions, QueryMetrics } from "./types.js";

/** The method the default metrics report, as `verification.method` names the verifier's. */
export const DEFAULT_METHOD = "embedding+lexical";

/** Sentences of a text that state something: content words or numbers, not the abstention phrase. */
export function claimsOf(text: string): string[] {
  return splitSentences(text)
    .map((s) => stripMarkers(text.slice(s.start, s.end)))
    .filter((s) => !isAbstention(s) && (contentTerms(s).length > 0 || numbersIn(s).length > 0));
}

const supported = (status: string) => status === "kept" || status === "moved";
const round = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);

/**
 * RAGAS-style quality of one answer without a language model, from the verifier's sentence checks,
 * lexical support and one embedding call (README "Quality metrics" has each formula). With
 * `opts.judge`, faithfulness, answer relevancy and (without a reference) context precision are
 * asked of the judge instead; if it fails, these stay as computed here and `onJudgeError` hears why.
 */
export async function computeQueryMetrics(input: MetricsInput, opts: MetricsOptions = {}): Promise<QueryMetrics> {
  const claims = input.abstained ? [] : input.details.filter((d) => d.claim && d.status !== "removed");
  const judging =
    opts.judge && (input.sources.length > 0 || claims.length > 0)
      ? judgeSafely(
          input,
          claims.map((d) => d.text),
          opts,
        )
      : null;
  const [base, judged] = await Promise.all([defaultMetrics(input, opts.embed), judging]);
  if (!judged || !opts.judge) {
    return base;
  }
  const faithful = judged.claims.filter(Boolean).length;
  return {
    ...base,
    method: opts.judge.name,
    faithfulness: round(claims.length ? faithful / claims.length : null),
    answerRelevancy: input.abstained ? null : round(judged.answerRelevancy ?? base.answerRelevancy),
    contextPrecision: input.reference ? base.contextPrecision : round(rankPrecision(judged.sources)),
  };
}

async function judgeSafely(input: MetricsInput, claims: string[], opts: MetricsOptions): Promise<LlmJudgement | null> {
  try {
    const sources = input.sources.map((s) => s.text);
    const judged = await opts.judge!.judge(
      { question: input.question, claims, sources, abstained: input.abstained },
      opts.signal,
    );
    if (judged.claims.length !== claims.length || judged.sources.length !== sources.length) {
      throw new Error(
        `the judge returned ${judged.claims.length} claim and ${judged.sources.length} source verdicts for ${claims.length} and ${sources.length}`,
      );
    }
    return judged;
  } catch (err) {
    opts.onJudgeError?.(err);
    return null;
  }
}

async function defaultMetrics(input: MetricsInput, embed: MetricsOptions["embed"]): Promise<QueryMetrics> {
  const sources = input.sources.map((s) => sourceEvidence(s.n, s.text));
  const reference = input.reference?.trim() ? input.reference.trim() : undefined;
  const refEvidence = reference ? sourceEvidence(0, reference) : null;
  const refClaims = reference ? claimsOf(reference) : [];
  // One IDF over everything the claims are compared with, as the verifier weighs terms over its sources.
  const weight = termWeights(refEvidence ? [...sources, refEvidence] : sources);
  const batch = createSupportBatch(weight, Boolean(embed));

  const answered = !input.abstained;
  const finalChecks = answered ? input.details.filter((d) => d.claim && d.status !== "removed") : [];
  const answerClaims = finalChecks.map((d) => d.text);
  const answerText = stripMarkers(input.answer);
  const answerEvidence = sourceEvidence(0, answerText);

  // Faithfulness is the verifier's own verdict on each claim left in the final answer.
  const faithfulness = answered
    ? share(finalChecks.filter((d) => supported(d.status)).length, finalChecks.length)
    : null;

  const questionVector = batch.vector(input.question);
  const answerVector = answered ? batch.vector(answerText) : () => null;
  const referenceVector = reference && answered ? batch.vector(reference) : () => null;

  // Relevance of each source in rank order: to the reference's claims when there is one (as RAGAS
  // does), else to the question.
  const refChecks = refClaims.map((c) => sources.map((ev) => batch.support(c, ev)));
  const relevant = sources.map((ev, k) =>
    refClaims.length ? batch.any(refChecks.map((row) => row[k]!)) : batch.any([batch.relevance(input.question, ev)]),
  );
  // Used: the verifier found it supporting a sentence of the answer (its semantic test included), or
  // it supports one on words alone; embedding every uncited source's sentences would cost more than
  // the rest of the metrics together.
  const verifiedUse = new Set(finalChecks.filter((d) => supported(d.status)).flatMap((d) => d.cites));
  const used = sources.map((ev) =>
    verifiedUse.has(ev.n)
      ? () => true
      : batch.any(
          answerClaims.map((c) => batch.support(c, ev)),
          { semantic: false },
        ),
  );
  const recalled = refChecks.map((row) => batch.any(row));
  const refInAnswer = answered ? refClaims.map((c) => batch.any([batch.support(c, answerEvidence)])) : [];
  const answerInRef =
    refEvidence && answered ? answerClaims.map((c) => batch.any([batch.support(c, refEvidence)])) : [];

  await batch.run(embed);

  const cos = (a: number[] | null, b: number[] | null) => (a && b ? cosine(a, b) : null);
  const questionTerms = contentTerms(input.question);
  const coverage = questionTerms.length ? lexicalSupport(questionTerms, answerEvidence, weight) : null;
  const relevancyCosine = cos(questionVector(), answerVector());
  const relevancy = answered ? answerRelevancy(relevancyCosine, coverage) : null;

  let correctness: number | null = null;
  if (refClaims.length) {
    if (!answered) {
      correctness = 0; // an abstention states nothing of the reference
    } else {
      const tp = answerInRef.filter((f) => f()).length;
      const f1 = claimF1(tp, answerClaims.length - tp, refInAnswer.filter((f) => !f()).length) ?? 0;
      correctness = answerCorrectness(f1, cos(answerVector(), referenceVector()));
    }
  }

  return {
    method: !embed ? "lexical" : batch.embedFailed ? "lexical (the embedder failed)" : DEFAULT_METHOD,
    faithfulness: round(faithfulness),
    answerRelevancy: round(relevancy),
    contextPrecision: round(rankPrecision(relevant.map((f) => f()))),
    contextUtilisation: round(answerClaims.length && sources.length ? rankPrecision(used.map((f) => f())) : null),
    contextRecall: round(
      refClaims.length ? (sources.length ? share(recalled.filter((f) => f()).length, refClaims.length) : 0) : null,
    ),
    answerCorrectness: round(correctness),
  };
}
