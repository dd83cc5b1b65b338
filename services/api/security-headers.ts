import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.js";

/**
 * Every API response is JSON, Prometheus text or server-sent events; only the web app (routes/web.ts) is a page. Answers and error
 * messages can carry text from documents or from the request (an injected `<script>`, a path), so
 * a browser that opens one must never sniff it as HTML or run anything in it.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    // The web app's routes set their own (still strict) policy; every other response may load and run nothing.
    if (!c.res.headers.has("Content-Security-Policy")) {
      c.res.headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    }
    c.res.headers.set("Referrer-Policy", "no-referrer");
  };
}
