import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "../context.js";
import { defineRoute, errors, json } from "../contract.js";

const OpenApiDocumentSchema = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.looseObject({})),
  components: z.looseObject({}),
});

const route = createRoute({
  method: "get",
  path: "/",
  summary: "This document: OpenAPI 3.1, generated from the routes' declarations",
  security: [],
  responses: {
    200: json("OpenAPI 3.1", OpenApiDocumentSchema, {
      openapi: "3.1.0",
      info: { title: "rag-service", version: "0.1.0" },
      paths: { "/healthz": { get: { summary: "Liveness" } } },
      components: {},
    }),
    ...errors({ internal_error: "a fault of ours; the request id finds it in the logs" }),
  },
});

/**
 * The OpenAPI 3.1 document of `app`, generated from the declarations of the routes mounted on it
 * (services/api/contract.ts `defineRoute`), so it cannot say other than what the routes do.
 */
export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  const registry = app.openAPIRegistry;
  // With API_KEYS or the keys table set, every route but the public ones needs a key (README "Security").
  registry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "Authorization: Bearer <API key>",
  });
  registry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "X-API-Key" });
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "rag-service",
      version: "0.1.0",
      description: "Grounded answers with verified citations from watched folders.",
    },
    security: [{ bearer: [] }, { apiKey: [] }],
  });
}

/** GET /openapi.json: the document of `app`, generated on the first request (every route is mounted by then). */
export function openApiRoute(app: OpenAPIHono<AppEnv>) {
  let doc: ReturnType<typeof openApiDocument> | undefined;
  return defineRoute(route, (c) => {
    doc ??= openApiDocument(app);
    return c.json(doc);
  });
}
