import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from "../../schemas/api.js";
import type { Logger } from "../common/log.js";

/** An error the API answers with on purpose: a code from the closed set and a clear message. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function errorResponse(c: Context, code: ErrorCode, message: string, details?: unknown) {
  const body: ErrorBody = { error: { code, message, requestId: c.get("requestId") ?? "unknown" } };
  if (details !== undefined) body.error.details = details;
  return c.json(body, ERROR_STATUS[code]);
}

/** The one error handler: known errors keep their code; anything else is a 500 without internals. */
export function onError(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof ApiError) return errorResponse(c, err.code, err.message, err.details);
    if (err instanceof HTTPException && err.status === 413) {
      return errorResponse(c, "payload_too_large", "The request body is larger than the limit.");
    }
    if (err instanceof HTTPException && err.status < 500) {
      return errorResponse(c, "invalid_request", err.message || "The request is invalid.");
    }
    log.error("unhandled error", { requestId: c.get("requestId"), err, stack: err.stack });
    return errorResponse(c, "internal_error", "Something went wrong on our side; the request id identifies it in the logs.");
  };
}
