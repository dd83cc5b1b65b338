import type { Context } from "hono";
import { ApiError } from "./errors.js";

/**
 * How many answers may be in the making at once when MAX_ANSWERS_IN_FLIGHT is unset. Latency at the
 * bound is about bound / throughput. Closed-loop clients that are refused come back after
 * Retry-After, so a bound below the number of clients sheds about (clients - bound) requests a
 * second: with 16, 50 clients on 2 cores had 60% of their requests shed (bench:load, issue 14).
 * 64 admits 50 clients whole; at the ~25-30 answers/s two quiet cores give them, the 50th waits
 * about 2 s, and a larger crowd is refused at once rather than queued toward 30 s timeouts.
 */
export const DEFAULT_MAX_ANSWERS_IN_FLIGHT = 64;

/**
 * A bound on answers in flight. Beyond it a request is refused at once (503 `overloaded` with
 * Retry-After) instead of queueing: measured before this existed (issue 14), 50 clients on 2 cores
 * waited 24 s for the median answer and 12% timed out at 30 s.
 */
export interface Admission {
  /** A slot, or null when full; `release` is idempotent. */
  enter(): { release(): void } | null;
  readonly inFlight: number;
  readonly limit: number;
}

export function createAdmission(limit: number): Admission {
  let inFlight = 0;
  return {
    enter() {
      if (inFlight >= limit) {
        return null;
      }
      inFlight++;
      let held = true;
      return {
        release() {
          if (!held) {
            return;
          }
          held = false;
          inFlight--;
        },
      };
    },
    get inFlight() {
      return inFlight;
    },
    limit,
  };
}

/** Takes a slot for this request's answer, or throws 503 `overloaded` with Retry-After. */
export function admitAnswer(c: Context, admission: Admission | undefined, onShed?: () => void): { release(): void } {
  if (!admission) {
    return { release() {} };
  }
  const slot = admission.enter();
  if (slot) {
    return slot;
  }
  onShed?.();
  c.header("Retry-After", "1");
  throw new ApiError("overloaded", `The service is answering ${admission.limit} questions already; retry in a second.`);
}
