import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedThreadPool, type EmbedThreadPool } from "../pipelines/embed/thread-pool.js";
import type { Embedder } from "../pipelines/embed/types.js";
import { createUseLiteEmbedder } from "../pipelines/embed/use-lite.js";

const TEXTS = [
  "A barn owl hunts by sound in complete darkness.",
  "",
  "   ",
  "Ownership is Rust's most unique feature, and it enables memory safety without a garbage collector.",
  "Vitamin D supplementation did not reduce the incidence of cancer in older adults. ".repeat(12),
  "ß, é, 漢字 and emoji 🦉 go through the same SentencePiece vocabulary.",
  "short",
  "Each of these nine texts lands in a batch of four, so three batches spread over the threads.",
  "The last one.",
];

let inThread: Embedder;
let threaded: Embedder;
beforeAll(async () => {
  [inThread, threaded] = await Promise.all([
    createUseLiteEmbedder({ threads: 0 }),
    createUseLiteEmbedder({ threads: 2 }),
  ]);
});
afterAll(async () => {
  await inThread?.close();
  await threaded?.close();
});

function expectSameVectors(a: number[][], b: number[][]) {
  expect(a).toHaveLength(b.length);
  a.forEach((row, i) => {
    expect(row).toHaveLength(b[i]!.length);
    const worst = Math.max(...row.map((x, j) => Math.abs(x - b[i]![j]!)));
    expect(worst, `text ${i}`).toBeLessThanOrEqual(1e-6);
  });
}

describe("USE-Lite in worker threads", () => {
  it("has the same identity and token counts as the in-thread model", () => {
    expect(threaded.identity).toEqual(inThread.identity);
    expect(threaded.maxInputTokens).toBe(inThread.maxInputTokens);
    for (const t of TEXTS) {
      expect(threaded.countTokens(t)).toBe(inThread.countTokens(t));
    }
  });

  it("computes the same vectors, in input order, with concurrent calls", async () => {
    const expected = await inThread.embed(TEXTS);
    const [all, reversed, single] = await Promise.all([
      threaded.embed(TEXTS),
      threaded.embed([...TEXTS].reverse()),
      threaded.embed([TEXTS[0]!]),
    ]);
    expectSameVectors(all, expected);
    expectSameVectors(reversed, [...expected].reverse());
    expectSameVectors(single, [expected[0]!]);
    expect(await threaded.embed([])).toEqual([]);
  });

  it("refuses work after close with a clear error", async () => {
    const e = await createUseLiteEmbedder({ threads: 1 });
    await e.close();
    await expect(e.embed(["after close"])).rejects.toThrow(/use-lite embedder is closed/);
  });
});

describe("embed thread pool", () => {
  let pool: EmbedThreadPool;
  beforeAll(async () => {
    pool = await createEmbedThreadPool({
      size: 1,
      script: new URL("./fixtures/crashing-use-lite-thread.mjs", import.meta.url),
      name: "use-lite",
    });
  });
  afterAll(() => pool?.close());

  it("fails the batches a crashed thread held, restarts the thread, and runs the queued batch on it", async () => {
    const expected = await inThread.embed(["after the crash", "still the same model"]);
    const crashed = pool.run(["__crash__"]);
    // The thread holds two batches (the one it embeds and the next): both are lost with it.
    const alongside = pool.run(["sent with the crash"]);
    // Still waiting in the pool: it must wait for the replacement thread, not fail with it.
    const queued = pool.run(["after the crash", "still the same model"]);
    await expect(crashed).rejects.toThrow(
      /use-lite thread 0 crashed while embedding 1 texts \(exited with code 3\); it is restarted/,
    );
    await expect(alongside).rejects.toThrow(/use-lite thread 0 crashed/);
    expectSameVectors(await queued, expected);
  });

  it("runs a `front` batch (a question) before the batches already waiting", async () => {
    const finished: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => void finished.push(name));
    // The first two are in the thread's hands at once; the other two wait in the pool.
    const chunks = [0, 1, 2, 3].map((i) => track(`chunk${i}`, pool.run([`chunk ${i} of a long document`])));
    const question = track("question", pool.run(["what do barn owls eat?"], { front: true }));
    await Promise.all([...chunks, question]);
    expect(finished).toEqual(["chunk0", "chunk1", "question", "chunk2", "chunk3"]);
  });

  it("merges front batches waiting together into one pass (at most 8 texts), in arrival order, before background work", async () => {
    // A stand-in thread that answers each message after 20 ms with rows holding the message's text count.
    const echo = new URL(
      `data:text/javascript,${encodeURIComponent(`
        import { parentPort } from "node:worker_threads";
        parentPort.postMessage({ type: "ready" });
        parentPort.on("message", (msg) => {
          const vectors = new Float32Array(msg.texts.length).fill(msg.texts.length);
          setTimeout(() => parentPort.postMessage({ id: msg.id, vectors, dimensions: 1 }), 20);
        });`)}`,
    );
    const counting = await createEmbedThreadPool({ size: 1, script: echo, name: "echo" });
    try {
      const finished: string[] = [];
      const track = (name: string, p: Promise<number[][]>) =>
        p.then((rows) => {
          finished.push(name);
          return rows.map((r) => r[0]);
        });
      // Two ingestion batches fill the thread's hands; everything below waits in the pool.
      const ingest = [0, 1].map((i) => track(`chunk${i}`, counting.run([`chunk ${i}`, "more"])));
      const metrics = track("metrics", counting.run(["a metric's sentence"], { background: true }));
      const later = track("chunk2", counting.run(["chunk 2"]));
      const questions = ["q1", "q2", "q3"].map((q) => track(q, counting.run([q], { front: true })));
      const big = track("q4", counting.run(["1", "2", "3", "4", "5", "6"], { front: true }));
      const results = await Promise.all([...ingest, metrics, later, ...questions, big]);
      expect(finished).toEqual(["chunk0", "chunk1", "q1", "q2", "q3", "q4", "chunk2", "metrics"]);
      // q1-q3 shared one pass of 3 texts; q4's 6 texts would have made 9, so it had its own.
      expect(results.slice(4, 7)).toEqual([[3], [3], [3]]);
      expect(results[7]).toEqual([6, 6, 6, 6, 6, 6]);
      expect(results[0]).toEqual([2, 2]);
    } finally {
      await counting.close();
    }
  });

  it("reports a thread that cannot load the model at start-up", async () => {
    const broken = new URL("data:text/javascript,throw new Error('no model here')");
    await expect(createEmbedThreadPool({ size: 1, script: broken, name: "use-lite" })).rejects.toThrow(
      /use-lite thread 0 stopped while loading the model: no model here/,
    );
  });
});
