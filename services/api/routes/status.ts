import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { statusReport } from "../../common/status-report.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import { requireCore } from "../require-core.js";
import { scopeOf } from "../tenant.js";

const StatusSchema = z
  .object({
    generation: z.looseObject({ id: z.int(), status: z.string(), embedderKey: z.string() }).nullable(),
    reindex: z.looseObject({ id: z.int(), status: z.string() }).nullable(),
    documents: z.looseObject({ indexed: z.int(), pending: z.int(), failed: z.int(), stale: z.int() }),
    unseen: z.int().describe("Files on disk under the watched folders that the catalog does not know yet."),
    freshnessLagMs: z.number().describe("Age of the oldest change not yet searchable; 0 when none."),
    textLayers: z
      .looseObject({
        documents: z
          .record(z.string(), z.int())
          .describe("Indexed documents by text layer: native, ocr, mixed (a PDF with both), none."),
        pages: z.object({ native: z.int(), ocr: z.int(), none: z.int() }),
        pagesWithoutText: z
          .record(z.string(), z.int())
          .describe("Pages left without text, by reason: ocr_empty, ocr_timeout, ocr_failed, render_failed, ocr_off."),
        meanOcrConfidence: z.number().nullable(),
      })
      .optional(),
    sources: z.array(
      z.looseObject({
        id: z.string(),
        root: z.string(),
        collection: z.string(),
        documents: z.object({ indexed: z.int(), pending: z.int(), failed: z.int(), stale: z.int() }),
        lastScanAt: z.string().nullable(),
        lastEventAt: z.string().nullable(),
        unseen: z.int().describe("Files on disk under this root that the catalog does not know yet."),
        freshnessLagMs: z.number(),
        staleCheckComplete: z
          .boolean()
          .describe(
            "False when the per-request bounds stopped the stale check or the walk for unseen files: stale and unseen are lower bounds.",
          ),
      }),
    ),
    queue: z
      .looseObject({ waiting: z.int().nullable(), active: z.int().nullable(), failed: z.int().nullable() })
      .nullable(),
    workers: z.array(z.object({ name: z.string(), ageSeconds: z.number(), idleSeconds: z.number() })).nullable(),
  })
  .loose()
  .openapi("Status");

const generationExample = {
  id: 1,
  status: "active",
  embedder: { provider: "use-lite", model: "universal-sentence-encoder-lite", version: "1", dimensions: 512 },
  embedderKey: "use-lite:universal-sentence-encoder-lite@1:512:l2",
  chunker: { maxTokens: 120, overlapTokens: 20 },
  createdAt: "2026-01-30T09:00:00.000Z",
  activatedAt: "2026-01-30T09:02:11.000Z",
  progress: { total: 13, done: 13, failed: 0 },
  error: null,
};

const route = createRoute({
  method: "get",
  path: "/",
  summary: "Index generation, embedder, re-index progress, document counts, per-source freshness, queue and workers",
  responses: {
    200: json("Current status", StatusSchema, {
      generation: generationExample,
      reindex: null,
      lastFailedReindex: null,
      modelMismatch: null,
      documents: { indexed: 12, pending: 0, failed: 1, stale: 0 },
      unseen: 0,
      freshnessLagMs: 0,
      textLayers: {
        documents: { native: 11, none: 1 },
        pages: { native: 40, ocr: 0, none: 0 },
        pagesWithoutText: {},
        meanOcrConfidence: null,
      },
      sources: [
        {
          id: "docs",
          root: "/srv/docs",
          collection: "default",
          documents: { indexed: 12, pending: 0, failed: 1, stale: 0 },
          lastScanAt: "2026-01-31T08:59:00.000Z",
          lastEventAt: "2026-01-31T08:40:12.000Z",
          unseen: 0,
          freshnessLagMs: 0,
          staleCheckComplete: true,
        },
      ],
      queue: { waiting: 0, active: 0, failed: 0, error: null },
      workers: null,
    }),
    ...errors({
      index_not_ready: "the service is still starting",
      service_unavailable: "the database cannot be reached; Retry-After says when to retry",
      ...GUARDED_ERRORS,
    }),
  },
});

/**
 * GET /status: the index generation and its embedder, a re-index in progress, document counts
 * (indexed, pending, failed, stale) overall and per source with last scan/event times and the
 * freshness lag, queue depth and workers. See services/common/status-report.ts.
 */
const status: RouteHandler = async (c) => {
  const { core, queue } = c.var.deps;
  requireCore(core);
  const { mismatch } = await core.runtime.refresh();
  // A scoped key sees its own sources and documents; the generation, embedder and queue are service-wide.
  return c.json(await statusReport(core.database.db, { mismatch, queue, collections: scopeOf(c) }));
};

export const statusRoute = defineRoute(route, status);
