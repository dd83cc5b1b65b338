import { sql } from "drizzle-orm";
import { queryRows, type Drizzle } from "./database.js";
import { qualityWhere, type QualityFilter } from "./quality-queries.js";

/** The metrics the web app charts over time (README "Quality metrics" defines them). */
export const SERIES_METRICS = ["faithfulness", "answerRelevancy", "contextPrecision"] as const;
export type SeriesMetric = (typeof SERIES_METRICS)[number];

/** One time bucket of the query log: means of the metrics, abstention rate and latency percentiles. */
export interface QualityBucket {
  /** Start of the bucket (ISO 8601). */
  start: string;
  queries: number;
  abstentionRate: number;
  /** Mean over the bucket's queries where the metric is not null; null when none has it. */
  faithfulness: number | null;
  answerRelevancy: number | null;
  contextPrecision: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

/** A recent answer as the Quality page lists it, with the ratings it got. */
export interface RecentQuery {
  id: string;
  createdAt: string;
  question: string;
  collection: string | null;
  abstained: boolean;
  /** The start of the answer (at most 300 characters). */
  answer: string;
  metrics: Record<string, number | null> | null;
  totalMs: number | null;
  feedback: { up: number; down: number; lastComment: string | null };
}

const round = (v: unknown, digits: number): number | null => {
  if (v === null || v === undefined) {
    return null;
  }
  const f = 10 ** digits;
  return Math.round(Number(v) * f) / f;
};

/**
 * Time-bucketed and per-query reads of query_log (GET /quality/series, GET /quality/recent), with
 * the same window and tenant conditions as the summary, so a scoped key sees only its own answers.
 */
export function createQualitySeries(db: Drizzle) {
  return {
    /** Buckets of `bucketSeconds` (aligned to the epoch), oldest first; empty buckets are left out. */
    async series(filter: QualityFilter, bucketSeconds: number): Promise<QualityBucket[]> {
      const where = qualityWhere(filter);
      // Metric names come from the constant list above, never from a request.
      const means = SERIES_METRICS.map((m) => sql.raw(`avg((metrics->>'${m}')::float8) AS "${m}"`));
      const total = sql`(timings->>'totalMs')::float8`;
      const bucket = sql`(floor(extract(epoch FROM created_at) / ${bucketSeconds}::float8) * ${bucketSeconds}::float8)`;
      const rows = await queryRows<Record<string, unknown>>(
        db,
        sql`SELECT ${bucket} AS bucket,
                   count(*)::int AS queries,
                   count(*) FILTER (WHERE abstained)::int AS abstained,
                   ${sql.join(means, sql`, `)},
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ${total}) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY ${total}) AS p95
            FROM query_log WHERE ${sql.join(where, sql` AND `)}
            GROUP BY 1 ORDER BY 1`,
      );
      return rows.map((r) => {
        const queries = Number(r.queries);
        return {
          start: new Date(Number(r.bucket) * 1000).toISOString(),
          queries,
          abstentionRate: round(Number(r.abstained) / queries, 4)!,
          faithfulness: round(r.faithfulness, 4),
          answerRelevancy: round(r.answerRelevancy, 4),
          contextPrecision: round(r.contextPrecision, 4),
          latencyP50Ms: round(r.p50, 1),
          latencyP95Ms: round(r.p95, 1),
        };
      });
    },

    /** The newest `limit` answers of the window, newest first. */
    async recent(filter: QualityFilter, limit: number): Promise<RecentQuery[]> {
      const where = qualityWhere(filter);
      const rows = await queryRows<Record<string, unknown>>(
        db,
        sql`SELECT q.id, q.created_at, q.question, q.collection, q.abstained, left(q.answer, 300) AS answer, q.metrics,
                   (q.timings->>'totalMs')::float8 AS total_ms,
                   (SELECT count(*) FROM feedback f WHERE f.query_id = q.id AND f.rating = 1)::int AS up,
                   (SELECT count(*) FROM feedback f WHERE f.query_id = q.id AND f.rating = -1)::int AS down,
                   (SELECT f.comment FROM feedback f WHERE f.query_id = q.id AND f.comment IS NOT NULL
                     ORDER BY f.created_at DESC, f.id DESC LIMIT 1) AS last_comment
            FROM (SELECT * FROM query_log WHERE ${sql.join(where, sql` AND `)} ORDER BY created_at DESC, id LIMIT ${limit}) q
            ORDER BY q.created_at DESC, q.id`,
      );
      return rows.map((r) => {
        const metrics = r.metrics as Record<string, unknown> | null;
        return {
          id: String(r.id),
          createdAt: new Date(r.created_at as string).toISOString(),
          question: String(r.question),
          collection: (r.collection as string | null) ?? null,
          abstained: Boolean(r.abstained),
          answer: String(r.answer),
          metrics: metrics
            ? (Object.fromEntries(
                Object.entries(metrics).filter(([, v]) => typeof v === "number" || v === null),
              ) as Record<string, number | null>)
            : null,
          totalMs: round(r.total_ms, 1),
          feedback: { up: Number(r.up), down: Number(r.down), lastComment: (r.last_comment as string | null) ?? null },
        };
      });
    },
  };
}
