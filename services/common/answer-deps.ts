import type { AnswerDeps } from "../../pipelines/answer/ask.js";
import { ANSWERABILITY_MODEL } from "../../pipelines/answer/answerability-model.js";
import { TEXT_VECTOR_CACHE_LIMIT, textVectorsOf } from "../../pipelines/embed/memo.js";
import type { Generator } from "../../pipelines/generate/types.js";
import type { LlmJudge } from "../../pipelines/metrics/types.js";
import type { Reranker } from "../../pipelines/rerank/types.js";
import { fusionFor } from "../../pipelines/retrieve/hybrid.js";
import { pageTextLayers } from "../../pipelines/store/page-queries.js";
import type { CoreDeps, ServedIndex } from "./deps.js";

/** The answer-path settings of a process's config (the API's; unset ones take the documented defaults). */
export interface AnswerSettings {
  DENSE_WEIGHT?: number | undefined;
  VERIFY_MODE?: "remove" | "flag" | undefined;
  VERIFY_MIN_SUPPORTED?: number | undefined;
  METRICS_JUDGE?: "embedding" | "lexical" | "llm" | undefined;
  ANSWERABILITY_MIN?: number | undefined;
  /** The answer guard (pipelines/answer/guarded.ts): flag or exclude chunks with injected instructions. */
  INJECTION_MODE?: "flag" | "exclude" | undefined;
  PII_MASK_ANSWERS?: boolean | undefined;
  /** Vectors of document sentences kept for later answers (pipelines/embed/memo.ts); 0: none. */
  TEXT_VECTOR_CACHE?: number | undefined;
}

/** The models a process answers with, built once at start-up (services/api/answerers.ts). */
export interface Answerers {
  generator: Generator;
  /** Built once with the process's deps (RERANKER; services/common/answerers.ts, or createApp's default). */
  reranker: Reranker;
  metricsJudge?: LlmJudge | undefined;
  /** Hears a failed METRICS_JUDGE=llm call (the metrics then use the default method). */
  onJudgeError?: ((err: unknown) => void) | undefined;
}

/**
 * What answerQuestion needs, from the core's fixed parts and one served index, as ingestDepsOf is
 * for indexFile: take `served` from `core.runtime.refresh()` once per request, so a re-index switch
 * is followed and the answer reads one generation throughout. Fusion weights are
 * DENSE_WEIGHT, else those fitted for this generation's embedder, else the embedder's default.
 * The caller narrows what is per request (a tenant's store view, a guarded reranker).
 */
export function answerDepsOf(
  core: CoreDeps,
  served: ServedIndex,
  config: AnswerSettings,
  answerers: Answerers,
): AnswerDeps {
  const fusion = fusionFor(served.generation, served.embedder.identity.provider, config.DENSE_WEIGHT);
  return {
    store: core.store,
    embedder: served.embedder,
    textVectors: textVectorsOf(served.embedder, config.TEXT_VECTOR_CACHE ?? TEXT_VECTOR_CACHE_LIMIT),
    generator: answerers.generator,
    reranker: answerers.reranker,
    generationId: served.generation.id,
    denseWeight: fusion.denseWeight,
    documentWeight: fusion.documentWeight,
    candidates: fusion.candidates,
    verify: { mode: config.VERIFY_MODE ?? "remove", minSupportedShare: config.VERIFY_MIN_SUPPORTED ?? 0.5 },
    quality: {
      lexicalOnly: config.METRICS_JUDGE === "lexical",
      judge: answerers.metricsJudge,
      onJudgeError: answerers.onJudgeError,
    },
    answerability: { threshold: config.ANSWERABILITY_MIN ?? ANSWERABILITY_MODEL.threshold },
    // Citations of OCR'd pages say so (issue 19).
    pageTextLayers: (refs) => pageTextLayers(core.database.db, refs),
    guard: { injectionMode: config.INJECTION_MODE ?? "flag", maskAnswers: config.PII_MASK_ANSWERS ?? false },
  };
}
