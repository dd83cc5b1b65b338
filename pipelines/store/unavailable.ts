import { PipelineError } from "../errors.js";

// Node's socket errors: the server is not there, went away, or is not answering.
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);
// SQLSTATE class 08 (connection exception), the server shutting down or refusing sessions for now.
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
// What pg and PGlite say without a code: a dropped connection, a pool that gave up, a closed PGlite.
const UNAVAILABLE_MESSAGES =
  /connection terminated|connection error|timeout exceeded when trying to connect|pglite is closed|client was closed|pool after calling end/i;

/**
 * Whether `err` (or an error in its cause chain: drizzle wraps the driver's error) says the
 * database cannot be reached, as opposed to a query it refused. An outage is worth retrying; a
 * refused query is not, so callers tell them apart with this before choosing a status or a retry.
 */
export function isStoreUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (!(e instanceof Error) || seen.has(e)) {
      continue;
    }
    seen.add(e);
    if (e instanceof PipelineError && e.code === "store_unavailable") {
      return true;
    }
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === "string" &&
      (NETWORK_CODES.has(code) || code.startsWith("08") || UNAVAILABLE_SQLSTATES.has(code))
    ) {
      return true;
    }
    if (UNAVAILABLE_MESSAGES.test(e.message)) {
      return true;
    }
    queue.push(e.cause);
    // A dual-stack connect fails with one AggregateError holding the IPv4 and IPv6 refusals.
    if (e instanceof AggregateError) {
      queue.push(...e.errors);
    }
  }
  return false;
}

/** `err` as a retryable `store_unavailable` PipelineError, keeping it as the cause. */
export function storeUnavailable(err: unknown, what: string): PipelineError {
  const detail = err instanceof Error ? err.message : String(err);
  return new PipelineError("store_unavailable", `Cannot ${what}: the database cannot be reached (${detail}).`, {
    retryable: true,
    cause: err,
  });
}
