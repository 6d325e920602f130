import { isFixedMethod } from "./baselines";
import type { SearchConfig } from "./config";
import type { MetricName } from "./types";

// Expected model calls of a run before it starts. The count is the reference algorithm's: one
// call per node per item, with no generation cache, so the backend calls of a real run are at
// most this (greedy decoding and the cache usually make them far fewer).

export interface CallEstimateInput {
  /** n, the number of models in the pool. */
  modelCount: number;
  /** Models whose weights the weight-step may move. Without any, a search has no weight-steps. */
  weightCapableCount: number;
  devItems: number;
  testItems: number;
  metric: MetricName;
  config: Pick<SearchConfig, "method" | "graphs" | "assignments" | "maxIterations" | "devLimit" | "testLimit">;
}

export interface CallEstimate {
  /** Dev and test items evaluated, after devLimit and testLimit. */
  devItems: number;
  testItems: number;
  /** Reference calls of the init step: every graph particle, then M assignments for the JFK-score. */
  initCalls: number;
  /** Reference calls of one iteration (a role-step and a weight-step, as the method has them). */
  callsPerIteration: number;
  /** Iterations assumed: maxIterations, because patience and budgets can only stop a run earlier. */
  iterations: number;
  /** Reference calls of the final step: the best system on test, each model alone on dev and test. */
  finalCalls: number;
  /** initCalls + iterations · callsPerIteration + finalCalls, an upper bound on the backend calls. */
  totalCalls: number;
}

/**
 * Estimates the reference calls of a run. It assumes that every node of a decoded DAG reaches
 * the end node, as G-Decode's in-tree guarantees. With sparsifyTau some nodes may not run, so the
 * count is then an upper bound too.
 */
export function estimateCalls(input: CallEstimateInput): CallEstimate {
  const { config, metric } = input;
  const n = input.modelCount;
  if (!Number.isInteger(n) || n < 1) throw new Error(`modelCount must be a positive integer, but got ${n}`);
  const dev = limitItems(input.devItems, config.devLimit);
  const test = limitItems(input.testItems, config.testLimit);

  // Each model alone on dev (best-single selection) and on test (collaborative gain), then
  // the chosen best single model once more on test with its original weights.
  const singlesCalls = n * dev * callsPerItem(metric, 1) + (n + 1) * test * callsPerItem(metric, 1);

  let initCalls: number;
  let callsPerIteration: number;
  let iterations: number;
  let finalSystemNodes: number;

  if (isFixedMethod(config.method)) {
    finalSystemNodes = config.method === "best-single" ? 1 : n;
    initCalls = n * dev * callsPerItem(metric, 1) + dev * callsPerItem(metric, finalSystemNodes);
    callsPerIteration = 0;
    iterations = 0;
  } else {
    finalSystemNodes = n;
    const perSystem = dev * callsPerItem(metric, n);
    initCalls = (config.graphs + config.assignments) * perSystem;
    if (config.method === "weight-only") {
      callsPerIteration = config.assignments * perSystem;
    } else {
      const weightSteps = config.method !== "role-only" && input.weightCapableCount > 0;
      callsPerIteration = config.graphs * perSystem + (weightSteps ? config.assignments * perSystem : 0);
    }
    iterations = config.maxIterations;
  }

  const finalCalls = test * callsPerItem(metric, finalSystemNodes) + singlesCalls;
  return {
    devItems: dev,
    testItems: test,
    initCalls,
    callsPerIteration,
    iterations,
    finalCalls,
    totalCalls: initCalls + iterations * callsPerIteration + finalCalls,
  };
}

/**
 * Returns the model calls that evaluate one item with a system of `nodes` nodes. The abstain
 * metric runs the system a second time to verify its output, and the judge metric adds one judge call.
 */
export function callsPerItem(metric: MetricName, nodes: number): number {
  switch (metric) {
    case "abstain":
      return 2 * nodes;
    case "judge":
      return nodes + 1;
    default:
      return nodes;
  }
}

function limitItems(count: number, limit: number | null): number {
  return limit === null ? count : Math.min(count, limit);
}
