import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { Hono } from "hono";
import { createRedisRateLimiter } from "../services/api/rate-limit-redis.js";
import { rateLimit } from "../services/api/rate-limit.js";
import type { AppEnv } from "../services/api/context.js";
import { quietLog } from "./support/core.js";
import { randomPrefix, REDIS_URL } from "./support/bullmq.js";

// The real Redis (.ci/run starts one); each test under a random key prefix.
const clients: Redis[] = [];
// Without an offline queue (as the service connects) a command before the connection is up fails
// over to the in-memory limiter, so the tests wait for it.
const connect = async () => {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  r.on("error", () => {});
  clients.push(r);
  await new Promise((ok) => r.once("ready", ok));
  return r;
};
afterAll(() => {
  for (const c of clients) {
    c.disconnect();
  }
});

/** An API process's middleware stack reduced to the limiter, with a caller that has a key. */
function apiProcess(redis: Redis, prefix: string, perMinute: number) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("principal", { keyId: c.req.header("x-key") ?? null, scopes: new Set(["ask"]), collections: null } as never);
    await next();
  });
  app.use(
    rateLimit({
      perMinute,
      create: (n, name) => createRedisRateLimiter(redis, n, { prefix: `${prefix}:${name}`, log: quietLog }),
    }),
  );
  app.get("/status", (c) => c.text("ok"));
  return app;
}

describe("rate limits shared through Redis", () => {
  it("three API processes enforce one limit per key, not three", async () => {
    const prefix = randomPrefix();
    // Three processes, each with its own Redis connection, as separate API processes have.
    const apps = [
      apiProcess(await connect(), prefix, 5),
      apiProcess(await connect(), prefix, 5),
      apiProcess(await connect(), prefix, 5),
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await apps[i % 3]!.request("/status", { headers: { "x-key": "k1" } })).status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    const refused = await apps[0]!.request("/status", { headers: { "x-key": "k1" } });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as any).error.code).toBe("rate_limited");
    // Another key has its own bucket.
    expect((await apps[1]!.request("/status", { headers: { "x-key": "k2" } })).status).toBe(200);
    await clients[0]!.del(`${prefix}:keys:k1`, `${prefix}:keys:k2`);
  });

  it("the bucket refills at the rate, by Redis' clock", async () => {
    const prefix = randomPrefix();
    const limiter = createRedisRateLimiter(await connect(), 60, { prefix, log: quietLog }); // one a second
    const burst = await Promise.all(Array.from({ length: 60 }, () => limiter.take("k")));
    expect(burst.every((t) => t.ok)).toBe(true);
    expect(await limiter.take("k")).toEqual({ ok: false, retryAfterSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await limiter.take("k")).toEqual({ ok: true });
    // Buckets expire once they would be full again: Redis keeps no state for idle callers.
    expect(await clients.at(-1)!.pttl(`${prefix}:k`)).toBeGreaterThan(0);
    await clients.at(-1)!.del(`${prefix}:k`);
  });

  it("while Redis cannot be reached, the process limits on its own instead of failing requests", async () => {
    const down = new Redis("redis://127.0.0.1:1", {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    down.on("error", () => {});
    clients.push(down);
    const limiter = createRedisRateLimiter(down, 2, { prefix: randomPrefix(), log: quietLog });
    expect(await limiter.take("k")).toEqual({ ok: true });
    expect(await limiter.take("k")).toEqual({ ok: true });
    expect((await limiter.take("k")).ok).toBe(false);
  });
});
