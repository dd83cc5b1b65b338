import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { AppEnv, RateLimiter, Taken } from "./context.js";

// The limiter types live with the context (which holds a shared limiter factory); re-exported here.
export type { RateLimiter, Taken } from "./context.js";
import { errorResponse } from "./errors.js";

/** Requests a key may make per minute when authentication is on and RATE_LIMIT_PER_MINUTE is unset. */
export const DEFAULT_KEY_RATE_PER_MINUTE = 600;

/** A limiter of this process alone: answers at once. */
export interface LocalRateLimiter extends RateLimiter {
  take(key: string): Taken;
}

/**
 * Token buckets, one per caller: `perMinute` tokens of burst, refilled continuously at
 * `perMinute` a minute. In memory, so each API process limits on its own (N processes behind a
 * balancer allow up to N times the rate); with REDIS_URL the API shares one (rate-limit-redis.ts).
 */
export function createRateLimiter(
  perMinute: number,
  opts: { now?: () => number; maxBuckets?: number } = {},
): LocalRateLimiter {
  const now = opts.now ?? (() => Date.now());
  const maxBuckets = opts.maxBuckets ?? 10_000;
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const t = now();
      let b = buckets.get(key);
      if (b) {
        b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * perMs);
      } else {
        // Full buckets carry no state worth keeping; dropping them bounds memory under a flood of callers.
        if (buckets.size >= maxBuckets) {
          for (const [k, v] of buckets) {
            if (v.tokens + (t - v.at) * perMs >= perMinute) {
              buckets.delete(k);
            }
          }
        }
        b = { tokens: perMinute, at: t };
        buckets.set(key, b);
      }
      b.at = t;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)) };
    },
  };
}

/** The TCP peer's address (X-Forwarded-For is not trusted: any client can write it). */
export const clientIp = (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // app.request() in tests has no socket
  }
};

/**
 * 429 `rate_limited` with Retry-After once a caller's bucket is empty. A key is its own caller;
 * with authentication off the client IP is (only when RATE_LIMIT_PER_MINUTE is set: the
 * embedded default serves one user). Public routes (health, readiness, OpenAPI) are not counted.
 */
export function rateLimit(opts: {
  perMinute: number | undefined;
  keyed?: RateLimiter;
  open?: RateLimiter;
  /** Builds the limiters (a shared one through Redis: rate-limit-redis.ts); in memory when unset. */
  create?: ((perMinute: number, name: "keys" | "ips") => RateLimiter) | undefined;
}): MiddlewareHandler<AppEnv> {
  const keyRate = opts.perMinute ?? DEFAULT_KEY_RATE_PER_MINUTE;
  const create = opts.create ?? ((n: number) => createRateLimiter(n));
  const keyed = opts.keyed ?? (keyRate > 0 ? create(keyRate, "keys") : undefined);
  const open = opts.open ?? (opts.perMinute ? create(opts.perMinute, "ips") : undefined);
  return async (c, next) => {
    const p = c.var.principal;
    const limiter = p?.keyId ? keyed : open;
    if (!p || !limiter || /^\/(healthz|readyz|openapi\.json)\/?$/.test(c.req.path)) {
      return next();
    }
    const taken = await limiter.take(p.keyId ?? `ip:${clientIp(c)}`);
    if (taken.ok) {
      return next();
    }
    c.header("Retry-After", String(taken.retryAfterSeconds));
    return errorResponse(c, "rate_limited", `Too many requests; retry in ${taken.retryAfterSeconds} s.`);
  };
}
