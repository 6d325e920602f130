import type { GenerationRequest, GenerationResult } from "../core/types";

/** A source of completions for the models of one pool. */
export interface Backend {
  /**
   * Identity of a pool model for cache keys: backend kind, endpoint and model name, so that two
   * models that would answer alike share cache entries and two that would not never do.
   */
  modelIdentity(model: number): string;
  generate(request: GenerationRequest): Promise<GenerationResult>;
}
