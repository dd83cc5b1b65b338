import { z } from "zod";
import { parseApiKeys } from "./api-keys.js";
import { gatewayEnv } from "./gateway-config.js";

/** A configuration problem; the message names the variable so start-up can stop with it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

// Compose files and shells often pass "" for "unset"; treat it so, so defaults apply.
const unsetIfEmpty = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
export const env = <T extends z.ZodType>(schema: T) => z.preprocess(unsetIfEmpty, schema);

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();
// A switch: true/false (or 1/0, yes/no); anything else is an error rather than a silent false.
const flag = z
  .enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** Variables every process reads: where the data is and how text becomes vectors. */
export const commonEnv = {
  DATA_DIR: env(z.string().default("./data")),
  DATABASE_URL: env(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// connection string")
      .optional(),
  ),
  DATABASE_POOL_MAX: env(positiveInt.max(100).default(10)),
  EMBEDDING_MODEL: env(
    z
      .string()
      .regex(/^(use-lite|onnx:.+|openai:.+)$/, "must be use-lite, onnx:<model folder> or openai:<model>")
      .default("use-lite"),
  ),
  EMBEDDING_BASE_URL: env(z.url({ error: "must be an http(s) URL such as http://localhost:11434/v1" }).optional()),
  EMBEDDING_API_KEY: env(z.string().optional()),
  EMBEDDING_DIMENSIONS: env(positiveInt.max(16_384).optional()),
  EMBEDDING_BATCH_SIZE: env(positiveInt.max(2048).optional()),
  EMBEDDING_TIMEOUT_MS: env(positiveInt.optional()),
  EMBEDDING_MAX_TOKENS: env(positiveInt.max(32_768).optional()),
  EMBEDDING_VERSION: env(z.string().max(200).optional()),
  /** Worker threads running USE-Lite; 0 runs it on the main thread. Unset: cores - 1, from 1 to 4. */
  EMBEDDING_THREADS: env(z.coerce.number().int().min(0).max(32).optional()),
  /**
   * Generations of at most this many chunks are searched densely by an exact scan of their vectors
   * held in each API process (pipelines/retrieve/dense-memory.ts); larger ones through pgvector's
   * HNSW index. 0: always HNSW.
   */
  DENSE_MEMORY_MAX_CHUNKS: env(z.coerce.number().int().min(0).max(10_000_000).default(50_000)),
  QDRANT_URL: env(z.url({ error: "must be an http(s) URL such as http://localhost:6333" }).optional()),
  QDRANT_API_KEY: env(z.string().optional()),
  MAX_FILE_BYTES: env(positiveInt.default(50 * 1024 * 1024)),
  /** Chunker of new index generations (pipelines/chunk/index.ts); an existing index keeps its own until a re-index. */
  CHUNKER: env(z.enum(["structure", "llamaindex"], { error: "must be structure or llamaindex" }).default("structure")),
  /** Mask personal data in ingested text before chunking and embedding (offsets then refer to the masked text). */
  PII_MASK_INGEST: env(flag.default(false)),
  /** OCR of scanned PDF pages (pipelines/parse/ocr.ts): auto picks the tesseract command when installed, else tesseract.js. */
  OCR_ENGINE: env(
    z
      .enum(["auto", "tesseract", "tesseract.js", "off"], { error: "must be auto, tesseract, tesseract.js or off" })
      .default("auto"),
  ),
  OCR_RENDERER: env(
    z.enum(["auto", "pdftoppm", "pdfjs"], { error: "must be auto, pdftoppm or pdfjs" }).default("auto"),
  ),
  OCR_DPI: env(positiveInt.min(72).max(600).default(300)),
  OCR_MAX_PIXELS: env(positiveInt.min(500).max(10_000).default(4200)),
  OCR_PAGE_TIMEOUT_MS: env(positiveInt.default(120_000)),
  OCR_CONCURRENCY: env(positiveInt.max(16).default(1)),
  /** How long a retired generation's chunks stay after a re-index switch, for queries in flight. */
  RETIRE_GRACE_MS: env(z.coerce.number().int().min(0).default(30_000)),
  LOG_LEVEL: env(z.enum(["debug", "info", "warn", "error", "silent"]).default("info")),
  /** OpenTelemetry spans (services/common/tracing.ts), under the standard names: off unless set. */
  OTEL_TRACES_EXPORTER: env(z.enum(["otlp", "console", "none"]).default("none")),
  /** Base URL of an OTLP/HTTP collector; spans go to `<endpoint>/v1/traces`, as the OTLP spec says. */
  OTEL_EXPORTER_OTLP_ENDPOINT: env(
    z.url({ error: "must be an http(s) URL such as http://localhost:4318" }).default("http://localhost:4318"),
  ),
  OTEL_SERVICE_NAME: env(z.string().min(1).max(200).optional()),
};

export const apiEnv = {
  PORT: env(port.default(8080)),
  HOST: env(z.string().default("0.0.0.0")),
  /** Where `npm run eval` writes its reports; the web app's Quality page lists them. */
  EVAL_REPORTS_DIR: env(z.string().min(1).default("./eval-reports")),
  MAX_BODY_BYTES: env(positiveInt.default(64 * 1024)),
  MAX_QUESTION_CHARS: env(positiveInt.max(100_000).default(2000)),
  DEFAULT_TOP_K: env(positiveInt.max(50).default(8)),
  GENERATOR: env(
    z
      .string()
      .regex(/^(extractive|openai|llamacpp:.+)$/, "must be extractive, openai or llamacpp:<gguf file>")
      .default("extractive"),
  ),
  /** Overrides the embedder's fitted fusion weight; unset uses the embedder's default. */
  DENSE_WEIGHT: env(z.coerce.number().min(0).max(1).optional()),
  RERANKER: env(
    z
      .string()
      .regex(/^(lexical|none|onnx-cross-encoder:.+)$/, "must be lexical, none or onnx-cross-encoder:<model folder>")
      .default("lexical"),
  ),
  /** GENERATOR=openai: any OpenAI-compatible server; api.openai.com when unset (then LLM_API_KEY is required). */
  LLM_BASE_URL: env(z.url({ error: "must be an http(s) URL such as http://localhost:11434/v1" }).optional()),
  LLM_API_KEY: env(z.string().optional()),
  LLM_MODEL: env(z.string().min(1).default("gpt-4o-mini")),
  /** Tried when LLM_MODEL keeps failing; after it, the extractive generator answers. */
  LLM_FALLBACK_MODEL: env(z.string().min(1).optional()),
  LLM_CONTEXT_WINDOW: env(positiveInt.min(1024).max(2_000_000).default(8192)),
  LLM_MAX_ANSWER_TOKENS: env(positiveInt.max(32_768).default(512)),
  /** Per attempt; for a streamed answer, the longest silence between chunks. */
  LLM_TIMEOUT_MS: env(positiveInt.default(60_000)),
  /** Attempts per model (429, 5xx, timeouts and network errors are retried) before falling back. */
  LLM_MAX_ATTEMPTS: env(positiveInt.max(10).default(3)),
  VERIFY_MODE: env(z.enum(["remove", "flag"]).default("remove")),
  /** Below this share of supported sentences the answer abstains. */
  VERIFY_MIN_SUPPORTED: env(z.coerce.number().min(0).max(1).default(0.5)),
  /** `<key>:<scopes>:<collections>;…` (README "Security"); hashed here, the plain keys are not kept. Unset: no env keys. */
  API_KEYS: env(
    z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) {
          return undefined;
        }
        try {
          return parseApiKeys(value);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
      }),
  ),
  /** GET /metrics without a key; otherwise it needs an `admin` key once authentication is on. */
  METRICS_PUBLIC: env(flag.default(false)),
  /** Token bucket per key (auth on; 600 when unset) or per client IP (auth off; off when unset); 0: off. */
  RATE_LIMIT_PER_MINUTE: env(z.coerce.number().int().min(0).max(1_000_000).optional()),
  /** Mask personal data in answers, citation snippets and verified sentences. */
  PII_MASK_ANSWERS: env(flag.default(false)),
  /** Instruction-like retrieved chunks: kept as delimited data and flagged, or left out of the context. */
  INJECTION_MODE: env(z.enum(["flag", "exclude"]).default("flag")),
  /** How the per-answer quality metrics judge support and relevance: embeddings and words, words alone, or a chat model (LLM_*). */
  METRICS_JUDGE: env(z.enum(["embedding", "lexical", "llm"]).default("embedding")),
  /** The judge's chat model when METRICS_JUDGE=llm; LLM_MODEL when unset. */
  METRICS_JUDGE_MODEL: env(z.string().min(1).optional()),
  /** Answers waiting for their quality metrics (computed after the response) at most; more are skipped. */
  METRICS_QUEUE_MAX: env(z.coerce.number().int().min(0).max(100_000).default(64)),
  /** API processes sharing PORT (node:cluster); more than 1 needs DATABASE_URL, and REDIS_URL for shared rate limits. */
  API_PROCESSES: env(positiveInt.max(64).default(1)),
  /** Vectors of document sentences kept across answers (about 4 kB each with USE-Lite); 0: none. */
  TEXT_VECTOR_CACHE: env(z.coerce.number().int().min(0).max(1_000_000).default(8192)),
  /** Answers in the making at most; more requests get 503 `overloaded` with Retry-After at once. */
  MAX_ANSWERS_IN_FLIGHT: env(positiveInt.max(10_000).default(64)),
  /** Abstain before generating when the answerability judge's probability is below this; 0 turns the judge off. Unset: the fitted bar. */
  ANSWERABILITY_MIN: env(z.coerce.number().min(0).max(1).optional()),
  ...gatewayEnv,
};

export const queueEnv = {
  REDIS_URL: env(
    z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .optional(),
  ),
  /** Namespaces the queue's Redis keys, so deployments (or test runs) can share one Redis. */
  QUEUE_PREFIX: env(
    z
      .string()
      .regex(/^[\w.:-]{1,64}$/, "must be 1-64 letters, digits, '.', ':', '_' or '-'")
      .default("bull"),
  ),
  /**
   * Jobs one worker process (or the in-process queue) runs at once. Two keep the embedder's
   * threads busy: one document is read, parsed and written while another one's chunks embed.
   */
  WORKER_CONCURRENCY: env(positiveInt.max(64).default(2)),
  /** How long a job's lock lives unrenewed; a dead worker's job is re-run 1-3 times this later. */
  WORKER_LOCK_MS: env(positiveInt.min(1000).default(30_000)),
  /** On SIGTERM, how long a running job may finish before it is handed back to the queue. */
  WORKER_SHUTDOWN_GRACE_MS: env(z.coerce.number().int().min(0).default(5_000)),
};

const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** `300`, `300s`, `5m`, `1h`, `1500ms` → milliseconds (a bare number is seconds). */
const duration = z
  .string()
  .trim()
  .regex(
    /^\d+(\.\d+)?(ms|s|m|h)?$/,
    "must be a duration such as 300s, 5m or 1h (a bare number is seconds; 0 turns it off)",
  )
  .transform((v) => {
    const [, n, unit] = /^([\d.]+)(ms|s|m|h)?$/.exec(v)!;
    return Math.round(Number(n) * DURATION_UNIT_MS[(unit ?? "s") as keyof typeof DURATION_UNIT_MS]);
  });

export const watcherEnv = {
  WATCH_DIRS: env(z.string().default("./docs")),
  /** How often every watched folder is reconciled with the index again (services/watcher/watcher.ts); 0: only after bursts. */
  RESCAN_INTERVAL: env(duration.default(5 * 60_000)),
  COLLECTION: env(
    z
      .string()
      .regex(/^[\w.-]{1,128}$/, "must be 1-128 letters, digits, '.', '_' or '-'")
      .default("default"),
  ),
};

/**
 * Parses `source` (normally process.env) with `schema`; on failure throws one ConfigError that
 * lists every bad variable with what was wrong and the value given.
 */
export function parseConfig<S extends z.ZodObject>(schema: S, source: Record<string, string | undefined>): z.infer<S> {
  const result = schema.safeParse(source);
  if (result.success) {
    return result.data;
  }
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "(config)");
    const given = source[name];
    // Secrets (API_KEYS, *_API_KEY) are never echoed: start-up errors end up in logs.
    const echo = given === undefined || /KEY/.test(name) ? "" : ` (got ${JSON.stringify(given)})`;
    return `${name}: ${issue.message}${echo}`;
  });
  throw new ConfigError(`Invalid configuration:\n  ${lines.join("\n  ")}`);
}
