import { createServer, connect, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { nextTurn } from "../pipelines/turns.js";

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // CPU-bound work, as a request's re-ranking or reading is
  }
};

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** Ten CPU-bound steps woken at once (as one embedding batch wakes ten answers); a client connects during the third. */
async function acceptedAmong(steps: (i: number) => Promise<void>) {
  server = createServer((s) => {
    order.push("accepted");
    s.destroy();
  });
  const order: string[] = [];
  await new Promise<void>((ok) => server!.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      await steps(i);
      busy(5);
      if (i === 2) {
        connect(port, "127.0.0.1").on("error", () => {});
      }
      order.push(`step ${i}`);
    }),
  );
  // Whatever was not accepted during the steps is accepted once they are done.
  while (!order.includes("accepted")) {
    await new Promise((r) => setTimeout(r, 5));
  }
  return order;
}

describe("main-thread turns", () => {
  it("let a new connection in between CPU-bound steps, which without them all run first", async () => {
    const withTurns = await acceptedAmong(() => nextTurn());
    // Accepted within a step or two of connecting, long before the tenth step.
    expect(withTurns.indexOf("accepted")).toBeLessThan(withTurns.indexOf("step 6"));
    const without = await acceptedAmong(async () => {});
    expect(without.indexOf("accepted")).toBe(10);
  });

  it("are taken first come, first served", async () => {
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        await nextTurn();
        order.push(i);
      }),
    );
    expect(order).toEqual([0, 1, 2, 3]);
  });
});
