import { afterEach, describe, expect, it } from "vitest";
import { createBullmqQueue } from "../services/common/queue/bullmq.js";
import type { JobHandlers, JobQueue } from "../services/common/queue/types.js";
import { statusReport } from "../services/common/status-report.js";
import { makeCore } from "./support/core.js";
import { randomPrefix, rawQueue, REDIS_URL } from "./support/bullmq.js";
import { waitFor } from "./support/pipeline.js";

const noop: JobHandlers = { "index-file": async () => null, "remove-file": async () => null };
const opened: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (opened.length) {
    await opened.pop()!();
  }
});

describe("worker heartbeats (BullMQ)", () => {
  it("lists the connected workers by name, and drops one that closed", async () => {
    const prefix = randomPrefix();
    const raw = rawQueue(prefix);
    opened.push(() => raw.obliterate());
    const queues: JobQueue[] = ["host-a-1", "host-b-2"].map((workerName) =>
      createBullmqQueue({ url: REDIS_URL, prefix, workerName }),
    );
    for (const q of queues) {
      opened.push(() => q.close());
    }
    for (const q of queues) {
      q.process(noop);
    }
    const names = async () => (await queues[0]!.workers!()).map((w) => w.name).sort();
    await waitFor(async () => (await names()).length === 2, 10_000);
    expect(await names()).toEqual(["host-a-1", "host-b-2"]);
    for (const w of await queues[0]!.workers!()) {
      expect(w.idleSeconds).toBeLessThan(30);
    }

    await queues[1]!.close();
    await waitFor(async () => (await names()).join() === "host-a-1", 10_000);
  });

  it("/status reports the queue and its workers", async () => {
    const prefix = randomPrefix();
    const raw = rawQueue(prefix);
    opened.push(() => raw.obliterate());
    const queue = createBullmqQueue({ url: REDIS_URL, prefix, workerName: "status-worker" });
    opened.push(() => queue.close());
    queue.process(noop);
    const { core, cleanup } = await makeCore("pglite");
    opened.push(cleanup);
    const report = await waitFor(async () => {
      const r = await statusReport(core.database.db, { mismatch: null, queue });
      return r.workers?.length ? r : null;
    }, 10_000);
    expect(report.queue).toEqual({ waiting: 0, active: 0, failed: 0, error: null });
    expect(report.workers!.map((w) => w.name)).toEqual(["status-worker"]);
  });

  it("an unreachable Redis is reported in /status, not thrown", async () => {
    const queue = createBullmqQueue({ url: "redis://127.0.0.1:1", prefix: randomPrefix() });
    opened.push(() => queue.close());
    const { core, cleanup } = await makeCore("pglite");
    opened.push(cleanup);
    const report = await statusReport(core.database.db, { mismatch: null, queue });
    expect(report.queue).toMatchObject({ waiting: null, error: expect.stringMatching(/Redis/) });
    expect(report.workers).toBeNull();
  });
});
