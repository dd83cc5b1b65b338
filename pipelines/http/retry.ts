/** Retry policy for calls to a remote model API. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per attempt; for a stream, how long it may stay silent (see `Attempt.touch`). */
  timeoutMs: number;
}

export class HttpStatusError extends Error {
  override name = "HttpStatusError";
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

/** Thrown from an attempt that must not be repeated (a stream that already delivered text). */
export class FinalAttemptError extends Error {
  override name = "FinalAttemptError";
}

/** 429 and 5xx are worth retrying; other 4xx mean the request itself is wrong. */
export const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

export interface Attempt {
  signal: AbortSignal;
  /** Restarts the attempt's timer: a stream that keeps sending is alive however long it runs. */
  touch(): void;
}

export interface RetryOptions {
  /** The caller's own cancellation (a client that went away): stops at once, without retrying. */
  signal?: AbortSignal | undefined;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Kept over p-retry: 9.0.0 needs Node 22 (we support 20.16); 7.1.1 cannot wait for a Retry-After, stops on any
// non-network TypeError, and has no per-attempt timeout a stream can extend (`touch`), which is most of this loop.
/**
 * Runs `run` until it succeeds, with a timeout per attempt, retrying network errors, timeouts,
 * 429 and 5xx with exponential backoff and jitter (or the server's Retry-After when it gives one).
 */
export async function withRetry<T>(
  url: string,
  policy: RetryPolicy,
  run: (attempt: Attempt) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const sleep = opts.sleep ?? defaultSleep;
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    opts.signal?.throwIfAborted();
    const controller = new AbortController();
    const expire = () => controller.abort(new DOMException(`no answer within ${policy.timeoutMs} ms`, "TimeoutError"));
    let timer = setTimeout(expire, policy.timeoutMs);
    const cancel = () => controller.abort(opts.signal?.reason);
    opts.signal?.addEventListener("abort", cancel, { once: true });
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(expire, policy.timeoutMs);
    };
    try {
      return await run({ signal: controller.signal, touch });
    } catch (err) {
      lastError = err;
      if (opts.signal?.aborted || err instanceof FinalAttemptError) {
        break;
      }
      const retryable = err instanceof HttpStatusError ? isRetryableStatus(err.status) : true;
      if (!retryable || attempt === policy.attempts) {
        break;
      }
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const wait =
        err instanceof HttpStatusError && err.retryAfterMs !== null
          ? err.retryAfterMs
          : backoff * (0.5 + Math.random() / 2);
      await sleep(Math.min(wait, policy.maxDelayMs));
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", cancel);
    }
  }
  const timedOut =
    lastError instanceof Error &&
    (lastError.name === "TimeoutError" || (lastError.cause as Error | undefined)?.name === "TimeoutError");
  if (timedOut) {
    throw new Error(`${url} did not answer within ${policy.timeoutMs} ms`, { cause: lastError });
  }
  throw lastError;
}

/** POSTs JSON and throws `HttpStatusError` for a non-2xx answer, with the start of its body. */
export async function postRaw(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<Response> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal,
  });
  if (res.ok) {
    return res;
  }
  const text = (await res.text().catch(() => "")).slice(0, 300);
  throw new HttpStatusError(
    res.status,
    `${url} answered ${res.status}: ${text}`,
    parseRetryAfter(res.headers.get("retry-after")),
  );
}

/** POSTs JSON and parses the JSON answer, retried as `withRetry` does. */
export async function postJson<T>(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  policy: RetryPolicy,
  sleep?: (ms: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<T> {
  return withRetry(url, policy, async (a) => (await (await postRaw(url, body, headers, a.signal)).json()) as T, {
    sleep,
    signal,
  });
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) {
    return null;
  }
  const seconds = Number(value);
  if (Number.isFinite(seconds)) {
    return Math.max(0, seconds * 1000);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
