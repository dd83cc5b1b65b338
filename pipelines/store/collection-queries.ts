import { sql } from "drizzle-orm";
import { queryRows, type Drizzle } from "./database.js";
import type { CollectionScope } from "./scoped-store.js";

/** A collection (tenant) and how much of it is searchable. */
export interface CollectionSummary {
  name: string;
  sources: number;
  documents: number;
  indexed: number;
  /** When its newest document was indexed; null while nothing is. */
  lastIndexedAt: string | null;
}

/**
 * The collections `scope` may read (null: all), by name: every collection a watched folder or an
 * ingested document names, so an empty one the operator configured is listed too.
 */
export async function listCollections(db: Drizzle, scope: CollectionScope): Promise<CollectionSummary[]> {
  if (scope !== null && scope.length === 0) {
    return [];
  }
  const within =
    scope === null
      ? sql`true`
      : sql`name IN (${sql.join(
          scope.map((c) => sql`${c}`),
          sql`, `,
        )})`;
  const rows = await queryRows<{
    name: string;
    sources: number;
    documents: number;
    indexed: number;
    last_indexed_at: Date | string | null;
  }>(
    db,
    sql`WITH names AS (SELECT collection AS name FROM sources UNION SELECT collection FROM documents)
        SELECT n.name,
               (SELECT count(*)::int FROM sources s WHERE s.collection = n.name) AS sources,
               (SELECT count(*)::int FROM documents d WHERE d.collection = n.name) AS documents,
               (SELECT count(*)::int FROM documents d WHERE d.collection = n.name AND d.status = 'indexed') AS indexed,
               (SELECT max(d.indexed_at) FROM documents d WHERE d.collection = n.name) AS last_indexed_at
        FROM names n WHERE ${within} ORDER BY n.name`,
  );
  return rows.map((r) => ({
    name: r.name,
    sources: Number(r.sources),
    documents: Number(r.documents),
    indexed: Number(r.indexed),
    lastIndexedAt: r.last_indexed_at === null ? null : new Date(r.last_indexed_at).toISOString(),
  }));
}
