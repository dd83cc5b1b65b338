import { Hono } from "hono";
import { embedderKey } from "../../../pipelines/embed/types.js";
import type { AppEnv } from "../context.js";

/**
 * Readiness: migrations applied and the embedding model loaded. A model mismatch is still
 * "ready" (the process can serve /status and admin routes) but says so.
 */
export const readyzRoute = new Hono<AppEnv>().get("/", (c) => {
  const { core, startupError } = c.var.deps;
  if (!core) {
    return c.json(
      { status: startupError ? "failed" : "starting", migrations: false, model: false, error: startupError },
      503,
    );
  }
  const served = core.runtime.current();
  return c.json({
    status: "ready",
    migrations: true,
    model: true,
    database: core.database.kind,
    embedder: embedderKey(served.embedder.identity),
    generation: served.generation.id,
    modelMismatch: served.mismatch !== null,
  });
});
