import type { SearchConfig } from "./config";
import type { CollaborativeGainBucket } from "./analysis";
import type { PoolInfo, SearchState } from "./search";
import type { MetricName } from "./types";

/**
 * The result of a finished run, as written by `--json`. It has no timings, so the same seed
 * with a deterministic backend writes byte-identical files.
 */
export interface SearchResult {
  task: string;
  metric: MetricName;
  method: SearchConfig["method"];
  models: string[];
  best: {
    dev: number;
    test: number;
    kind: "dag" | "vote";
    /** Edges between positions, [from, to]. */
    edges: [number, number][];
    end: number;
    /** Order in which G-Decode placed the positions; it orders the previous responses in a prompt. */
    placement: number[];
    /** Model name at each position. */
    assignment: string[];
    roles: string[];
    /** Weight coefficients of each pool model in the best system (null: fixed weights). */
    coefficients: (number[] | null)[];
    foundAtStep: number;
  };
  bestSingle: { model: string; dev: number; test: number };
  singles: { model: string; dev: number; test: number }[];
  calls: { backend: number; reference: number; cacheHits: number; promptTokens: number; completionTokens: number };
  cGain: number;
  buckets: CollaborativeGainBucket[];
  /** Latest JFK-score of each pool model, in pool order. */
  jfk: number[];
  roleCounts: Record<string, number>[];
  iterations: number;
  stopReason: string | null;
  config: SearchConfig;
}

export function buildResult(state: SearchState, pool: PoolInfo, task: { name: string; metric: MetricName }): SearchResult {
  const final = state.result;
  if (state.next !== "done" || final === null) {
    throw new Error("the search has not finished; run its remaining steps before building the result");
  }
  const names = pool.names;
  const spec = final.best.spec;

  return {
    task: task.name,
    metric: task.metric,
    method: state.config.method,
    models: names,
    best: {
      dev: final.best.dev,
      test: final.best.test,
      kind: spec.kind,
      edges: spec.dag.edges,
      end: spec.dag.end,
      placement: spec.dag.placement,
      assignment: spec.assignment.map((model) => names[model]),
      roles: final.bestRoles,
      coefficients: spec.coefficients,
      foundAtStep: final.best.step,
    },
    bestSingle: { model: names[final.bestSingle.model], dev: final.bestSingle.dev, test: final.bestSingle.test },
    singles: names.map((model, i) => ({ model, dev: final.singles.dev[i], test: final.singles.test[i] })),
    calls: {
      backend: state.usage.backendCalls,
      reference: state.referenceCalls,
      cacheHits: state.usage.cacheHits,
      promptTokens: state.usage.promptTokens,
      completionTokens: state.usage.completionTokens,
    },
    cGain: final.cGain,
    buckets: final.buckets,
    jfk: state.jfk,
    roleCounts: final.roleCounts,
    iterations: state.iteration,
    stopReason: state.stopReason,
    config: state.config,
  };
}
