import { sql, type SQL } from "drizzle-orm";
import { queryRows, type Drizzle } from "./database.js";

/** Spend of the queries in a window, in total and by UTC day, collection and key. */
export interface CostReport {
  totalUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** Answers the cache served (no model ran; cost 0). */
  cacheHits: number;
  rows: Array<{
    day: string;
    collection: string;
    keyId: string | null;
    queries: number;
    inputTokens: number;
    outputTokens: number;
    costUsd: number;
  }>;
}

// The tokens a query was billed for, as pipelines/cost/prices.ts billedTokens counts them.
const INPUT = sql.raw(
  "CASE WHEN coalesce((cache->>'hit')::boolean, false) THEN 0 ELSE coalesce((usage->>'promptTokens')::bigint, (usage->>'contextTokens')::bigint, 0) END",
);
const OUTPUT = sql.raw(
  "CASE WHEN coalesce((cache->>'hit')::boolean, false) THEN 0 ELSE coalesce((usage->>'completionTokens')::bigint, (usage->>'answerTokens')::bigint, 0) END",
);
const COST = sql.raw("coalesce((usage->>'costUsd')::float8, 0)");
// A query over every collection (none named) counts under its tenant's set, or '*'.
const COLLECTION = sql.raw("coalesce(collection, array_to_string(collections, ','), '*')");

const round = (x: unknown, digits = 8) => Math.round(Number(x ?? 0) * 10 ** digits) / 10 ** digits;

/** Sums query_log.usage over the rows `where` selects (the quality report's window and tenant). */
export async function costReport(db: Drizzle, where: SQL): Promise<CostReport> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${COLLECTION} AS collection, api_key_id AS key_id,
               count(*)::int AS queries, sum(${INPUT})::bigint AS input, sum(${OUTPUT})::bigint AS output, sum(${COST}) AS usd,
               count(*) FILTER (WHERE coalesce((cache->>'hit')::boolean, false))::int AS hits
        FROM query_log WHERE ${where}
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  const out: CostReport = { totalUsd: 0, inputTokens: 0, outputTokens: 0, cacheHits: 0, rows: [] };
  for (const r of rows) {
    const row = {
      day: String(r.day),
      collection: String(r.collection),
      keyId: (r.key_id as string | null) ?? null,
      queries: Number(r.queries),
      inputTokens: Number(r.input),
      outputTokens: Number(r.output),
      costUsd: round(r.usd),
    };
    out.rows.push(row);
    out.totalUsd += row.costUsd;
    out.inputTokens += row.inputTokens;
    out.outputTokens += row.outputTokens;
    out.cacheHits += Number(r.hits);
  }
  out.totalUsd = round(out.totalUsd);
  return out;
}
