import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../pipelines/store/database.js";
import { createPgvectorStore } from "../pipelines/store/pgvector-store.js";
import type { ChunkHit, StoredChunk } from "../pipelines/store/types.js";
import { startSharedPglite } from "./support/shared-pglite.js";
import { addChunkedDocument, expectSameHits, insertGeneration } from "./support/store-fixtures.js";
import { migratedTemplate } from "./support/pglite-template.js";

const opened: Array<() => Promise<void>> = [];
afterAll(async () => {
  while (opened.length) {
    await opened.pop()!();
  }
});

const TEXTS = [
  "Zymase drives fermentation in brewer's yeast.",
  "Fermentation turns sugar into ethanol and carbon dioxide; the yeast cells multiply and multiply.",
  "Sourdough bread rises slowly with wild yeast and lactic bacteria.",
  "Fermentation of grapes makes wine; yeast eats the grape sugar.",
  "Reciprocal rank fusion combines rankings from several retrievers.",
  "Bakers feed the starter flour and water every day and wait for bubbles before mixing the dough, shaping loaves and baking them.",
];

function chunks(texts: string[]): StoredChunk[] {
  let offset = 0;
  return texts.map((text, i) => {
    const start = offset;
    offset += text.length + 2;
    const hash = createHash("sha256").update(text).digest("hex");
    return {
      ordinal: i,
      text,
      textHash: hash,
      embedding: [1, 0, 0, i],
      start,
      end: start + text.length,
      page: null,
      headingPath: ["Brewing"],
      tokenCount: 10,
    };
  });
}

const generation = (db: Database) => insertGeneration(db, 4);

const addDocument = (
  db: Database,
  store: ReturnType<typeof createPgvectorStore>,
  g: number,
  path: string,
  collection: string,
  texts: string[],
) => addChunkedDocument(db, store, g, { root: "/bm25-cache", path, collection }, chunks(texts));

/**
 * The same hits in the same order, and the same scores up to the order of a float sum: SQL's sum()
 * adds a chunk's terms in join order, which PostgreSQL does not fix (seen: 1 ulp apart).
 */
const same = (got: ChunkHit[], want: ChunkHit[], label = "") =>
  expectSameHits(
    got,
    want,
    (score, wanted, l) => expect(Math.abs(score - wanted), l).toBeLessThanOrEqual(1e-12 * Math.abs(wanted)),
    label,
  );

const QUERIES = [
  "yeast fermentation",
  "How does zymase affect fermentation?",
  "sugar sugar wine",
  "bread",
  "rank fusion retrievers",
  "quokka",
];

describe("in-memory BM25 (postings cached per term, versioned by the database)", () => {
  it("scores exactly as the SQL query does: same chunks, same order, same float64 scores, with and without a collection filter", async () => {
    const db = await openDatabase({ startFrom: await migratedTemplate() });
    opened.push(() => db.close());
    await db.migrate();
    const memory = createPgvectorStore(db.db);
    const viaSql = createPgvectorStore(db.db, { lexicalScoring: "sql" });
    const g = await generation(db);
    await addDocument(db, memory, g, "a.md", "alpha", TEXTS.slice(0, 2));
    await addDocument(db, memory, g, "b.md", "beta", TEXTS.slice(2, 4));
    await addDocument(db, memory, g, "c.md", "alpha", TEXTS.slice(4));
    for (const documentWeight of [0, 0.7]) {
      for (const collections of [undefined, ["alpha"], []]) {
        for (const q of QUERIES) {
          const opts = { generationId: g, topK: 4, documentWeight, collections };
          // Twice: a cold cache (terms read) and a warm one (version checked only).
          for (let round = 0; round < 2; round++) {
            const [m, s] = await Promise.all([memory.searchLexical(q, opts), viaSql.searchLexical(q, opts)]);
            same(m, s, `${q} w=${documentWeight} ${collections}`);
          }
        }
      }
    }
    expect(await memory.searchLexical("yeast", { generationId: g, topK: 5, collections: [] })).toEqual([]);
  });

  it("another process's write moves the version: a warm cache never answers from stale postings", async () => {
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
    const reference = createPgvectorStore(a.db, { lexicalScoring: "sql" });
    const g = await generation(a);
    await addDocument(a, storeA, g, "a.md", "alpha", TEXTS.slice(0, 3));
    const opts = { generationId: g, topK: 10 };
    const before = await storeA.searchLexical("yeast wine", opts);
    same(before, await reference.searchLexical("yeast wine", opts));
    // B adds a document with both terms: df, the collection statistics and the ranking all change.
    const added = await addDocument(b, storeB, g, "wine.md", "alpha", [TEXTS[3]!]);
    const after = await storeA.searchLexical("yeast wine", opts);
    expect(after[0]!.documentId).toBe(added);
    same(after, await reference.searchLexical("yeast wine", opts));
    // And a deletion by B: its chunks are gone from A's next answer.
    await storeB.deleteDocumentChunks(added);
    const removed = await storeA.searchLexical("yeast wine", opts);
    expect(removed.map((h) => h.documentId)).not.toContain(added);
    same(removed, await reference.searchLexical("yeast wine", opts));
  });
});
