import { describe, expect, it } from "vitest";
import { METHODS, resolveConfig, type Method } from "../../server/core/config";
import { callsPerItem, estimateCalls } from "../../server/core/estimate";
import { runSearch } from "../../server/core/search";
import type { MetricName } from "../../server/core/types";
import { createJudge } from "../../server/engine";
import { createHarness, syntheticTask } from "../helpers/engine";

// Small enough to run every method. Patience is above maxIterations, so every run goes the full length.
const small = { graphs: 3, assignments: 2, maxIterations: 2, patience: 50, concurrency: 4 };

async function referenceCallsOf(method: Method, metric: MetricName, limits: { devLimit?: number; testLimit?: number } = {}) {
  const task = syntheticTask(8, 6);
  const config = { ...small, ...limits, method };
  const harness = createHarness(task, "complementary", config, metric);
  if (metric === "judge") {
    harness.context.evaluation.judge = createJudge(harness.cache, 4, { temperature: 0, maxTokens: 64, topP: 1 });
  }
  const final = await runSearch(harness.initial, harness.context);
  const estimate = estimateCalls({
    modelCount: harness.pool.info.names.length,
    weightCapableCount: harness.pool.info.weightCapable.filter(Boolean).length,
    devItems: task.dev.length,
    testItems: task.test.length,
    metric,
    config: resolveConfig(config),
  });
  return { actual: final.referenceCalls, estimate };
}

describe("estimateCalls", () => {
  it.each(METHODS.map((method) => [method]))("matches a full %s run's reference calls", async (method) => {
    const { actual, estimate } = await referenceCallsOf(method, "multiple_choice");

    expect(estimate.totalCalls).toBe(actual);
  });

  it.each([["abstain"], ["judge"]] as const)("counts the extra calls of the %s metric", async (metric) => {
    const { actual, estimate } = await referenceCallsOf("heterogeneous-swarms", metric);

    expect(estimate.totalCalls).toBe(actual);
  });

  it("applies devLimit and testLimit", async () => {
    const { actual, estimate } = await referenceCallsOf("heterogeneous-swarms", "multiple_choice", { devLimit: 3, testLimit: 2 });

    expect(estimate.devItems).toBe(3);
    expect(estimate.testItems).toBe(2);
    expect(estimate.totalCalls).toBe(actual);
  });

  it("pins the default configuration on a pool of 6", () => {
    const estimate = estimateCalls({
      modelCount: 6,
      weightCapableCount: 6,
      devItems: 100,
      testItems: 200,
      metric: "multiple_choice",
      config: resolveConfig({}),
    });

    // init (10 graphs + 10 assignments) · 100 items · 6 nodes, then 20 iterations of the same, then
    // final: 200 · 6 for the best system, 6 · 100 + 7 · 200 for the models alone.
    expect(estimate.initCalls).toBe(12_000);
    expect(estimate.callsPerIteration).toBe(12_000);
    expect(estimate.iterations).toBe(20);
    expect(estimate.finalCalls).toBe(1_200 + 600 + 1_400);
    expect(estimate.totalCalls).toBe(12_000 * 21 + 3_200);
  });

  it("drops weight-steps when no model is weight-capable", () => {
    const estimate = estimateCalls({
      modelCount: 4,
      weightCapableCount: 0,
      devItems: 10,
      testItems: 10,
      metric: "exact_match",
      config: resolveConfig({ graphs: 5, assignments: 3 }),
    });

    expect(estimate.callsPerIteration).toBe(5 * 10 * 4);
  });

  it("rejects an empty pool", () => {
    expect(() =>
      estimateCalls({ modelCount: 0, weightCapableCount: 0, devItems: 1, testItems: 1, metric: "exact_match", config: resolveConfig({}) }),
    ).toThrow(/modelCount must be a positive integer, but got 0/);
  });
});

describe("callsPerItem", () => {
  it("doubles the system for abstain", () => {
    expect(callsPerItem("abstain", 3)).toBe(6);
  });

  it("adds one judge call", () => {
    expect(callsPerItem("judge", 3)).toBe(4);
  });

  it("is the node count for the other metrics", () => {
    expect(callsPerItem("exact_match", 3)).toBe(3);
  });
});
