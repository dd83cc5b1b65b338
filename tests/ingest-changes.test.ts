import { mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { indexFile } from "../pipelines/ingest/index-file.js";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { makeCore, type DbMode } from "./support/core.js";
import { allChunks, chunksOf, ingestDeps, openCore } from "./support/ingest.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const SLOW = 60_000;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

async function setup() {
  const dir = tempDir("rag-changes-");
  const opened = await openCore();
  cleanups.push(() => opened.close());
  return { dir, ...opened };
}

/** A Markdown guide with one short section per topic: each section is one chunk. */
function guide(topics: string[], edits: Record<number, string> = {}): string {
  return topics
    .map(
      (t, i) =>
        `## ${t}\n\n${edits[i] ?? `The ${t.toLowerCase()} chapter explains how ${t.toLowerCase()} is inspected every spring.`}\n`,
    )
    .join("\n");
}
const TOPICS = ["Hives", "Queens", "Drones", "Swarming", "Honey", "Wax"];

describe("indexFile outcomes", () => {
  it(
    "skips unchanged content and re-embeds only the chunk whose text an edit changed",
    async () => {
      const { dir, core, embedder } = await setup();
      const sourceId = await core.catalog.upsertSource(dir, "default");
      const job = { sourceId, root: dir, collection: "default", path: "bees.md" };
      writeFileSync(join(dir, "bees.md"), guide(TOPICS));

      expect(await indexFile(ingestDeps(core), job)).toMatchObject({
        status: "indexed",
        chunks: 6,
        embedded: 6,
        reused: 0,
      });
      expect(await indexFile(ingestDeps(core), job)).toMatchObject({ status: "unchanged" });
      expect(embedder.texts).toHaveLength(6);

      writeFileSync(
        join(dir, "bees.md"),
        guide(TOPICS, { 3: "A swarm leaves with the old queen when the colony outgrows its hive." }),
      );
      expect(await indexFile(ingestDeps(core), job)).toMatchObject({
        status: "indexed",
        chunks: 6,
        embedded: 1,
        reused: 5,
      });
      expect(embedder.texts.slice(6)).toEqual([expect.stringContaining("A swarm leaves with the old queen")]);
      const texts = (await chunksOf(core, "bees.md")).map((c) => c.text);
      expect(texts.join("\n")).toContain("old queen");
      expect(texts.join("\n")).not.toContain("swarming chapter");
    },
    SLOW,
  );

  it(
    "removes the document when its file vanishes while it is being embedded, or is no longer a file",
    async () => {
      const { dir, core, embedder } = await setup();
      const sourceId = await core.catalog.upsertSource(dir, "default");
      const job = { sourceId, root: dir, collection: "default", path: "bees.md" };
      writeFileSync(join(dir, "bees.md"), guide(TOPICS));
      await indexFile(ingestDeps(core), job);
      expect(await chunksOf(core, "bees.md")).toHaveLength(6);

      writeFileSync(
        join(dir, "bees.md"),
        guide(TOPICS, { 0: "Hives are moved at night so that no forager is left behind." }),
      );
      embedder.onEmbed = () => unlinkSync(join(dir, "bees.md"));
      expect(await indexFile(ingestDeps(core), job)).toMatchObject({ status: "removed" });
      embedder.onEmbed = undefined;
      expect(await core.catalog.getDocument(sourceId, "bees.md")).toBeUndefined();
      expect(await allChunks(core)).toEqual([]);

      // A file replaced by a folder of the same name is gone as a file, as the start-up scan sees it.
      writeFileSync(join(dir, "wax.md"), guide(["Wax"]));
      await indexFile(ingestDeps(core), { ...job, path: "wax.md" });
      rmSync(join(dir, "wax.md"));
      mkdirSync(join(dir, "wax.md"));
      expect(await indexFile(ingestDeps(core), { ...job, path: "wax.md" })).toMatchObject({ status: "removed" });
      expect(await allChunks(core)).toEqual([]);
    },
    SLOW,
  );
});

describe("watched folder changes", () => {
  it(
    "a rewrite with the same bytes embeds nothing; renaming a file or folder reuses embeddings; delete removes the chunks",
    async () => {
      const { dir, core, embedder } = await setup();
      const pipeline = await startPipeline(core, [dir]);
      cleanups.push(() => pipeline.stop());
      writeFileSync(join(dir, "bees.md"), guide(TOPICS));
      await waitFor(async () => (await chunksOf(core, "bees.md")).length === 6, 30_000);
      const first = await core.catalog.getDocument(sourceIdFor(dir), "bees.md");
      const embeddedBefore = embedder.texts.length;

      writeFileSync(join(dir, "bees.md"), guide(TOPICS));
      await waitFor(
        async () =>
          ((await core.catalog.getSource(sourceIdFor(dir)))?.lastEventAt?.getTime() ?? 0) > first!.indexedAt!.getTime(),
      );
      await pipeline.queue.idle();
      expect(embedder.texts.length).toBe(embeddedBefore);
      expect((await core.catalog.getDocument(sourceIdFor(dir), "bees.md"))?.indexedAt).toEqual(first!.indexedAt);

      renameSync(join(dir, "bees.md"), join(dir, "apiary.md"));
      await waitFor(async () => {
        const paths = new Set((await allChunks(core)).map((c) => c.path));
        return paths.has("apiary.md") && !paths.has("bees.md");
      }, 30_000);
      expect(embedder.texts.length).toBe(embeddedBefore);
      expect(await chunksOf(core, "apiary.md")).toHaveLength(6);

      // A renamed folder: every file under it moves, and again nothing is embedded twice.
      mkdirSync(join(dir, "yard"));
      renameSync(join(dir, "apiary.md"), join(dir, "yard", "apiary.md"));
      await waitFor(async () => {
        const chunks = await allChunks(core);
        return chunks.length === 6 && chunks.every((c) => c.path === "yard/apiary.md");
      }, 30_000);
      renameSync(join(dir, "yard"), join(dir, "garden"));
      await waitFor(async () => {
        const paths = [...new Set((await allChunks(core)).map((c) => c.path))];
        return paths.length === 1 && paths[0] === "garden/apiary.md";
      }, 30_000);
      expect(embedder.texts.length).toBe(embeddedBefore);

      unlinkSync(join(dir, "garden", "apiary.md"));
      await waitFor(async () => (await allChunks(core)).length === 0, 30_000);
      expect(await core.catalog.listDocuments(sourceIdFor(dir))).toEqual([]);
    },
    SLOW,
  );
});

// On PGlite every statement resolves without yielding to the event loop, so a reader can never land
// between two writes anyway; over the pg driver it can, which is what gives this test its teeth.
describe.each<DbMode>(["pglite", "pg-socket"])("atomic replacement on %s", (mode) => {
  it(
    "replaces a document's chunks atomically: no query sees a mix of versions or none",
    async () => {
      const dir = tempDir("rag-atomic-");
      const { core, cleanup } = await makeCore(mode);
      cleanups.push(cleanup);
      const pipeline = await startPipeline(core, [dir]);
      cleanups.push(() => pipeline.stop());
      const parts = Array.from({ length: 10 }, (_, i) => `Part ${i + 1}`);
      const ledger = (version: string) =>
        guide(
          parts,
          Object.fromEntries(
            parts.map((p, i) => [
              i,
              `${p} of the harbour ledger is kept in version ${version}; entry ${i * 37} records a cargo.`,
            ]),
          ),
        );
      writeFileSync(join(dir, "ledger.md"), ledger("alpha"));
      await waitFor(async () => (await chunksOf(core, "ledger.md")).length === 10, 30_000);

      const [question] = await core.runtime.current().embedder.embed(["which version is the harbour ledger kept in"]);
      const seen: string[] = [];
      const violations: string[] = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const hits = await core.store.searchDense(question!, {
            generationId: core.runtime.current().generation.id,
            topK: 50,
          });
          const versions = [...new Set(hits.map((h) => /version (\w+)/.exec(h.text)?.[1]))];
          if (versions.length !== 1) {
            violations.push(`search saw versions [${versions.join(", ")}]`);
          }
          const rows = await chunksOf(core, "ledger.md");
          const rowVersions = [...new Set(rows.map((c) => /version (\w+)/.exec(c.text)?.[1]))];
          if (rows.length !== 10 || rowVersions.length !== 1) {
            violations.push(`${rows.length} chunks of [${rowVersions.join(", ")}]`);
          }
          seen.push(versions[0] ?? "none");
          // PGlite answers without touching the event loop; let timers and file events (the watcher, the queue) run.
          await new Promise((r) => setImmediate(r));
        }
      })();
      try {
        for (const version of ["beta", "alpha", "beta"]) {
          writeFileSync(join(dir, "ledger.md"), ledger(version));
          await waitFor(async () => {
            const rows = await chunksOf(core, "ledger.md");
            return rows.length === 10 && rows.every((c) => c.text.includes(`version ${version}`));
          }, 30_000);
        }
      } finally {
        stop = true;
        await loop;
      }
      expect(violations).toEqual([]);
      expect(new Set(seen)).toEqual(new Set(["alpha", "beta"]));
      expect(seen.length).toBeGreaterThan(10);
    },
    SLOW,
  );
});
