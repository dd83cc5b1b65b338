import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { embedderKey } from "../../../pipelines/embed/types.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";

const ReadySchema = z
  .object({
    status: z.enum(["ready", "starting", "failed"]),
    migrations: z.boolean(),
    model: z.boolean(),
    database: z.string().optional(),
    embedder: z.string().optional(),
    generation: z.int().optional(),
    modelMismatch: z.boolean().optional(),
    error: z.string().optional(),
  })
  .openapi("Ready");

const route = createRoute({
  method: "get",
  path: "/",
  summary: "Readiness: migrations applied, model loaded, folders watched",
  security: [],
  responses: {
    200: json("Ready", ReadySchema, {
      status: "ready",
      migrations: true,
      model: true,
      database: "pglite",
      embedder: "use-lite:universal-sentence-encoder-lite@1:512:l2",
      generation: 1,
      modelMismatch: false,
    }),
    503: json("Starting, or start-up failed", ReadySchema, { status: "starting", migrations: false, model: false }),
    ...errors({ internal_error: GUARDED_ERRORS.internal_error }),
  },
});

/**
 * Readiness: migrations applied and the embedding model loaded. A model mismatch is still
 * "ready" (the process can serve /status and admin routes) but says so.
 */
const readiness: RouteHandler = (c) => {
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
};

export const readyzRoute = defineRoute(route, readiness);
