import { cpSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { adminActions } from "../services/common/admin.js";
import { createCoreDeps } from "../services/common/deps.js";
import { embedderKey } from "../pipelines/embed/types.js";
import { quietLog, sharedEmbedder } from "./support/core.js";
import { embeddingsReply, startScriptedServer, statusReply, type ScriptedServer } from "./support/openai-server.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const DOCS = new URL("../docs/", import.meta.url).pathname;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

const baseConfig = (dataDir: string) => ({
  DATA_DIR: dataDir,
  DATABASE_POOL_MAX: 1,
  EMBEDDING_MODEL: "use-lite",
  MAX_FILE_BYTES: 1_000_000,
  RETIRE_GRACE_MS: 200,
});

/** A service core on a PGlite data directory that outlives it, with some example docs indexed. */
async function indexedService(files = ["tokens-and-context-windows.txt"]) {
  const dataDir = tempDir("rag-reindex-");
  const docs = tempDir("rag-reindex-docs-");
  for (const f of files) {
    cpSync(join(DOCS, f), join(docs, f));
  }
  const core = await createCoreDeps(baseConfig(dataDir), quietLog, { embedder: await sharedEmbedder() });
  const pipeline = await startPipeline(core, [docs]);
  await pipeline.queue.idle();
  return { dataDir, docs, core, pipeline };
}

async function openaiServer(): Promise<ScriptedServer> {
  const s = await startScriptedServer([embeddingsReply(4)]);
  cleanups.push(() => s.close());
  return s;
}

describe("index generations pin the embedding model", () => {
  it("a process started with another model (and another dimension) refuses /ask and ingestion with 409", async () => {
    const { dataDir, core, pipeline } = await indexedService();
    const indexedKey = embedderKey(core.runtime.current().embedder.identity);
    await pipeline.stop();
    await core.close();

    const server = await openaiServer();
    const other = await createCoreDeps(
      { ...baseConfig(dataDir), EMBEDDING_MODEL: "openai:tiny-embed", EMBEDDING_BASE_URL: server.url },
      quietLog,
    );
    cleanups.push(() => other.close());
    const { mismatch } = other.runtime.current();
    expect(mismatch?.indexed.dimensions).toBe(512);
    expect(mismatch?.current.dimensions).toBe(4);
    const docs = tempDir("rag-mismatch-");
    const p2 = await startPipeline(other, [docs]);
    cleanups.push(() => p2.stop());

    const { status, body } = await p2.ask("What is BM25?");
    expect(status).toBe(409);
    expect(body.error.code).toBe("embedding_model_mismatch");
    expect(body.error.message).toContain(indexedKey);
    expect(body.error.message).toContain("openai:tiny-embed@api/4/unit");
    expect(body.error.message).toMatch(/npm run reindex|POST \/admin\/reindex/);

    // Ingestion refuses too: the job fails without retry and nothing is written with the wrong model.
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(docs, "new.md"), "# New\n\nA document that arrives while the models disagree.\n");
    await p2.watcher.scan();
    await p2.queue.idle();
    const failed = await p2.queue.failedJobs();
    expect(failed.some((j) => /embedding_model_mismatch|Ingestion refused/.test(j.error))).toBe(true);
    expect(await other.store.countChunks(other.runtime.current().generation.id)).toBeGreaterThan(0); // the old index is intact
  });
});

describe("re-index builds a new generation while the old one answers", () => {
  it("zero failed queries while a client queries continuously; answers switch generation once", async () => {
    const { core, pipeline } = await indexedService(["bm25-and-hybrid-search.html", "tokens-and-context-windows.txt"]);
    cleanups.push(async () => {
      await pipeline.stop();
      await core.close();
    });
    const oldGen = core.runtime.current().generation.id;
    pipeline.deps.admin = adminActions(core, baseConfig(""), quietLog);

    const seen: number[] = [];
    let failures = 0;
    let stop = false;
    const client = (async () => {
      while (!stop) {
        const r = await pipeline.ask("What constant does reciprocal rank fusion use?");
        if (r.status !== 200 || r.body.abstained) {
          failures++;
        } else {
          seen.push(r.body.generation);
        }
      }
    })();
    const res = await pipeline.app.request("/admin/reindex", { method: "POST" });
    expect(res.status).toBe(202);
    const { generationId } = (await res.json()) as { generationId: number };
    expect(generationId).toBeGreaterThan(oldGen);

    // A second build while one runs is refused.
    const again = await pipeline.app.request("/admin/reindex", { method: "POST" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as any).error.code).toBe("reindex_in_progress");

    const status = await waitFor(async () => {
      const s = (await (await pipeline.app.request("/status")).json()) as any;
      return s.generation?.id === generationId ? s : null;
    }, 120_000);
    expect(status.reindex).toBeNull();
    expect(status.generation.progress.done).toBe(status.generation.progress.total);
    await waitFor(async () => seen.filter((g) => g === generationId).length >= 3, 60_000);
    stop = true;
    await client;

    expect(failures).toBe(0);
    expect(seen.filter((g) => g === oldGen).length).toBeGreaterThan(0);
    // One switch: once the new generation answered, the old one never did again.
    const firstNew = seen.indexOf(generationId);
    expect(seen.slice(firstNew).every((g) => g === generationId)).toBe(true);
    expect(seen.slice(0, firstNew).every((g) => g === oldGen)).toBe(true);
    // The retired generation is dropped after the grace period.
    await waitFor(async () => (await core.store.countChunks(oldGen)) === 0, 10_000);
  });

  it("switches to another model and dimension with no failed query, and a failed build leaves the old one serving", async () => {
    const { core, pipeline } = await indexedService();
    cleanups.push(async () => {
      await pipeline.stop();
      await core.close();
    });
    const server = await openaiServer();
    pipeline.deps.admin = adminActions(core, { ...baseConfig(""), EMBEDDING_BASE_URL: server.url }, quietLog);

    // First a build that fails: the server answers the start-up probe, then refuses the chunks.
    server.script([embeddingsReply(4), statusReply(400)]);
    const bad = await pipeline.app.request("/admin/reindex", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ embeddingModel: "openai:tiny-embed" }),
    });
    expect(bad.status).toBe(202);
    const failedStatus = await waitFor(async () => {
      const s = (await (await pipeline.app.request("/status")).json()) as any;
      return s.lastFailedReindex ? s : null;
    }, 60_000);
    expect(failedStatus.generation.embedder.provider).toBe("use-lite");
    expect(failedStatus.lastFailedReindex.error).toMatch(/400/);
    expect((await pipeline.ask("What is byte-pair encoding?")).status).toBe(200);

    // Then one that succeeds: answers come from the 4-dimensional generation afterwards.
    server.script([embeddingsReply(4)]);
    const good = await pipeline.app.request("/admin/reindex", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ embeddingModel: "openai:tiny-embed" }),
    });
    const { generationId } = (await good.json()) as { generationId: number };
    await waitFor(async () => {
      const r = await pipeline.ask("What is byte-pair encoding?");
      expect(r.status).toBe(200);
      return r.body.generation === generationId;
    }, 120_000);
    expect(core.runtime.current().embedder.identity).toMatchObject({ provider: "openai", dimensions: 4 });
    const r = await pipeline.ask("What is byte-pair encoding?");
    expect(r.body.abstained).toBe(false);
    expect(r.body.citations[0].path).toBe("tokens-and-context-windows.txt");
  });

  it("refuses a model it cannot load, and a malformed request", async () => {
    const { core, pipeline } = await indexedService();
    cleanups.push(async () => {
      await pipeline.stop();
      await core.close();
    });
    pipeline.deps.admin = adminActions(core, baseConfig(""), quietLog);
    const post = (body: string) =>
      pipeline.app.request("/admin/reindex", { method: "POST", headers: { "content-type": "application/json" }, body });
    const unloadable = await post(JSON.stringify({ embeddingModel: "onnx:/nonexistent" }));
    expect(unloadable.status).toBe(400);
    expect(((await unloadable.json()) as any).error.message).toMatch(/Cannot load onnx:\/nonexistent/);
    expect((await post(JSON.stringify({ embeddingModel: "word2vec" }))).status).toBe(400);
    expect((await post("{nope")).status).toBe(400);
    expect((await post(JSON.stringify({ extra: 1 }))).status).toBe(400);
  });
});
