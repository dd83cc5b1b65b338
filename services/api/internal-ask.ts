import { Hono } from "hono";
import type { AskResponse, ErrorBody } from "../../schemas/api.js";
import type { Principal } from "../common/api-keys.js";
import type { Logger } from "../common/log.js";
import type { ApiDeps, AppEnv } from "./context.js";
import { ApiError, onError } from "./errors.js";
import { askRoute } from "./routes/ask.js";

/** Who asks, already authenticated and rate-limited by the caller's own route (or the stdio process). */
export interface Asker {
  principal: Principal;
  requestId: string;
  log: Logger;
}

/** The /ask request body, as a client would send it (validated again by the route). */
export interface AskBody {
  question: string;
  collection?: string | undefined;
  topK?: number | undefined;
  history?: Array<{ role: "user" | "assistant"; content: string }> | undefined;
}

/**
 * Answers through POST /ask itself, so /v1/chat/completions and the MCP `ask` tool get exactly
 * its retrieval, generation, verification, tenancy, query log and metrics, and whatever it gains
 * later. It runs the route in a sub-app that carries the caller's principal and request id
 * instead of running authentication and the rate limit a second time. An error comes back as
 * the ApiError /ask answered with (same code, status and message).
 */
export async function askThroughRoute(
  deps: ApiDeps,
  asker: Asker,
  body: AskBody,
  signal?: AbortSignal,
): Promise<AskResponse> {
  const sub = new Hono<AppEnv>();
  sub.use(async (c, next) => {
    c.set("deps", deps);
    c.set("principal", asker.principal);
    c.set("requestId", asker.requestId);
    c.set("log", asker.log);
    await next();
  });
  sub.route("/ask", askRoute(deps.config.MAX_QUESTION_CHARS));
  sub.onError(onError(deps.log));
  const res = await sub.request("/ask", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: false }),
    ...(signal ? { signal } : {}),
  });
  if (res.ok) {
    return (await res.json()) as AskResponse;
  }
  const { error } = (await res.json()) as ErrorBody;
  throw new ApiError(error.code, error.message, error.details);
}
