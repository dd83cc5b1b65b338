import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { defineRoute, errors, GUARDED_ERRORS, type RouteHandler, STARTING_ERRORS } from "../contract.js";

const route = createRoute({
  method: "get",
  path: "/",
  summary: "Prometheus metrics (with a key: the admin scope, unless METRICS_PUBLIC)",
  responses: {
    200: {
      description: "Prometheus text format 0.0.4",
      content: {
        "text/plain": {
          schema: z.string(),
          example: '# TYPE rag_ask_answers_total counter\nrag_ask_answers_total{abstained="false"} 42\n',
        },
      },
    },
    ...errors({ ...STARTING_ERRORS, ...GUARDED_ERRORS }),
  },
});

/** GET /metrics: Prometheus text exposition of this process's registry (queue depth read now). */
const scrape: RouteHandler = async (c) => {
  const registry = c.var.deps.metrics!.registry;
  return c.body(await registry.metrics(), 200, { "content-type": registry.contentType });
};

export const metricsRoute = defineRoute(route, scrape);
