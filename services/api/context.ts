import type { Generator } from "../../pipelines/generate/types.js";
import type { Reranker } from "../../pipelines/rerank/types.js";
import type { Logger } from "../common/log.js";
import type { CoreDeps } from "../common/deps.js";
import type { Metrics } from "../common/metrics.js";
import type { JobQueue } from "../common/queue/types.js";

export interface ApiConfig {
  MAX_BODY_BYTES: number;
  MAX_QUESTION_CHARS: number;
  DEFAULT_TOP_K: number;
  DENSE_WEIGHT?: number | undefined;
  VERIFY_MODE?: "remove" | "flag" | undefined;
  VERIFY_MIN_SUPPORTED?: number | undefined;
}

/**
 * What the routes need. `core` is null while the process is starting (the HTTP server answers
 * /healthz and /readyz before the database and model are ready).
 */
export interface ApiDeps {
  config: ApiConfig;
  log: Logger;
  generator: Generator;
  /** The built-in lexical reranker when unset. */
  reranker?: Reranker;
  core: CoreDeps | null;
  /** Operator actions that need more than the request (the embedder settings, the file limit). */
  admin?: {
    startReindex(embeddingModel?: string): Promise<{ generationId: number }>;
  };
  /** Set when start-up failed after the server began listening; /readyz reports it. */
  startupError?: string;
  /** The ingestion queue, for its depth and workers in /status and /metrics; absent in an API-only process without one. */
  queue?: JobQueue;
  /** Prometheus series; createApp builds a fresh registry when unset. Share it with the worker to count ingestion. */
  metrics?: Metrics;
}

export type AppEnv = { Variables: { deps: ApiDeps; requestId: string; log: Logger } };
