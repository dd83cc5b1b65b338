import type { SearchOptions, VectorStore } from "./types.js";

/**
 * The collections a caller may read: `null` for all (no keys configured, or a key for `*`), else
 * exactly these (possibly none).
 */
export type CollectionScope = readonly string[] | null;

/** The collections a search may touch: what it asked for, cut down to what the scope allows. */
export function scopeCollections(
  asked: readonly string[] | undefined,
  scope: CollectionScope,
): readonly string[] | undefined {
  if (scope === null) {
    return asked;
  }
  if (asked === undefined) {
    return scope;
  }
  return asked.filter((c) => scope.includes(c));
}

/**
 * A read view of `store` that can only return chunks of `scope`'s collections. Tenancy is imposed
 * here, below the routes and the answer pipeline, so a caller that forgets (or a future one that
 * never knew) to pass a collection filter still gets only its own tenant's text: the filter is
 * in every search the view runs. Writes go to the underlying store unchanged.
 */
export function scopedStore(store: VectorStore, scope: CollectionScope): VectorStore {
  if (scope === null) {
    return store;
  }
  const restrict = (opts: SearchOptions): SearchOptions => ({
    ...opts,
    collections: scopeCollections(opts.collections, scope),
  });
  return {
    ...store,
    searchDense: (embedding, opts) => store.searchDense(embedding, restrict(opts)),
    searchLexical: (query, opts) => store.searchLexical(query, restrict(opts)),
    ...(store.storedVectors && {
      storedVectors: (generationId: number, chunkIds: readonly string[], collections?: readonly string[]) =>
        store.storedVectors!(generationId, chunkIds, scopeCollections(collections, scope)),
    }),
  };
}
