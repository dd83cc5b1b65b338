import { sql } from "drizzle-orm";
import type { QueryMetrics } from "../../schemas/api.js";
import { queryRows, type Drizzle } from "./database.js";

/** Where a logged answer's quality metrics stand (query_log.metrics_status, migration 0010). */
export type MetricsStatus = "pending" | "done" | "skipped";

/** The metrics of one logged answer, read back for GET /queries/:id/metrics. */
export interface StoredQueryMetrics {
  queryId: string;
  status: MetricsStatus;
  metrics: QueryMetrics | null;
}

/** The query log's deferred-metrics columns: written after the answer, read by its asker. */
export function createQueryMetricsStore(db: Drizzle) {
  return {
    /** Stores the metrics computed after the answer (`done`), or marks them `skipped` (null). */
    async record(queryId: string, metrics: QueryMetrics | null): Promise<void> {
      await db.execute(sql`
        UPDATE query_log SET metrics = ${metrics === null ? null : JSON.stringify(metrics)}::jsonb,
               metrics_status = ${metrics === null ? "skipped" : "done"}
        WHERE id = ${queryId}::uuid`);
    },

    /**
     * One answer's metrics; null when no query has that id or, as for feedback, when `scope` (the
     * reader's collections, null for all) does not cover every collection the answer could draw
     * from: another tenant's queryId reads as unknown, so ids do not leak.
     */
    async read(queryId: string, scope: readonly string[] | null): Promise<StoredQueryMetrics | null> {
      const [row] = await queryRows<{ metrics: unknown; metrics_status: string | null; collections: string[] | null }>(
        db,
        sql`SELECT metrics, metrics_status, collections FROM query_log WHERE id = ${queryId}::uuid`,
      );
      if (!row) {
        return null;
      }
      if (scope !== null && (row.collections === null || !row.collections.every((c) => scope.includes(c)))) {
        return null;
      }
      const metrics = (typeof row.metrics === "string" ? JSON.parse(row.metrics) : row.metrics) as QueryMetrics | null;
      // Rows logged before migration 0010 carry their metrics inline and no status.
      const status = (row.metrics_status ?? (metrics ? "done" : "skipped")) as MetricsStatus;
      return { queryId, status, metrics: metrics ?? null };
    },
  };
}
