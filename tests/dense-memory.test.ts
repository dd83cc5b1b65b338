import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDenseMemory, type DenseMemory } from "../pipelines/retrieve/dense-memory.js";
import { openDatabase, queryRows, type Database } from "../pipelines/store/database.js";
import { createPgvectorStore, type PgvectorStore } from "../pipelines/store/pgvector-store.js";
import { scopedStore } from "../pipelines/store/scoped-store.js";
import type { ChunkHit, StoredChunk } from "../pipelines/store/types.js";
import { startSharedPglite } from "./support/shared-pglite.js";
import { addChunkedDocument, expectSameHits, insertGeneration } from "./support/store-fixtures.js";

const DIMS = 8;
const opened: Array<() => Promise<void>> = [];
afterAll(async () => {
  while (opened.length) {
    await opened.pop()!();
  }
});
// One migrated in-process database for the tests that need no second connection; each test makes its own generations.
let shared: Database;
beforeAll(async () => {
  shared = await openDatabase({});
  opened.push(() => shared.close());
  await shared.migrate();
}, 180_000);
// Migrations, HNSW builds and a pgvector scan per query: slow on two busy cores.
const SLOW = 180_000;

/** Deterministic pseudo-random unit-ish vectors (a tiny LCG), so runs compare like with like. */
/** The snapshot after a foreground warm-up, for a cache that had none yet. */
async function warmed(memo: DenseMemory, g: number) {
  await memo.warm(g);
  return memo.current(g);
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}
const vectorFrom = (next: () => number) => Array.from({ length: DIMS }, next);

function chunks(vectors: number[][], label: string): StoredChunk[] {
  return vectors.map((embedding, i) => {
    const text = `${label} chunk ${i}: ${embedding.map((x) => x.toFixed(3)).join(" ")}`;
    return {
      ordinal: i,
      text,
      textHash: createHash("sha256").update(text).digest("hex"),
      embedding,
      start: i * 100,
      end: i * 100 + text.length,
      page: null,
      headingPath: [label, `part ${i}`],
      tokenCount: 12,
    };
  });
}

async function generation(db: Database, store: PgvectorStore) {
  const id = await insertGeneration(db, DIMS);
  await store.prepareGeneration(id, DIMS);
  return id;
}

const addDocument = (
  db: Database,
  store: PgvectorStore,
  g: number,
  path: string,
  collection: string,
  vectors: number[][],
) => addChunkedDocument(db, store, g, { root: "/dense-memory", path, collection }, chunks(vectors, path));

/** The same chunks in the same order with the same fields, and scores equal up to float32 summation order. */
const same = (got: ChunkHit[], want: ChunkHit[], label = "") =>
  expectSameHits(got, want, (score, wanted, l) => expect(Math.abs(score - wanted), l).toBeLessThan(1e-6), label);

async function fixture(db: Database, store: PgvectorStore, seed = 7) {
  const next = rng(seed);
  const g = await generation(db, store);
  const docs: string[] = [];
  for (let d = 0; d < 6; d++) {
    docs.push(
      await addDocument(
        db,
        store,
        g,
        `doc-${d}.md`,
        d % 3 === 0 ? "beta" : "alpha",
        Array.from({ length: 20 }, () => vectorFrom(next)),
      ),
    );
  }
  return { g, docs, next };
}

describe("in-memory dense index (exact scan, versioned by the database)", () => {
  it(
    "ranks exactly as the store's exact SQL scan: same chunks, order and fields, with and without collection filters",
    async () => {
      const db = shared;
      const memory = createPgvectorStore(db.db);
      const exact = createPgvectorStore(db.db, { denseSearch: "exact" });
      const { g, next } = await fixture(db, memory);
      await memory.warmDense(g);
      const memo = createDenseMemory(db.db);
      expect((await memo.current(g)) ?? (await warmed(memo, g))).not.toBeNull();
      for (const collections of [undefined, ["alpha"], ["beta"], ["alpha", "beta"], [], ["nowhere"]]) {
        for (let i = 0; i < 4; i++) {
          const q = vectorFrom(next);
          for (const topK of [1, 7, 500]) {
            const opts = { generationId: g, topK, collections };
            same(await memory.searchDense(q, opts), await exact.searchDense(q, opts), `${collections} k=${topK}`);
          }
        }
      }
      // A filter is in every result: beta never leaks into an alpha search.
      const onlyAlpha = await memory.searchDense(vectorFrom(next), {
        generationId: g,
        topK: 500,
        collections: ["alpha"],
      });
      expect(onlyAlpha.length).toBe(80);
      expect(new Set(onlyAlpha.map((h) => h.collection))).toEqual(new Set(["alpha"]));
    },
    SLOW,
  );

  it(
    "serves only the committed version: a write or delete from another connection is in the next answer",
    async () => {
      // Two stores on one PostgreSQL over the wire, as two API processes would be.
      const server = await startSharedPglite({ maxConnections: 4 });
      const a = await openDatabase({ databaseUrl: server.url, poolMax: 2 });
      const b = await openDatabase({ databaseUrl: server.url, poolMax: 2 });
      opened.push(async () => {
        await a.close();
        await b.close();
        await server.stop();
      });
      await a.migrate();
      const storeA = createPgvectorStore(a.db);
      const storeB = createPgvectorStore(b.db);
      const reference = createPgvectorStore(a.db, { denseSearch: "exact" });
      const memo = createDenseMemory(a.db);
      const { g, docs, next } = await fixture(a, storeA, 11);
      await Promise.all([storeA.warmDense(g), memo.warm(g)]);
      const loaded = await memo.current(g);
      expect(loaded?.size).toBe(120);

      // B adds a document whose first chunk is the query itself: A's next search must rank it first.
      const q = vectorFrom(next);
      const added = await addDocument(b, storeB, g, "new.md", "alpha", [q, vectorFrom(next)]);
      expect(await memo.current(g), "a stale snapshot is never served").toBeNull();
      const opts = { generationId: g, topK: 10 };
      const after = await storeA.searchDense(q, opts);
      expect(after[0]!.documentId).toBe(added);
      same(after, await reference.searchDense(q, opts));
      // Loaded again at the new version (incrementally), the snapshot serves it and agrees with SQL.
      await Promise.all([storeA.warmDense(g), memo.warm(g)]);
      expect((await memo.current(g))?.size).toBe(122);
      same(await storeA.searchDense(q, opts), await reference.searchDense(q, opts));

      // B deletes that document and another: neither is ever returned again, warm or not.
      await storeB.deleteDocumentChunks(added);
      await storeB.deleteDocumentChunks(docs[1]!);
      for (let round = 0; round < 2; round++) {
        const hits = await storeA.searchDense(q, { generationId: g, topK: 500 });
        expect(hits.map((h) => h.documentId)).not.toContain(added);
        expect(hits.map((h) => h.documentId)).not.toContain(docs[1]);
        expect(hits).toHaveLength(100);
        same(hits, await reference.searchDense(q, { generationId: g, topK: 500 }));
        await storeA.warmDense(g);
      }
      expect((await memo.current(g)) ?? (await warmed(memo, g))).toMatchObject({ size: 100 });

      // A document moved (its path changed in place) moves the version too: the next hit shows the new path.
      await queryRows(b.db, sql`UPDATE documents SET path = 'moved.md' WHERE id = ${docs[2]!}::uuid`);
      expect(await memo.current(g)).toBeNull();
      await storeA.warmDense(g);
      const moved = (await storeA.searchDense(q, { generationId: g, topK: 500 })).filter(
        (h) => h.documentId === docs[2],
      );
      expect(moved.length).toBe(20);
      expect(new Set(moved.map((h) => h.path))).toEqual(new Set(["moved.md"]));
    },
    SLOW,
  );

  it(
    "a tenant's view never returns another collection's chunks, whatever it asks for",
    async () => {
      const db = shared;
      const store = createPgvectorStore(db.db);
      const { g, next } = await fixture(db, store, 3);
      await store.warmDense(g);
      const tenant = scopedStore(store, ["beta"]);
      for (const collections of [undefined, ["alpha"], ["alpha", "beta"], ["beta"]]) {
        const hits = await tenant.searchDense(vectorFrom(next), { generationId: g, topK: 500, collections });
        expect(hits.every((h) => h.collection === "beta")).toBe(true);
        expect(hits.length).toBe(collections?.includes("beta") === false ? 0 : 40);
        const lexical = await tenant.searchLexical("chunk", { generationId: g, topK: 500, collections });
        expect(lexical.every((h) => h.collection === "beta")).toBe(true);
      }
    },
    SLOW,
  );

  it(
    "keeps generations apart, follows a switch, and forgets a dropped one",
    async () => {
      const db = shared;
      const store = createPgvectorStore(db.db);
      const exact = createPgvectorStore(db.db, { denseSearch: "exact" });
      const one = await fixture(db, store, 5);
      const two = await fixture(db, store, 6);
      await Promise.all([store.warmDense(one.g), store.warmDense(two.g)]);
      const q = vectorFrom(one.next);
      for (const g of [one.g, two.g]) {
        const hits = await store.searchDense(q, { generationId: g, topK: 500 });
        expect(hits).toHaveLength(120);
        same(hits, await exact.searchDense(q, { generationId: g, topK: 500 }));
      }
      const ids = async (g: number) =>
        new Set((await store.searchDense(q, { generationId: g, topK: 500 })).map((h) => h.chunkId));
      const [a, b] = [await ids(one.g), await ids(two.g)];
      expect([...a].some((id) => b.has(id))).toBe(false);
      await store.dropGeneration(one.g);
      expect(await store.searchDense(q, { generationId: two.g, topK: 3 })).toHaveLength(3);
      await expect(store.searchDense(q, { generationId: one.g, topK: 3 })).resolves.toEqual([]);
    },
    SLOW,
  );

  it(
    "above its size limit a generation is searched through pgvector, with the same answers",
    async () => {
      const db = shared;
      const small = createPgvectorStore(db.db, { denseMemoryMaxChunks: 50 });
      const exact = createPgvectorStore(db.db, { denseSearch: "exact" });
      const { g, next } = await fixture(db, small, 9);
      await small.warmDense(g);
      const memo = createDenseMemory(db.db, { maxChunks: 50 });
      await memo.warm(g);
      expect(await memo.current(g)).toBeNull();
      // HNSW on 120 vectors with ef_search 40 finds every neighbour: the answers are the exact ones.
      const q = vectorFrom(next);
      same(
        await small.searchDense(q, { generationId: g, topK: 10 }),
        await exact.searchDense(q, { generationId: g, topK: 10 }),
      );
    },
    SLOW,
  );

  it(
    "lexical hits take their text and citation fields from the snapshot, equal to SQL's",
    async () => {
      const db = shared;
      const memory = createPgvectorStore(db.db);
      const viaSql = createPgvectorStore(db.db, { lexicalScoring: "sql", denseSearch: "hnsw" });
      const { g } = await fixture(db, memory, 13);
      await memory.warmDense(g);
      for (const q of ["chunk", "doc-3.md chunk 4", "part 7"]) {
        for (const collections of [undefined, ["beta"]]) {
          const opts = { generationId: g, topK: 20, collections };
          // Compared by chunk: BM25 ties may fall either way between the two scorers (bm25-cache.test.ts covers the ranking).
          const fields = (hits: ChunkHit[]) =>
            hits.map(({ score: _, ...h }) => h).sort((x, y) => (x.chunkId < y.chunkId ? -1 : 1));
          const got = await memory.searchLexical(q, { ...opts, topK: 500 });
          const want = await viaSql.searchLexical(q, { ...opts, topK: 500 });
          expect(got.length).toBeGreaterThan(0);
          expect(fields(got)).toEqual(fields(want));
        }
      }
    },
    SLOW,
  );
});
