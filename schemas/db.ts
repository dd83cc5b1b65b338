import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  customType,
  doublePrecision,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  index,
} from "drizzle-orm/pg-core";

/**
 * pgvector column without a fixed dimension: generations with different embedders share the
 * table, and each generation gets its own HNSW index on `(embedding::vector(d))` (see the store).
 */
export const vector = customType<{ data: number[]; driverData: string }>({
  dataType: () => "vector",
  toDriver: (value) => `[${value.join(",")}]`,
  fromDriver: (value) => JSON.parse(value) as number[],
});

export const sources = pgTable("sources", {
  id: text("id").primaryKey(),
  kind: text("kind").notNull().default("folder"),
  root: text("root").notNull().unique(),
  collection: text("collection").notNull().default("default"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  lastScanAt: timestamp("last_scan_at", { withTimezone: true }),
  lastEventAt: timestamp("last_event_at", { withTimezone: true }),
});

export const indexGenerations = pgTable("index_generations", {
  id: serial("id").primaryKey(),
  embedderKey: text("embedder_key").notNull(),
  embedder: jsonb("embedder").notNull(),
  chunker: jsonb("chunker").notNull(),
  status: text("status", { enum: ["building", "active", "retired", "failed"] }).notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  activatedAt: timestamp("activated_at", { withTimezone: true }),
  /** How to load this generation's embedder again (no secrets: keys come from the environment). */
  embedderSpec: jsonb("embedder_spec"),
  docsTotal: integer("docs_total").notNull().default(0),
  docsDone: integer("docs_done").notNull().default(0),
  docsFailed: integer("docs_failed").notNull().default(0),
  error: text("error"),
  finishedAt: timestamp("finished_at", { withTimezone: true }),
  retiredAt: timestamp("retired_at", { withTimezone: true }),
  /** Fusion weights fitted for this generation's embedder by `npm run eval -- --fit` (0006); null until then. */
  fusion: jsonb("fusion").$type<GenerationFusion>(),
});

/** What `--fit` stores on a generation: the weights, and where and how well they were measured. */
export interface GenerationFusion {
  /** Weight of min-max scaled dense scores; the lexical side gets 1 − this. */
  denseWeight: number;
  /** Share of a chunk's BM25 that comes from its whole document (the store's blend). */
  documentWeight: number;
  /** e.g. "scifact/train (809 queries)". */
  fittedOn: string;
  /** Train nDCG@10 of the fitted weights, and of the best single retriever they had to beat. */
  ndcg10: number;
  bestSingle: { retriever: "dense" | "lexical"; ndcg10: number };
  candidates: number;
  fittedAt: string;
}

export const documents = pgTable(
  "documents",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceId: text("source_id")
      .notNull()
      .references(() => sources.id, { onDelete: "cascade" }),
    path: text("path").notNull(),
    collection: text("collection").notNull(),
    contentHash: text("content_hash"),
    status: text("status", { enum: ["pending", "indexed", "failed"] }).notNull(),
    errorCode: text("error_code"),
    error: text("error"),
    format: text("format"),
    title: text("title"),
    sizeBytes: bigint("size_bytes", { mode: "number" }),
    chunkCount: integer("chunk_count").notNull().default(0),
    pageCount: integer("page_count"),
    /** native, ocr, mixed or none (0015); null until indexed since. */
    textLayer: text("text_layer"),
    /** Mean OCR confidence (0-100) over OCR'd pages (0015). */
    ocrConfidence: real("ocr_confidence"),
    indexedAt: timestamp("indexed_at", { withTimezone: true }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("documents_source_path").on(t.sourceId, t.path), index("documents_status").on(t.status)],
);

export const chunks = pgTable(
  "chunks",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    generationId: integer("generation_id")
      .notNull()
      .references(() => indexGenerations.id, { onDelete: "cascade" }),
    documentId: uuid("document_id")
      .notNull()
      .references(() => documents.id, { onDelete: "cascade" }),
    collection: text("collection").notNull(),
    ordinal: integer("ordinal").notNull(),
    text: text("text").notNull(),
    textHash: text("text_hash").notNull(),
    embedding: vector("embedding").notNull(),
    startOffset: integer("start_offset").notNull(),
    endOffset: integer("end_offset").notNull(),
    page: integer("page"),
    headingPath: jsonb("heading_path").$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    /** Tokens in the generator's tokenizer, used to pack the context budget. */
    tokenCount: integer("token_count").notNull(),
  },
  (t) => [
    uniqueIndex("chunks_generation_document_ordinal").on(t.generationId, t.documentId, t.ordinal),
    index("chunks_document").on(t.documentId),
  ],
);

/** Per-page text layer of a paged document's indexed version (migrations/0015_text_layer.sql). */
export const documentPages = pgTable(
  "document_pages",
  {
    documentId: uuid("document_id")
      .notNull()
      .references(() => documents.id, { onDelete: "cascade" }),
    page: integer("page").notNull(),
    textLayer: text("text_layer", { enum: ["native", "ocr", "none"] }).notNull(),
    ocrConfidence: real("ocr_confidence"),
    chars: integer("chars").notNull().default(0),
    errorCode: text("error_code"),
    error: text("error"),
  },
  (t) => [primaryKey({ columns: [t.documentId, t.page] })],
);

/**
 * BM25 postings for chunks (migrations/0002_bm25.sql): one row per (generation, term, chunk) with
 * the term's frequency and the chunk's Lucene-rounded length, written with the chunk.
 */
export const lexicalChunkPostings = pgTable(
  "lexical_chunk_postings",
  {
    generationId: integer("generation_id").notNull(),
    term: text("term").notNull(),
    chunkId: uuid("chunk_id")
      .notNull()
      .references(() => chunks.id, { onDelete: "cascade" }),
    documentId: uuid("document_id").notNull(),
    tf: integer("tf").notNull(),
    dl: integer("dl").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.generationId, t.term, t.chunkId] }),
    index("lexical_chunk_postings_chunk").on(t.chunkId),
  ],
);

/** BM25 postings for whole documents, blended into each chunk's lexical score. */
export const lexicalDocumentPostings = pgTable(
  "lexical_document_postings",
  {
    generationId: integer("generation_id")
      .notNull()
      .references(() => indexGenerations.id, { onDelete: "cascade" }),
    term: text("term").notNull(),
    documentId: uuid("document_id")
      .notNull()
      .references(() => documents.id, { onDelete: "cascade" }),
    tf: integer("tf").notNull(),
    dl: integer("dl").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.generationId, t.term, t.documentId] }),
    index("lexical_document_postings_document").on(t.documentId, t.generationId),
  ],
);

/** Per-generation BM25 collection statistics, kept by triggers on the postings tables. */
export const lexicalStats = pgTable("lexical_stats", {
  generationId: integer("generation_id")
    .primaryKey()
    .references(() => indexGenerations.id, { onDelete: "cascade" }),
  chunkCount: bigint("chunk_count", { mode: "number" }).notNull().default(0),
  chunkLength: bigint("chunk_length", { mode: "number" }).notNull().default(0),
  docCount: bigint("doc_count", { mode: "number" }).notNull().default(0),
  docLength: bigint("doc_length", { mode: "number" }).notNull().default(0),
  /** Moves on every change (migration 0010_b): processes caching postings compare it. */
  version: bigint("version", { mode: "number" }).notNull().default(sql`nextval('lexical_version_seq')`),
});

/** Embeddings keyed by chunk text hash and embedder identity, so an edit re-embeds only what changed. */
export const embeddingCache = pgTable(
  "embedding_cache",
  {
    embedderKey: text("embedder_key").notNull(),
    textHash: text("text_hash").notNull(),
    embedding: vector("embedding").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("embedding_cache_pk").on(t.embedderKey, t.textHash)],
);

export const queryLog = pgTable("query_log", {
  id: uuid("id").primaryKey(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  requestId: text("request_id"),
  question: text("question").notNull(),
  collection: text("collection"),
  generationId: integer("generation_id"),
  answer: text("answer").notNull(),
  abstained: boolean("abstained").notNull(),
  citations: jsonb("citations").notNull(),
  verification: jsonb("verification"),
  metrics: jsonb("metrics"),
  usage: jsonb("usage"),
  timings: jsonb("timings"),
  /** The collections the answer could draw from (null: all), for tenant-scoped reads (0007). */
  collections: text("collections").array(),
  /** The API key that asked; null with authentication off (0007). */
  apiKeyId: text("api_key_id"),
  /** The standalone question a follow-up was rewritten into; null when it stood alone (0013). */
  rewrittenQuestion: text("rewritten_question"),
  /** `pending`, `done` or `skipped`: the metrics are computed after the answer is sent (0010). */
  metricsStatus: text("metrics_status"),
  /** The answer prompt's version, e.g. answer/v1 (0014). */
  promptVersion: text("prompt_version"),
  /** `{hit, similarity, ageMs}`: whether the answer cache answered (0014). */
  cache: jsonb("cache"),
});

/** Ratings of answers (migrations/0004_feedback.sql): -1 or 1, with an optional comment. */
export const feedback = pgTable(
  "feedback",
  {
    id: serial("id").primaryKey(),
    queryId: uuid("query_id")
      .notNull()
      .references(() => queryLog.id, { onDelete: "cascade" }),
    rating: smallint("rating").notNull(),
    comment: text("comment"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("feedback_query").on(t.queryId)],
);

/** API keys (migrations/0007_security.sql): SHA-256 hashes only; `collections` null means all. */
export const apiKeys = pgTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  keyHash: text("key_hash").notNull().unique(),
  prefix: text("prefix").notNull(),
  scopes: text("scopes").array().notNull(),
  collections: text("collections").array(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
  /** Daily budgets (0014); null: the configured default. */
  dailyTokenBudget: bigint("daily_token_budget", { mode: "number" }),
  dailyUsdBudget: doublePrecision("daily_usd_budget"),
});

export const schema = {
  sources,
  indexGenerations,
  documents,
  documentPages,
  chunks,
  lexicalChunkPostings,
  lexicalDocumentPostings,
  lexicalStats,
  embeddingCache,
  queryLog,
  feedback,
  apiKeys,
};
