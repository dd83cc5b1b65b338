import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { watch } from "chokidar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../services/common/log.js";
import type { StatusReport } from "../services/common/status-report.js";
import { docText, indexBehindDisk, watchUntilCaughtUp } from "./support/bulk.js";
import { openCore } from "./support/ingest.js";
import { startPipeline } from "./support/pipeline.js";

const HIDDEN = 5;
// Each wait's bound: seconds on a quiet machine, far longer on two crowded cores.
const BOUND_MS = 90_000;

let opened: Awaited<ReturnType<typeof openCore>>;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let root: string;
let hiddenDir: string;
// The RESCAN_INTERVAL schedule, ticked by the test instead of a clock: it runs when the test says.
let tick: (() => Promise<void>) | undefined;
const logLines: Array<{ msg: string; [k: string]: unknown }> = [];

/**
 * chokidar's watcher, losing every event under `hiddenDir`, as chokidar loses events in the cases
 * services/watcher/watcher.ts names, and as a file written by another host on a network mount never
 * raises one: the watcher is told nothing about these files, ever.
 */
const blindWatch: typeof watch = (paths, options) => {
  const inner = watch(paths, options);
  const hidden = (p: unknown) => typeof p === "string" && (p === hiddenDir || p.startsWith(hiddenDir + sep));
  const on = inner.on.bind(inner);
  inner.on = ((event: string, listener: (...args: unknown[]) => void) =>
    on(event as "all", (...args: unknown[]) => {
      // A raw event names the watched path in its details.
      const watched = (args[2] as { watchedPath?: unknown } | undefined)?.watchedPath;
      if (!hidden(args[0]) && !(event === "raw" && hidden(watched))) {
        listener(...args);
      }
    })) as typeof inner.on;
  return inner;
};

async function status(): Promise<StatusReport> {
  const res = await pipeline.app.request("/status");
  expect(res.status).toBe(200);
  return (await res.json()) as StatusReport;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "rag-rescan-"));
  hiddenDir = join(root, "hidden");
  mkdirSync(join(root, "inbox"));
  writeFileSync(join(root, "kept.md"), docText("kept ledger"));
  opened = await openCore();
  const log = createLogger("info", {}, { write: (s: string) => void logLines.push(JSON.parse(s)) });
  pipeline = await startPipeline(opened.core, [root], {
    // Any interval: the timer below never fires by itself.
    rescanIntervalMs: 60_000,
    rescanTimer: (fn) => {
      tick = fn;
      return () => {
        tick = undefined;
      };
    },
    burstSettleMs: 200,
    watchFiles: blindWatch,
    log,
  });
  await pipeline.queue.idle();
}, 240_000); // the model and a database load in seconds on a quiet machine, minutes on a crowded one
afterAll(async () => {
  await pipeline?.stop();
  await opened?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("files the watcher is never told about", () => {
  it("are counted as unseen by /status until the periodic reconciliation finds and indexes them", async () => {
    mkdirSync(join(hiddenDir, "deep"), { recursive: true });
    for (let i = 0; i < HIDDEN; i++) {
      writeFileSync(join(hiddenDir, i < 3 ? "" : "deep", `hidden-${i}.md`), docText(`hidden ledger ${i}`));
    }

    // No event, so no job and no burst reconciliation: /status sees them on disk all the same.
    const before = await status();
    expect(before.unseen).toBe(HIDDEN);
    expect(before.sources[0]!.unseen).toBe(HIDDEN);
    expect(before.documents).toMatchObject({ indexed: 1, pending: 0, stale: 0 });
    expect(before.sources[0]!.staleCheckComplete).toBe(true);
    expect(before.sources[0]!.oldestUnseenAt).not.toBeNull();
    expect(before.freshnessLagMs).toBeGreaterThan(0);
    expect(await pipeline.queue.depth()).toMatchObject({ waiting: 0, active: 0 });

    // The schedule's turn: the reconciliation it runs queues exactly the hidden files.
    await tick!();
    const found = logLines.filter((l) => l.msg === "reconciliation queued work");
    expect(found).toEqual([expect.objectContaining({ reason: "schedule", enqueued: HIDDEN, removed: 0 })]);

    // From then until indexed, /status never calls the index fresh while any of them is not.
    const r = await watchUntilCaughtUp({ core: opened.core, root, status, timeoutMs: BOUND_MS });
    expect(r.falseFresh).toEqual([]);
    const after = await status();
    expect(after.unseen).toBe(0);
    expect(after.documents).toMatchObject({ indexed: 1 + HIDDEN, pending: 0, stale: 0 });
    expect(after.sources[0]!.staleCheckComplete).toBe(true);
  }, 120_000);
});

describe("a folder replaced at its path", () => {
  it("is watched again, so a file written into it later is indexed without waiting for the schedule", async () => {
    const scheduled = () => logLines.filter((l) => l.msg === "reconciliation queued work" && l.reason === "schedule");
    const scheduledBefore = scheduled().length;
    // A folder built elsewhere and renamed over the watched (empty) one, in one step, as a deploy's
    // atomic swap does. chokidar reads the new folder once through the old one's watch and reports
    // its two files as added, then keeps that dead watch: no folder event, and far fewer files than
    // a burst, so before the fix no reconciliation followed and nothing written later was reported.
    const staging = mkdtempSync(join(tmpdir(), "rag-rescan-staging-"));
    mkdirSync(join(staging, "inbox"));
    writeFileSync(join(staging, "inbox", "a.md"), docText("inbox swapped a"));
    writeFileSync(join(staging, "inbox", "b.md"), docText("inbox swapped b"));
    renameSync(join(staging, "inbox"), join(root, "inbox"));
    rmSync(staging, { recursive: true });
    await watchUntilCaughtUp({ core: opened.core, root, status, timeoutMs: BOUND_MS });
    await pipeline.watcher.settled();
    expect(logLines).toContainEqual(
      expect.objectContaining({ msg: "watching a folder again", path: "inbox", why: "replaced" }),
    );

    writeFileSync(join(root, "inbox", "later.md"), docText("inbox later"));
    const r = await watchUntilCaughtUp({ core: opened.core, root, status, timeoutMs: BOUND_MS });
    expect(r.falseFresh).toEqual([]);
    expect(await indexBehindDisk(opened.core, root)).toEqual([]);
    // The schedule never ran here (the test ticks it, and did not): events found the new file.
    expect(scheduled().length).toBe(scheduledBefore);
  }, 240_000);
});
