import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { withSpan } from "../../pipelines/tracing.js";
import type { AppEnv } from "./context.js";

// Probes and scrapes arrive every few seconds; at info level they would drown the requests.
const QUIET = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Gives each request a logger carrying its request id (`c.var.log`), and logs one line per
 * request when it ends: method, route, status, duration. Runs after requestId(). With tracing on,
 * each request (but probes and scrapes) is a span carrying the request id, the parent of the
 * pipeline's spans.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { log, metrics } = c.var.deps;
    const reqLog = log.child({ requestId: c.var.requestId });
    c.set("log", reqLog);
    const started = performance.now();
    try {
      if (QUIET.has(c.req.path)) {
        await next();
      } else {
        const attrs = {
          "http.request.method": c.req.method,
          "url.path": c.req.path,
          "rag.request.id": c.var.requestId,
        };
        await withSpan(`HTTP ${c.req.method}`, attrs, async (span) => {
          await next();
          span.setAttribute("http.response.status_code", c.res.status);
          span.updateName(`${c.req.method} ${routePath(c, -1)}`);
        });
      }
    } finally {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      // The matched route pattern, not the raw path, keeps the label set small (/documents/:id).
      const route = c.res.status === 404 && c.error === undefined ? "unmatched" : routePath(c, -1);
      metrics?.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
      const line = { method: c.req.method, path: c.req.path, route, status: c.res.status, ms };
      if (QUIET.has(c.req.path) && c.res.status < 400) {
        reqLog.debug("request", line);
      } else {
        reqLog.info("request", line);
      }
    }
  };
}
