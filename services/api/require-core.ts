import { ApiError } from "./errors.js";

/**
 * The "still starting" check every route that needs the index makes: the server listens before the
 * database and model are ready (main.ts sets `core` and `admin` once they are), and until then such
 * routes answer 503 `index_not_ready`. An assertion, so the handler reads what it checked as built.
 * @example
 *   const { core } = c.var.deps;
 *   requireCore(core);
 *   await core.catalog.countDocuments();
 */
export function requireCore<T>(part: T | null | undefined): asserts part is T {
  if (part === null || part === undefined) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
}
