import type { Embedder } from "./types.js";
import { createUseLiteEmbedder } from "./use-lite.js";

export type { Embedder, EmbedderIdentity } from "./types.js";
export { embedderKey } from "./types.js";

/**
 * Builds the embedder named by `EMBEDDING_MODEL`. Only `use-lite` ships with the install;
 * other providers are added by the pinned-model issue and load their packages lazily.
 */
export async function createEmbedder(spec: string): Promise<Embedder> {
  if (spec === "use-lite") return createUseLiteEmbedder();
  throw new Error(
    `EMBEDDING_MODEL=${spec} is not supported by this build; supported values: use-lite.`,
  );
}
