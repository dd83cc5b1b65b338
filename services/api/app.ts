import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { createLexicalReranker } from "../../pipelines/rerank/lexical.js";
import type { ApiDeps, ApiDepsInput, AppEnv } from "./context.js";
import { errorResponse, onError } from "./errors.js";
import { createMetrics } from "../common/metrics.js";
import { authenticate, createAuthenticator } from "./auth.js";
import { rateLimit } from "./rate-limit.js";
import { requestLog } from "./request-log.js";
import { securityHeaders } from "./security-headers.js";
import { adminReindexRoute } from "./routes/admin-reindex.js";
import { askRoute } from "./routes/ask.js";
import { documentRoute } from "./routes/document.js";
import { documentContentRoute } from "./routes/document-content.js";
import { documentsRoute } from "./routes/documents.js";
import { feedbackRoute } from "./routes/feedback.js";
import { apiMetricsQueue } from "./metrics-queue.js";
import { createAdmission, DEFAULT_MAX_ANSWERS_IN_FLIGHT } from "./admission.js";
import { queriesRoute } from "./routes/queries.js";
import { metricsRoute } from "./routes/metrics.js";
import { healthzRoute } from "./routes/healthz.js";
import { openApiRoute } from "./routes/openapi.js";
import { qualityRoute } from "./routes/quality.js";
import { qualityEvalsRoute } from "./routes/quality-evals.js";
import { qualityRecentRoute } from "./routes/quality-recent.js";
import { qualitySeriesRoute } from "./routes/quality-series.js";
import { readyzRoute } from "./routes/readyz.js";
import { statusRoute } from "./routes/status.js";
import { openAiErrors } from "./openai-errors.js";
import { chatCompletionsRoute } from "./routes/v1-chat-completions.js";
import { modelsRoute } from "./routes/v1-models.js";
import { mcpRoute } from "./routes/mcp.js";
import { webRoute } from "./routes/web.js";
import { whoamiRoute } from "./routes/whoami.js";

/**
 * The HTTP API. Built from already-constructed dependencies, so tests call `app.request()` on
 * real components without a listening socket.
 * @example
 *   const app = createApp(deps);
 *   const res = await app.request("/ask", { method: "POST", body: JSON.stringify({ question }) });
 */
export function createApp(input: ApiDepsInput) {
  // The same object, completed in place: main.ts sets `core` and `queue` on it after start-up.
  const deps: ApiDeps = Object.assign(input, { reranker: input.reranker ?? createLexicalReranker() });
  // One registry per app; the queue is read at scrape time, since main.ts sets it after start-up.
  deps.metrics ??= createMetrics({ queue: () => deps.queue });
  deps.admission ??= createAdmission(deps.config.MAX_ANSWERS_IN_FLIGHT ?? DEFAULT_MAX_ANSWERS_IN_FLIGHT);
  deps.metricsQueue ??= apiMetricsQueue(deps, () => deps.admission?.inFlight ?? 0);
  const app = new OpenAPIHono<AppEnv>();
  app.use(requestId());
  app.use(async (c, next) => {
    c.set("deps", deps);
    await next();
  });
  app.use(requestLog());
  app.use(securityHeaders());
  // OpenAI clients parse OpenAI's error shape: every /v1 error, wherever answered below, is rewritten.
  app.use("/v1/*", openAiErrors());
  // Who is calling, then how often, before any body is read (README "Security").
  app.use(
    authenticate(
      deps.auth ?? createAuthenticator({ envKeys: deps.config.API_KEYS, core: () => deps.core }),
      deps.config.METRICS_PUBLIC ?? false,
    ),
  );
  app.use(rateLimit({ perMinute: deps.config.RATE_LIMIT_PER_MINUTE, create: deps.sharedRateLimiter }));
  app.use(
    bodyLimit({
      maxSize: deps.config.MAX_BODY_BYTES,
      onError: (c) =>
        errorResponse(c, "payload_too_large", `The request body is larger than ${deps.config.MAX_BODY_BYTES} bytes.`),
    }),
  );
  app.route("/ask", askRoute(deps.config.MAX_QUESTION_CHARS));
  app.route("/healthz", healthzRoute);
  app.route("/readyz", readyzRoute);
  app.route("/status", statusRoute);
  app.route("/documents", documentsRoute);
  app.route("/documents", documentRoute);
  app.route("/documents", documentContentRoute);
  app.route("/feedback", feedbackRoute);
  app.route("/quality", qualityRoute);
  app.route("/queries", queriesRoute);
  app.route("/quality/series", qualitySeriesRoute);
  app.route("/quality/recent", qualityRecentRoute);
  app.route("/quality/evals", qualityEvalsRoute);
  app.route("/whoami", whoamiRoute);
  app.route("/", webRoute(deps.webDir));
  app.route("/metrics", metricsRoute);
  app.route("/admin/reindex", adminReindexRoute);
  app.route("/openapi.json", openApiRoute(app));
  app.route("/v1/chat/completions", chatCompletionsRoute);
  app.route("/v1/models", modelsRoute);
  app.route("/mcp", mcpRoute);
  app.notFound((c) => errorResponse(c, "not_found", `No route for ${c.req.method} ${c.req.path}.`));
  app.onError(onError(deps.log));
  return app;
}
