import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { queryRows } from "../pipelines/store/database.js";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { openCore } from "./support/ingest.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const FILES = 200;
const FOLDERS = ["", "north", "south", "east/quay"];
const CROPS = ["barley", "rye", "oats", "flax", "hemp", "beans", "turnips", "clover"];

describe("a burst of files dropped at once", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanups.length) {
      await cleanups.pop()!();
    }
  });

  it(`indexes all ${FILES}, once each, with no duplicate documents or chunks`, async () => {
    const dir = tempDir("rag-burst-");
    const { core, embedder, close } = await openCore();
    const pipeline = await startPipeline(core, [dir]);
    cleanups.push(close, () => pipeline.stop());
    for (const f of FOLDERS) {
      mkdirSync(join(dir, f), { recursive: true });
    }

    const paths: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const path = join(FOLDERS[i % FOLDERS.length]!, `field-${i}.${i % 3 === 0 ? "txt" : "md"}`)
        .split("\\")
        .join("/");
      paths.push(path);
      writeFileSync(join(dir, path), `Field ${i} grows ${CROPS[i % CROPS.length]} in rotation year ${i}.\n`);
    }
    await waitFor(async () => (await core.catalog.countDocuments()).indexed === FILES, 100_000, 250);
    await pipeline.queue.idle();

    const docs = await core.catalog.listDocuments(sourceIdFor(dir));
    expect(docs.map((d) => d.path).sort()).toEqual([...paths].sort());
    expect(docs.every((d) => d.status === "indexed")).toBe(true);
    const [totals] = await queryRows<{ chunks: number; distinct_slots: number; documents: number }>(
      core.database.db,
      sql`SELECT count(*)::int AS chunks, count(DISTINCT (document_id, ordinal))::int AS distinct_slots,
                 count(DISTINCT document_id)::int AS documents FROM chunks`,
    );
    expect(totals).toEqual({ chunks: FILES, distinct_slots: FILES, documents: FILES });
    expect(docs.reduce((n, d) => n + d.chunkCount, 0)).toBe(FILES);
    // Each file's text went to the model exactly once: no job ran twice for the same content.
    expect(embedder.texts).toHaveLength(FILES);
    expect(new Set(embedder.texts).size).toBe(FILES);
    expect(await pipeline.queue.failedJobs()).toEqual([]);
  }, 120_000);
});
