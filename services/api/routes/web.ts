import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Hono } from "hono";
import { buildWeb, WEB_DIST } from "../../../web/build.js";
import type { AppEnv } from "../context.js";
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
  return new Hono<AppEnv>()
    .get("/", () => serve("index.html", "no-cache"))
    .get("/app/:file", (c) => {
      const file = c.req.param("file");
      if (!ASSET.test(file)) {
        throw new ApiError("not_found", "No such file in the web app.");
      }
      return serve(file, "no-cache");
    });
}
