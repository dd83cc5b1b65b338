import { createGenerator, type GeneratorSettings } from "../../pipelines/generate/index.js";
import type { Generator } from "../../pipelines/generate/types.js";
import { createReranker } from "../../pipelines/rerank/index.js";
import type { Reranker } from "../../pipelines/rerank/types.js";
import { ConfigError } from "../common/config.js";
import type { Logger } from "../common/log.js";

/**
 * Builds the generator and reranker the API answers with. A provider that cannot be set up (a
 * missing key, an uninstalled package) is a configuration error that stops start-up.
 */
export async function createAnswerers(
  config: GeneratorSettings & { RERANKER: string },
  log: Logger,
): Promise<{ generator: Generator; reranker: Reranker }> {
  try {
    const generator = await createGenerator(config, {
      onFallback: (model, err) => log.warn("generator failed; falling back", { model, err }),
    });
    return { generator, reranker: await createReranker(config.RERANKER) };
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
