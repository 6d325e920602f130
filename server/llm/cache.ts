import { createHash } from "node:crypto";
import type { Generate, GenerationRequest, GenerationResult, Usage } from "../core/types";
import type { Backend } from "./backend";

/** Persistent storage behind the in-memory cache (the database, for paid backends). */
export interface CacheStore {
  get(key: string): Promise<GenerationResult | undefined>;
  set(key: string, result: GenerationResult): Promise<void>;
}

/**
 * Generation cache in front of a backend. With greedy decoding a (model, weights, prompt,
 * settings) tuple always yields the same text, so identical sub-DAGs across particles, source
 * nodes across iterations and repeated JFK assignments cost one backend call each. Requests
 * that arrive while an identical one is in flight wait for it instead of calling again, so
 * the call count does not depend on scheduling.
 */
export class GenerationCache {
  private readonly memory = new Map<string, GenerationResult>();
  private readonly inFlight = new Map<string, Promise<GenerationResult>>();
  private readonly counters: Usage = { backendCalls: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0 };

  constructor(
    private readonly backend: Backend,
    private readonly store?: CacheStore,
  ) {}

  readonly generate: Generate = (request) => {
    const key = this.keyOf(request);

    const cached = this.memory.get(key);
    if (cached !== undefined) {
      this.counters.cacheHits += 1;
      return Promise.resolve(cached);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) {
      this.counters.cacheHits += 1;
      return pending;
    }

    const call = this.fetch(key, request).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, call);
    return call;
  };

  usage(): Usage {
    return { ...this.counters };
  }

  /** Number of distinct results held in memory. */
  get size(): number {
    return this.memory.size;
  }

  keyOf(request: GenerationRequest): string {
    const identity = this.backend.modelIdentity(request.model);
    const material = JSON.stringify([identity, request.coefficients, request.settings, request.prompt]);
    return createHash("sha256").update(material).digest("base64url").slice(0, 24);
  }

  private async fetch(key: string, request: GenerationRequest): Promise<GenerationResult> {
    const stored = this.store ? await this.store.get(key) : undefined;
    if (stored !== undefined) {
      this.counters.cacheHits += 1;
      this.memory.set(key, stored);
      return stored;
    }

    const result = await this.backend.generate(request);
    this.counters.backendCalls += 1;
    this.counters.promptTokens += result.promptTokens ?? 0;
    this.counters.completionTokens += result.completionTokens ?? 0;
    this.memory.set(key, result);
    if (this.store) await this.store.set(key, result);
    return result;
  }
}
