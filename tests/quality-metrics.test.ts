import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toAnswer } from "../pipelines/generate/openai.js";
import type { ContextSource } from "../pipelines/generate/types.js";
import { computeQueryMetrics, createMetricsJudge } from "../pipelines/metrics/index.js";
import { answerCorrectness, answerRelevancy, claimF1, rankPrecision, rescale } from "../pipelines/metrics/formulas.js";
import { createLlmJudge, parseJudgeReply } from "../pipelines/metrics/llm-judge.js";
import type { MetricsOptions } from "../pipelines/metrics/types.js";
import { verifyAnswer } from "../pipelines/verify/verify.js";
import { loadApiConfig } from "../services/api/config.js";
import { KEEPERS, LIGHTHOUSE, sources } from "./support/answer-fixtures.js";
import {
  chatReply,
  startScriptedServer,
  statusReply,
  userPrompt,
  type ScriptedServer,
} from "./support/openai-server.js";

const LENS = "The Fresnel lens at Skerryvore lighthouse was installed by Alan Stevenson.";
const QUESTION = "When was the Fresnel lens of the Skerryvore lighthouse installed?";
const REFERENCE =
  "The Fresnel lens of the Skerryvore lighthouse was installed in 1844. Its keeper was paid 95 pounds a year.";

/**
 * A deterministic fake embedder, because these cases assert exact values: each text named in
 * `table` gets that vector, every other text the same fixed one (so any two unnamed texts have
 * cosine 1). It records its calls, to check that one answer costs one embedding call.
 */
function fakeEmbed(table: Record<string, number[]> = {}) {
  const calls: string[][] = [];
  const embed = async (texts: string[]) => {
    calls.push(texts);
    return texts.map((t) => table[t] ?? [1, 0]);
  };
  return { embed, calls };
}

/** The verifier's checks of a generated answer, then the metrics, as answerQuestion runs them. */
async function measure(
  text: string,
  given: ContextSource[],
  opts: { question?: string; mode?: "remove" | "flag"; reference?: string; metrics?: MetricsOptions } = {},
) {
  const verified = await verifyAnswer(toAnswer(text, "m"), given, {
    mode: opts.mode ?? "remove",
    minSupportedShare: 0.5,
  });
  const metrics = await computeQueryMetrics(
    {
      question: opts.question ?? QUESTION,
      answer: verified.text,
      abstained: verified.abstained,
      details: verified.verification.details,
      sources: given,
      reference: opts.reference,
    },
    opts.metrics,
  );
  return { verified, metrics };
}

describe("formulas", () => {
  it("context precision is the mean of precision@k over the relevant ranks", () => {
    expect(rankPrecision([true, false, true])).toBeCloseTo((1 + 2 / 3) / 2, 10);
    expect(rankPrecision([false, true])).toBe(0.5);
    expect(rankPrecision([true, true, false])).toBe(1);
    expect(rankPrecision([false, false])).toBe(0);
    expect(rankPrecision([])).toBeNull();
  });

  it("claim F1, answer correctness and answer relevancy", () => {
    expect(claimF1(1, 0, 1)).toBeCloseTo(2 / 3, 10);
    expect(claimF1(2, 0, 0)).toBe(1);
    expect(claimF1(0, 1, 1)).toBe(0);
    expect(claimF1(0, 0, 0)).toBeNull();
    expect(answerCorrectness(2 / 3, 1)).toBeCloseTo(0.75, 10);
    expect(answerCorrectness(0.5, -0.2)).toBe(0.375);
    expect(answerCorrectness(0.5, null)).toBe(0.5);
    expect(rescale(0.35, 0.1, 0.6)).toBeCloseTo(0.5, 10);
    expect(rescale(0.05, 0.1, 0.6)).toBe(0);
    expect(rescale(0.9, 0.1, 0.6)).toBe(1);
    expect(answerRelevancy(0.35, 1)).toBeCloseTo(0.75, 10);
    expect(answerRelevancy(null, 0.5)).toBe(0.5);
    expect(answerRelevancy(0.6, null)).toBe(1);
    expect(answerRelevancy(null, null)).toBeNull();
  });
});

describe("metrics from words alone (no embedder)", () => {
  const given = sources(["lighthouse.md", LIGHTHOUSE], ["keepers.md", KEEPERS]);

  it("a fully supported answer: faithfulness 1, every source used", async () => {
    const { metrics } = await measure(
      "The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [1]. Keepers worked in watches of four hours [2].",
      given,
    );
    expect(metrics).toMatchObject({
      method: "lexical",
      faithfulness: 1,
      contextUtilisation: 1,
      contextRecall: null,
      answerCorrectness: null,
    });
    // The question's terms are all in the first source and barely in the second: [1, 0].
    expect(metrics.contextPrecision).toBe(1);
    expect(metrics.answerRelevancy).toBe(1);
  });

  it("one of two claims unsupported (kept and flagged): faithfulness 0.5", async () => {
    const { verified, metrics } = await measure(
      "The Fresnel lens was installed in 1844 [2]. The keepers were paid 95 pounds a year [1].",
      sources(["keepers.md", KEEPERS], ["lighthouse.md", LIGHTHOUSE]),
      { mode: "flag" },
    );
    expect(verified.verification.flagged).toBe(1);
    expect(metrics.faithfulness).toBe(0.5);
    // Only the second source supports a sentence of the answer: relevance [0, 1].
    expect(metrics.contextUtilisation).toBe(0.5);
    expect(metrics.contextPrecision).toBe(0.5);
  });

  it("the same answer with the unsupported claim removed is faithful", async () => {
    const { metrics } = await measure(
      "The Fresnel lens was installed in 1844 [1]. The keepers were paid 95 pounds a year [2].",
      given,
    );
    expect(metrics.faithfulness).toBe(1);
  });

  it("context precision for relevance [1, 0, 1] is (1 + 2/3) / 2", async () => {
    const three = sources(["lighthouse.md", LIGHTHOUSE], ["keepers.md", KEEPERS], ["lens.md", LENS]);
    const { metrics } = await measure(
      "The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [1].",
      three,
    );
    expect(metrics.contextPrecision).toBe(0.8333);
    // Utilisation: the third source does not state 1844, so only the first supports the answer: [1, 0, 0].
    expect(metrics.contextUtilisation).toBe(1);
  });

  it("answer relevancy without an embedder is the IDF-weighted coverage of the question's terms", async () => {
    // "fresnel" and "watch" weigh the same (each in one source sentence); the answer has only the first.
    const { metrics } = await measure(
      "The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [1].",
      given,
      {
        question: "What about Fresnel watches?",
      },
    );
    expect(metrics.answerRelevancy).toBe(0.5);
  });

  it("a reference half covered by the context: contextRecall 0.5; answer correctness from claim F1", async () => {
    const { metrics } = await measure(
      "The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [1].",
      given,
      { reference: REFERENCE },
    );
    // The keeper's pay (95 pounds) is in no source.
    expect(metrics.contextRecall).toBe(0.5);
    // TP 1 (the answer's claim is in the reference), FP 0, FN 1 (the pay): F1 = 1 / (1 + 1/2).
    expect(metrics.answerCorrectness).toBe(0.6667);
    // With a reference, a source is relevant when it supports one of its claims: [1, 0].
    expect(metrics.contextPrecision).toBe(1);
  });

  it("a reference fully covered: contextRecall 1, correctness 1", async () => {
    const reference = "The Fresnel lens of the Skerryvore lighthouse was installed in 1844.";
    const { metrics } = await measure(
      "The Fresnel lens of the Skerryvore lighthouse was installed in 1844 [1].",
      given,
      { reference },
    );
    expect(metrics).toMatchObject({ contextRecall: 1, answerCorrectness: 1 });
  });

  it("an abstention: nothing to be faithful or relevant about, correctness 0 against a reference", async () => {
    const { verified, metrics } = await measure("I could not find an answer to that in the indexed documents.", given, {
      reference: REFERENCE,
    });
    expect(verified.abstained).toBe(true);
    expect(metrics).toMatchObject({
      faithfulness: null,
      answerRelevancy: null,
      contextUtilisation: null,
      contextRecall: 0.5,
      answerCorrectness: 0,
    });
    expect(metrics.contextPrecision).toBe(1);
  });

  it("no sources: precision null, recall 0 against a reference", async () => {
    const { metrics } = await measure("I could not find an answer to that in the indexed documents.", [], {
      reference: REFERENCE,
    });
    expect(metrics).toEqual({
      method: "lexical",
      faithfulness: null,
      answerRelevancy: null,
      contextPrecision: null,
      contextUtilisation: null,
      contextRecall: 0,
      answerCorrectness: 0,
    });
  });
});

describe("metrics with an embedder (a deterministic fake)", () => {
  const given = sources(["lighthouse.md", LIGHTHOUSE], ["keepers.md", KEEPERS]);
  const ANSWER = "The Fresnel lens of the Skerryvore lighthouse was installed in 1844.";

  it("answer relevancy averages the rescaled cosine with the term coverage, in one embedding call", async () => {
    // cosine(question, answer) = 0.35, halfway between the bars 0.1 and 0.6; coverage is 1.
    const fake = fakeEmbed({ [QUESTION]: [1, 0], [ANSWER]: [0.35, Math.sqrt(1 - 0.35 ** 2)] });
    const { metrics } = await measure(`${ANSWER.slice(0, -1)} [1].`, given, { metrics: { embed: fake.embed } });
    expect(metrics.method).toBe("embedding+lexical");
    expect(metrics.answerRelevancy).toBe(0.75);
    expect(fake.calls).toHaveLength(1);
  });

  it("answer correctness adds a quarter of the answer-reference cosine", async () => {
    // Every text gets the same vector: cosine(answer, reference) = 1; F1 = 2/3 as above.
    const fake = fakeEmbed();
    const { metrics } = await measure(`${ANSWER.slice(0, -1)} [1].`, given, {
      reference: REFERENCE,
      metrics: { embed: fake.embed },
    });
    expect(metrics.answerCorrectness).toBe(0.75);
    expect(fake.calls).toHaveLength(1);
  });

  it("a source in the uncertain lexical zone is relevant when the embedder says it is close enough", async () => {
    // The keepers source has all the question's terms
    // (lexical 1, relevant on words); the lighthouse source only "skerryvore" (uncertain): the
    // embedder decides it, here with cosine 1 (relevant) and then 0 (not).
    const question = "Which Skerryvore keepers logged the weather every night?";
    const answer = "Keepers at Skerryvore logged the weather every night [2].";
    const near = await measure(answer, given, { question, metrics: { embed: fakeEmbed().embed } });
    expect(near.metrics.contextPrecision).toBe(1);
    const far = await measure(answer, given, { question, metrics: { embed: fakeEmbed({ [question]: [0, 1] }).embed } });
    expect(far.metrics.contextPrecision).toBe(0.5);
  });

  it("an embedder that fails leaves the words to decide, and says so", async () => {
    const { metrics } = await measure(`${ANSWER.slice(0, -1)} [1].`, given, {
      metrics: { embed: async () => Promise.reject(new Error("model gone")) },
    });
    expect(metrics.method).toBe("lexical (the embedder failed)");
    expect(metrics.faithfulness).toBe(1);
    expect(metrics.answerRelevancy).toBe(1);
  });
});

describe("LLM judge (a scripted OpenAI-compatible server on loopback)", () => {
  let server: ScriptedServer;
  const given = sources(["lighthouse.md", LIGHTHOUSE], ["keepers.md", KEEPERS]);
  const answer = "The Fresnel lens was installed in 1844 [1]. The keepers were paid 95 pounds a year [2].";
  const judge = () =>
    createLlmJudge({
      baseUrl: server.url,
      model: "judge-model",
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2, timeoutMs: 5_000 },
    });
  beforeAll(async () => (server = await startScriptedServer([])));
  afterAll(() => server.close());

  it("asks for claim and source verdicts and a relevancy grade; the metrics are its", async () => {
    server.script([chatReply('Here you go: {"claims": [true, false], "sources": [false, true], "relevancy": 0.9}')]);
    const { metrics } = await measure(answer, given, {
      mode: "flag",
      metrics: { judge: judge(), embed: fakeEmbed().embed },
    });
    expect(metrics).toMatchObject({
      method: "llm-judge:judge-model",
      faithfulness: 0.5,
      answerRelevancy: 0.9,
      contextPrecision: 0.5,
    });
    const body = server.requests.at(-1)!.body;
    expect(body.model).toBe("judge-model");
    expect(body.temperature).toBe(0);
    const prompt = userPrompt(body);
    expect(prompt).toContain(QUESTION);
    expect(prompt).toContain('<claim n="2">The keepers were paid 95 pounds a year.</claim>');
    expect(prompt).toContain('<source n="2">');
  });

  it("falls back to the default method when the judge fails or answers nonsense, and reports it", async () => {
    for (const reply of [
      statusReply(500),
      chatReply("I think they are all fine."),
      chatReply('{"claims": [true], "sources": [true, true]}'),
    ]) {
      server.script([reply]);
      const errors: unknown[] = [];
      const { metrics } = await measure(answer, given, {
        mode: "flag",
        metrics: { judge: judge(), onJudgeError: (e) => errors.push(e) },
      });
      expect(metrics.method).toBe("lexical");
      expect(metrics.faithfulness).toBe(0.5);
      expect(errors).toHaveLength(1);
    }
  });

  it("parses a fenced reply; refuses a relevancy outside [0, 1]", () => {
    expect(parseJudgeReply('```json\n{"claims": [], "sources": [true], "relevancy": null}\n```')).toEqual({
      claims: [],
      sources: [true],
      answerRelevancy: null,
    });
    expect(() => parseJudgeReply('{"claims": [], "sources": [], "relevancy": 7}')).toThrow();
  });

  it("METRICS_JUDGE=llm needs a chat API; embedding needs nothing", () => {
    expect(createMetricsJudge({})).toBeUndefined();
    expect(createMetricsJudge({ METRICS_JUDGE: "embedding", LLM_BASE_URL: "http://x/v1" })).toBeUndefined();
    expect(createMetricsJudge({ METRICS_JUDGE: "lexical" })).toBeUndefined();
    expect(() => loadApiConfig({ METRICS_JUDGE: "gpt" })).toThrow(/METRICS_JUDGE/);
    expect(loadApiConfig({ METRICS_JUDGE: "" }).METRICS_JUDGE).toBe("embedding");
    expect(() => createMetricsJudge({ METRICS_JUDGE: "llm" })).toThrow(/LLM_BASE_URL/);
    expect(
      createMetricsJudge({
        METRICS_JUDGE: "llm",
        LLM_BASE_URL: "http://127.0.0.1:1/v1",
        LLM_MODEL: "m",
        METRICS_JUDGE_MODEL: "j",
      })!.name,
    ).toBe("llm-judge:j");
  });
});
