import { listCollections, type CollectionSummary } from "../../pipelines/store/collection-queries.js";
import type { CollectionScope } from "../../pipelines/store/scoped-store.js";
import type { CoreDeps } from "../common/deps.js";
import { ApiError } from "./errors.js";

/**
 * `name` when the caller may read that collection and it exists; otherwise 404 naming the ones
 * it may use. Never widened to "all": a typo must not answer from every tenant's documents. The
 * list holds only the caller's own collections, so another tenant's names do not leak.
 */
export async function requireKnownCollection(
  core: CoreDeps,
  scope: CollectionScope,
  name: string,
  opts: { what?: string; details?: unknown } = {},
): Promise<CollectionSummary> {
  const all = await listCollections(core.database.db, scope);
  const found = all.find((c) => c.name === name);
  if (found) {
    return found;
  }
  const valid = all.map((c) => c.name);
  throw new ApiError(
    "not_found",
    `No ${opts.what ?? "collection"} ${JSON.stringify(name.slice(0, 128))}; ` +
      (valid.length ? `this key may use: ${valid.join(", ")}.` : "this key may use no collection."),
    { valid, ...(opts.details && typeof opts.details === "object" ? opts.details : {}) },
  );
}
