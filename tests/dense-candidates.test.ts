import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../pipelines/store/database.js";
import type { CoreDeps } from "../services/common/deps.js";
import { makeCore, type DbMode } from "./support/core.js";

/** A unit vector of the embedder's size, pointing mostly along axis `i`. */
function vectorNear(i: number, dims: number): number[] {
  const v = Array.from({ length: dims }, (_, j) => (j === i % dims ? 1 : 0.01 * (((i + j) % 7) - 3)));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe.each<DbMode>(["pglite", "pg-socket"])("dense search returns the candidates asked for (%s)", (mode) => {
  let core: CoreDeps;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ core, cleanup } = await makeCore(mode));
    const dims = core.runtime.current().embedder.identity.dimensions;
    const source = await core.catalog.upsertSource("/dense-candidates", "default");
    const doc = await core.catalog.ensureDocument(source, "many.md", "default");
    const chunks = Array.from({ length: 120 }, (_, i) => ({
      ordinal: i,
      text: `chunk ${i}`,
      textHash: `h${i}`,
      embedding: vectorNear(i, dims),
      start: i * 10,
      end: i * 10 + 8,
      page: null,
      headingPath: [],
      tokenCount: 2,
    }));
    await core.store.replaceDocumentChunks(
      core.runtime.current().generation.id,
      { documentId: doc.id, collection: "default" },
      chunks,
    );
  });
  afterAll(() => cleanup());

  it("more than HNSW's default ef_search of 40, best first", async () => {
    const dims = core.runtime.current().embedder.identity.dimensions;
    const q = vectorNear(3, dims);
    // On 120 rows the planner would rather sort them all; make it take the HNSW index, as it does
    // on a real index, and show the cap the store has to lift.
    await core.database.db.execute(sql`SET enable_seqscan = off`);
    await core.database.db.execute(sql`SET enable_bitmapscan = off`);
    const plain = await queryRows<{ id: string }>(
      core.database.db,
      sql.raw(
        `SELECT id FROM chunks WHERE generation_id = ${core.runtime.current().generation.id} ` +
          `ORDER BY (embedding::vector(${dims})) <=> '[${q.join(",")}]'::vector(${dims}) LIMIT 100`,
      ),
    );
    expect(plain.length).toBeLessThanOrEqual(40);
    const hits = await core.store.searchDense(q, { generationId: core.runtime.current().generation.id, topK: 100 });
    expect(hits).toHaveLength(100);
    expect(hits[0]!.text).toBe("chunk 3");
    // Best first (many of these vectors tie to float precision, so allow rounding among ties).
    hits.slice(1).forEach((h, i) => {
      expect(h.score).toBeLessThanOrEqual(hits[i]!.score + 1e-6);
    });
    expect(
      await core.store.searchDense(q, { generationId: core.runtime.current().generation.id, topK: 5 }),
    ).toHaveLength(5);
  });
});
