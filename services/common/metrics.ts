import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { JobQueue } from "./queue/types.js";

/**
 * Prometheus series for one process, on a registry of its own (no module-level default registry,
 * so tests and several apps in one process never see each other's counts).
 */
export function createMetrics(opts: { queue?: () => JobQueue | undefined } = {}) {
  const registry = new Registry();
  const registers = [registry];
  const metrics = {
    registry,
    httpRequests: new Counter({
      name: "rag_http_requests_total",
      help: "HTTP requests by method, matched route and status.",
      labelNames: ["method", "route", "status"] as const,
      registers,
    }),
    ingestJobs: new Counter({
      name: "rag_ingest_jobs_total",
      help: "Ingestion jobs finished, by job and outcome (indexed, unchanged, failed, removed, error).",
      labelNames: ["job", "outcome"] as const,
      registers,
    }),
    ingestDuration: new Histogram({
      name: "rag_ingest_duration_seconds",
      help: "Wall time of one ingestion job (read, parse, chunk, embed, store), by job and outcome.",
      labelNames: ["job", "outcome"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    ingestChunks: new Counter({
      name: "rag_ingest_chunks_total",
      help: "Chunks written by ingestion: kind=embedded (new text) or reused (from the embedding cache).",
      labelNames: ["kind"] as const,
      registers,
    }),
    askDuration: new Histogram({
      name: "rag_ask_duration_seconds",
      help: "POST /ask latency to the complete, verified answer (errors excluded), by mode: json or stream.",
      labelNames: ["mode"] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    askTokens: new Counter({
      name: "rag_ask_tokens_total",
      help: "Tokens per answer: kind=context (sources sent to the generator) or answer.",
      labelNames: ["kind"] as const,
      registers,
    }),
    askAnswers: new Counter({
      name: "rag_ask_answers_total",
      help: "Answers given, by whether they abstained.",
      labelNames: ["abstained"] as const,
      registers,
    }),
    askShed: new Counter({
      name: "rag_ask_shed_total",
      help: "/ask requests refused with 503 overloaded because MAX_ANSWERS_IN_FLIGHT answers were in the making.",
      registers,
    }),
    verifierRemovals: new Counter({
      name: "rag_verifier_removals_total",
      help: "What the citation verifier took out or flagged: kind=sentence, flagged_sentence or citation.",
      labelNames: ["kind"] as const,
      registers,
    }),
    answerQuality: new Histogram({
      name: "rag_answer_quality",
      help: "RAGAS-style quality of each /ask answer, by metric (faithfulness, answerRelevancy, contextPrecision, ...); nulls are not observed.",
      labelNames: ["metric"] as const,
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1],
      registers,
    }),
    askCost: new Counter({
      name: "rag_ask_cost_usd_total",
      help: "Generator spend in USD, priced by the price table (PRICES_FILE / PRICES_JSON over the defaults), by model.",
      labelNames: ["model"] as const,
      registers,
    }),
    billedTokens: new Counter({
      name: "rag_ask_billed_tokens_total",
      help: "Tokens the generator was billed for, by model and kind (input or output); cache hits bill none.",
      labelNames: ["model", "kind"] as const,
      registers,
    }),
    answerCache: new Counter({
      name: "rag_answer_cache_total",
      help: "Answer cache lookups by outcome: hit, miss, bypass, stale (dropped: its documents changed) or rejected (a near question failed the guard).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    queueDepth: new Gauge({
      name: "rag_queue_jobs",
      help: "Ingestion jobs in the queue by state (waiting, active, failed), read at scrape time.",
      labelNames: ["state"] as const,
      registers,
      async collect() {
        const queue = opts.queue?.();
        if (!queue) {
          return;
        }
        const depth = await queue.depth().catch(() => null);
        if (!depth) {
          return;
        }
        for (const [state, n] of Object.entries(depth)) {
          this.set({ state }, n);
        }
      },
    }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
