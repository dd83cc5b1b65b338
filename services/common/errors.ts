/**
 * Errors of the service layer (services/common), each with a closed code and the error it wraps
 * as `cause`. The API maps them to HTTP statuses in one place (services/api/errors.ts); pipeline
 * errors live in pipelines/errors.ts.
 */

export type ReindexErrorCode =
  /** Another build holds the one build slot. */
  | "build_running"
  /** The embedding model asked for cannot be loaded (a bad name, a missing package). */
  | "embedder_unavailable"
  /** The database could not be reached to claim the build slot; retrying later can help. */
  | "store_unavailable";

/** Why a re-index did not start. */
export class ReindexError extends Error {
  override name = "ReindexError";
  constructor(
    readonly code: ReindexErrorCode,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
  }
}

/** Thrown by enqueue() and friends when Redis cannot be reached; the message names the server. */
export class QueueUnavailableError extends Error {
  override name = "QueueUnavailableError";
  readonly code = "queue_unavailable" as const;
}
