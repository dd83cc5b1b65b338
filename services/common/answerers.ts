import { createGenerator, type GeneratorSettings } from "../../pipelines/generate/index.js";
import type { Generator } from "../../pipelines/generate/types.js";
import { createRewriter, type QuestionRewriter } from "../../pipelines/conversation/index.js";
import { createMetricsJudge, type MetricsJudgeSettings } from "../../pipelines/metrics/index.js";
import type { LlmJudge } from "../../pipelines/metrics/types.js";
import { createReranker } from "../../pipelines/rerank/index.js";
import type { Reranker } from "../../pipelines/rerank/types.js";
import { ConfigError } from "./config.js";
import type { Logger } from "./log.js";

/**
 * Builds the generator, reranker and metrics judge the API answers with. A provider that cannot be
 * set up (a missing key, an uninstalled package) is a configuration error that stops start-up.
 */
export async function createAnswerers(
  config: GeneratorSettings & MetricsJudgeSettings & { RERANKER: string; MAX_QUESTION_CHARS: number },
  log: Logger,
): Promise<{
  generator: Generator;
  reranker: Reranker;
  metricsJudge: LlmJudge | undefined;
  rewriter: QuestionRewriter;
}> {
  try {
    const generator = await createGenerator(config, {
      onFallback: (model, err) => log.warn("generator failed; falling back", { model, err }),
    });
    const rewriter = createRewriter(config, (err) =>
      log.warn("follow-up rewrite by the chat model failed; carrying the earlier subject instead", { err }),
    );
    return {
      generator,
      reranker: await createReranker(config.RERANKER),
      metricsJudge: createMetricsJudge(config),
      rewriter,
    };
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
}
