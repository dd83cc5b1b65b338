/**
 * Vector store benchmark: insert rate through replaceDocumentChunks, top-10 latency and HNSW
 * recall@10 against exact search, per hnsw ef. pgvector on PGlite always; Qdrant when QDRANT_URL
 * is set. Figures only, no assertions.
 *
 *   npm run bench:vector -- [--sizes 10000,100000] [--queries 100] [--seed 1]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { documents } from "../schemas/db.js";
import { createCatalog } from "../pipelines/store/catalog.js";
import { openDatabase, queryRows, type Database } from "../pipelines/store/database.js";
import { createPgvectorStore } from "../pipelines/store/pgvector-store.js";
import { createQdrantStore } from "../pipelines/store/qdrant-store.js";
import type { StoredChunk, VectorStore } from "../pipelines/store/types.js";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    queries: { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
  },
});
const SIZES = args.sizes
  .split(",")
  .map(Number)
  .sort((a, b) => a - b);
const QUERIES = Number(args.queries);
if (SIZES.some((n) => !(n >= 200 && n % 100 === 0)) || !(QUERIES > 0)) {
  throw new Error(
    "--sizes takes multiples of 100 from 200 up (whole documents of 50 chunks); --queries a positive number",
  );
}
const DIMS = 512;
const PER_DOC = 50;
const CENTROIDS = 1000;
// Per-dimension noise: a point sits at cosine ~0.83 from its centroid, two points of one cluster
// at ~0.69, points of different clusters near 0. Uniform random vectors would make every
// neighbour equally far and HNSW's job unrealistically easy or hard; text embeddings cluster.
const NOISE = 0.03;
const EFS = [40, 100, 200];
const EXACT_SQL_QUERIES = Math.min(QUERIES, 20);

const rand = mulberry32(Number(args.seed));
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const centroids = Array.from({ length: CENTROIDS }, () => unit(Float32Array.from({ length: DIMS }, gauss)));
const sample = () => {
  const c = centroids[Math.floor(rand() * CENTROIDS)]!;
  return unit(c.map((x) => x + NOISE * gauss()));
};
const maxSize = SIZES[SIZES.length - 1]!;
const data = new Float32Array(maxSize * DIMS);
for (let i = 0; i < maxSize; i++) {
  data.set(sample(), i * DIMS);
}
const queries = Array.from({ length: QUERIES }, sample);
const words = Array.from(
  { length: 3000 },
  (_, i) =>
    ["ka", "lo", "mi", "ren", "tas", "vu", "zor"].map((s, j) => ((i >> j) & 1 ? s : "")).join("") + i.toString(36),
);
const text = () => Array.from({ length: 60 }, () => words[Math.floor(words.length * rand() ** 3)]).join(" ");

interface Backend {
  name: string;
  database: Database;
  /** A store whose dense searches use `ef`; the same data under every value. */
  storeFor(ef: number): Promise<VectorStore>;
  /** Before a bulk load: pgvector drops the generation's HNSW index; Qdrant has nothing to drop. */
  unindex(generationId: number): Promise<void>;
  /** Builds (pgvector) or waits for (Qdrant, which indexes in the background) a complete index. */
  settle(generationId: number): Promise<string>;
  /** Index scans so far (pgvector's statistics), to show the queries really used HNSW. */
  indexScans(generationId: number): Promise<number | null>;
  close(): Promise<void>;
}

// Incremental HNSW inserts in PGlite's single wasm thread run at tens of chunks a second, so most of
// each size is bulk-loaded without the index, the index built once, and the last LIVE chunks go
// through replaceDocumentChunks against the live index: the rate a running service sees.
const LIVE = 1000;

console.log(
  `vectors: ${DIMS}-dim unit, ${CENTROIDS} gaussian clusters (noise ${NOISE}/dim), ${PER_DOC} chunks a document, ${QUERIES} queries, seed ${args.seed}`,
);
console.log(
  "exact top-10 = brute-force cosine in TypeScript over the same float32 vectors; all inserts through replaceDocumentChunks",
);
console.log(
  `bulk/s: without the HNSW index; build s: index build (pgvector) or wait for green (Qdrant); live/s: last ${LIVE} chunks into the built index`,
);
console.log(
  ["backend", "chunks", "bulk/s", "build s", "live/s", "ef", "recall@10", "p50 ms", "p95 ms", "note"].join("\t"),
);

await run(await pgliteBackend());
if (process.env.QDRANT_URL) {
  await run(await qdrantBackend(process.env.QDRANT_URL, process.env.QDRANT_API_KEY || undefined));
} else {
  console.log("qdrant\tskipped: QDRANT_URL not set");
}

async function run(b: Backend) {
  const [gen] = await queryRows<{ id: number }>(
    b.database.db,
    sql`INSERT INTO index_generations (embedder_key, embedder, chunker, status)
    VALUES ('bench', ${JSON.stringify({ dimensions: DIMS })}::jsonb, '{}'::jsonb, 'active') RETURNING id`,
  );
  const g = gen!.id;
  const base = await b.storeFor(EFS[0]!);
  await base.prepareGeneration(g, DIMS);
  const sourceId = await createCatalog(b.database.db).upsertSource("/bench", "bench");
  const docIds: string[] = [];
  const docIndex = new Map<string, number>();
  const pointOf = (h: { documentId: string; ordinal: number }) => docIndex.get(h.documentId)! * PER_DOC + h.ordinal;
  let loaded = 0;
  /** Inserts chunks [loaded, to) document by document; returns chunks a second. */
  async function load(to: number): Promise<number> {
    const ids = await createDocuments(b.database, sourceId, docIds.length, (to - loaded) / PER_DOC);
    for (const id of ids) {
      docIndex.set(id, docIds.length);
      docIds.push(id);
    }
    const t0 = performance.now();
    for (let d = loaded / PER_DOC; d < to / PER_DOC; d++) {
      const chunks: StoredChunk[] = Array.from({ length: PER_DOC }, (_, o) => {
        const i = d * PER_DOC + o;
        const t = text();
        return {
          ordinal: o,
          text: t,
          textHash: String(i),
          embedding: Array.from(data.subarray(i * DIMS, (i + 1) * DIMS)),
          start: 0,
          end: t.length,
          page: null,
          headingPath: [],
          tokenCount: 60,
        };
      });
      await base.replaceDocumentChunks(g, { documentId: docIds[d]!, collection: "bench" }, chunks);
    }
    const rate = Math.round((to - loaded) / ((performance.now() - t0) / 1000));
    loaded = to;
    return rate;
  }
  for (const size of SIZES) {
    await b.unindex(g);
    const bulk = await load(size - Math.min(LIVE, size / 2));
    let t0 = performance.now();
    await b.settle(g);
    const build = ((performance.now() - t0) / 1000).toFixed(1);
    const live = await load(size);
    const note = await b.settle(g);
    const exact = queries.map((q) => exactTop10(q, size));
    for (const ef of EFS) {
      const store = await b.storeFor(ef);
      for (const q of queries.slice(0, 5)) {
        await store.searchDense(Array.from(q), { generationId: g, topK: 10 }); // warm-up
      }
      const scans = await b.indexScans(g);
      const times: number[] = [];
      let found = 0;
      for (const [qi, q] of queries.entries()) {
        t0 = performance.now();
        const hits = await store.searchDense(Array.from(q), { generationId: g, topK: 10 });
        times.push(performance.now() - t0);
        found += hits.filter((h) => exact[qi]!.has(pointOf(h))).length;
      }
      const after = await b.indexScans(g);
      const used = scans === null || after === null ? "" : `HNSW scans ${after - scans}/${QUERIES}`;
      const row = [b.name, size, bulk, build, live, ef, (found / (10 * QUERIES)).toFixed(3), ...pct(times)];
      console.log([...row, [used, ef === EFS[0] ? note : ""].filter(Boolean).join(", ")].join("\t"));
    }
    if (b.name.startsWith("pgvector")) {
      await exactSql(b, g, exact, pointOf, size);
    }
  }
  await b.close();
}

/** pgvector with its index disabled: checks the recall yardstick and prices a sequential scan. */
async function exactSql(
  b: Backend,
  g: number,
  exact: Set<number>[],
  pointOf: (h: { documentId: string; ordinal: number }) => number,
  size: number,
) {
  const store = await b.storeFor(EFS[0]!);
  await b.database.db.execute(sql`SET enable_indexscan = off`);
  const times: number[] = [];
  let found = 0;
  for (const [qi, q] of queries.slice(0, EXACT_SQL_QUERIES).entries()) {
    const t = performance.now();
    const hits = await store.searchDense(Array.from(q), { generationId: g, topK: 10 });
    times.push(performance.now() - t);
    found += hits.filter((h) => exact[qi]!.has(pointOf(h))).length;
  }
  await b.database.db.execute(sql`RESET enable_indexscan`);
  const recall = (found / (10 * EXACT_SQL_QUERIES)).toFixed(3);
  console.log(
    [b.name, size, "", "", "", "exact", recall, ...pct(times), `index off, ${EXACT_SQL_QUERIES} queries`].join("\t"),
  );
}

async function pgliteBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "bench-vector-"));
  const database = await openDatabase({ dataDir: dir });
  await database.migrate();
  const store = createPgvectorStore(database.db);
  // An HNSW build that does not fit maintenance_work_mem goes to disk and is several times slower.
  await database.db.execute(sql`SET maintenance_work_mem = '1GB'`);
  return {
    name: "pgvector/PGlite",
    database,
    async storeFor(ef) {
      // PGlite is one session, so the setting holds for the queries that follow.
      await database.db.execute(sql.raw(`SET hnsw.ef_search = ${ef}`));
      return store;
    },
    unindex: async (g) =>
      void (await database.db.execute(sql.raw(`DROP INDEX IF EXISTS chunks_embedding_g${Math.trunc(g)}`))),
    async settle(g) {
      await store.prepareGeneration(g, DIMS);
      await database.db.execute(sql`ANALYZE chunks`);
      const [size] = await queryRows<{ s: string }>(
        database.db,
        sql`SELECT pg_size_pretty(pg_relation_size(${`chunks_embedding_g${g}`}::regclass)) AS s`,
      );
      return `index ${size?.s}`;
    },
    async indexScans(g) {
      await database.db.execute(sql`SELECT pg_stat_force_next_flush()`);
      const [r] = await queryRows<{ n: number }>(
        database.db,
        sql`SELECT idx_scan::int AS n FROM pg_stat_user_indexes WHERE indexrelname = ${`chunks_embedding_g${g}`}`,
      );
      return r?.n ?? 0;
    },
    close: async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function qdrantBackend(url: string, apiKey: string | undefined): Promise<Backend> {
  const { QdrantClient } = await import("@qdrant/js-client-rest");
  const client = new QdrantClient({ url, apiKey, checkCompatibility: false });
  const database = await openDatabase({});
  await database.migrate();
  const collectionPrefix = `bench_${Date.now()}_`;
  let collection = "";
  return {
    name: "qdrant",
    database,
    storeFor: async (ef) => createQdrantStore({ url, apiKey, collectionPrefix, db: database.db, hnswEf: ef }),
    unindex: async () => {},
    async settle(g) {
      collection = `${collectionPrefix}g${g}`;
      // Upserts return before the optimizer has built the HNSW graph; until then search is brute force.
      for (;;) {
        const info = await client.getCollection(collection);
        if (info.status === "green") {
          return `indexed ${info.indexed_vectors_count ?? "?"} vectors`;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    indexScans: async () => null,
    async close() {
      if (collection) {
        await client.deleteCollection(collection);
      }
      await database.close();
    },
  };
}

async function createDocuments(database: Database, sourceId: string, from: number, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const rows = Array.from({ length: Math.min(500, n - i) }, (_, k) => ({
      sourceId,
      path: `doc-${from + i + k}.md`,
      collection: "bench",
      status: "indexed" as const,
    }));
    ids.push(...(await database.db.insert(documents).values(rows).returning({ id: documents.id })).map((r) => r.id));
  }
  return ids;
}

function exactTop10(q: Float32Array, size: number): Set<number> {
  const best: Array<[number, number]> = [];
  for (let i = 0; i < size; i++) {
    let dot = 0;
    for (let k = 0, o = i * DIMS; k < DIMS; k++) {
      dot += q[k]! * data[o + k]!;
    }
    if (best.length < 10 || dot > best[best.length - 1]![1]) {
      best.push([i, dot]);
      best.sort((a, b) => b[1] - a[1]);
      if (best.length > 10) {
        best.pop();
      }
    }
  }
  return new Set(best.map(([i]) => i));
}

function pct(ms: number[]): [string, string] {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
  return [at(0.5), at(0.95)];
}

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
