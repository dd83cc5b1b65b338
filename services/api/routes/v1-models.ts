import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { listCollections } from "../../../pipelines/store/collection-queries.js";
import { requireKnownCollection } from "../collections.js";
import { defineRoutes, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import { ApiError } from "../errors.js";
import { scopeOf } from "../tenant.js";

const model = (name: string, lastIndexedAt: string | null) => ({
  id: name,
  object: "model" as const,
  // OpenAI's `created` is when the model was made; a collection's is when it last changed.
  created: lastIndexedAt ? Math.floor(Date.parse(lastIndexedAt) / 1000) : 0,
  owned_by: "rag-service",
});

const ModelSchema = z
  .object({ id: z.string(), object: z.literal("model"), created: z.int(), owned_by: z.string() })
  .openapi("Model");
const exampleModel = { id: "default", object: "model" as const, created: 1769850000, owned_by: "rag-service" };
const modelErrors = (why: { not_found?: string }) =>
  errors({ ...why, index_not_ready: "the service is still starting", ...GUARDED_ERRORS }, "openai");

const listRoute = createRoute({
  method: "get",
  path: "/",
  summary: "The collections this key may read, as OpenAI models",
  responses: {
    200: json("OpenAI's model list", z.object({ object: z.literal("list"), data: z.array(ModelSchema) }), {
      object: "list",
      data: [exampleModel],
    }),
    ...modelErrors({}),
  },
});

const oneRoute = createRoute({
  method: "get",
  path: "/{id}",
  summary: "One collection this key may read, as an OpenAI model",
  request: { params: z.object({ id: z.string() }) },
  responses: {
    200: json("The model", ModelSchema, exampleModel),
    ...modelErrors({ not_found: "code model_not_found: not a collection this key may read" }),
  },
});

/**
 * GET /v1/models: the collections this key may read, each as an OpenAI model id (the `model` of
 * /v1/chat/completions). GET /v1/models/:id: one of them, 404 model_not_found otherwise.
 */
const listModels: RouteHandler = async (c) => {
  const { core } = c.var.deps;
  if (!core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  const all = await listCollections(core.database.db, scopeOf(c));
  return c.json({ object: "list", data: all.map((m) => model(m.name, m.lastIndexedAt)) });
};

const readModel: RouteHandler<"/:id"> = async (c) => {
  const { core } = c.var.deps;
  if (!core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  const found = await requireKnownCollection(core, scopeOf(c), c.req.param("id"), {
    what: "model (collection)",
    details: { openai: { code: "model_not_found", param: "model" } },
  });
  return c.json(model(found.name, found.lastIndexedAt));
};

export const modelsRoute = defineRoutes([listRoute, listModels], [oneRoute, readModel]);
