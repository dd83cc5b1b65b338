import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { sha256 } from "../pipelines/ingest/index-file.js";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { jobId } from "../schemas/jobs.js";
import { createApp } from "../services/api/app.js";
import { createCoreDeps, type CoreDeps } from "../services/common/deps.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import { createWorker } from "../services/common/ingest-worker.js";
import { randomPrefix, rawQueue, REDIS_URL } from "./support/bullmq.js";
import { makeCore, quietLog, sharedEmbedder } from "./support/core.js";
import { apiConfig, waitFor } from "./support/pipeline.js";
import { startService, type ServiceProcess } from "./support/process.js";
import { startSharedPglite } from "./support/shared-pglite.js";
import { tempDir } from "./support/temp-dir.js";

const WORKER = "services/worker/main.ts";
const WATCHER = "services/watcher/main.ts";

/**
 * A text of `chunks` paragraphs that no cache has seen: embedding it takes seconds, long enough to
 * kill or stop a worker in the middle of it. 150 of them: the threaded embedder on a quiet machine
 * embeds about 27 chunks a second, so 40 could finish inside the tests' one-second window.
 */
function slowText(chunks: number, seed: string): string {
  const words = "river stone lantern orchard harbour meadow copper violet thunder glacier ember quartz".split(" ");
  const paragraphs = [];
  for (let p = 0; p < chunks; p++) {
    const sentence = Array.from(
      { length: 20 },
      (_, i) => `${words[(p * 7 + i * 3) % words.length]}${(p * 131 + i) % 997}`,
    );
    paragraphs.push(`${seed} paragraph ${p}: ${sentence.join(" ")}.`);
  }
  return paragraphs.join("\n\n");
}

describe("separate watcher and worker processes on BullMQ", () => {
  const procs: ServiceProcess[] = [];
  let db: Awaited<ReturnType<typeof startSharedPglite>>;
  let core: CoreDeps;
  let raw: ReturnType<typeof rawQueue>;
  let dir: string;
  let dataDir: string;
  let env: Record<string, string>;
  let sourceId: string;

  const start = (entry: string, extra: Record<string, string> = {}) => {
    const p = startService(entry, { ...env, ...extra });
    procs.push(p);
    return p;
  };
  const ready = (p: ServiceProcess) => p.untilOutput('"msg":"ready"', 60_000);
  const indexedWith = (path: string, text: string) =>
    waitFor(
      async () => {
        const doc = await core.catalog.getDocument(sourceId, path);
        return doc?.status === "indexed" && doc.contentHash === sha256(text) ? doc : null;
      },
      60_000,
      200,
    );
  /** Writes a slow file and waits until a worker is running its job; returns the job and who runs it. */
  async function slowJob(name: string, chunks: number) {
    const text = slowText(chunks, name);
    writeFileSync(join(dir, name), text);
    const id = jobId("index-file", { sourceId, path: name, contentHash: sha256(text) });
    const job = await waitFor(
      async () => {
        const j = await raw.queue.getJob(id);
        return (await j?.getState()) === "active" && j?.processedBy ? j : null;
      },
      30_000,
      100,
    );
    const pid = Number(job.processedBy!.split("-").pop());
    return { text, id, runner: procs.find((p) => p.child.pid === pid)! };
  }

  beforeAll(async () => {
    // The processes share one database, as they share PostgreSQL in production.
    db = await startSharedPglite({ maxConnections: 8 });
    dataDir = tempDir("rag-procs-data-");
    dir = tempDir("rag-procs-watch-");
    sourceId = sourceIdFor(resolve(dir));
    // Migrate before any process starts: in PGlite's single session, the processes' migration
    // locks cannot exclude each other.
    core = await createCoreDeps(
      {
        DATA_DIR: dataDir,
        DATABASE_URL: db.url,
        DATABASE_POOL_MAX: 2,
        EMBEDDING_MODEL: "use-lite",
        MAX_FILE_BYTES: 5_000_000,
      },
      quietLog,
      { embedder: await sharedEmbedder() },
    );
    const prefix = randomPrefix();
    raw = rawQueue(prefix);
    env = {
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DATABASE_URL: db.url,
      DATABASE_POOL_MAX: "1",
      DATA_DIR: dataDir,
      WATCH_DIRS: dir,
      MAX_FILE_BYTES: "5000000",
      // Short locks, so a killed worker's job is recovered within seconds (production: 30 s). Not
      // shorter: locks are renewed between embedding passes, which block for a second or more on
      // a busy machine.
      WORKER_LOCK_MS: "10000",
    };
  });

  // The processes' logs are the only account of what they did: show them when a test fails.
  afterEach((ctx) => {
    if (ctx.task.result?.state !== "fail") {
      return;
    }
    for (const p of procs) {
      console.error(
        `--- pid ${p.child.pid} (exit ${p.child.exitCode ?? p.child.signalCode})\n${p.output().slice(-4000)}`,
      );
    }
  });

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill("SIGKILL");
      }
    }
    await Promise.all(procs.map((p) => p.exited));
    await raw?.obliterate();
    await core?.close();
    await db?.stop();
  });

  it("a watcher and two workers index dropped files, and /ask cites them", async () => {
    writeFileSync(
      join(dir, "already-there.md"),
      "# Kilns\n\nA bottle kiln fires stoneware at about 1280 degrees Celsius.\n",
    );
    const watcher = start(WATCHER);
    const workers = [start(WORKER), start(WORKER)];
    await Promise.all([watcher, ...workers].map(ready));
    const lighthouse =
      "# Lighthouse keeping\n\n## Lamps\n\nThe Fresnel lens of the Skerryvore lighthouse was installed in 1844 " +
      "and focused the lamp into a beam visible for eighteen nautical miles.\n";
    const quince = "Quinces must be cooked before eating because raw quince flesh is hard and astringent.\n";
    writeFileSync(join(dir, "lighthouse.md"), lighthouse);
    writeFileSync(join(dir, "notes.txt"), quince);
    await Promise.all([indexedWith("lighthouse.md", lighthouse), indexedWith("notes.txt", quince)]);
    await waitFor(
      async () => (await core.catalog.getDocument(sourceId, "already-there.md"))?.status === "indexed",
      30_000,
    );

    const app = createApp({ config: apiConfig, log: quietLog, generator: createExtractiveGenerator(), core });
    const res = await app.request("/ask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: "When was the Skerryvore Fresnel lens installed?" }),
    });
    const body = (await res.json()) as { answer: string; citations: Array<{ path: string }> };
    expect(res.status).toBe(200);
    expect(body.citations.map((c) => c.path)).toContain("lighthouse.md");
    expect(body.answer).toContain("1844");
  });

  it("a worker killed with SIGKILL mid-job loses nothing: the job is recovered and the document indexed", async () => {
    const { text, id, runner } = await slowJob("slow-killed.txt", 150);
    // Killed as soon as its job is active (150 uncached chunks take seconds to embed): no sleep
    // first. That it died mid-job is shown below by the stalled check recovering the job.
    expect((await core.catalog.getDocument(sourceId, "slow-killed.txt"))?.status).not.toBe("indexed");
    runner.child.kill("SIGKILL");
    await runner.exited;
    const replacement = start(WORKER);
    await ready(replacement);

    await indexedWith("slow-killed.txt", text);
    const job = await raw.queue.getJob(id);
    expect(await job?.getState()).toBe("completed");
    // Recovered by the stalled check (not counted as a failed attempt).
    expect(job?.stalledCounter).toBeGreaterThanOrEqual(1);
    expect(job?.attemptsMade).toBe(1);
    expect(await raw.queue.getFailedCount()).toBe(0);
  });

  const alive = () => procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  const isWorker = (p: ServiceProcess) => p.output().includes('"service":"worker"');

  it("SIGTERM on idle workers exits 0 at once", async () => {
    const idle = alive().filter(isWorker);
    if (idle.length === 0) {
      idle.push(start(WORKER));
    }
    await Promise.all(idle.map(ready));
    const t0 = Date.now();
    expect(await Promise.all(idle.map((p) => p.stop()))).toEqual(idle.map(() => 0));
    expect(Date.now() - t0).toBeLessThan(10_000);
    for (const p of idle) {
      expect(p.output()).toContain("SIGTERM received, shutting down");
    }
  });

  it("SIGTERM on a busy worker hands its job back past the grace period and exits 0; another worker finishes it", async () => {
    // Only this worker may take the job.
    await Promise.all(
      alive()
        .filter(isWorker)
        .map((p) => p.stop()),
    );
    // A lock that cannot lapse here: the job must be handed back, not recovered as stalled.
    const busy = start(WORKER, { WORKER_SHUTDOWN_GRACE_MS: "500", WORKER_LOCK_MS: "30000" });
    await ready(busy);
    const { text, id, runner } = await slowJob("slow-stopped.txt", 150);
    expect(runner).toBe(busy);
    const t0 = Date.now();
    const exit = busy.stop();
    const next = start(WORKER); // starts while the other stops; the job waits for it
    expect(await exit).toBe(0);
    // Well before the job could have finished (the process is slowed by the job's embedding
    // passes, which go on until it exits).
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(busy.output()).toContain("job handed back to the queue");
    expect(await core.catalog.getDocument(sourceId, "slow-stopped.txt").then((d) => d?.contentHash)).not.toBe(
      sha256(text),
    );

    await ready(next);
    await indexedWith("slow-stopped.txt", text);
    const job = await raw.queue.getJob(id);
    expect(await job?.getState()).toBe("completed");
    expect(job?.attemptsMade).toBe(1); // handed back, not counted as a failed attempt
    expect(await raw.queue.getFailedCount()).toBe(0);
  });

  it("a worker or watcher without REDIS_URL, or with a Redis that is not there, exits 1 saying so", async () => {
    const unset = [WORKER, WATCHER].map((entry) => startService(entry, { ...env, REDIS_URL: "" }));
    const dead = startService(WORKER, { ...env, REDIS_URL: "redis://127.0.0.1:1" });
    for (const p of unset) {
      expect(await p.exited).toBe(1);
      expect(p.output()).toContain("REDIS_URL");
      expect(p.output()).toContain("npm start");
    }
    expect(await dead.exited).toBe(1);
    expect(dead.output()).toMatch(/REDIS_URL: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/? \(.*ECONNREFUSED/);
    expect(dead.output()).not.toContain("embedder loaded"); // it stopped before loading the model
  });
});

describe("the worker's latest-wins check", () => {
  it("a file rewritten while its job embeds ends at its latest content, even with no event to say so", async () => {
    const { core, cleanup } = await makeCore("pglite");
    const dir = tempDir("rag-latest-");
    const queue = createInProcessQueue();
    try {
      const sourceId = await core.catalog.upsertSource(dir, "default");
      createWorker({ core, queue, log: quietLog, maxFileBytes: 1_000_000 }).start();
      const older = slowText(6, "older");
      const newer = "The newer version replaced the text while the older one was still being embedded.\n";
      writeFileSync(join(dir, "doc.txt"), older);
      // The file is rewritten from inside the job's first embedding call: the job has read the
      // older text and is embedding it. (A sleep before rewriting raced the threaded embedder.)
      // Nothing watches the folder here, so no event says so.
      const embedder = core.runtime.current().embedder;
      const embed = embedder.embed;
      let rewritten = false;
      embedder.embed = async (texts) => {
        if (!rewritten) {
          rewritten = true;
          writeFileSync(join(dir, "doc.txt"), newer);
        }
        return embed.call(embedder, texts);
      };
      try {
        await queue.enqueue("index-file", { sourceId, path: "doc.txt", contentHash: sha256(older) });
        await queue.idle();
      } finally {
        embedder.embed = embed;
      }
      expect(rewritten).toBe(true);
      const doc = await core.catalog.getDocument(sourceId, "doc.txt");
      expect(doc?.contentHash).toBe(sha256(newer));
    } finally {
      await queue.close();
      await cleanup();
    }
  });
});
