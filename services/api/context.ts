import type { QuestionRewriter } from "../../pipelines/conversation/types.js";
import type { Generator } from "../../pipelines/generate/types.js";
import type { LlmJudge } from "../../pipelines/metrics/types.js";
import type { Reranker } from "../../pipelines/rerank/types.js";
import type { AdminActions } from "../common/admin.js";
import type { HashedKey, Principal } from "../common/api-keys.js";
import type { GatewaySettings } from "../common/gateway-config.js";
import type { Logger } from "../common/log.js";
import type { CoreDeps } from "../common/deps.js";
import type { Metrics } from "../common/metrics.js";
import type { JobQueue } from "../common/queue/types.js";
import type { MetricsQueue } from "./metrics-queue.js";
import type { Admission } from "./admission.js";

export interface ApiConfig extends GatewaySettings {
  MAX_BODY_BYTES: number;
  MAX_QUESTION_CHARS: number;
  DEFAULT_TOP_K: number;
  DENSE_WEIGHT?: number | undefined;
  VERIFY_MODE?: "remove" | "flag" | undefined;
  VERIFY_MIN_SUPPORTED?: number | undefined;
  /** `lexical` computes the quality metrics from words alone (no embedding call). */
  METRICS_JUDGE?: "embedding" | "lexical" | "llm" | undefined;
  ANSWERABILITY_MIN?: number | undefined;
  /** Hashed API_KEYS entries; authentication is off when none are set and the keys table is empty. */
  API_KEYS?: readonly HashedKey[] | undefined;
  /** GET /metrics without a key (a scraper inside the network); otherwise it needs `admin`. */
  METRICS_PUBLIC?: boolean | undefined;
  /** Per key (auth on; 600 when unset) or per client IP (auth off; off when unset); 0 turns it off. */
  RATE_LIMIT_PER_MINUTE?: number | undefined;
  PII_MASK_ANSWERS?: boolean | undefined;
  INJECTION_MODE?: "flag" | "exclude" | undefined;
  /** Answers waiting for their quality metrics at most; beyond, they are skipped (sampled). */
  METRICS_QUEUE_MAX?: number | undefined;
  /** Answers in the making at most; beyond, 503 `overloaded` at once. */
  MAX_ANSWERS_IN_FLIGHT?: number | undefined;
  /** Vectors of document sentences kept across answers; 0: none (8,192 when unset). */
  TEXT_VECTOR_CACHE?: number | undefined;
  /** The web app's Quality page lists the reports here (./eval-reports when unset). */
  EVAL_REPORTS_DIR?: string | undefined;
  /** The source viewer refuses files over this, as ingestion does (50 MiB when unset). */
  MAX_FILE_BYTES?: number | undefined;
}

/**
 * What the routes need. `core` is null while the process is starting (the HTTP server answers
 * /healthz and /readyz before the database and model are ready).
 */
export interface ApiDeps {
  config: ApiConfig;
  log: Logger;
  generator: Generator;
  /** RERANKER, built once at start-up; createApp builds the lexical one when unset. */
  reranker: Reranker;
  /** METRICS_JUDGE=llm: asks a chat model for the quality judgements; the default method when unset. */
  metricsJudge?: LlmJudge | undefined;
  core: CoreDeps | null;
  /** Makes follow-up questions standalone (`history`); the deterministic rewrite when unset. */
  rewriter?: QuestionRewriter | undefined;
  /** Operator actions that need more than the request (the embedder settings, the file limit). */
  admin?: AdminActions;
  /** Set when start-up failed after the server began listening; /readyz reports it. */
  startupError?: string;
  /** The ingestion queue, for its depth and workers in /status and /metrics; absent in an API-only process without one. */
  queue?: JobQueue;
  /** Resolves API keys; createApp builds one from config.API_KEYS and the keys table when unset. */
  auth?: Authenticator;
  /** Prometheus series; createApp builds a fresh registry when unset. Share it with the worker to count ingestion. */
  metrics?: Metrics;
  /** Quality metrics computed after the answers are sent; createApp builds one when unset. */
  metricsQueue?: MetricsQueue;
  /** The bound on answers in flight (load shedding); createApp builds one from MAX_ANSWERS_IN_FLIGHT when unset. */
  admission?: Admission;
  /** With REDIS_URL: rate limiters every API process shares (rate-limit-redis.ts); in memory when unset. */
  sharedRateLimiter?: (perMinute: number, name: "keys" | "ips") => RateLimiter;
  /** The built web app served at `/` (web/dist when unset; built there on first request if missing). */
  webDir?: string;
}

/** What createApp takes: the deps, with what it builds itself when unset. */
export type ApiDepsInput = Omit<ApiDeps, "reranker"> & { reranker?: Reranker | undefined };

/** `principal`: who is calling (services/api/auth.ts); every key-guarded route reads its collections from it. */
export type AppEnv = { Variables: { deps: ApiDeps; requestId: string; log: Logger; principal: Principal } };

/** Resolves the key a request presents (services/api/auth.ts builds one from API_KEYS and the keys table). */
export interface Authenticator {
  /**
   * The caller (OPEN_PRINCIPAL with authentication off), or why not: no key, an unknown or revoked
   * one, or `unavailable` while the keys table cannot be read yet (start-up; fail closed).
   */
  resolve(
    presented: string | undefined,
  ): Promise<{ principal: Principal } | { error: "missing" | "invalid" | "unavailable" }>;
}

/** One take from a rate limiter's bucket (services/api/rate-limit.ts). */
export type Taken = { ok: true } | { ok: false; retryAfterSeconds: number };

/** A token-bucket limiter per key: in memory (rate-limit.ts) or shared through Redis (rate-limit-redis.ts). */
export interface RateLimiter {
  /** Takes one token from `key`'s bucket; when empty, how long until one is back. Shared limiters answer asynchronously. */
  take(key: string): Taken | Promise<Taken>;
}
