import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createQualitySeries } from "../../../pipelines/store/quality-series.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import { EXAMPLE_QUERY_ID } from "../examples.js";
import { qualityWindowQuery } from "../../common/quality-window.js";
import { ApiError } from "../errors.js";
import { windowAndExtra } from "./quality-series.js";

const RecentSchema = z.object({
  queries: z.array(
    z.object({
      id: z.string(),
      createdAt: z.string(),
      question: z.string(),
      collection: z.string().nullable(),
      abstained: z.boolean(),
      answer: z.string().describe("The start of the answer."),
      metrics: z.record(z.string(), z.number().nullable()).nullable(),
      totalMs: z.number().nullable(),
      feedback: z.object({ up: z.int(), down: z.int(), lastComment: z.string().nullable() }),
    }),
  ),
});

const route = createRoute({
  method: "get",
  path: "/",
  summary: "The newest answers of the window with their metrics, latency and feedback",
  request: {
    query: qualityWindowQuery().extend({
      limit: z.int().min(1).max(100).default(20).meta({ description: "How many." }),
    }),
  },
  responses: {
    200: json("Newest first", RecentSchema, {
      queries: [
        {
          id: EXAMPLE_QUERY_ID,
          createdAt: "2026-01-31T08:58:02.000Z",
          question: "How many days of paid leave do employees get?",
          collection: null,
          abstained: false,
          answer: "Employees accrue 25 days of paid leave per year [1].",
          metrics: { faithfulness: 1, answerRelevancy: 0.84, contextPrecision: 0.75 },
          totalMs: 31.6,
          feedback: { up: 1, down: 0, lastComment: null },
        },
      ],
    }),
    ...errors({
      invalid_request: "a malformed time or limit, an unknown parameter",
      not_found: "the collection is not one the key may read",
      index_not_ready: "the service is still starting",
      ...GUARDED_ERRORS,
    }),
  },
});

/**
 * GET /quality/recent?since=&until=&collection=&limit=: the newest answers of the window (20,
 * at most 100) with their question, the start of the answer, metrics, latency and feedback.
 */
const listRecent: RouteHandler = async (c) => {
  const { filter, extra } = windowAndExtra(
    c,
    z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      bucket: z.undefined({ error: "unknown parameter bucket" }),
    }),
  );
  const { core } = c.var.deps;
  if (!core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  return c.json({ queries: await createQualitySeries(core.database.db).recent(filter, extra.limit) });
};

export const qualityRecentRoute = defineRoute(route, listRecent);
