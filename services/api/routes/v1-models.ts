import { Hono } from "hono";
import { listCollections } from "../../../pipelines/store/collection-queries.js";
import { requireKnownCollection } from "../collections.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";
import { scopeOf } from "../tenant.js";

const model = (name: string, lastIndexedAt: string | null) => ({
  id: name,
  object: "model" as const,
  // OpenAI's `created` is when the model was made; a collection's is when it last changed.
  created: lastIndexedAt ? Math.floor(Date.parse(lastIndexedAt) / 1000) : 0,
  owned_by: "rag-service",
});

/**
 * GET /v1/models: the collections this key may read, each as an OpenAI model id (the `model` of
 * /v1/chat/completions). GET /v1/models/:id: one of them, 404 model_not_found otherwise.
 */
export const modelsRoute = new Hono<AppEnv>()
  .get("/", async (c) => {
    const { core } = c.var.deps;
    if (!core) {
      throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
    }
    const all = await listCollections(core.database.db, scopeOf(c));
    return c.json({ object: "list", data: all.map((m) => model(m.name, m.lastIndexedAt)) });
  })
  .get("/:id", async (c) => {
    const { core } = c.var.deps;
    if (!core) {
      throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
    }
    const found = await requireKnownCollection(core, scopeOf(c), c.req.param("id"), {
      what: "model (collection)",
      details: { openai: { code: "model_not_found", param: "model" } },
    });
    return c.json(model(found.name, found.lastIndexedAt));
  });
