import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSWERABILITY_MODEL } from "../pipelines/answer/answerability-model.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { createLexicalReranker } from "../pipelines/rerank/lexical.js";
import { fusionFor } from "../pipelines/retrieve/hybrid.js";
import { answerDepsOf } from "../services/common/answer-deps.js";
import type { CoreDeps } from "../services/common/deps.js";
import { makeCore } from "./support/core.js";

let core: CoreDeps;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ core, cleanup } = await makeCore("pglite")));
afterAll(() => cleanup());

describe("answerDepsOf", () => {
  const generator = createExtractiveGenerator();

  it("reads the served generation and embedder and fills the documented defaults", () => {
    const deps = answerDepsOf(core, core.runtime.current(), {}, { generator, reranker: createLexicalReranker() });
    const fusion = fusionFor(core.runtime.current().generation, core.runtime.current().embedder.identity.provider);
    expect(deps).toMatchObject({
      store: core.store,
      embedder: core.runtime.current().embedder,
      generator,
      generationId: core.runtime.current().generation.id,
      denseWeight: fusion.denseWeight,
      documentWeight: fusion.documentWeight,
      candidates: fusion.candidates,
      verify: { mode: "remove", minSupportedShare: 0.5 },
      quality: { lexicalOnly: false, judge: undefined },
      answerability: { threshold: ANSWERABILITY_MODEL.threshold },
      guard: { injectionMode: "flag", maskAnswers: false },
    });
    expect(deps.reranker.name).toBe("lexical");
  });

  it("takes the configured settings and the process's own reranker and judge", () => {
    const reranker = { ...createLexicalReranker(), name: "configured" };
    const judge = { name: "llm-judge", judge: async () => ({}) } as never;
    const onJudgeError = () => {};
    const deps = answerDepsOf(
      core,
      core.runtime.current(),
      {
        DENSE_WEIGHT: 0.7,
        VERIFY_MODE: "flag",
        VERIFY_MIN_SUPPORTED: 0.8,
        METRICS_JUDGE: "lexical",
        ANSWERABILITY_MIN: 0,
      },
      { generator, reranker, metricsJudge: judge, onJudgeError },
    );
    expect(deps.reranker).toBe(reranker);
    expect(deps.denseWeight).toBe(0.7);
    expect(deps.verify).toEqual({ mode: "flag", minSupportedShare: 0.8 });
    expect(deps.quality).toEqual({ lexicalOnly: true, judge, onJudgeError });
    expect(deps.answerability).toEqual({ threshold: 0 });
  });
});
