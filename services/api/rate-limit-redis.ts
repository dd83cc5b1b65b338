import { Redis as RedisClient, type Redis } from "ioredis";
import type { Logger } from "../common/log.js";
import { createRateLimiter, type RateLimiter } from "./rate-limit.js";

/**
 * The token bucket of rate-limit.ts, kept in Redis so every API process takes from one bucket per
 * key: N processes behind a balancer then allow the rate once, not N times. One script call per
 * request, atomic in Redis; the clock is Redis' own (TIME), so the processes' clocks do not matter.
 * Returns [1, 0] when a token was taken, else [0, milliseconds until one is back].
 */
const TAKE = `
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local cap = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or cap
local at = tonumber(b[2]) or t
tokens = math.min(cap, tokens + math.max(0, t - at) * perMs)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(t))
-- A bucket refills completely in a minute; after that it carries no state worth keeping.
redis.call('PEXPIRE', KEYS[1], 61000)
if ok == 1 then return {1, 0} end
return {0, math.ceil((1 - tokens) / perMs)}
`;

export interface RedisRateLimiterOptions {
  /** Key prefix, e.g. `<QUEUE_PREFIX>:ratelimit:keys`; each caller's bucket is `<prefix>:<caller>`. */
  prefix: string;
  log: Logger;
}

/**
 * `perMinute` tokens of burst per caller, refilled continuously, shared by every process using the
 * same Redis and prefix. While Redis cannot be reached the process limits on its own (in memory)
 * rather than refusing every request or letting all through: a Redis restart must not take the API down.
 */
export function createRedisRateLimiter(redis: Redis, perMinute: number, opts: RedisRateLimiterOptions): RateLimiter {
  const local = createRateLimiter(perMinute);
  let warned = 0;
  return {
    async take(key) {
      try {
        const [ok, waitMs] = (await redis.eval(
          TAKE,
          1,
          `${opts.prefix}:${key}`,
          String(perMinute),
          String(perMinute / 60_000),
        )) as [number, number];
        return ok === 1 ? { ok: true } : { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
      } catch (err) {
        if (Date.now() - warned > 60_000) {
          warned = Date.now();
          opts.log.warn("shared rate limit unavailable (Redis); limiting in this process meanwhile", { err });
        }
        return local.take(key);
      }
    },
  };
}

/**
 * With REDIS_URL: the limiter factory for createApp (`ApiDeps.sharedRateLimiter`) on one Redis
 * connection, and its close. Without it, undefined: each process limits in memory.
 */
export function sharedRateLimits(config: { REDIS_URL?: string | undefined; QUEUE_PREFIX: string }, log: Logger) {
  if (!config.REDIS_URL) {
    return undefined;
  }
  // Fail fast while Redis is away (no offline queue): a request must not wait for a reconnect.
  const redis = new RedisClient(config.REDIS_URL, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 5_000,
  });
  // ioredis reconnects by itself; without a listener an error event would crash the process.
  redis.on("error", () => {});
  return {
    create: (perMinute: number, name: "keys" | "ips") =>
      createRedisRateLimiter(redis, perMinute, { prefix: `${config.QUEUE_PREFIX}:ratelimit:${name}`, log }),
    close: async () => void (await redis.quit().catch(() => redis.disconnect())),
  };
}
