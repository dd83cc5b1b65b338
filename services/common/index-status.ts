import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { sql } from "drizzle-orm";
import { queryRows, type Drizzle } from "../../pipelines/store/database.js";
import { findUnseen } from "./unseen-files.js";

/** Bounds on the disk work one status read may do, so a big folder cannot stall /status. */
export interface StaleCheckLimits {
  /** Indexed documents whose file is stat'ed, per request (all sources together). */
  maxStat: number;
  /** Bytes read to hash files whose mtime or size changed since they were indexed. */
  maxHashBytes: number;
  /** Files listed under the roots to find those the catalog does not know (`unseen`), per request. */
  maxListed?: number;
}
export const DEFAULT_STALE_LIMITS: StaleCheckLimits = {
  maxStat: 20_000,
  maxHashBytes: 64 * 1024 * 1024,
  maxListed: 100_000,
};

export interface DocumentCounts {
  indexed: number;
  pending: number;
  failed: number;
  /** Indexed documents whose file on disk now differs from (or no longer matches) the indexed version. */
  stale: number;
}

export interface SourceStatus {
  id: string;
  root: string;
  collection: string;
  documents: DocumentCounts;
  lastScanAt: Date | null;
  lastEventAt: Date | null;
  /** Supported files under the root that the catalog has no document for (not reported yet, or missed). */
  unseen: number;
  /** Age in ms of the oldest change not yet searchable (pending document, stale or unseen file); 0 when none. */
  freshnessLagMs: number;
  oldestPendingAt: Date | null;
  oldestStaleAt: Date | null;
  /** ctime of the oldest unseen file. */
  oldestUnseenAt: Date | null;
  /** False when the limits stopped the stale check or the walk for unseen files early: the counts are then lower bounds. */
  staleCheckComplete: boolean;
}

interface IndexedRow {
  source_id: string;
  path: string;
  content_hash: string | null;
  size_bytes: number | string | null;
  indexed_at: Date | string | null;
}

const asDate = (v: Date | string | null) => (v === null ? null : v instanceof Date ? v : new Date(v));

/**
 * Per-source freshness, read from the catalog and the disk: counts by status, staleness, lag.
 * Staleness is checked cheaply: stat each indexed file; only one whose mtime is newer than its
 * indexed_at, or whose size differs, is hashed and compared with the indexed hash. A file gone
 * from disk whose document is still indexed is stale too (its lag is unknown: no mtime).
 * Then the root is walked for files the catalog does not know at all (`unseen`), since the
 * watcher can miss files (services/watcher/watcher.ts) and the index is not fresh while any wait.
 */
export async function sourceStatuses(
  db: Drizzle,
  /** `collections`: the caller's tenant scope; only sources and documents of these (null: all). */
  opts: { now?: Date; limits?: StaleCheckLimits; collections?: readonly string[] | null } = {},
): Promise<SourceStatus[]> {
  const now = opts.now ?? new Date();
  const limits = opts.limits ?? DEFAULT_STALE_LIMITS;
  // Both the source and the document must be in scope: a source moved to another collection
  // keeps documents of the old one until they are indexed again.
  const scope = opts.collections ?? null;
  const sourceScope = scope === null ? sql`true` : sql`collection = ANY(${sql.param([...scope])}::text[])`;
  const docScope =
    scope === null
      ? sql`true`
      : sql`collection = ANY(${sql.param([...scope])}::text[]) AND source_id IN (SELECT id FROM sources WHERE ${sourceScope})`;
  const [sources, counts, indexed, paths] = await Promise.all([
    queryRows<{
      id: string;
      root: string;
      collection: string;
      last_scan_at: Date | string | null;
      last_event_at: Date | string | null;
    }>(
      db,
      sql`SELECT id, root, collection, last_scan_at, last_event_at FROM sources WHERE ${sourceScope} ORDER BY root`,
    ),
    queryRows<{ source_id: string; status: string; n: number; oldest: Date | string | null }>(
      db,
      sql`SELECT source_id, status, count(*)::int AS n, min(updated_at) AS oldest FROM documents WHERE ${docScope}
          GROUP BY source_id, status`,
    ),
    queryRows<IndexedRow>(
      db,
      sql`SELECT source_id, path, content_hash, size_bytes, indexed_at FROM documents
          WHERE status = 'indexed' AND ${docScope} ORDER BY source_id, path`,
    ),
    queryRows<{ source_id: string; path: string }>(db, sql`SELECT source_id, path FROM documents WHERE ${docScope}`),
  ]);
  const known = new Map<string, Set<string>>();
  for (const p of paths) {
    if (!known.has(p.source_id)) {
      known.set(p.source_id, new Set());
    }
    known.get(p.source_id)!.add(p.path);
  }
  const budget = { stat: limits.maxStat, hashBytes: limits.maxHashBytes };
  const walkBudget = { files: limits.maxListed ?? DEFAULT_STALE_LIMITS.maxListed!, stat: limits.maxStat };
  const out: SourceStatus[] = [];
  for (const s of sources) {
    const mine = counts.filter((c) => c.source_id === s.id);
    const n = (status: string) => Number(mine.find((c) => c.status === status)?.n ?? 0);
    const oldestPendingAt = asDate(mine.find((c) => c.status === "pending")?.oldest ?? null);
    const stale = await checkStale(
      s.root,
      indexed.filter((d) => d.source_id === s.id),
      budget,
    );
    const unseen = await findUnseen(s.root, known.get(s.id) ?? new Set(), walkBudget);
    const oldest = [oldestPendingAt, stale.oldestMtime, unseen.oldestAt].filter((d): d is Date => d !== null);
    const oldestMs = oldest.length ? Math.min(...oldest.map((d) => d.getTime())) : null;
    out.push({
      id: s.id,
      root: s.root,
      collection: s.collection,
      documents: { indexed: n("indexed"), pending: n("pending"), failed: n("failed"), stale: stale.count },
      unseen: unseen.count,
      lastScanAt: asDate(s.last_scan_at),
      lastEventAt: asDate(s.last_event_at),
      freshnessLagMs: oldestMs === null ? 0 : Math.max(0, now.getTime() - oldestMs),
      oldestPendingAt,
      oldestStaleAt: stale.oldestMtime,
      oldestUnseenAt: unseen.oldestAt,
      staleCheckComplete: stale.complete && unseen.complete,
    });
  }
  return out;
}

async function checkStale(root: string, docs: IndexedRow[], budget: { stat: number; hashBytes: number }) {
  const result = { count: 0, oldestMtime: null as Date | null, complete: true };
  // An unreachable root (unmounted volume) says nothing about its files; do not call them all stale.
  if (!(await stat(root).catch(() => null))?.isDirectory()) {
    return { ...result, complete: docs.length === 0 };
  }
  const base = resolve(root);
  const noteMtime = (m: Date) => {
    if (!result.oldestMtime || m < result.oldestMtime) {
      result.oldestMtime = m;
    }
  };
  // Stat in small batches: parallel enough for a network mount, bounded for file handles.
  for (let i = 0; i < docs.length; i += 32) {
    const batch = docs.slice(i, i + 32);
    if (budget.stat < batch.length) {
      result.complete = false;
      break;
    }
    budget.stat -= batch.length;
    const infos = await Promise.all(batch.map((d) => statInside(base, d.path)));
    for (const [j, doc] of batch.entries()) {
      const info = infos[j];
      if (!info?.isFile()) {
        result.count++;
        continue;
      }
      const indexedAt = asDate(doc.indexed_at);
      const sizeChanged = doc.size_bytes !== null && Number(doc.size_bytes) !== info.size;
      // ctime too: `rsync -a` and `mv` put a changed file in place with an older mtime.
      if (!sizeChanged && indexedAt && info.mtime <= indexedAt && info.ctime <= indexedAt) {
        continue;
      }
      if (info.size > budget.hashBytes) {
        result.complete = false;
        continue;
      }
      budget.hashBytes -= info.size;
      const hash = await hashFile(resolve(base, doc.path)).catch(() => null);
      if (hash !== null && hash === doc.content_hash) {
        continue;
      }
      result.count++;
      noteMtime(info.mtime);
    }
  }
  return result;
}

// Paths come from the catalog, which the watcher fills with paths relative to the root; anything
// that would step outside it is treated as missing rather than stat an arbitrary file.
async function statInside(base: string, path: string) {
  const abs = resolve(base, path);
  if (!abs.startsWith(base + sep)) {
    return null;
  }
  return stat(abs).catch(() => null);
}

function hashFile(abs: string): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash("sha256");
    createReadStream(abs)
      .on("data", (d) => hash.update(d))
      .on("end", () => done(hash.digest("hex")))
      .on("error", fail);
  });
}

/** The service-wide figures: summed counts and the worst lag over all sources. */
export function summarize(sources: SourceStatus[]) {
  const documents: DocumentCounts = { indexed: 0, pending: 0, failed: 0, stale: 0 };
  for (const s of sources) {
    for (const k of Object.keys(documents) as (keyof DocumentCounts)[]) {
      documents[k] += s.documents[k];
    }
  }
  const unseen = sources.reduce((n, s) => n + s.unseen, 0);
  return { documents, unseen, freshnessLagMs: Math.max(0, ...sources.map((s) => s.freshnessLagMs)) };
}
