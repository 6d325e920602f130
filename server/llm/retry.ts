// Retries of backend requests: exponential backoff with full jitter, at least as long as the
// server's Retry-After. The jitter changes only when a retry is sent, never what it returns.

export interface RetryPolicy {
  /** Attempts per request, the first included; 1 disables retries. */
  maxAttempts: number;
  /** Backoff cap before the first retry, in ms; it doubles per retry up to maxDelayMs. */
  baseDelayMs: number;
  /** Largest backoff cap, in ms. */
  maxDelayMs: number;
  /**
   * Longest Retry-After to wait for, in ms. A server that requests a longer wait ends the
   * retries at once with a retryable failure, so that the run pauses instead of blocking.
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 20_000, maxRetryAfterMs: 120_000 };

/** Classification of a failed attempt for retrying. */
export interface FailureClass {
  retryable: boolean;
  /** The server's requested wait in ms (Retry-After), or null. */
  retryAfterMs: number | null;
}

export interface RetryHooks {
  /** Uniform draw in [0, 1) for the jitter. */
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Called before each retry's wait, for logs and counters. */
  onRetry?: (retry: { attempt: number; delayMs: number; error: unknown }) => void;
}

/**
 * Why a request gave up: a fatal error, retries used up, or a Retry-After longer than the
 * policy allows. `cause` is the last attempt's error.
 */
export class RetriesFailedError extends Error {
  constructor(
    readonly reason: "fatal" | "exhausted" | "retry-after-too-long",
    readonly attempts: number,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null,
    cause: unknown,
  ) {
    super(`request failed after ${attempts} attempt(s) (${reason})`, { cause });
    this.name = "RetriesFailedError";
  }
}

/**
 * Calls `attempt(1)`, `attempt(2)`, … until one succeeds, `classify` calls an error fatal, the
 * attempts run out, or the server requests a wait above `policy.maxRetryAfterMs`. Throws
 * RetriesFailedError in the last three cases.
 */
export async function withRetries<T>(attempt: (attemptNumber: number) => Promise<T>, classify: (error: unknown) => FailureClass, policy: RetryPolicy, hooks: RetryHooks): Promise<T> {
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const failure = classify(error);
      if (!failure.retryable) throw new RetriesFailedError("fatal", attemptNumber, false, failure.retryAfterMs, error);
      if (attemptNumber >= policy.maxAttempts) throw new RetriesFailedError("exhausted", attemptNumber, true, failure.retryAfterMs, error);
      if (failure.retryAfterMs !== null && failure.retryAfterMs > policy.maxRetryAfterMs) {
        throw new RetriesFailedError("retry-after-too-long", attemptNumber, true, failure.retryAfterMs, error);
      }

      const delayMs = retryDelayMs(attemptNumber, policy, hooks.random(), failure.retryAfterMs);
      hooks.onRetry?.({ attempt: attemptNumber, delayMs, error });
      await hooks.sleep(delayMs);
    }
  }
}

/**
 * Wait in ms after failed attempt `attemptNumber` (1-based): full jitter, a uniform draw in
 * [0, min(maxDelayMs, baseDelayMs · 2^(attemptNumber − 1))), but never less than the server's
 * Retry-After.
 */
export function retryDelayMs(attemptNumber: number, policy: RetryPolicy, draw: number, retryAfterMs: number | null): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attemptNumber - 1));
  const backoff = Math.floor(draw * cap);
  return retryAfterMs === null ? backoff : Math.max(Math.ceil(retryAfterMs), backoff);
}

/**
 * Reads the requested wait of a response, in ms: `retry-after-ms` (milliseconds, as OpenAI
 * sends), else `retry-after` as delay-seconds or an HTTP-date (RFC 9110, section 10.2.3).
 * Returns null when neither header contains a valid value; a date in the past is 0.
 */
export function parseRetryAfter(headers: { get(name: string): string | null } | null | undefined, nowMs: number): number | null {
  if (!headers) return null;

  const milliseconds = headers.get("retry-after-ms")?.trim();
  if (milliseconds && /^\d+(\.\d+)?$/.test(milliseconds)) return Number(milliseconds);

  const value = headers.get("retry-after")?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;

  // HTTP-dates name the day and month ("Sun, 06 Nov 1994 08:49:37 GMT"); V8's Date.parse
  // would also read "-1" as a date.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
