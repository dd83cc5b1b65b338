import { sql, type SQL } from "drizzle-orm";
import { costReport, type CostReport } from "./cost-queries.js";
import { queryRows, type Drizzle } from "./database.js";

/** The per-query metrics that are averaged, as `AskResponse.metrics` names them. */
export const QUALITY_METRIC_NAMES = [
  "faithfulness",
  "answerRelevancy",
  "contextPrecision",
  "contextUtilisation",
  "contextRecall",
  "answerCorrectness",
] as const;
export type QualityMetricName = (typeof QUALITY_METRIC_NAMES)[number];

export interface QualityFilter {
  /** Queries logged at or after this time... */
  since: Date;
  /** ...and at or before this one. */
  until: Date;
  /** Only queries asked of this collection (a query without one, over all collections, has none). */
  collection?: string | undefined;
  /** Only queries whose answer could draw only from these collections (a tenant's); an empty list matches nothing. */
  collections?: readonly string[] | undefined;
}

/** Quality of the answers logged in a time window (GET /quality, `npm run quality`). */
export interface QualityReport {
  window: { since: string; until: string };
  collection: string | null;
  queries: number;
  answered: number;
  abstained: number;
  /** abstained / queries; null without queries. */
  abstentionRate: number | null;
  /** Mean of each metric over the queries where it is not null, and how many that is. */
  metrics: Record<QualityMetricName, { mean: number | null; count: number }>;
  /** Percentiles of `timings.totalMs` (linear interpolation, as percentile_cont). */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  /** Mean tokens per query: sources sent to the generator, and the answer. */
  tokensPerQuery: { context: number | null; answer: number | null };
  /** Ratings of the window's queries (whenever they were given). */
  feedback: { up: number; down: number; withComment: number };
  /** Generator spend (usage.costUsd) and billed tokens, by UTC day, collection and key. */
  cost: CostReport;
}

const num = (v: unknown, digits: number): number | null => {
  if (v === null || v === undefined) {
    return null;
  }
  const f = 10 ** digits;
  return Math.round(Number(v) * f) / f;
};

/** The window, collection and tenant conditions on query_log rows; shared by every read of the log. */
export function qualityWhere(filter: QualityFilter): SQL[] {
  const where: SQL[] = [
    sql`created_at >= ${filter.since.toISOString()}::timestamptz`,
    sql`created_at <= ${filter.until.toISOString()}::timestamptz`,
  ];
  if (filter.collection !== undefined) {
    where.push(sql`collection = ${filter.collection}`);
  }
  if (filter.collections !== undefined) {
    // A tenant's queries are those whose answer could draw only from its collections (query_log.collections,
    // migration 0007), whether or not the request named one.
    where.push(
      filter.collections.length
        ? sql`collections IS NOT NULL AND collections <@ ${sql.param([...filter.collections])}::text[]`
        : sql`false`,
    );
  }
  return where;
}

/** Read-only aggregates over query_log and feedback; plain SQL that PGlite and PostgreSQL both run. */
export function createQualityQueries(db: Drizzle) {
  return {
    async summary(filter: QualityFilter): Promise<QualityReport> {
      const where = qualityWhere(filter);
      // Metric names come from the constant list above, never from a request.
      const means = QUALITY_METRIC_NAMES.map((m) =>
        sql.raw(`avg((metrics->>'${m}')::float8) AS "${m}_mean", count(metrics->>'${m}')::int AS "${m}_n"`),
      );
      const total = sql`(timings->>'totalMs')::float8`;
      const [row] = await queryRows<Record<string, unknown>>(
        db,
        sql`WITH q AS (SELECT id, abstained, metrics, usage, timings FROM query_log WHERE ${sql.join(where, sql` AND `)})
            SELECT count(*)::int AS queries,
                   count(*) FILTER (WHERE NOT abstained)::int AS answered,
                   ${sql.join(means, sql`, `)},
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ${total}) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY ${total}) AS p95,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY ${total}) AS p99,
                   avg((usage->>'contextTokens')::float8) AS context_tokens,
                   avg((usage->>'answerTokens')::float8) AS answer_tokens,
                   (SELECT count(*) FROM feedback f JOIN q ON q.id = f.query_id WHERE f.rating = 1)::int AS up,
                   (SELECT count(*) FROM feedback f JOIN q ON q.id = f.query_id WHERE f.rating = -1)::int AS down,
                   (SELECT count(*) FROM feedback f JOIN q ON q.id = f.query_id WHERE f.comment IS NOT NULL)::int AS with_comment
            FROM q`,
      );
      const r = row!;
      const queries = Number(r.queries);
      const answered = Number(r.answered);
      return {
        window: { since: filter.since.toISOString(), until: filter.until.toISOString() },
        collection: filter.collection ?? null,
        queries,
        answered,
        abstained: queries - answered,
        abstentionRate: queries ? num((queries - answered) / queries, 4) : null,
        metrics: Object.fromEntries(
          QUALITY_METRIC_NAMES.map((m) => [m, { mean: num(r[`${m}_mean`], 4), count: Number(r[`${m}_n`]) }]),
        ) as QualityReport["metrics"],
        latencyMs: { p50: num(r.p50, 1), p95: num(r.p95, 1), p99: num(r.p99, 1) },
        tokensPerQuery: { context: num(r.context_tokens, 1), answer: num(r.answer_tokens, 1) },
        feedback: { up: Number(r.up), down: Number(r.down), withComment: Number(r.with_comment) },
        cost: await costReport(db, sql.join(where, sql` AND `)),
      };
    },
  };
}
