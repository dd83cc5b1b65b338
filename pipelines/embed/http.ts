/** Retry policy for calls to a remote model API. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
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

/** 429 and 5xx are worth retrying; other 4xx mean the request itself is wrong. */
export const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * POSTs JSON with a per-attempt timeout, retrying network errors, timeouts, 429 and 5xx with
 * exponential backoff and jitter (or the server's Retry-After when it gives one).
 */
export async function postJson<T>(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  policy: RetryPolicy,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(policy.timeoutMs),
      });
      if (res.ok) return (await res.json()) as T;
      const text = (await res.text().catch(() => "")).slice(0, 300);
      const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
      throw new HttpStatusError(res.status, `${url} answered ${res.status}: ${text}`, retryAfter);
    } catch (err) {
      lastError = err;
      const retryable = err instanceof HttpStatusError ? isRetryableStatus(err.status) : true;
      if (!retryable || attempt === policy.attempts) break;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const wait = err instanceof HttpStatusError && err.retryAfterMs !== null ? err.retryAfterMs : backoff * (0.5 + Math.random() / 2);
      await sleep(Math.min(wait, policy.maxDelayMs));
    }
  }
  if (lastError instanceof Error && lastError.name === "TimeoutError") {
    throw new Error(`${url} did not answer within ${policy.timeoutMs} ms`, { cause: lastError });
  }
  throw lastError;
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
