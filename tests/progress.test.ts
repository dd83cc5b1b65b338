import { describe, expect, it } from "vitest";
import { createProgress, showDrain } from "../services/common/progress.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";

/** A writable that records what is written, posing as a terminal or a pipe. */
function fakeStream(tty: boolean, columns = 80) {
  const writes: string[] = [];
  const stream = { isTTY: tty, columns, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe("createProgress", () => {
  it("redraws one line on a TTY with count, percent, rate and ETA", () => {
    const { stream, writes } = fakeStream(true);
    let t = 0;
    const progress = createProgress({ label: "scan", total: 10, stream, now: () => t });
    t = 1000;
    progress.tick(2, "a.md");
    expect(writes).toHaveLength(1);
    // Carriage return and erase-line, no newline: the next draw overwrites this one.
    expect(writes[0]).toBe("\r\x1b[2Kscan  2/10 (20%)  2.0/s  ETA 4s  a.md");
    t = 1050;
    progress.tick(); // within the redraw gap: counted, not drawn
    expect(writes).toHaveLength(1);
    t = 2000;
    progress.tick(1);
    expect(writes[1]).toBe("\r\x1b[2Kscan  4/10 (40%)  2.0/s  ETA 3s  a.md");
    progress.done("4 files");
    expect(writes[2]).toBe("\r\x1b[2Kscan  4 files in 2s\n");
    progress.tick();
    progress.done();
    expect(writes).toHaveLength(3);
  });

  it("clips the TTY line to the terminal width so it never wraps", () => {
    const { stream, writes } = fakeStream(true, 21);
    const progress = createProgress({ label: "reindex", total: 1000, stream, now: () => 500 });
    progress.tick(1, "a-very-long-note-that-would-wrap.md");
    expect(writes[0]).toBe(`\r\x1b[2K${"reindex  1/1000 (0%)  2.0/s".slice(0, 20)}`);
  });

  it("prints plain lines at most once per interval elsewhere, and always at done()", () => {
    const { stream, writes } = fakeStream(false);
    let t = 0;
    const progress = createProgress({ label: "ingest", stream, intervalMs: 5000, now: () => t });
    for (let i = 1; i <= 100; i++) {
      t = i * 100; // 10 ticks a second for 10 s
      progress.tick();
    }
    // First tick at 0.1 s, then 5.1 s: two lines, each ending in a newline, no escape codes.
    expect(writes).toEqual(["ingest  1  10/s\n", "ingest  51  10/s\n"]);
    progress.done();
    expect(writes[2]).toBe("ingest  100 done in 10s\n");
  });

  it("shows 100% for an empty total and a long ETA in minutes", () => {
    const { stream, writes } = fakeStream(false);
    let t = 0;
    createProgress({ label: "none", total: 0, stream, now: () => t }).tick(0);
    expect(writes[0]).toBe("none  0/0 (100%)  0.0/s\n");
    const slow = createProgress({ label: "slow", total: 1000, stream, now: () => t });
    t = 10_000;
    slow.tick(10);
    expect(writes[1]).toBe("slow  10/1000 (1%)  1.0/s  ETA 16m30s\n");
  });
});

describe("showDrain", () => {
  it("ticks as a real queue's backlog drains and ends when it is empty", async () => {
    const queue = createInProcessQueue();
    for (let i = 0; i < 30; i++) {
      await queue.enqueue("index-file", { sourceId: "src_drain", path: `f${i}.md` });
    }
    const { stream, writes } = fakeStream(false);
    queue.process({
      "index-file": () => new Promise((r) => setTimeout(r, 2)),
      "remove-file": async () => {},
    });
    await showDrain(queue, { label: "catch-up", stream, pollMs: 5 });
    expect((await queue.depth()).waiting).toBe(0);
    expect(writes[0]).toMatch(/^catch-up {2}\d+\/30 \(\d+%\)/);
    expect(writes.at(-1)).toMatch(/^catch-up {2}30 jobs done in \d+s\n$/);
    await queue.close();
  });
});
