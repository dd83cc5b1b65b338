import { renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { allChunks, openCore } from "./support/ingest.js";
import { startPipeline } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const note = (topic: string, fact: string) =>
  `# ${topic}\n\n${fact}\n\n## Notes\n\nThe ${topic.toLowerCase()} notes are reviewed each winter.\n`;

describe("changes made while the service was down", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanups.length) {
      await cleanups.pop()!();
    }
  });

  it("are found by the start-up reconciliation scan on the same database", async () => {
    const dir = tempDir("rag-restart-");
    const dataDir = tempDir("rag-restart-db-");
    writeFileSync(join(dir, "kept.md"), note("Orchard", "The orchard has forty Bramley apple trees."));
    writeFileSync(join(dir, "edited.md"), note("Dairy", "The dairy herd is milked at five in the morning."));
    writeFileSync(join(dir, "deleted.md"), note("Forge", "The forge burns charcoal from the coppice."));
    writeFileSync(join(dir, "renamed.md"), note("Mill", "The mill wheel turns eleven times a minute."));

    const before = await openCore({ dataDir });
    const first = await startPipeline(before.core, [dir]);
    await first.queue.idle();
    expect((await before.core.catalog.countDocuments()).indexed).toBe(4);
    const keptBefore = await before.core.catalog.getDocument(sourceIdFor(dir), "kept.md");
    await first.stop();
    await before.close();

    // The service is down: nothing watches these.
    writeFileSync(join(dir, "added.md"), note("Bakery", "The bakery oven takes sixty loaves at a time."));
    writeFileSync(
      join(dir, "edited.md"),
      note("Dairy", "The dairy herd is milked at four in the morning since the new parlour opened."),
    );
    unlinkSync(join(dir, "deleted.md"));
    renameSync(join(dir, "renamed.md"), join(dir, "moved.md"));

    const after = await openCore({ dataDir });
    const second = await startPipeline(after.core, [dir]);
    cleanups.push(
      () => after.close(),
      () => second.stop(),
    );
    await second.queue.idle();

    const docs = await after.core.catalog.listDocuments(sourceIdFor(dir));
    expect(docs.map((d) => [d.path, d.status]).sort()).toEqual([
      ["added.md", "indexed"],
      ["edited.md", "indexed"],
      ["kept.md", "indexed"],
      ["moved.md", "indexed"],
    ]);
    const text = (await allChunks(after.core)).map((c) => `${c.path}: ${c.text}`).join("\n");
    expect(text).toContain("milked at four");
    expect(text).not.toContain("milked at five");
    expect(text).not.toMatch(/deleted\.md|renamed\.md|charcoal/);
    // Only new text was embedded: the added file's two chunks and the edited paragraph. The moved
    // file came from the embedding cache, and the unchanged file was not even queued.
    expect(after.embedder.texts).toHaveLength(3);
    expect(after.embedder.texts).toEqual(
      expect.arrayContaining(["sixty loaves", "bakery notes", "milked at four"].map((t) => expect.stringContaining(t))),
    );
    expect((await after.core.catalog.getDocument(sourceIdFor(dir), "kept.md"))?.indexedAt).toEqual(
      keptBefore?.indexedAt,
    );
    expect(await second.watcher.scan()).toEqual({ enqueued: 0, removed: 0 });
  }, 120_000);
});
