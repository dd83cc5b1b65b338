import type { Context } from "hono";
import type { CollectionScope } from "../../pipelines/store/scoped-store.js";
import type { AppEnv } from "./context.js";
import { ApiError } from "./errors.js";

/**
 * The collections this request may read (null: all). Fails closed: a route reached without the
 * authentication middleware has no principal, and answers 500 rather than everything.
 */
export function scopeOf(c: Context<AppEnv>): CollectionScope {
  const p = c.get("principal");
  if (!p) {
    throw new Error("no principal on the request: the authentication middleware did not run");
  }
  return p.collections;
}

/**
 * A collection the request names explicitly. Outside the caller's scope it is answered as
 * unknown (404), like another tenant's document id, so names do not leak either.
 */
export function requireCollection(c: Context<AppEnv>, name: string | undefined): void {
  const scope = scopeOf(c);
  if (name !== undefined && scope !== null && !scope.includes(name)) {
    throw new ApiError("not_found", `No collection ${JSON.stringify(name.slice(0, 128))}.`);
  }
}
