import { describe, expect, it } from "vitest";
import { Semaphore } from "../../server/llm/limiter";
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelayMs, RetriesFailedError, withRetries, type RetryPolicy } from "../../server/llm/retry";

// The retry policy and the per-endpoint semaphore behind the openai backend, without a server.

function headers(values: Record<string, string>) {
  return new Headers(values);
}

describe("Retry-After parsing", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it("reads delay-seconds", () => {
    expect(parseRetryAfter(headers({ "retry-after": "2" }), now)).toBe(2000);
  });

  it("reads fractional seconds", () => {
    expect(parseRetryAfter(headers({ "retry-after": "0.25" }), now)).toBe(250);
  });

  it("reads an HTTP-date", () => {
    expect(parseRetryAfter(headers({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }), now)).toBe(3000);
  });

  it("reads a past HTTP-date as no wait", () => {
    expect(parseRetryAfter(headers({ "retry-after": "Tue, 31 Dec 2024 23:59:00 GMT" }), now)).toBe(0);
  });

  it("prefers retry-after-ms", () => {
    expect(parseRetryAfter(headers({ "retry-after-ms": "150", "retry-after": "9" }), now)).toBe(150);
  });

  it("ignores invalid values", () => {
    expect(parseRetryAfter(headers({ "retry-after": "soon" }), now)).toBeNull();
    expect(parseRetryAfter(headers({ "retry-after": "-1" }), now)).toBeNull();
    expect(parseRetryAfter(headers({}), now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe("retry delay", () => {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };

  it("draws uniformly below a cap that doubles per attempt", () => {
    expect(retryDelayMs(1, policy, 0.5, null)).toBe(50);
    expect(retryDelayMs(2, policy, 0.5, null)).toBe(100);
    expect(retryDelayMs(3, policy, 0.5, null)).toBe(200);
  });

  it("never exceeds maxDelayMs", () => {
    expect(retryDelayMs(20, policy, 0.999, null)).toBeLessThan(1000);
  });

  it("waits at least the Retry-After", () => {
    expect(retryDelayMs(1, policy, 0, 700)).toBe(700);
    expect(retryDelayMs(5, policy, 0.99, 10)).toBe(990);
  });
});

describe("withRetries", () => {
  const noWait = { random: () => 0, sleep: async () => {} };
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 3 };

  it("retries retryable failures until one succeeds", async () => {
    let calls = 0;
    const retries: number[] = [];
    const value = await withRetries(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error("transient");
        return "done";
      },
      () => ({ retryable: true, retryAfterMs: null }),
      policy,
      { ...noWait, onRetry: ({ attempt }) => retries.push(attempt) },
    );

    expect(value).toBe("done");
    expect(retries).toEqual([1, 2]);
  });

  it("stops at the first fatal failure", async () => {
    let calls = 0;
    const failure = withRetries(
      async () => {
        calls += 1;
        throw new Error("bad request");
      },
      () => ({ retryable: false, retryAfterMs: null }),
      policy,
      noWait,
    );

    await expect(failure).rejects.toMatchObject({ reason: "fatal", attempts: 1, retryable: false });
    expect(calls).toBe(1);
  });

  it("reports exhausted attempts as retryable", async () => {
    const failure = withRetries(
      async () => {
        throw new Error("down");
      },
      () => ({ retryable: true, retryAfterMs: null }),
      policy,
      noWait,
    );

    await expect(failure).rejects.toBeInstanceOf(RetriesFailedError);
    await expect(failure).rejects.toMatchObject({ reason: "exhausted", attempts: 3, retryable: true });
  });

  it("sleeps the computed delays", async () => {
    const slept: number[] = [];
    let calls = 0;
    await withRetries(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error("rate limited");
        return null;
      },
      () => ({ retryable: true, retryAfterMs: 250 }),
      policy,
      { random: () => 0, sleep: async (ms) => void slept.push(ms) },
    );

    expect(slept).toEqual([250, 250]);
  });
});

describe("Semaphore", () => {
  it("admits waiters in arrival order", async () => {
    const semaphore = new Semaphore(1);
    const order: string[] = [];
    const releaseFirst = await semaphore.acquire();

    const second = semaphore.acquire().then((release) => {
      order.push("second");
      release();
    });
    const third = semaphore.acquire().then((release) => {
      order.push("third");
      release();
    });
    expect(semaphore.waiting).toBe(2);
    releaseFirst();
    await Promise.all([second, third]);

    expect(order).toEqual(["second", "third"]);
    expect(semaphore.inFlight).toBe(0);
  });

  it("releases once however often release is called", async () => {
    const semaphore = new Semaphore(2);
    const release = await semaphore.acquire();
    await semaphore.acquire();

    release();
    release();

    expect(semaphore.inFlight).toBe(1);
  });

  it("admits waiters when the limit rises", async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const waiting = semaphore.acquire();

    semaphore.setLimit(2);
    await waiting;

    expect(semaphore.inFlight).toBe(2);
  });

  it("rejects a limit below 1", () => {
    expect(() => new Semaphore(0)).toThrow("at least 1");
  });
});
