import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { createCatalog } from "../../pipelines/store/catalog.js";
import { queryRows, type Database } from "../../pipelines/store/database.js";
import type { ChunkHit, StoredChunk, VectorStore } from "../../pipelines/store/types.js";

/** A retired index generation of `dimensions` vectors, for store tests that make their own. */
export async function insertGeneration(db: Database, dimensions: number): Promise<number> {
  const [{ id }] = (await queryRows<{ id: number }>(
    db.db,
    sql`INSERT INTO index_generations (embedder_key, embedder, chunker, status)
        VALUES ('test', ${JSON.stringify({ dimensions })}::jsonb, '{}'::jsonb, 'retired') RETURNING id`,
  )) as [{ id: number }];
  return id;
}

/** A document at `path` of a source rooted at `root`, its `chunks` written to generation `g`; its id. */
export async function addChunkedDocument(
  db: Database,
  store: Pick<VectorStore, "replaceDocumentChunks">,
  g: number,
  doc: { root: string; path: string; collection: string },
  chunks: StoredChunk[],
): Promise<string> {
  const catalog = createCatalog(db.db);
  const source = await catalog.upsertSource(doc.root, "alpha");
  const { id } = await catalog.ensureDocument(source, doc.path, doc.collection);
  await store.replaceDocumentChunks(g, { documentId: id, collection: doc.collection }, chunks);
  return id;
}

/**
 * The same chunks in the same order with the same fields; `score` asserts each score against the
 * wanted one (how close depends on how the two sides sum).
 */
export function expectSameHits(
  got: ChunkHit[],
  want: ChunkHit[],
  score: (got: number, want: number, label: string) => void,
  label = "",
) {
  expect(
    got.map((h) => h.chunkId),
    label,
  ).toEqual(want.map((h) => h.chunkId));
  expect(
    got.map(({ score: _, ...h }) => h),
    label,
  ).toEqual(want.map(({ score: _, ...h }) => h));
  got.forEach((h, i) => {
    score(h.score, want[i]!.score, label);
  });
}
