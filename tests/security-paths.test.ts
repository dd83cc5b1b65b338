import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { queryRows } from "../pipelines/store/database.js";
import { createApp } from "../services/api/app.js";
import type { CoreDeps } from "../services/common/deps.js";
import { createLogger } from "../services/common/log.js";
import { createBullmqQueue } from "../services/common/queue/bullmq.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import type { JobHandlers } from "../services/common/queue/types.js";
import { createSourceWatcher, type SourceWatcher } from "../services/watcher/watcher.js";
import { createWorker } from "../services/common/ingest-worker.js";
import { randomPrefix, rawQueue, REDIS_URL } from "./support/bullmq.js";
import { makeCore } from "./support/core.js";
import { apiConfig, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

// Text that exists only outside the watched folder: finding it in the index means a link escaped.
const SECRET = "Vaultkeeper master passphrase is tangerine-orbit-42.";

let core: CoreDeps;
let cleanup: () => Promise<void>;
let root: string;
let outside: string;
let watcher: SourceWatcher;
const queue = createInProcessQueue({ backoffScale: 0.01 });
const lines: string[] = [];
const log = createLogger("warn", {}, { write: (s: string) => void lines.push(s) });

beforeAll(async () => {
  root = tempDir("rag-sec-root-");
  outside = tempDir("rag-sec-outside-");
  writeFileSync(join(outside, "secret.md"), `# Secret\n\n${SECRET}\n`);
  mkdirSync(join(outside, "more"));
  writeFileSync(join(outside, "more", "also-secret.md"), `# Also\n\n${SECRET}\n`);
  writeFileSync(join(root, "guide.md"), "# Guide\n\nThe staging server restarts nightly at two o'clock.\n");
  mkdirSync(join(root, "sub"));
  symlinkSync(join(root, "guide.md"), join(root, "sub", "guide-link.md")); // stays inside: fine
  symlinkSync(join(outside, "secret.md"), join(root, "escape.md")); // leads outside: refused
  symlinkSync(join(outside, "more"), join(root, "escaped-dir")); // a folder outside: never entered
  ({ core, cleanup } = await makeCore("pglite"));
  createWorker({ core, queue, log, maxFileBytes: 1_000_000 }).start();
  watcher = createSourceWatcher({
    catalog: core.catalog,
    queue,
    log,
    dirs: [root],
    collection: "default",
    maxFileBytes: 1_000_000,
    stabilityMs: 100,
  });
  await watcher.start();
  await queue.idle();
});
afterAll(async () => {
  await watcher.close();
  await queue.close();
  await cleanup();
});

const secretChunks = async () =>
  Number(
    (
      await queryRows<{ n: number }>(
        core.database.db,
        sql`SELECT count(*)::int AS n FROM chunks WHERE text LIKE '%tangerine-orbit%'`,
      )
    )[0]!.n,
  );

describe("symbolic links in a watched folder", () => {
  it("indexes a link that stays inside the root, skips those that lead out, with a log line", async () => {
    const docs = await core.catalog.allDocuments();
    expect(docs.map((d) => [d.path, d.status])).toEqual([
      ["guide.md", "indexed"],
      ["sub/guide-link.md", "indexed"],
    ]);
    expect(await secretChunks()).toBe(0);
    const warnings = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === "symbolic link leads outside the watched folder; skipped");
    expect(warnings.map((w) => w.path).sort()).toEqual(["escape.md", "escaped-dir"]);
  });

  it("a link created while watching is skipped too, by the live watch and by the next scan", async () => {
    symlinkSync(join(outside, "secret.md"), join(root, "late-escape.md"));
    // A file created after the link: once it is indexed, the link's event (if any) was handled too.
    writeFileSync(join(root, "late-ok.md"), "# Late\n\nThe backup job runs every Sunday evening.\n");
    await waitFor(async () =>
      (await core.catalog.allDocuments()).find((d) => d.path === "late-ok.md" && d.status === "indexed"),
    );
    await watcher.scan();
    await queue.idle();
    expect((await core.catalog.allDocuments()).map((d) => d.path)).not.toContain("late-escape.md");
    expect(lines.some((l) => l.includes("late-escape.md"))).toBe(true);
    expect(await secretChunks()).toBe(0);
  });

  it("the worker refuses a job naming an escaping link (a forged job, or a race) and shows why on the document", async () => {
    const sourceId = (await core.catalog.allDocuments())[0]!.sourceId;
    await queue.enqueue("index-file", { sourceId, path: "escape.md" });
    await queue.idle();
    const app = createApp({ config: apiConfig, log, generator: createExtractiveGenerator(), core, queue });
    const res = await app.request("/documents?status=failed");
    const body = (await res.json()) as any;
    expect(body.documents).toEqual([
      expect.objectContaining({
        path: "escape.md",
        status: "failed",
        errorCode: "path_outside_root",
        error: expect.stringMatching(/outside the watched folder/),
      }),
    ]);
    expect(await secretChunks()).toBe(0);
  });
});

describe("job payloads carrying '..' are refused before any file is touched", () => {
  it("the in-process queue will not enqueue one", async () => {
    const sourceId = (await core.catalog.allDocuments())[0]!.sourceId;
    await expect(
      queue.enqueue("index-file", { sourceId, path: `../${outside.split("/").pop()}/secret.md` }),
    ).rejects.toThrow(/'\.\.' segments/);
    await expect(queue.enqueue("remove-file", { sourceId, path: "/etc/passwd" })).rejects.toThrow(/relative/);
  });

  it("a BullMQ worker fails a job written straight into Redis, without calling the handler or retrying", async () => {
    const prefix = randomPrefix();
    const raw = rawQueue(prefix);
    const bull = createBullmqQueue({ url: REDIS_URL, prefix, backoffScale: 0.001 });
    const calls: unknown[] = [];
    const handlers: JobHandlers = {
      "index-file": async (p) => {
        calls.push(p);
        return { status: "superseded" };
      },
      "remove-file": async (p) => {
        calls.push(p);
        return { status: "removed", documentId: null };
      },
    };
    try {
      await bull.process(handlers);
      const job = await raw.queue.add("index-file", { sourceId: "src_x", path: "../../etc/passwd" }, { attempts: 5 });
      await waitFor(async () => (await raw.queue.getJob(job.id!))?.isFailed());
      const failed = await raw.queue.getJob(job.id!);
      expect(failed!.failedReason).toMatch(/invalid index-file payload.*'\.\.' segments/s);
      expect(failed!.attemptsMade).toBe(1);
      expect(calls).toEqual([]);
    } finally {
      await bull.close();
      await raw.obliterate();
    }
  });
});
