import type { MiddlewareHandler } from "hono";
import type { ErrorBody, ErrorCode } from "../../schemas/api.js";
import type { OpenAiErrorBody } from "../../schemas/openai.js";
import type { AppEnv } from "./context.js";

// OpenAI's error types by our code; the SDKs pick their error class from the status, and
// gateways (LiteLLM) and front ends read `type`.
const TYPE: Record<ErrorCode, string> = {
  invalid_request: "invalid_request_error",
  unauthorized: "authentication_error",
  forbidden: "permission_error",
  not_found: "invalid_request_error",
  payload_too_large: "invalid_request_error",
  unsupported_media_type: "invalid_request_error",
  embedding_model_mismatch: "server_error",
  reindex_in_progress: "server_error",
  rate_limited: "rate_limit_error",
  internal_error: "server_error",
  index_not_ready: "server_error",
  service_unavailable: "server_error",
  overloaded: "server_error",
  // OpenAI answers an exhausted quota with 429 insufficient_quota; the type is the rate-limit one.
  budget_exceeded: "insufficient_quota",
};

/** What a route may add to an error's details to shape its OpenAI form (`model_not_found`, `param`). */
export interface OpenAiErrorHint {
  openai?: { code?: string; param?: string };
}

/**
 * Rewrites every error answered under /v1 (by authentication, the rate limit, the body limit,
 * validation, the routes or the error handler) into OpenAI's shape
 * `{"error": {"message", "type", "code", "param"}}`, keeping the status and headers
 * (Retry-After, WWW-Authenticate). Mounted before those, so it sees all of them.
 */
export function openAiErrors(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.res.status < 400 || !(c.res.headers.get("content-type") ?? "").includes("application/json")) {
      return;
    }
    const body = (await c.res
      .clone()
      .json()
      .catch(() => null)) as ErrorBody | null;
    if (!body?.error?.code) {
      return;
    }
    const { code, message, requestId, details } = body.error;
    const hint = (details as OpenAiErrorHint | undefined)?.openai;
    const out: OpenAiErrorBody = {
      error: {
        message,
        type: TYPE[code] ?? "server_error",
        code: hint?.code ?? code,
        param: hint?.param ?? null,
        request_id: requestId,
      },
    };
    const headers = new Headers(c.res.headers);
    headers.delete("content-length");
    c.res = new Response(JSON.stringify(out), { status: c.res.status, headers });
  };
}
