import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { isPipelineError } from "../../pipelines/errors.js";
import { isStoreUnavailable } from "../../pipelines/store/unavailable.js";
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from "../../schemas/api.js";
import { QueueUnavailableError, ReindexError } from "../common/errors.js";
import type { Logger } from "../common/log.js";

// How long a client should wait before retrying after an outage: long enough for a restarted
// database or Redis to come back, short enough that a blip costs little.
const OUTAGE_RETRY_AFTER_SECONDS = 5;

/** An error the API answers with on purpose: a code from the closed set and a clear message. */
export class ApiError extends Error {
  override name = "ApiError";
  /** Sent as the Retry-After header (seconds) when set: the condition is expected to pass. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    opts: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, { cause: opts.cause });
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

const unavailable = (message: string, cause: unknown) =>
  new ApiError("service_unavailable", message, undefined, { cause, retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS });

/**
 * The one mapping from the errors of the layers below to API errors; undefined for an error the
 * API does not expect (answered as a 500). A dependency that is down is a 503 with Retry-After,
 * never a 409 or a 500: retrying later is what helps.
 */
export function apiErrorOf(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) {
    return err;
  }
  if (err instanceof ReindexError) {
    switch (err.code) {
      case "build_running":
        return new ApiError("reindex_in_progress", err.message, undefined, { cause: err });
      case "embedder_unavailable":
        return new ApiError("invalid_request", err.message, undefined, { cause: err });
      case "store_unavailable":
        return unavailable(err.message, err);
    }
  }
  if (err instanceof QueueUnavailableError) {
    return unavailable(err.message, err);
  }
  if (isPipelineError(err)) {
    if (err.code === "embedding_model_mismatch") {
      return new ApiError("embedding_model_mismatch", err.message, err.context, { cause: err });
    }
    if (err.code === "build_running") {
      return new ApiError("reindex_in_progress", err.message, undefined, { cause: err });
    }
    if (err.retryable) {
      return unavailable(err.message, err);
    }
  }
  // A query that failed because the database went away, wherever in a route it was made.
  if (isStoreUnavailable(err)) {
    return unavailable("The database cannot be reached; retry shortly.", err);
  }
  return undefined;
}

export function errorResponse(c: Context, code: ErrorCode, message: string, details?: unknown) {
  const body: ErrorBody = { error: { code, message, requestId: c.get("requestId") ?? "unknown" } };
  if (details !== undefined) {
    body.error.details = details;
  }
  return c.json(body, ERROR_STATUS[code]);
}

/** The one error handler: known errors keep their code; anything else is a 500 without internals. */
export function onError(log: Logger) {
  return (err: Error, c: Context) => {
    const known = apiErrorOf(err);
    if (known) {
      if (known.code === "service_unavailable") {
        log.warn("dependency unavailable", { requestId: c.get("requestId"), code: known.code, err });
      }
      if (known.retryAfterSeconds !== undefined) {
        c.header("Retry-After", String(known.retryAfterSeconds));
      }
      return errorResponse(c, known.code, known.message, known.details);
    }
    if (err instanceof HTTPException && err.status === 413) {
      return errorResponse(c, "payload_too_large", "The request body is larger than the limit.");
    }
    if (err instanceof HTTPException && err.status < 500) {
      return errorResponse(c, "invalid_request", err.message || "The request is invalid.");
    }
    log.error("unhandled error", { requestId: c.get("requestId"), err, stack: err.stack });
    return errorResponse(
      c,
      "internal_error",
      "Something went wrong on our side; the request id identifies it in the logs.",
    );
  };
}
