import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBm25Index } from "../pipelines/retrieve/bm25.js";
import { chunkField, documentField, DEFAULT_LEXICAL, type LexicalSettings } from "../pipelines/store/bm25-postings.js";
import { createCatalog } from "../pipelines/store/catalog.js";
import { openDatabase, queryRows, type Database } from "../pipelines/store/database.js";
import { createPgvectorStore } from "../pipelines/store/pgvector-store.js";
import type { StoredChunk } from "../pipelines/store/types.js";
import { startSocketServer } from "./support/core.js";
import { migratedTemplate } from "./support/pglite-template.js";

const opened: Array<() => Promise<void>> = [];
afterAll(async () => {
  while (opened.length) {
    await opened.pop()!();
  }
});

async function open(mode: "pglite" | "pg-socket"): Promise<Database> {
  if (mode === "pglite") {
    const db = await openDatabase({ startFrom: await migratedTemplate() });
    opened.push(() => db.close());
    await db.migrate();
    return db;
  }
  const server = await startSocketServer({ withVector: true, migrated: true });
  const db = await openDatabase({ databaseUrl: server.url, poolMax: 1 });
  opened.push(async () => {
    await db.close();
    await server.stop();
  });
  await db.migrate();
  return db;
}

interface DocSpec {
  path: string;
  collection: string;
  chunks: Array<{ text: string; headingPath?: string[] }>;
}

// Small enough to check by eye, varied enough that idf, tf saturation, Lucene's length rounding
// (a 30-term chunk), headings and the document blend all matter.
const CORPUS: DocSpec[] = [
  {
    path: "yeast.md",
    collection: "alpha",
    chunks: [
      { text: "# Yeast\n\nZymase drives fermentation in brewer's yeast.", headingPath: ["Yeast"] },
      {
        text: "Fermentation turns sugar into ethanol and carbon dioxide; the yeast cells multiply.",
        headingPath: ["Yeast"],
      },
    ],
  },
  {
    path: "bread.md",
    collection: "beta",
    chunks: [
      { text: "Sourdough bread rises slowly with wild yeast and lactic bacteria." },
      {
        text:
          "Bakers feed the starter flour and water every day, keep it warm, and wait for bubbles before " +
          "mixing the dough, shaping loaves, proofing them overnight and baking them in a hot oven with steam.",
      },
    ],
  },
  {
    path: "wine.md",
    collection: "beta",
    chunks: [{ text: "Fermentation of grapes makes wine; yeast eats the grape sugar." }],
  },
  {
    path: "rrf.md",
    collection: "alpha",
    chunks: [{ text: "Reciprocal rank fusion combines rankings from several retrievers." }],
  },
];

let seeded = 0;
/** A fresh generation and source in the shared database: each test sees only its own rows. */
async function seed(database: Database, corpus: DocSpec[], settings?: Partial<LexicalSettings>) {
  const catalog = createCatalog(database.db);
  const store = createPgvectorStore(database.db, { lexical: settings });
  const [{ id: g }] = (await queryRows<{ id: number }>(
    database.db,
    sql`
    INSERT INTO index_generations (embedder_key, embedder, chunker, status)
    VALUES ('test', '{"dimensions":4}'::jsonb, '{}'::jsonb, 'retired') RETURNING id`,
  )) as [{ id: number }];
  const source = await catalog.upsertSource(`/bm25/${++seeded}`, "alpha");
  const ids = new Map<string, string>();
  for (const doc of corpus) {
    const row = await catalog.ensureDocument(source, doc.path, doc.collection);
    ids.set(doc.path, row.id);
    await store.replaceDocumentChunks(g, { documentId: row.id, collection: doc.collection }, stored(doc));
  }
  return { store, g, ids, catalog };
}

function stored(doc: DocSpec): StoredChunk[] {
  let offset = 0;
  return doc.chunks.map((c, i) => {
    const start = offset;
    offset += c.text.length + 2;
    return {
      ordinal: i,
      text: c.text,
      textHash: createHash("sha256").update(c.text).digest("hex"),
      embedding: [1, 0, 0, i],
      start,
      end: start + c.text.length,
      page: null,
      headingPath: c.headingPath ?? [],
      tokenCount: 10,
    };
  });
}

/** The in-memory reference: chunk BM25 and document BM25 from the shared module, blended. */
function reference(corpus: DocSpec[], query: string, s: LexicalSettings, collections?: string[]) {
  const chunkIndex = createBm25Index(s);
  const docIndex = createBm25Index(s);
  for (const doc of corpus) {
    const chunks = stored(doc).map((c) => ({ ...c, id: `${doc.path}#${c.ordinal}` }));
    for (const c of chunks) {
      chunkIndex.add(c.id, chunkField(c));
    }
    docIndex.add(doc.path, documentField(chunks));
  }
  const docScore = new Map(docIndex.search(query, 1000).map((h) => [h.id, h.score]));
  const inCollection = (id: string) =>
    !collections || collections.includes(corpus.find((d) => id.startsWith(`${d.path}#`))!.collection);
  return chunkIndex
    .search(query, 1000)
    .filter((h) => inCollection(h.id))
    .map((h) => ({
      id: h.id,
      score: s.documentWeight * (docScore.get(h.id.split("#")[0]!) ?? 0) + (1 - s.documentWeight) * h.score,
    }))
    .sort((a, b) => b.score - a.score);
}

async function stats(database: Database, g: number) {
  const [row] = await queryRows<Record<string, unknown>>(
    database.db,
    sql`
    SELECT chunk_count, chunk_length, doc_count, doc_length FROM lexical_stats WHERE generation_id = ${g}`,
  );
  const [truth] = await queryRows<Record<string, unknown>>(
    database.db,
    sql`
    SELECT (SELECT count(DISTINCT chunk_id) FROM lexical_chunk_postings WHERE generation_id = ${g}) AS chunk_count,
           (SELECT coalesce(sum(tf), 0) FROM lexical_chunk_postings WHERE generation_id = ${g}) AS chunk_length,
           (SELECT count(DISTINCT document_id) FROM lexical_document_postings WHERE generation_id = ${g}) AS doc_count,
           (SELECT coalesce(sum(tf), 0) FROM lexical_document_postings WHERE generation_id = ${g}) AS doc_length`,
  );
  const num = (r: Record<string, unknown> | undefined) =>
    Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, Number(v)]));
  return { kept: num(row), recomputed: num(truth) };
}

const QUERIES = [
  "How does zymase affect fermentation?",
  "yeast sugar",
  "wild yeast bread",
  "yeast yeast fermentation",
  "rank fusion",
];

// One database per driver; tests keep apart by generation and source, as the service's would.
describe.each(["pglite", "pg-socket"] as const)("SQL BM25 in the store on %s", (mode) => {
  let shared: Promise<Database>;
  beforeAll(() => {
    shared = open(mode);
  });
  it("scores every chunk as the in-memory BM25 does, blended or chunk-only", async () => {
    const database = await shared;
    const { g, ids } = await seed(database, CORPUS);
    for (const settings of [
      DEFAULT_LEXICAL,
      { ...DEFAULT_LEXICAL, documentWeight: 0 },
      { k1: 1.2, b: 0.75, documentWeight: 0.3 },
    ]) {
      const store = createPgvectorStore(database.db, { lexical: settings });
      const pathOf = new Map([...ids].map(([p, id]) => [id, p]));
      for (const q of QUERIES) {
        const hits = await store.searchLexical(q, { generationId: g, topK: 50 });
        const expected = reference(CORPUS, q, settings);
        expect(hits.map((h) => `${pathOf.get(h.documentId)}#${h.ordinal}`).sort()).toEqual(
          expected.map((e) => e.id).sort(),
        );
        for (const h of hits) {
          const want = expected.find((e) => e.id === `${pathOf.get(h.documentId)}#${h.ordinal}`)!;
          expect(h.score, `${q}: ${want.id}`).toBeCloseTo(want.score, 10);
        }
        expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
      }
    }
  });

  it("the chunk with the rare query term ranks first; queries without indexed terms find nothing", async () => {
    const database = await shared;
    const { store, g, ids } = await seed(database, CORPUS);
    const hits = await store.searchLexical("zymase", { generationId: g, topK: 5 });
    expect(hits[0]).toMatchObject({ documentId: ids.get("yeast.md"), ordinal: 0 });
    // A heading is indexed with the chunks under it, once: not again where the text shows it.
    expect(chunkField({ text: "Sugar becomes ethanol.", headingPath: ["Yeast"] })).toBe(
      "Yeast\nSugar becomes ethanol.",
    );
    expect(chunkField({ text: "# Yeast\n\nZymase.", headingPath: ["Yeast"] })).toBe("# Yeast\n\nZymase.");
    expect(await store.searchLexical("the of and", { generationId: g, topK: 5 })).toEqual([]);
    expect(await store.searchLexical("quokka", { generationId: g, topK: 5 })).toEqual([]);
  });

  it("replacing and deleting documents keeps the statistics equal to the postings", async () => {
    const database = await shared;
    const { store, g, ids, catalog } = await seed(database, CORPUS);
    const first = await stats(database, g);
    expect(first.kept).toEqual(first.recomputed);
    expect(first.kept.chunk_count).toBe(6);
    expect(first.kept.doc_count).toBe(4);

    // Replace one document twice (same content, then new content): nothing doubles.
    const yeast = CORPUS[0]!;
    await store.replaceDocumentChunks(g, { documentId: ids.get("yeast.md")!, collection: "alpha" }, stored(yeast));
    expect((await stats(database, g)).kept).toEqual(first.kept);
    const edited: DocSpec = { ...yeast, chunks: [{ text: "Quokkas ferment nothing at all.", headingPath: ["Yeast"] }] };
    await store.replaceDocumentChunks(g, { documentId: ids.get("yeast.md")!, collection: "alpha" }, stored(edited));
    const after = await stats(database, g);
    expect(after.kept).toEqual(after.recomputed);
    expect(after.kept.chunk_count).toBe(5);
    const corpus2 = [edited, ...CORPUS.slice(1)];
    const hits = await store.searchLexical("yeast quokka", { generationId: g, topK: 10 });
    const expected = reference(corpus2, "yeast quokka", DEFAULT_LEXICAL);
    expect(hits.map((h) => h.score)).toEqual(expected.map((e) => expect.closeTo(e.score, 10)));
    expect(await store.searchLexical("zymase", { generationId: g, topK: 5 })).toEqual([]);

    // The store's delete, and a catalog delete that only cascades, both keep the statistics right.
    await store.deleteDocumentChunks(ids.get("bread.md")!);
    await catalog.deleteDocument(ids.get("wine.md")!);
    const end = await stats(database, g);
    expect(end.kept).toEqual(end.recomputed);
    expect(end.kept).toMatchObject({ chunk_count: 2, doc_count: 2 });
    const left = await store.searchLexical("yeast fusion quokka", { generationId: g, topK: 10 });
    expect(left.map((h) => h.path).sort()).toEqual(["rrf.md", "yeast.md"]);
    const remaining = [edited, CORPUS[3]!];
    expect(left.map((h) => h.score)).toEqual(
      reference(remaining, "yeast fusion quokka", DEFAULT_LEXICAL).map((e) => expect.closeTo(e.score, 10)),
    );

    // Emptying a document through replace removes it too.
    await store.replaceDocumentChunks(g, { documentId: ids.get("rrf.md")!, collection: "alpha" }, []);
    const empty = await stats(database, g);
    expect(empty.kept).toEqual(empty.recomputed);
    expect(empty.kept).toMatchObject({ chunk_count: 1, doc_count: 1 });
  });

  it("a collection filter restricts results, not the statistics", async () => {
    const database = await shared;
    const { store, g, ids } = await seed(database, CORPUS);
    const pathOf = new Map([...ids].map(([p, id]) => [id, p]));
    const beta = await store.searchLexical("yeast fermentation sugar", {
      generationId: g,
      topK: 10,
      collections: ["beta"],
    });
    expect(beta.length).toBe(2);
    expect(beta.every((h) => h.collection === "beta")).toBe(true);
    const expected = reference(CORPUS, "yeast fermentation sugar", DEFAULT_LEXICAL, ["beta"]);
    expect(beta.map((h) => `${pathOf.get(h.documentId)}#${h.ordinal}`)).toEqual(expected.map((e) => e.id));
    expect(beta.map((h) => h.score)).toEqual(expected.map((e) => expect.closeTo(e.score, 10)));
    const both = await store.searchLexical("yeast", { generationId: g, topK: 10, collections: ["alpha", "beta"] });
    expect(both.length).toBe(4);
    expect((await store.searchLexical("yeast", { generationId: g, topK: 2 })).length).toBe(2);
  });

  it("generations keep separate postings and statistics", async () => {
    const database = await shared;
    const { store, g, ids } = await seed(database, CORPUS);
    const [{ id: g2 }] = (await queryRows<{ id: number }>(
      database.db,
      sql`
      INSERT INTO index_generations (embedder_key, embedder, chunker, status)
      VALUES ('other', '{"dimensions":4}'::jsonb, '{}'::jsonb, 'retired') RETURNING id`,
    )) as [{ id: number }];
    await store.replaceDocumentChunks(
      g2,
      { documentId: ids.get("rrf.md")!, collection: "alpha" },
      stored({ path: "rrf.md", collection: "alpha", chunks: [{ text: "Yeast only here." }] }),
    );
    expect((await store.searchLexical("yeast", { generationId: g2, topK: 10 })).map((h) => h.text)).toEqual([
      "Yeast only here.",
    ]);
    expect((await stats(database, g2)).kept).toMatchObject({ chunk_count: 1, doc_count: 1 });
    expect((await stats(database, g)).kept).toMatchObject({ chunk_count: 6, doc_count: 4 });
    // Deleting the document removes it from every generation.
    await store.deleteDocumentChunks(ids.get("rrf.md")!);
    expect(await store.searchLexical("yeast", { generationId: g2, topK: 10 })).toEqual([]);
    const s1 = await stats(database, g);
    expect(s1.kept).toEqual(s1.recomputed);
  });
});
