// Concurrency limits of model endpoints: at most `limit` requests in flight per endpoint, shared
// by every model and every backend of the process that calls that endpoint.

/** Counting semaphore with first-in, first-out waiters. */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private maxActive: number) {
    checkLimit(maxActive);
  }

  get limit(): number {
    return this.maxActive;
  }

  /** Requests holding a permit. */
  get inFlight(): number {
    return this.active;
  }

  /** Requests waiting for a permit. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Changes the limit. A higher limit admits waiters at once; a lower one takes effect as permits are released. */
  setLimit(limit: number): void {
    checkLimit(limit);
    this.maxActive = limit;
    this.admit();
  }

  /** Waits for a permit and returns the function that releases it; calling that function twice releases once. */
  async acquire(): Promise<() => void> {
    if (this.active < this.maxActive && this.waiters.length === 0) {
      this.active += 1;
    } else {
      // release() hands the permit over by incrementing `active` before waking the waiter.
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }

    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      this.admit();
    };
  }

  /** Runs `task` while holding a permit. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }

  private admit(): void {
    while (this.active < this.maxActive && this.waiters.length > 0) {
      this.active += 1;
      (this.waiters.shift() as () => void)();
    }
  }
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`a concurrency limit must be an integer of at least 1, but got ${limit}`);
}

/** One semaphore per endpoint URL. */
export class EndpointLimiters {
  private readonly semaphores = new Map<string, Semaphore>();

  /**
   * Returns the semaphore of `endpoint`, created with `limit` or set to it.
   * NOTE: when two pools give one endpoint different limits, the pool built last sets the
   * limit for both, because the permits of one server are shared.
   */
  forEndpoint(endpoint: string, limit: number): Semaphore {
    const existing = this.semaphores.get(endpoint);
    if (existing === undefined) {
      const created = new Semaphore(limit);
      this.semaphores.set(endpoint, created);
      return created;
    }
    if (existing.limit !== limit) existing.setLimit(limit);
    return existing;
  }

  /** Returns the semaphore of an endpoint, if one was created. */
  get(endpoint: string): Semaphore | undefined {
    return this.semaphores.get(endpoint);
  }
}

/** The limiters of this process, shared by every backend that is not given its own. */
export const processEndpointLimiters = new EndpointLimiters();
