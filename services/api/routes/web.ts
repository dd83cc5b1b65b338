import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { buildWeb, WEB_DIST } from "../../../web/build.js";
import { defineRoutes, errors, GUARDED_ERRORS, type RouteHandler } from "../contract.js";
import { ApiError } from "../errors.js";

/**
 * The app's policy: its own scripts and styles only (no inline code, so injected markup could not
 * run even if some text were ever inserted as HTML), API calls to this origin, and PDFs shown from
 * blob: URLs the app made from bytes it fetched with the key (the key never goes in a URL).
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "frame-src blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  html: "text/html; charset=utf-8",
};
const ASSET = /^[\w-]{1,64}\.(js|css)$/;

const pageRoute = createRoute({
  method: "get",
  path: "/",
  summary: "The web app (ask, sources, quality)",
  security: [],
  responses: {
    200: {
      description: "The app's page",
      content: { "text/html": { schema: z.string(), example: '<!doctype html><html lang="en">...</html>' } },
    },
    ...errors({ internal_error: GUARDED_ERRORS.internal_error }),
  },
});

const assetRoute = createRoute({
  method: "get",
  path: "/app/{file}",
  summary: "The web app's scripts and styles",
  security: [],
  request: { params: z.object({ file: z.string().regex(ASSET) }) },
  responses: {
    200: {
      description: "A script or a style sheet",
      content: { "text/javascript": { schema: z.string() }, "text/css": { schema: z.string() } },
    },
    ...errors({ not_found: "no such file in the web app", internal_error: GUARDED_ERRORS.internal_error }),
  },
});

/**
 * GET / (the web app) and GET /app/<file> (its scripts and styles), from `dir`. When `dir` has no
 * build (npm start and npm run api build it first; a bare `tsx services/api/main.ts` does not),
 * the first request builds it.
 */
export function webRoute(dir: string = WEB_DIST) {
  let ready: Promise<unknown> | undefined;
  const ensureBuilt = () =>
    (ready ??= access(join(dir, "index.html"))
      .catch(() => buildWeb(dir))
      .catch((err: unknown) => {
        ready = undefined;
        throw err;
      }));
  const serve = async (file: string, cache: string) => {
    await ensureBuilt();
    const body = await readFile(join(dir, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") {
        throw new ApiError("not_found", `No file ${JSON.stringify(file)} in the web app.`);
      }
      throw err;
    });
    return new Response(body, {
      headers: {
        "Content-Type": TYPES[file.slice(file.lastIndexOf(".") + 1)]!,
        "Content-Security-Policy": APP_CSP,
        "Cache-Control": cache,
      },
    });
  };
  const serveAsset: RouteHandler<"/app/:file"> = (c) => {
    const file = c.req.param("file");
    if (!ASSET.test(file)) {
      throw new ApiError("not_found", "No such file in the web app.");
    }
    return serve(file, "no-cache");
  };
  return defineRoutes([pageRoute, () => serve("index.html", "no-cache")], [assetRoute, serveAsset]);
}
