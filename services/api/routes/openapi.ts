import { Hono } from "hono";
import { z } from "zod";
import {
  AskResponseSchema,
  askRequestSchema,
  CitationSchema,
  ErrorBodySchema,
  QueryMetricsSchema,
  ReindexRequestSchema,
  RetrievedSourceSchema,
  VerificationSchema,
} from "../../../schemas/api.js";
import { ChatCompletionRequestSchema } from "../../../schemas/openai.js";
import type { AppEnv } from "../context.js";
import { DOCUMENTS_MAX_LIMIT } from "./documents.js";
import { FeedbackRequestSchema } from "./feedback.js";
import { QUALITY_METRIC_NAMES } from "../../../pipelines/store/quality-queries.js";
import { DEFAULT_QUALITY_SINCE } from "../../common/quality-window.js";

// Described here, not in schemas/api.ts: these routes build plain objects and only this document reads the shapes.
const HealthSchema = z.object({ status: z.literal("ok") });
const ReadySchema = z.object({
  status: z.enum(["ready", "starting", "failed"]),
  migrations: z.boolean(),
  model: z.boolean(),
  database: z.string().optional(),
  embedder: z.string().optional(),
  generation: z.int().optional(),
  modelMismatch: z.boolean().optional(),
  error: z.string().optional(),
});
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
  .loose();
const DocumentSchema = z.looseObject({
  id: z.uuid(),
  sourceId: z.string(),
  root: z.string(),
  path: z.string(),
  collection: z.string(),
  status: z.enum(["pending", "indexed", "failed"]),
  contentHash: z.string().nullable(),
  chunkCount: z.int(),
  pageCount: z.int().nullable(),
  textLayer: z
    .enum(["native", "ocr", "mixed", "none"])
    .nullable()
    .describe("Where the text came from; mixed: a PDF with both native and OCR'd pages."),
  ocrConfidence: z.number().nullable().describe("Mean OCR word confidence (0-100) over the OCR'd pages."),
  errorCode: z.string().nullable(),
  error: z.string().nullable(),
  indexedAt: z.string().nullable(),
  updatedAt: z.string(),
});
const DocumentPageSchema = z.object({
  documents: z.array(DocumentSchema),
  total: z.int(),
  limit: z.int(),
  offset: z.int(),
  nextOffset: z.int().nullable(),
});
const DocumentDetailSchema = DocumentSchema.extend({
  pages: z.array(
    z.object({
      page: z.int(),
      textLayer: z.enum(["native", "ocr", "none"]),
      ocrConfidence: z.number().nullable(),
      chars: z.int(),
      errorCode: z
        .string()
        .nullable()
        .describe("Why a page has no text: ocr_empty, ocr_timeout, ocr_failed, render_failed, ocr_off."),
      error: z.string().nullable(),
    }),
  ),
  versions: z.array(
    z.object({ generationId: z.int(), generationStatus: z.string(), chunks: z.int(), pages: z.int().nullable() }),
  ),
});
const nullableNumber = z.number().nullable();
const QualityReportSchema = z.object({
  window: z.object({ since: z.string(), until: z.string() }),
  collection: z.string().nullable(),
  queries: z.int(),
  answered: z.int(),
  abstained: z.int(),
  abstentionRate: nullableNumber.describe("abstained / queries; null without queries."),
  metrics: z
    .object(
      Object.fromEntries(QUALITY_METRIC_NAMES.map((m) => [m, z.object({ mean: nullableNumber, count: z.int() })])),
    )
    .describe("Mean of each metric over the queries where it is not null, and that number of queries."),
  latencyMs: z
    .object({ p50: nullableNumber, p95: nullableNumber, p99: nullableNumber })
    .describe("Percentiles of timings.totalMs."),
  tokensPerQuery: z.object({ context: nullableNumber, answer: nullableNumber }),
  feedback: z.object({ up: z.int(), down: z.int(), withComment: z.int() }).describe("Ratings of the window's queries."),
});
const FeedbackAcceptedSchema = z.object({ id: z.int(), queryId: z.uuid(), rating: z.int() });
const query = (name: string, schema: object, description: string) => ({
  name,
  in: "query",
  required: false,
  schema,
  description,
});
const ReindexAcceptedSchema = z.object({
  generationId: z.int(),
  status: z.literal("building"),
  progress: z.literal("/status"),
});
const DeltaSchema = z.object({
  text: z.string(),
  restart: z.boolean().optional().describe("Text sent so far is void: the model failed and a fallback starts over."),
  reason: z.string().optional(),
});

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string, description: string) => ({
  description,
  content: { "application/json": { schema: ref(id) } },
});
const error = (description: string) => json("Error", description);

function components(maxQuestionChars: number) {
  const registry = z.registry<{ id: string }>();
  const add = (schema: z.ZodType, id: string) => registry.add(schema, { id });
  add(askRequestSchema(maxQuestionChars), "AskRequest");
  add(AskResponseSchema, "AskResponse");
  add(CitationSchema, "Citation");
  add(VerificationSchema, "Verification");
  add(QueryMetricsSchema, "QueryMetrics");
  add(QualityReportSchema, "QualityReport");
  add(RetrievedSourceSchema, "RetrievedSource");
  add(DeltaSchema, "Delta");
  add(ErrorBodySchema, "Error");
  add(HealthSchema, "Health");
  add(ReadySchema, "Ready");
  add(StatusSchema, "Status");
  add(ReindexRequestSchema, "ReindexRequest");
  add(ReindexAcceptedSchema, "ReindexAccepted");
  add(DocumentSchema, "Document");
  add(DocumentPageSchema, "DocumentPage");
  add(DocumentDetailSchema, "DocumentDetail");
  add(FeedbackRequestSchema, "FeedbackRequest");
  add(FeedbackAcceptedSchema, "FeedbackAccepted");
  add(ChatCompletionRequestSchema, "ChatCompletionRequest");
  const { schemas } = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: "input",
    unrepresentable: "any",
  });
  // Components are fragments of the document, not standalone schemas.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]));
}

/** The OpenAPI 3.1 document of this API, its schemas generated from the zod schemas that validate and build the responses. */
export function openApiDocument(maxQuestionChars: number) {
  return {
    openapi: "3.1.0",
    info: {
      title: "rag-service",
      version: "0.1.0",
      description: "Grounded answers with verified citations from watched folders.",
    },
    // With API_KEYS or the keys table set, every route but the public ones needs a key (README "Security"):
    // 401 unauthorized, 403 forbidden (scope), 429 rate_limited with Retry-After, in the usual error shape.
    security: [{ bearer: [] }, { apiKey: [] }],
    paths: {
      "/ask": {
        post: {
          summary: "Answer a question from the indexed documents, with verified [n] citations",
          requestBody: { required: true, content: { "application/json": { schema: ref("AskRequest") } } },
          responses: {
            "200": {
              description:
                "The answer (JSON), or with stream: true or Accept: text/event-stream, server-sent events: " +
                "`retrieval` {sources: RetrievedSource[]}, `delta` (Delta, raw model text before verification), " +
                "`citations` {citations: Citation[]}, `verification` (Verification), `done` (AskResponse, the verified " +
                "answer, which replaces the deltas) or `error` (Error) once the stream has started.",
              content: {
                "application/json": { schema: ref("AskResponse") },
                "text/event-stream": {
                  schema: { type: "string" },
                  "x-events": {
                    retrieval: {
                      type: "object",
                      properties: { sources: { type: "array", items: ref("RetrievedSource") } },
                    },
                    delta: ref("Delta"),
                    citations: { type: "object", properties: { citations: { type: "array", items: ref("Citation") } } },
                    verification: ref("Verification"),
                    done: ref("AskResponse"),
                    error: ref("Error"),
                  },
                },
              },
            },
            "400": error(
              `invalid_request: malformed JSON, unknown fields, an empty question or one over ${maxQuestionChars} characters, topK outside 1-50, maxContextTokens outside 64-128000, an empty reference or one over ${maxQuestionChars * 4} characters`,
            ),
            "409": error("embedding_model_mismatch: the index was built by another embedder"),
            "413": error("payload_too_large"),
            "500": error("internal_error"),
            "503": error("index_not_ready: the service is still starting"),
          },
        },
      },
      "/healthz": {
        get: { summary: "Liveness", security: [], responses: { "200": json("Health", "The process is up") } },
      },
      "/readyz": {
        get: {
          summary: "Readiness: migrations applied, model loaded, folders watched",
          security: [],
          responses: { "200": json("Ready", "Ready"), "503": json("Ready", "Starting, or start-up failed") },
        },
      },
      "/status": {
        get: {
          summary:
            "Index generation, embedder, re-index progress, document counts, per-source freshness, queue and workers",
          responses: { "200": json("Status", "Current status"), "503": error("index_not_ready") },
        },
      },
      "/documents": {
        get: {
          summary: "The documents of the index, filtered and paged in (source, path) order",
          parameters: [
            query("status", { enum: ["pending", "indexed", "failed"] }, "Only documents in this state."),
            query("source", { type: "string" }, "Only this source (an id from /status)."),
            query("collection", { type: "string" }, "Only this collection."),
            query("limit", { type: "integer", minimum: 1, maximum: DOCUMENTS_MAX_LIMIT, default: 50 }, "Page size."),
            query(
              "offset",
              { type: "integer", minimum: 0, default: 0 },
              "Documents to skip (nextOffset of the previous page).",
            ),
          ],
          responses: {
            "200": json("DocumentPage", "One page"),
            "400": error("invalid_request"),
            "503": error("index_not_ready"),
          },
        },
      },
      "/documents/{id}": {
        get: {
          summary: "One document: hashes, times, chunk and page counts, failure reason, versions per index generation",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
          responses: {
            "200": json("DocumentDetail", "The document"),
            "404": error("not_found"),
            "503": error("index_not_ready"),
          },
        },
      },
      "/documents/{id}/content": {
        get: {
          summary:
            "The document's source for the web app's viewer: the file (PDF as application/pdf, everything else as text/plain), or with view=text JSON with the parsed text and the chunks' offsets",
          parameters: [
            { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } },
            query(
              "view",
              { enum: ["raw", "text"], default: "raw" },
              "raw: the file; text: {path, format, text, changed, chunks[{id, start, end, page, headingPath}]}.",
            ),
          ],
          responses: {
            "200": {
              description: "The file, or its parsed text",
              content: { "application/pdf": {}, "text/plain": {}, "application/json": {} },
            },
            "403": error("forbidden: PII_MASK_INGEST is on and the file itself was asked for"),
            "404": error("not_found: unknown, another tenant's, or gone from its folder"),
          },
        },
      },
      "/whoami": {
        get: {
          summary:
            "What the presented key may do: authentication on or off, key id, scopes, readable collections, whether it may re-index",
          responses: {
            "200": {
              description: "{authentication, keyId, scopes, collections, allCollections, admin}",
              content: { "application/json": {} },
            },
          },
        },
      },
      "/feedback": {
        post: {
          summary: "Rate an answer (-1 or 1, with an optional comment); stored with its query",
          requestBody: { required: true, content: { "application/json": { schema: ref("FeedbackRequest") } } },
          responses: {
            "201": json("FeedbackAccepted", "Stored"),
            "400": error("invalid_request"),
            "404": error("not_found: no logged answer has that queryId"),
            "503": error("index_not_ready"),
          },
        },
      },
      "/quality": {
        get: {
          summary:
            "Quality of the answers logged in a time window: metric means, abstention rate, latency percentiles, tokens, feedback",
          parameters: [
            query(
              "since",
              { type: "string", default: DEFAULT_QUALITY_SINCE },
              "Start: an ISO 8601 time, or a duration back from now (30m, 24h, 7d, 2w).",
            ),
            query("until", { type: "string" }, "End, in the same forms; now when unset."),
            query("collection", { type: "string" }, "Only queries asked of this collection."),
          ],
          responses: {
            "200": json("QualityReport", "The window's aggregates"),
            "400": error("invalid_request: a malformed time, since not before until, an unknown parameter"),
            "503": error("index_not_ready"),
          },
        },
      },
      "/quality/series": {
        get: {
          summary:
            "The window's answers in time buckets: query count, abstention rate, mean faithfulness, answer relevancy, context precision, latency p50/p95",
          parameters: [
            query("since", { type: "string", default: DEFAULT_QUALITY_SINCE }, "As for /quality."),
            query("until", { type: "string" }, "As for /quality."),
            query("collection", { type: "string" }, "As for /quality."),
            query(
              "bucket",
              { type: "string" },
              "Bucket length such as 15m, 1h, 1d; unset: about 60 buckets over the window.",
            ),
          ],
          responses: {
            "200": { description: "{window, bucketSeconds, buckets[]}", content: { "application/json": {} } },
            "400": error("invalid_request"),
          },
        },
      },
      "/quality/recent": {
        get: {
          summary: "The newest answers of the window with their metrics, latency and feedback",
          parameters: [
            query("since", { type: "string", default: DEFAULT_QUALITY_SINCE }, "As for /quality."),
            query("limit", { type: "integer", minimum: 1, maximum: 100, default: 20 }, "How many."),
          ],
          responses: {
            "200": { description: "{queries[]}", content: { "application/json": {} } },
            "400": error("invalid_request"),
          },
        },
      },
      "/quality/evals": {
        get: {
          summary: "The reports npm run eval wrote (EVAL_REPORTS_DIR), newest first, with their headline figures",
          responses: { "200": { description: "{reports[], unreadable[]}", content: { "application/json": {} } } },
        },
      },
      "/": {
        get: {
          summary: "The web app (ask, sources, quality)",
          security: [],
          responses: { "200": { description: "HTML", content: { "text/html": {} } } },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { "200": { description: "Prometheus text format 0.0.4", content: { "text/plain": {} } } },
        },
      },
      "/admin/reindex": {
        post: {
          summary: "Build a new index generation in the background; queries use the current one until it switches",
          requestBody: { required: false, content: { "application/json": { schema: ref("ReindexRequest") } } },
          responses: {
            "202": json("ReindexAccepted", "Building; progress in GET /status"),
            "400": error("invalid_request"),
            "409": error("reindex_in_progress"),
            "503": error(
              "index_not_ready, or service_unavailable (with Retry-After) while the database cannot be reached",
            ),
          },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document",
          security: [],
          responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": {} } } },
        },
      },
      // OpenAI's own shapes (README "OpenAI-compatible API"); errors under /v1 use OpenAI's error body.
      "/v1/chat/completions": {
        post: {
          summary:
            "OpenAI chat completions: model = a collection; /ask's verified answer with choices[0].message.citations",
          requestBody: { required: true, content: { "application/json": { schema: ref("ChatCompletionRequest") } } },
          responses: {
            "200": {
              description:
                "chat.completion (id = queryId, usage), or with stream: true chat.completion.chunk events ending `data: [DONE]`; the final chunk carries the citations.",
              content: { "application/json": {}, "text/event-stream": { schema: { type: "string" } } },
            },
            "400": {
              description:
                "invalid_request_error: the last message is not the user's, non-text content, n other than 1, a bad question",
            },
            "404": {
              description:
                "invalid_request_error, code model_not_found: the model is not a collection this key may read",
            },
          },
        },
      },
      "/v1/models": {
        get: {
          summary: "The collections this key may read, as OpenAI models",
          responses: {
            "200": {
              description: "{object: list, data: [{id, object: model, created, owned_by}]}",
              content: { "application/json": {} },
            },
          },
        },
      },
      "/mcp": {
        post: {
          summary:
            "Model Context Protocol, Streamable HTTP (stateless, JSON responses): tools search, ask, list_collections, get_document, index_status",
          responses: {
            "200": { description: "A JSON-RPC response", content: { "application/json": {} } },
            "405": { description: "GET and DELETE: no sessions" },
          },
        },
      },
    },
    components: {
      schemas: components(maxQuestionChars),
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "Authorization: Bearer <API key>" },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
    },
  };
}

const built = new Map<number, ReturnType<typeof openApiDocument>>();

/** GET /openapi.json, with the configured question limit; built on first request. */
export const openApiRoute = new Hono<AppEnv>().get("/", (c) => {
  const limit = c.var.deps.config.MAX_QUESTION_CHARS;
  let doc = built.get(limit);
  if (!doc) {
    doc = openApiDocument(limit);
    built.set(limit, doc);
  }
  return c.json(doc);
});
