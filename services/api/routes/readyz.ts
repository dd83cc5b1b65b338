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
  return c.json({
    status: "ready",
    migrations: true,
    model: true,
    database: core.database.kind,
    embedder: embedderKey(core.embedder.identity),
    generation: core.generation.id,
    modelMismatch: core.mismatch !== null,
  });
});
