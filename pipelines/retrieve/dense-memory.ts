import { sql } from "drizzle-orm";
import { type ChunkRow, chunkFieldsOf } from "../store/chunk-row.js";
import { queryRows, type Drizzle } from "../store/database.js";
import type { ChunkHit } from "../store/types.js";

/**
 * Generations with more chunks than this stay on pgvector's HNSW index (DENSE_MEMORY_MAX_CHUNKS):
 * an exact scan costs about 1 ms per 2,000 chunks of 512 dimensions on one core, and the vectors
 * and citation fields about 3 kB a chunk of memory.
 */
export const DEFAULT_DENSE_MEMORY_MAX_CHUNKS = 50_000;

/** A hit without its score: what a snapshot keeps per chunk. */
export type ChunkFields = Omit<ChunkHit, "score">;

/** One generation's chunks as of one committed version: vectors in one array, citation fields beside. */
export interface DenseSnapshot {
  readonly generationId: number;
  readonly version: string;
  readonly size: number;
  readonly dimensions: number;
  /**
   * The `topK` chunks nearest `embedding` by cosine similarity, best first, ties by chunk id,
   * scored as pgvector scores them (`1 - (a <=> b)`, float32 vectors): what the store's exact
   * SQL ranking returns, up to the order of a float sum.
   */
  search(embedding: readonly number[], topK: number, collections?: readonly string[] | undefined): ChunkHit[];
  /** The chunk's fields (text, document, path, heading path...) if this version holds it. */
  fields(chunkId: string): ChunkFields | undefined;
  /** The chunk's stored vector (float32, as pgvector holds it) if this version holds it. */
  vector(chunkId: string): Float32Array | undefined;
}

interface Row extends ChunkRow {
  embedding: string;
}

interface IdRow {
  id: string;
  xmin: string;
  path: string;
  source_id: string;
}

type State = { version: string; snapshot: DenseSnapshot | null; usedAt: number };

export interface DenseMemoryOptions {
  /** Generations with more chunks are not held (DEFAULT_DENSE_MEMORY_MAX_CHUNKS). */
  maxChunks?: number | undefined;
  /** Rows per read while loading: PGlite is one session, and queries get their turn between reads. */
  pageSize?: number | undefined;
  /** Generations held at once (the served one, and one a re-index just retired or is switching to). */
  maxGenerations?: number | undefined;
  /** Hears a load that failed (the store's SQL answers meanwhile). */
  onError?: ((err: unknown) => void) | undefined;
}

/**
 * An exact in-memory dense index per generation, kept consistent with the database the way the
 * BM25 postings cache is (bm25-cache.ts): every query reads the generation's `chunk_versions` row
 * (moved by triggers in every chunk writer's transaction, migration 0016) and is answered from
 * memory only when the snapshot was loaded at that version; otherwise `current` returns null, the
 * caller asks SQL, and a background load brings the snapshot to the new version. Loads are
 * incremental (chunk rows never change in place: a new chunk is a new id), read in pages outside
 * any transaction, and kept only when the version read before them is the version read after them:
 * no write committed in between, so every page saw the same state.
 */
export function createDenseMemory(db: Drizzle, opts: DenseMemoryOptions = {}) {
  const maxChunks = opts.maxChunks ?? DEFAULT_DENSE_MEMORY_MAX_CHUNKS;
  const pageSize = opts.pageSize ?? 500;
  const maxGenerations = Math.max(1, opts.maxGenerations ?? 2);
  const states = new Map<number, State>();
  // The last snapshot built per generation, whatever its version: the base of the next load.
  const bases = new Map<number, Snapshot>();
  const loading = new Map<number, Promise<void>>();

  async function readVersion(generationId: number): Promise<string> {
    const [v] = await queryRows<{ version: string }>(
      db,
      sql`SELECT version::text FROM chunk_versions WHERE generation_id = ${Math.trunc(generationId)}::int`,
    );
    // No row: no chunk was ever written to this generation (a write creates it).
    return v?.version ?? "none";
  }

  async function loadOnce(generationId: number): Promise<boolean> {
    const g = Math.trunc(generationId);
    const before = await readVersion(g);
    // Each chunk's row version (xmin: a new one on any update in place) and its document's citation
    // fields, which a move can change: rows whose xmin is unchanged are reused, with those fields.
    const idRows = await queryRows<IdRow>(
      db,
      sql`SELECT c.id::text AS id, c.xmin::text AS xmin, d.path, d.source_id
          FROM chunks c JOIN documents d ON d.id = c.document_id
          WHERE c.generation_id = ${g}::int ORDER BY c.id LIMIT ${maxChunks + 1}`,
    );
    if (idRows.length > maxChunks) {
      if ((await readVersion(g)) !== before) {
        return false;
      }
      remember(g, { version: before, snapshot: null, usedAt: Date.now() });
      bases.delete(g);
      return true;
    }
    const base = bases.get(g);
    const need = idRows.filter((r) => !base?.row(r.id, r.xmin)).map((r) => r.id);
    const fetched = new Map<string, Row>();
    for (let i = 0; i < need.length; i += pageSize) {
      const rows = await queryRows<Row>(
        db,
        sql`SELECT c.id AS chunk_id, c.document_id, d.source_id, d.path, c.collection, c.ordinal, c.text, c.page,
                   c.heading_path, c.token_count, c.embedding::text AS embedding
            FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.id = ANY(${sql.param(need.slice(i, i + pageSize))}::uuid[])`,
      );
      for (const r of rows) {
        fetched.set(r.chunk_id, r);
      }
      // Let queries waiting for the database (and the event loop) go between pages.
      await new Promise((r) => setImmediate(r));
    }
    if ((await readVersion(g)) !== before) {
      return false;
    }
    const snapshot = buildSnapshot(g, before, idRows, base, fetched);
    if (!snapshot) {
      return false;
    }
    bases.set(g, snapshot);
    remember(g, { version: before, snapshot, usedAt: Date.now() });
    return true;
  }

  function remember(g: number, state: State) {
    states.set(g, state);
    if (states.size > maxGenerations) {
      const [oldest] = [...states].filter(([k]) => k !== g).sort((a, b) => a[1].usedAt - b[1].usedAt)[0] ?? [];
      if (oldest !== undefined) {
        states.delete(oldest);
        bases.delete(oldest);
      }
    }
  }

  function load(generationId: number): Promise<void> {
    let pending = loading.get(generationId);
    if (!pending) {
      pending = (async () => {
        // A write landing mid-load makes it start again, from what it read (most rows are reused).
        for (let attempt = 0; attempt < 5; attempt++) {
          if (await loadOnce(generationId)) {
            return;
          }
        }
      })()
        .catch((err: unknown) => opts.onError?.(err))
        .finally(() => loading.delete(generationId));
      loading.set(generationId, pending);
    }
    return pending;
  }

  return {
    /**
     * The generation's snapshot when it is at the committed version; else null (answer from SQL),
     * with a load started in the background.
     */
    async current(generationId: number): Promise<DenseSnapshot | null> {
      const version = await readVersion(generationId);
      const state = states.get(generationId);
      if (state && state.version === version) {
        state.usedAt = Date.now();
        return state.snapshot;
      }
      void load(generationId);
      return null;
    },
    /**
     * The last snapshot loaded for the generation, without reading its version: for what does not
     * change while a chunk id lives (its stored vector), never for what a search may return.
     */
    latest(generationId: number): DenseSnapshot | null {
      return states.get(generationId)?.snapshot ?? null;
    },
    /** Loads the generation now (start-up, tests); resolves when it is loaded or cannot be. */
    async warm(generationId: number): Promise<void> {
      const version = await readVersion(generationId);
      if (states.get(generationId)?.version !== version) {
        await load(generationId);
      }
    },
    forget(generationId: number) {
      states.delete(generationId);
      bases.delete(generationId);
    },
  };
}

export type DenseMemory = ReturnType<typeof createDenseMemory>;

// ---------------------------------------------------------------- snapshot

interface Snapshot extends DenseSnapshot {
  /** The chunk's fields and vector, to reuse in the next version, if this one holds it at row version `xmin`. */
  row(chunkId: string, xmin: string): { fields: ChunkFields; vector: Float32Array } | undefined;
}

function buildSnapshot(
  generationId: number,
  version: string,
  ids: IdRow[],
  base: Snapshot | undefined,
  fetched: Map<string, Row>,
): Snapshot | null {
  const n = ids.length;
  let dims = base?.dimensions ?? 0;
  const fields: ChunkFields[] = new Array(n);
  const vectors: Float32Array[] = new Array(n);
  const xmins: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const { id, xmin, path, source_id: sourceId } = ids[i]!;
    xmins[i] = xmin;
    const kept = base?.row(id, xmin);
    if (kept) {
      const f = kept.fields;
      fields[i] = f.path === path && f.sourceId === sourceId ? f : { ...f, path, sourceId };
      vectors[i] = kept.vector;
      continue;
    }
    const r = fetched.get(id);
    if (!r) {
      // Deleted between the id list and its page: the version moved, so this load is discarded anyway.
      return null;
    }
    const v = Float32Array.from(JSON.parse(r.embedding) as number[]);
    if (dims === 0) {
      dims = v.length;
    }
    if (v.length !== dims) {
      // Mixed dimensions in one generation: not servable from one array (SQL would refuse them too).
      return null;
    }
    fields[i] = chunkFieldsOf(r);
    vectors[i] = v;
  }
  return snapshotOf(generationId, version, dims, fields, vectors, xmins);
}

function snapshotOf(
  generationId: number,
  version: string,
  dims: number,
  fields: ChunkFields[],
  rows: Float32Array[],
  xmins: string[],
): Snapshot {
  const n = fields.length;
  const matrix = new Float32Array(n * dims);
  const norms = new Float64Array(n);
  const index = new Map<string, number>();
  const collectionNames: string[] = [];
  const collectionOf = new Int32Array(n);
  const collectionIndex = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = rows[i]!;
    matrix.set(v, i * dims);
    let s = 0;
    for (let j = 0; j < dims; j++) {
      s += v[j]! * v[j]!;
    }
    norms[i] = s;
    index.set(fields[i]!.chunkId, i);
    const c = fields[i]!.collection;
    let ci = collectionIndex.get(c);
    if (ci === undefined) {
      ci = collectionNames.push(c) - 1;
      collectionIndex.set(c, ci);
    }
    collectionOf[i] = ci;
  }
  const rowVector = (i: number) => matrix.subarray(i * dims, (i + 1) * dims);
  const scores = new Float64Array(n);

  return {
    generationId,
    version,
    size: n,
    dimensions: dims,
    row(id, xmin) {
      const i = index.get(id);
      return i === undefined || xmins[i] !== xmin ? undefined : { fields: fields[i]!, vector: rowVector(i) };
    },
    fields(id) {
      const i = index.get(id);
      return i === undefined ? undefined : fields[i];
    },
    vector(id) {
      const i = index.get(id);
      return i === undefined ? undefined : rowVector(i);
    },
    search(embedding, topK, collections) {
      if (embedding.length !== dims && n > 0) {
        throw new Error(`different vector dimensions ${dims} and ${embedding.length}`);
      }
      if (n === 0 || topK <= 0 || (collections && collections.length === 0)) {
        return [];
      }
      let allowed: Uint8Array | null = null;
      if (collections) {
        allowed = new Uint8Array(collectionNames.length);
        for (const c of collections) {
          const ci = collectionIndex.get(c);
          if (ci !== undefined) {
            allowed[ci] = 1;
          }
        }
      }
      // The query as pgvector stores it (float32), its norm in float64 as each row's.
      const q = Float32Array.from(embedding);
      let qn = 0;
      for (let j = 0; j < dims; j++) {
        qn += q[j]! * q[j]!;
      }
      // One pass, four sums at a time; rows outside the allowed collections score -Infinity.
      let eligible = 0;
      for (let i = 0; i < n; i++) {
        if (allowed && allowed[collectionOf[i]!] === 0) {
          scores[i] = -Infinity;
          continue;
        }
        eligible++;
        const base = i * dims;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let j = 0;
        for (; j + 3 < dims; j += 4) {
          s0 += q[j]! * matrix[base + j]!;
          s1 += q[j + 1]! * matrix[base + j + 1]!;
          s2 += q[j + 2]! * matrix[base + j + 2]!;
          s3 += q[j + 3]! * matrix[base + j + 3]!;
        }
        for (; j < dims; j++) {
          s0 += q[j]! * matrix[base + j]!;
        }
        // pgvector: similarity = dot / sqrt(|a|² |b|²), clamped to [-1, 1]; score = 1 - (1 - similarity).
        let sim = (s0 + s1 + s2 + s3) / Math.sqrt(qn * norms[i]!);
        sim = Math.min(1, Math.max(-1, sim));
        // A zero vector has no direction (NaN in pgvector, sorted last): last here too.
        scores[i] = Number.isNaN(sim) ? -Number.MAX_VALUE : 1 - (1 - sim);
      }
      const k = Math.min(topK, eligible);
      if (k === 0) {
        return [];
      }
      // The k-th best score, then every row at or above it, sorted (ties by chunk id) and cut to k.
      const sorted = Float64Array.from(scores).sort();
      const threshold = sorted[n - k]!;
      const picked: number[] = [];
      for (let i = 0; i < n; i++) {
        if (scores[i]! >= threshold && scores[i] !== -Infinity) {
          picked.push(i);
        }
      }
      picked.sort((a, b) => {
        const d = scores[b]! - scores[a]!;
        if (d !== 0) {
          return d;
        }
        const x = fields[a]!.chunkId;
        const y = fields[b]!.chunkId;
        return x < y ? -1 : x > y ? 1 : 0;
      });
      return picked.slice(0, k).map((i) => {
        const f = fields[i]!;
        const score = scores[i] === -Number.MAX_VALUE ? Number.NaN : scores[i]!;
        return { ...f, headingPath: [...f.headingPath], score };
      });
    },
  };
}
