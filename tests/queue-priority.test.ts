import { afterEach, describe, expect, it } from "vitest";
import type { JobPayload } from "../schemas/jobs.js";
import { createBullmqQueue } from "../services/common/queue/bullmq.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import type { JobHandlers, JobQueue } from "../services/common/queue/types.js";
import { randomPrefix, rawQueue, REDIS_URL } from "./support/bullmq.js";
import { signal, within } from "./support/events.js";

type IndexPayload = JobPayload<"index-file">;
const job = (path: string, c = "a"): IndexPayload => ({ sourceId: "src_prio", path, contentHash: c.repeat(64) });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

const implementations: Array<[string, () => JobQueue]> = [
  [
    "in-process",
    () => {
      const queue = createInProcessQueue();
      cleanups.push(() => queue.close());
      return queue;
    },
  ],
  [
    "bullmq",
    () => {
      const prefix = randomPrefix();
      const raw = rawQueue(prefix);
      const queue = createBullmqQueue({ url: REDIS_URL, prefix });
      cleanups.push(() => raw.obliterate());
      cleanups.push(() => queue.close());
      return queue;
    },
  ],
];

/**
 * Handlers that record the order of the paths they ran, each job taking a few milliseconds, and
 * none finishing before `hold` resolves (unset: none held).
 */
function recorder(hold?: Promise<void>) {
  const order: string[] = [];
  const handlers: JobHandlers = {
    "index-file": async (p) => {
      order.push(p.path);
      await hold;
      await new Promise((r) => setTimeout(r, 5));
    },
    "remove-file": async (p) => void order.push(`removed ${p.path}`),
  };
  return { order, handlers };
}

describe.each(implementations)("%s queue lanes", (_, make) => {
  it("runs a live event enqueued after 50 scan jobs before most of them", async () => {
    const queue = make();
    // The jobs taken first stay running until the live event is queued: on a busy machine the
    // worker could otherwise drain the scan faster than this test enqueues it, and there would be
    // no backlog for the live event to overtake.
    const queued = signal();
    const { order, handlers } = recorder(queued.promise);
    // Consuming already, as at start-up: the scan's jobs start running while it enqueues more.
    queue.process(handlers);
    for (let i = 0; i < 50; i++) {
      await queue.enqueue("index-file", job(`scan/${i}.md`), { lane: "scan" });
    }
    await queue.enqueue("remove-file", { sourceId: "src_prio", path: "scan/old.md" }, { lane: "scan" });
    await queue.enqueue("index-file", job("live/edited.md"));
    queued.resolve();
    await within(queue.idle(), 30_000, "the queue to drain");
    expect(order).toHaveLength(52);
    const live = order.indexOf("live/edited.md");
    // Behind at most the jobs already taken when it arrived, never behind the backlog.
    expect(live).toBeGreaterThanOrEqual(0);
    expect(live).toBeLessThan(order.length - 40);
    // The scan lane itself keeps its order.
    const scans = order.filter((p) => p.startsWith("scan/"));
    expect(scans).toEqual(Array.from({ length: 50 }, (__, i) => `scan/${i}.md`));
  });

  it("moves a waiting scan job to the live lane when a live event reports the same change", async () => {
    const queue = make();
    const { order, handlers } = recorder();
    for (let i = 0; i < 20; i++) {
      await queue.enqueue("index-file", job(`scan/${i}.md`), { lane: "scan" });
    }
    await queue.enqueue("index-file", job("scan/7.md"));
    // A later scan of the same change does not demote it again.
    await queue.enqueue("index-file", job("scan/7.md"), { lane: "scan" });
    queue.process(handlers);
    await queue.idle();
    expect(order[0]).toBe("scan/7.md");
    expect(order).toHaveLength(20);
  });
});

describe("in-process queue concurrency", () => {
  it("runs up to `concurrency` jobs at once, never two for one document", async () => {
    const queue = createInProcessQueue({ concurrency: 3 });
    cleanups.push(() => queue.close());
    let running = 0;
    let most = 0;
    const perDoc = new Map<string, number>();
    let overlapOnOneDoc = false;
    const threeRunning = signal();
    const gate = signal(); // holds every job until the assertions below have run
    queue.process({
      "index-file": async (p) => {
        running++;
        most = Math.max(most, running);
        if (running === 3) {
          threeRunning.resolve();
        }
        perDoc.set(p.path, (perDoc.get(p.path) ?? 0) + 1);
        if (perDoc.get(p.path)! > 1) {
          overlapOnOneDoc = true;
        }
        await gate.promise;
        perDoc.set(p.path, perDoc.get(p.path)! - 1);
        running--;
      },
      "remove-file": async () => {},
    });
    for (let i = 0; i < 6; i++) {
      await queue.enqueue("index-file", job(`doc${i}.md`));
    }
    await within(threeRunning.promise, 10_000, "three jobs to start");
    // The queue starts jobs in one synchronous pass, and this line runs after that pass: a fourth
    // start, were the limit broken, would already have happened. No sleep is needed to see it.
    expect(running).toBe(3);
    expect(await queue.depth()).toMatchObject({ waiting: 3, active: 3 });
    // A new version of a running document waits for the running job, however many slots are free.
    await queue.enqueue("index-file", job("doc0.md", "b"));
    gate.resolve();
    await within(queue.idle(), 10_000, "the queue to drain");
    expect(most).toBe(3);
    expect(overlapOnOneDoc).toBe(false);
    expect((await queue.depth()).failed).toBe(0);
  });
});
