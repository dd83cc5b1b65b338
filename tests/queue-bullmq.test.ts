import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { PipelineError } from "../pipelines/errors.js";
import { jobId, type JobPayload } from "../schemas/jobs.js";
import { createBullmqQueue, QueueUnavailableError } from "../services/common/queue/bullmq.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import type { JobHandlers, JobQueue } from "../services/common/queue/types.js";
import { randomPrefix, rawQueue, REDIS_URL } from "./support/bullmq.js";
import { waitFor } from "./support/pipeline.js";
import { freePort } from "./support/process.js";

type IndexPayload = JobPayload<"index-file">;
const version = (c: string, path = "notes/a.md"): IndexPayload => ({
  sourceId: "src_test",
  path,
  contentHash: c.repeat(64),
});
const A = version("a");
const B = version("b");

interface Made {
  queue: JobQueue;
  /** What the queue reported through onError, in order. */
  errors: Array<{ attempt: number; willRetry: boolean }>;
  /** A second consumer on the same jobs (BullMQ only: the in-process queue lives in one object). */
  another?: (opts?: { shutdownGraceMs?: number }) => JobQueue;
  raw?: ReturnType<typeof rawQueue>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

const implementations: Array<[string, (opts?: { shutdownGraceMs?: number }) => Made]> = [
  [
    "in-process",
    () => {
      const errors: Made["errors"] = [];
      const queue = createInProcessQueue({
        backoffScale: 0.001,
        onError: (job, _, willRetry) => errors.push({ attempt: job.attempt, willRetry }),
      });
      cleanups.push(() => queue.close());
      return { queue, errors };
    },
  ],
  [
    "bullmq",
    (opts = {}) => {
      const prefix = randomPrefix();
      const raw = rawQueue(prefix);
      const errors: Made["errors"] = [];
      const make = (o: { shutdownGraceMs?: number } = {}) => {
        const onError = (job: { attempt: number }, _: unknown, willRetry: boolean) =>
          errors.push({ attempt: job.attempt, willRetry });
        const q = createBullmqQueue({ url: REDIS_URL, prefix, backoffScale: 0.001, onError, ...o });
        cleanups.push(() => q.close());
        return q;
      };
      const queue = make(opts);
      cleanups.unshift(() => raw.obliterate()); // runs last, after the queues closed
      return { queue, errors, another: make, raw };
    },
  ],
];

/** Handlers that record what they were given; `index` may be replaced per test. */
function recorder(index: (p: IndexPayload, n: number) => Promise<unknown> = async () => "ok") {
  const calls: IndexPayload[] = [];
  const handlers: JobHandlers = {
    "index-file": async (p) => {
      calls.push(p);
      return index(p, calls.length);
    },
    "remove-file": async () => "removed",
  };
  return { calls, handlers };
}

describe.each(implementations)("queue contract: %s", (_name, make) => {
  it("hands the handler the parsed payload", async () => {
    const { queue } = make();
    const { calls, handlers } = recorder();
    const { id } = await queue.enqueue("index-file", A);
    expect(id).toBe(jobId("index-file", A));
    queue.process(handlers);
    await queue.idle();
    expect(calls).toEqual([A]);
  });

  it("the same change enqueued twice is one job", async () => {
    const { queue } = make();
    const { calls, handlers } = recorder();
    const first = await queue.enqueue("index-file", A);
    const second = await queue.enqueue("index-file", { ...A });
    expect(second.id).toBe(first.id);
    expect((await queue.depth()).waiting).toBe(1);
    queue.process(handlers);
    await queue.idle();
    expect(calls).toHaveLength(1);
  });

  it("a file changed A→B→A is processed three times: a finished job does not swallow a later change", async () => {
    const { queue } = make();
    const { calls, handlers } = recorder();
    queue.process(handlers);
    for (const v of [A, B, A]) {
      await queue.enqueue("index-file", v);
      await queue.idle();
    }
    expect(calls.map((c) => c.contentHash![0])).toEqual(["a", "b", "a"]);
    // Deleting a file twice uses one id too; the second deletion must run as well.
    let removals = 0;
    const counting = recorder();
    counting.handlers["remove-file"] = async () => ++removals;
    const { queue: q2 } = make();
    q2.process(counting.handlers);
    for (let i = 0; i < 2; i++) {
      await q2.enqueue("remove-file", { sourceId: "src_test", path: "gone.md" });
      await q2.idle();
    }
    expect(removals).toBe(2);
  });

  it("a change that arrives while its job runs gets a run of its own afterwards", async () => {
    const { queue } = make();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { calls, handlers } = recorder((_, n) => (n === 1 ? gate : Promise.resolve()));
    queue.process(handlers);
    await queue.enqueue("index-file", A);
    await waitFor(async () => calls.length === 1);
    // The running job may have read the file before this change: it must not be dropped.
    await queue.enqueue("index-file", A);
    release();
    await waitFor(async () => calls.length === 2);
    await queue.idle();
    expect(calls).toEqual([A, A]);
  });

  it("a transient error is retried with backoff, then succeeds", async () => {
    const { queue } = make();
    const { calls, handlers } = recorder(async (_, n) => {
      if (n === 1) {
        throw new Error("connection refused: database is restarting");
      }
      return "ok";
    });
    queue.process(handlers);
    await queue.enqueue("index-file", A);
    await waitFor(async () => calls.length === 2);
    await queue.idle();
    expect(await queue.failedJobs()).toEqual([]);
  });

  it("a non-retryable PipelineError fails at once and stays visible; the same change enqueued again runs again", async () => {
    const { queue, errors } = make();
    const { calls, handlers } = recorder(async (_, n) => {
      if (n === 1) {
        throw new PipelineError("file_missing", "Source src_test is not registered.");
      }
      return "ok";
    });
    queue.process(handlers);
    await queue.enqueue("index-file", A);
    const failed = await waitFor(async () => (await queue.failedJobs()).at(0));
    expect(calls).toHaveLength(1);
    expect(failed).toMatchObject({ id: jobId("index-file", A), name: "index-file", payload: A, attempts: 1 });
    expect(failed.error).toContain("Source src_test is not registered.");
    expect((await queue.depth()).failed).toBe(1);
    await waitFor(async () => errors.length === 1);
    expect(errors).toEqual([{ attempt: 1, willRetry: false }]);

    await queue.enqueue("index-file", A);
    await waitFor(async () => calls.length === 2);
  });

  it("a job that exhausts its attempts stays visible in failedJobs()", async () => {
    const { queue, errors } = make();
    const { calls, handlers } = recorder(async () => {
      throw new Error("database unavailable");
    });
    queue.process(handlers);
    await queue.enqueue("index-file", B);
    const failed = await waitFor(async () => (await queue.failedJobs()).at(0));
    expect(calls).toHaveLength(5); // the catalog's attempts for index-file
    expect(failed).toMatchObject({ name: "index-file", attempts: 5, payload: B });
    expect(failed.error).toContain("database unavailable");
    expect(await queue.depth()).toEqual({ waiting: 0, active: 0, failed: 1 });
    await waitFor(async () => errors.length === 5); // the event may follow the state by a moment
    expect(errors).toEqual([1, 2, 3, 4, 5].map((attempt) => ({ attempt, willRetry: attempt < 5 })));
  });

  it("depth() counts waiting jobs and idle() waits until they are done", async () => {
    const { queue } = make();
    const { calls, handlers } = recorder(() => new Promise((r) => setTimeout(r, 50)));
    await queue.enqueue("index-file", A);
    await queue.enqueue("index-file", version("c", "notes/other.md"));
    expect(await queue.depth()).toEqual({ waiting: 2, active: 0, failed: 0 });
    queue.process(handlers);
    await queue.idle();
    expect(calls).toHaveLength(2);
    expect(await queue.depth()).toEqual({ waiting: 0, active: 0, failed: 0 });
  });
});

describe("BullMQ specifics", () => {
  const [, makeBullmq] = implementations[1]!;

  it("jobs carry the catalog's attempts, exponential backoff and a deterministic id", async () => {
    const { queue, raw } = makeBullmq();
    const { id } = await queue.enqueue("index-file", A);
    expect(id).not.toContain(":");
    const job = await raw!.queue.getJob(id);
    expect(job?.opts).toMatchObject({ attempts: 5, backoff: { type: "exponential", delay: 1 } });
    expect(job?.data).toEqual(A);
  });

  it("close() past its grace hands a running job back, and another worker finishes it", async () => {
    const { queue, another } = makeBullmq({ shutdownGraceMs: 200 });
    const started: string[] = [];
    const slow = recorder(async () => {
      started.push("first");
      await new Promise((r) => setTimeout(r, 60_000));
    });
    queue.process(slow.handlers);
    await queue.enqueue("index-file", A);
    await waitFor(async () => started.length === 1);
    const t0 = Date.now();
    await queue.close();
    expect(Date.now() - t0).toBeLessThan(5_000);

    const next = another!();
    const fresh = recorder();
    next.process(fresh.handlers);
    await waitFor(async () => fresh.calls.length === 1);
    await next.idle();
    expect(await next.failedJobs()).toEqual([]);
  });

  it("survives a Redis restart: enqueue fails clearly while it is down, and work resumes when it is back", async () => {
    const port = await freePort();
    const startRedis = async () => {
      const server = spawn("redis-server", [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
      ]);
      await new Promise<void>((resolve) =>
        server.stdout.on("data", (d) => String(d).includes("Ready to accept") && resolve()),
      );
      return server;
    };
    let server = await startRedis();
    cleanups.push(async () => void server.kill("SIGKILL"));
    const queue = createBullmqQueue({ url: `redis://127.0.0.1:${port}`, prefix: randomPrefix() });
    cleanups.push(() => queue.close());
    const { calls, handlers } = recorder();
    queue.process(handlers);
    await queue.enqueue("index-file", A);
    await waitFor(async () => calls.length === 1);

    server.kill("SIGKILL");
    await new Promise((r) => server.once("exit", r));
    await expect(queue.enqueue("index-file", B)).rejects.toBeInstanceOf(QueueUnavailableError);
    server = await startRedis(); // empty: this Redis keeps nothing on disk
    await waitFor(
      async () =>
        queue.enqueue("index-file", B).then(
          () => true,
          () => false,
        ),
      15_000,
      200,
    );
    await waitFor(async () => calls.length === 2, 30_000);
    expect(calls[1]).toEqual(B);
  });

  it("enqueue to a Redis that is not there fails quickly with a message naming it", async () => {
    const queue = createBullmqQueue({ url: "redis://127.0.0.1:1" });
    const t0 = Date.now();
    const err = await queue.enqueue("index-file", A).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueUnavailableError);
    expect((err as Error).message).toMatch(
      /Cannot enqueue index-file for notes\/a\.md: Redis at redis:\/\/127\.0\.0\.1:1\/? is unavailable \(.*ECONNREFUSED/,
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    await expect(queue.depth()).rejects.toBeInstanceOf(QueueUnavailableError);
    const t1 = Date.now();
    await queue.close();
    expect(Date.now() - t1).toBeLessThan(2_000);
  });
});
