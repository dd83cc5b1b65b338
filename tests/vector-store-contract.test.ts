import { createHash, randomUUID } from "node:crypto";
import { QdrantClient } from "@qdrant/js-client-rest";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createCatalog } from "../pipelines/store/catalog.js";
import { openDatabase, queryRows, type Database } from "../pipelines/store/database.js";
import { createPgvectorStore } from "../pipelines/store/pgvector-store.js";
import { bm25Weight, createQdrantStore, pointId, sparseVector } from "../pipelines/store/qdrant-store.js";
import type { StoredChunk, VectorStore } from "../pipelines/store/types.js";
import { startSocketServer } from "./support/core.js";
import { migratedTemplate } from "./support/pglite-template.js";

/** A store on a fresh backend, with the catalog rows its foreign keys and payloads need. */
interface StoreFixture {
  store: VectorStore;
  /** An index_generations row for vectors of `dimensions`; not yet prepared in the store. */
  generation(dimensions: number): Promise<number>;
  document(path: string): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * What every VectorStore must do, asserted on behaviour (order, membership, fields), never on a
 * retriever's exact scores: the lexical side of pgvector is being rewritten, Qdrant's differs again.
 */
function vectorStoreContract(name: string, makeStore: () => Promise<StoreFixture>, skipReason?: string) {
  describe.skipIf(skipReason !== undefined)(
    skipReason ? `${name} — skipped: ${skipReason}` : `VectorStore contract: ${name}`,
    () => {
      async function withStore(fn: (f: StoreFixture) => Promise<void>) {
        const f = await makeStore();
        try {
          await fn(f);
        } finally {
          await f.cleanup();
        }
      }

      /** Two documents in two collections, five chunks on distinct axes of an 8-dim space. */
      async function seeded(f: StoreFixture) {
        const g = await f.generation(8);
        await f.store.prepareGeneration(g, 8);
        const a = await f.document("guide/a.md");
        const b = await f.document("notes/b.md");
        await f.store.replaceDocumentChunks(g, { documentId: a, collection: "alpha" }, [
          chunk(0, "Reciprocal rank fusion combines rankings from several retrievers.", axis(8, 0)),
          chunk(1, "Zymase drives fermentation in brewer's yeast, turning sugar into ethanol.", axis(8, 1), {
            page: 2,
            headingPath: ["Guide", "Yeast"],
          }),
          chunk(2, "Vector indexes such as HNSW trade recall for query latency.", axis(8, 2)),
        ]);
        await f.store.replaceDocumentChunks(g, { documentId: b, collection: "beta" }, [
          chunk(0, "Fermentation of grapes makes wine.", axis(8, 3)),
          chunk(1, "Sourdough bread rises slowly with wild yeast and lactic bacteria.", axis(8, 4)),
        ]);
        return { g, a, b, all: { generationId: g, topK: 10 } };
      }

      it("prepareGeneration is idempotent and keeps what is stored", () =>
        withStore(async (f) => {
          const { g } = await seeded(f);
          await f.store.prepareGeneration(g, 8);
          await f.store.prepareGeneration(g, 8);
          expect(await f.store.countChunks(g)).toBe(5);
        }));

      it("searchDense returns the nearest chunk first, with its citation fields", () =>
        withStore(async (f) => {
          const { a, all } = await seeded(f);
          const hits = await f.store.searchDense(mix(8, [1, 1], [3, 0.3]), all);
          expect(hits[0]).toMatchObject({
            documentId: a,
            path: "guide/a.md",
            collection: "alpha",
            ordinal: 1,
            page: 2,
            headingPath: ["Guide", "Yeast"],
            text: expect.stringContaining("Zymase"),
            tokenCount: 12,
          });
          expect(hits[0]!.sourceId).toMatch(/^src_/);
          expect(hits[0]!.chunkId).toBeTruthy();
          expect(hits[1]).toMatchObject({ path: "notes/b.md", ordinal: 0, page: null, headingPath: [] });
          // HNSW is approximate: near-ties (within float rounding of the index) may come in either order.
          expect(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score + 1e-6)).toBe(true);
        }));

      it("replacing a document's chunks leaves no duplicates and no old ordinals", () =>
        withStore(async (f) => {
          const { g, a, all } = await seeded(f);
          const again = [
            chunk(0, "Rewritten opening about quokkas.", axis(8, 5)),
            chunk(1, "Rewritten second part.", axis(8, 6)),
          ];
          await f.store.replaceDocumentChunks(g, { documentId: a, collection: "alpha" }, again);
          await f.store.replaceDocumentChunks(g, { documentId: a, collection: "alpha" }, again);
          expect(await f.store.countChunks(g)).toBe(4);
          const mine = (await f.store.searchDense(axis(8, 5), all)).filter((h) => h.documentId === a);
          expect(mine.map((h) => h.ordinal).sort()).toEqual([0, 1]);
          expect(mine[0]!.text).toContain("quokkas");
          expect(await f.store.searchLexical("zymase", all)).toEqual([]);
        }));

      it("deleteDocumentChunks removes the document from dense, lexical and counts, and only it", () =>
        withStore(async (f) => {
          const { g, a, all } = await seeded(f);
          await f.store.deleteDocumentChunks(a);
          expect(await f.store.countChunks(g)).toBe(2);
          expect((await f.store.searchDense(axis(8, 1), all)).every((h) => h.documentId !== a)).toBe(true);
          expect((await f.store.searchLexical("fermentation zymase", all)).map((h) => h.path)).toEqual(["notes/b.md"]);
        }));

      it("a collection filter is respected by dense and lexical search", () =>
        withStore(async (f) => {
          const { g } = await seeded(f);
          const beta = { generationId: g, topK: 10, collections: ["beta"] };
          const dense = await f.store.searchDense(axis(8, 1), beta);
          expect(dense.length).toBe(2);
          expect(dense.every((h) => h.collection === "beta")).toBe(true);
          const lexical = await f.store.searchLexical("zymase fermentation yeast", beta);
          expect(lexical.length).toBeGreaterThan(0);
          expect(lexical.every((h) => h.collection === "beta")).toBe(true);
          const both = await f.store.searchDense(axis(8, 1), { ...beta, collections: ["alpha", "beta"] });
          expect(both.length).toBe(5);
        }));

      it("lexical search ranks the chunk with the query's rare term first, and matches any term", () =>
        withStore(async (f) => {
          const { a, all } = await seeded(f);
          const hits = await f.store.searchLexical("how does zymase affect fermentation?", all);
          expect(hits[0]).toMatchObject({ documentId: a, ordinal: 1, path: "guide/a.md" });
          expect(hits.map((h) => h.path)).toContain("notes/b.md");
          expect(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score)).toBe(true);
        }));

      it("generations are isolated, and vectors of different dimensions coexist", () =>
        withStore(async (f) => {
          const { g: g8, a } = await seeded(f);
          const g16 = await f.generation(16);
          await f.store.prepareGeneration(g16, 16);
          expect(await f.store.searchDense(axis(16, 1), { generationId: g16, topK: 10 })).toEqual([]);
          await f.store.replaceDocumentChunks(g16, { documentId: a, collection: "alpha" }, [
            chunk(0, "Zymase in the sixteen-dimensional generation.", axis(16, 9)),
          ]);
          expect(await f.store.countChunks(g8)).toBe(5);
          expect(await f.store.countChunks(g16)).toBe(1);
          const in16 = await f.store.searchDense(axis(16, 9), { generationId: g16, topK: 10 });
          expect(in16.map((h) => [h.ordinal, h.text])).toEqual([[0, "Zymase in the sixteen-dimensional generation."]]);
          const lex16 = await f.store.searchLexical("zymase", { generationId: g16, topK: 10 });
          expect(lex16.map((h) => h.text)).toEqual(["Zymase in the sixteen-dimensional generation."]);
          expect((await f.store.searchDense(axis(8, 1), { generationId: g8, topK: 1 }))[0]!.text).toContain("brewer");
        }));

      it("dropGeneration removes one generation's chunks, leaves the others, and is idempotent", () =>
        withStore(async (f) => {
          const { g: g8, a } = await seeded(f);
          const g16 = await f.generation(16);
          await f.store.prepareGeneration(g16, 16);
          await f.store.replaceDocumentChunks(g16, { documentId: a, collection: "alpha" }, [
            chunk(0, "Zymase again.", axis(16, 3)),
          ]);
          await f.store.dropGeneration(g8);
          await f.store.dropGeneration(g8);
          expect(await f.store.countChunks(g8)).toBe(0);
          expect(await f.store.countChunks(g16)).toBe(1);
          expect((await f.store.searchLexical("zymase", { generationId: g16, topK: 10 })).map((h) => h.text)).toEqual([
            "Zymase again.",
          ]);
        }));

      it("an empty generation answers empty searches and a zero count", () =>
        withStore(async (f) => {
          const g = await f.generation(8);
          await f.store.prepareGeneration(g, 8);
          expect(await f.store.countChunks(g)).toBe(0);
          expect(await f.store.searchDense(axis(8, 0), { generationId: g, topK: 5 })).toEqual([]);
          expect(await f.store.searchLexical("anything at all", { generationId: g, topK: 5 })).toEqual([]);
        }));

      it("topK bounds the results of both retrievers", () =>
        withStore(async (f) => {
          const g = await f.generation(8);
          await f.store.prepareGeneration(g, 8);
          const doc = await f.document("many.md");
          const many = Array.from({ length: 20 }, (_, i) =>
            chunk(i, `Shared phrase about lanterns, part ${i}.`, mix(8, [i % 8, 1], [(i + 1) % 8, 0.5])),
          );
          await f.store.replaceDocumentChunks(g, { documentId: doc, collection: "alpha" }, many);
          expect(await f.store.countChunks(g)).toBe(20);
          expect(await f.store.searchDense(axis(8, 0), { generationId: g, topK: 5 })).toHaveLength(5);
          expect(await f.store.searchLexical("lanterns", { generationId: g, topK: 7 })).toHaveLength(7);
        }));
    },
  );
}

/** Catalog rows (sources, documents, generations) in a migrated database, shared by every backend. */
function catalogFixture(database: Database) {
  const catalog = createCatalog(database.db);
  let source: Promise<string> | undefined;
  return {
    async generation(dimensions: number) {
      // 'retired' is free of the one-active and one-building constraints; the store ignores status.
      const rows = await queryRows<{ id: number }>(
        database.db,
        sql`
        INSERT INTO index_generations (embedder_key, embedder, chunker, status)
        VALUES (${`test-${dimensions}`}, ${JSON.stringify({ dimensions })}::jsonb, '{}'::jsonb, 'retired') RETURNING id`,
      );
      return rows[0]!.id;
    },
    async document(path: string) {
      source ??= catalog.upsertSource("/contract", "alpha");
      return (await catalog.ensureDocument(await source, path, "alpha")).id;
    },
  };
}

async function migrated(databaseUrl?: string): Promise<Database> {
  const database = await openDatabase(
    databaseUrl ? { databaseUrl, poolMax: 1 } : { startFrom: await migratedTemplate() },
  );
  await database.migrate();
  return database;
}

vectorStoreContract("pgvector on PGlite", async () => {
  const database = await migrated();
  return { store: createPgvectorStore(database.db), ...catalogFixture(database), cleanup: () => database.close() };
});

vectorStoreContract("pgvector over the pg driver", async () => {
  const server = await startSocketServer({ withVector: true, migrated: true });
  const database = await migrated(server.url);
  return {
    store: createPgvectorStore(database.db),
    ...catalogFixture(database),
    cleanup: async () => {
      await database.close();
      await server.stop();
    },
  };
});

// Qdrant cannot run on these machines (no Docker, no binary); it is never faked here.
const qdrantUrl = process.env.QDRANT_URL || undefined;
vectorStoreContract(
  "Qdrant",
  async () => {
    const database = await migrated();
    const collectionPrefix = `contract_${randomUUID().slice(0, 8)}_`;
    const apiKey = process.env.QDRANT_API_KEY || undefined;
    const client = new QdrantClient({ url: qdrantUrl!, apiKey, checkCompatibility: false });
    return {
      store: createQdrantStore({ url: qdrantUrl!, apiKey, collectionPrefix, db: database.db }),
      ...catalogFixture(database),
      async cleanup() {
        const { collections } = await client.getCollections();
        for (const c of collections) {
          if (c.name.startsWith(collectionPrefix)) {
            await client.deleteCollection(c.name);
          }
        }
        await database.close();
      },
    };
  },
  qdrantUrl ? undefined : "QDRANT_URL not set",
);

// The Qdrant store's encodings are pure functions: these hold without a server.
describe("Qdrant point ids and sparse BM25 vectors", () => {
  it("point ids are deterministic uuids, distinct per generation, document and ordinal", () => {
    const id = pointId(1, "3f0e9c1e-0000-4000-8000-000000000001", 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(pointId(1, "3f0e9c1e-0000-4000-8000-000000000001", 0)).toBe(id);
    expect(
      new Set([
        id,
        pointId(2, "3f0e9c1e-0000-4000-8000-000000000001", 0),
        pointId(1, "3f0e9c1e-0000-4000-8000-000000000001", 1),
      ]).size,
    ).toBe(3);
  });

  it("one index per term, weights that saturate with frequency and fall with length", () => {
    const v = sparseVector(
      new Map([
        ["yeast", 2],
        ["sugar", 1],
      ]),
      (tf) => bm25Weight(tf, 3),
    );
    expect(v.indices).toHaveLength(2);
    expect(new Set(v.indices).size).toBe(2);
    expect(v.values[0]).toBeGreaterThan(v.values[1]!);
    expect(bm25Weight(2, 45) - bm25Weight(1, 45)).toBeGreaterThan(bm25Weight(3, 45) - bm25Weight(2, 45));
    expect(bm25Weight(1, 200)).toBeLessThan(bm25Weight(1, 20));
    expect(sparseVector(new Map(), (tf) => tf)).toEqual({ indices: [], values: [] });
  });
});

function chunk(ordinal: number, text: string, embedding: number[], extra: Partial<StoredChunk> = {}): StoredChunk {
  const textHash = createHash("sha256").update(text).digest("hex");
  return {
    ordinal,
    text,
    textHash,
    embedding,
    start: ordinal * 100,
    end: ordinal * 100 + text.length,
    page: null,
    headingPath: [],
    tokenCount: 12,
    ...extra,
  };
}

/** A unit vector near axis `i`: a little weight on every axis keeps cosine well defined and distinct. */
const axis = (dims: number, i: number) => mix(dims, [i, 1]);

function mix(dims: number, ...parts: Array<[number, number]>): number[] {
  const v = Array.from({ length: dims }, () => 0.01);
  for (const [i, w] of parts) {
    v[i] = (v[i] ?? 0) + w;
  }
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
