import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildResult } from "../server/core/result";
import { runSearch, searchStep, type SearchState } from "../server/core/search";
import { createJudge } from "../server/engine";
import { loadDatasetFile } from "../server/tasks/load";
import { createHarness, DATASETS_DIR, HAVE_DATASETS, runToResult, syntheticTask } from "./helpers/engine";

const small = { graphs: 4, assignments: 4, maxIterations: 3, concurrency: 4 };

describe("search reproducibility", () => {
  it("same seed writes identical results", async () => {
    const first = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, seed: 7 }));
    const second = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, seed: 7 }));

    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });

  it("different seed takes a different path", async () => {
    const first = await runSearch(createHarness(syntheticTask(), "complementary", { ...small, seed: 1 }).initial, createHarness(syntheticTask(), "complementary", { ...small, seed: 1 }).context);
    const harness = createHarness(syntheticTask(), "complementary", { ...small, seed: 2 });
    const second = await runSearch(harness.initial, harness.context);

    expect(second.graphSwarm?.particles[0].position).not.toEqual(first.graphSwarm?.particles[0].position);
    expect(second.rng).not.toEqual(first.rng);
  });

  it("state survives a JSON round trip between every step", async () => {
    const uninterrupted = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, seed: 3 }));

    const harness = createHarness(syntheticTask(), "complementary", { ...small, seed: 3 });
    let state: SearchState = harness.initial;
    while (state.next !== "done") {
      const { state: next } = await searchStep(state, harness.context);
      state = JSON.parse(JSON.stringify(next)) as SearchState;
    }
    const resumed = buildResult(state, harness.pool.info, { name: "test", metric: "multiple_choice" });

    expect(JSON.stringify(resumed)).toBe(JSON.stringify(uninterrupted));
  });
});

describe("search resume", () => {
  it("resumes after any step with the uninterrupted result", async () => {
    const config = { ...small, seed: 11 };
    const reference = createHarness(syntheticTask(), "complementary", config);
    const steps: SearchState[] = [reference.initial];
    let state = reference.initial;
    while (state.next !== "done") {
      state = (await searchStep(state, reference.context)).state;
      steps.push(JSON.parse(JSON.stringify(state)) as SearchState);
    }
    const uninterrupted = buildResult(state, reference.pool.info, { name: "test", metric: "multiple_choice" });
    expect(steps.length).toBeGreaterThan(4);

    for (let stop = 1; stop < steps.length - 1; stop++) {
      // A new process: a fresh context whose cache starts empty, as after a crash.
      const fresh = createHarness(syntheticTask(), "complementary", config);
      const final = await runSearch(steps[stop], fresh.context);
      const resumed = buildResult(final, fresh.pool.info, { name: "test", metric: "multiple_choice" });

      const { calls: resumedCalls, ...resumedRest } = resumed;
      const { calls: referenceCalls, ...referenceRest } = uninterrupted;
      expect(JSON.stringify(resumedRest), `resumed after step ${stop}`).toBe(JSON.stringify(referenceRest));
      expect(resumedCalls.reference, `reference calls after step ${stop}`).toBe(referenceCalls.reference);
    }
  });

  it("resume with the same cache repeats no backend call", async () => {
    const config = { ...small, seed: 12 };
    const uninterrupted = await runToResult(createHarness(syntheticTask(), "complementary", config));

    const harness = createHarness(syntheticTask(), "complementary", config);
    let state = harness.initial;
    for (let i = 0; i < 3; i++) state = (await searchStep(state, harness.context)).state;
    const persisted = JSON.parse(JSON.stringify(state)) as SearchState;
    const resumed = createHarness(syntheticTask(), "complementary", config, undefined, harness.cache);
    const final = await runSearch(persisted, resumed.context);
    const result = buildResult(final, resumed.pool.info, { name: "test", metric: "multiple_choice" });

    expect(JSON.stringify(result)).toBe(JSON.stringify(uninterrupted));
  });
});

describe("search stop rules", () => {
  it("stops at max iterations", async () => {
    const result = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, maxIterations: 2, patience: 50 }));

    expect(result.iterations).toBe(2);
    expect(result.stopReason).toContain("max iterations");
  });

  it("stops when patience runs out", async () => {
    const result = await runToResult(createHarness(syntheticTask(), "homogeneous", { ...small, maxIterations: 40, patience: 1 }));

    expect(result.iterations).toBeLessThan(40);
    expect(result.stopReason).toContain("patience");
  });

  it("stops when the call budget is spent", async () => {
    const result = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, maxIterations: 40, patience: 50, budgetCalls: 300 }));

    expect(result.stopReason).toContain("budget");
    expect(result.iterations).toBeLessThan(40);
  });

  it("zero iterations still reports the initial best", async () => {
    const result = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, maxIterations: 0 }));

    expect(result.iterations).toBe(0);
    expect(result.best.dev).toBeGreaterThan(0);
  });
});

describe("search methods", () => {
  const methods = ["best-single", "majority-vote", "chain", "star", "complete", "random", "role-only", "weight-only"] as const;

  for (const method of methods) {
    it(`${method} writes the result shape`, async () => {
      const result = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, method }));

      expect(result.method).toBe(method);
      expect(result.best.dev).toBeGreaterThanOrEqual(0);
      expect(result.best.test).toBeGreaterThanOrEqual(0);
      expect(result.best.assignment.length).toBeGreaterThan(0);
      expect(result.jfk).toHaveLength(6);
      expect(result.bestSingle.model).toMatch(/expert|verifier|weak/);
      expect(result.calls.reference).toBeGreaterThan(0);
    });
  }

  it("best-single equals the best single model", async () => {
    const result = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, method: "best-single" }));

    expect(result.best.assignment).toEqual([result.bestSingle.model]);
    expect(result.best.dev).toBe(result.bestSingle.dev);
    expect(result.best.test).toBe(result.bestSingle.test);
  });

  it("role-only never moves the weights", async () => {
    const result = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, method: "role-only" }));

    result.best.coefficients.forEach((c, model) => {
      expect(c).toEqual(Array.from({ length: 6 }, (_, k) => (k === model ? 1 : 0)));
    });
  });

  it("weight-only moves the weights", async () => {
    const harness = createHarness(syntheticTask(), "complementary", { ...small, method: "weight-only" });
    const final = await runSearch(harness.initial, harness.context);

    const moved = final.modelSwarms[0].particles.some((p, k) => p.position.some((c, i) => c !== (i === k ? 1 : 0)));
    expect(moved).toBe(true);
  });
});

describe.skipIf(!HAVE_DATASETS)("search on the paper's datasets", () => {
  for (const file of ["mmlu_pro.json", "nlgraph.json"]) {
    it(`beats the best single model on ${file}`, async () => {
      const dataset = loadDatasetFile(path.join(DATASETS_DIR, file));
      const result = await runToResult(createHarness(dataset, "complementary", { seed: 1 }));

      expect(result.best.test).toBeGreaterThan(result.bestSingle.test);
      expect(result.best.dev).toBeGreaterThan(result.bestSingle.dev);
      expect(result.cGain).toBeGreaterThan(0);
    });
  }
});

describe("search with second-pass metrics", () => {
  it("abstain scores effective reliability", async () => {
    const result = await runToResult(createHarness(syntheticTask(), "complementary", { ...small, maxIterations: 1 }, "abstain"));

    expect(result.metric).toBe("abstain");
    expect(result.best.dev).toBeGreaterThanOrEqual(-1);
    expect(result.best.dev).toBeLessThanOrEqual(1);
    expect(result.singles.some((single) => single.dev < 0)).toBe(true);
  });

  it("judge rates answers with a pool model", async () => {
    const harness = createHarness(syntheticTask(), "complementary", { ...small, maxIterations: 1 }, "judge");
    harness.context.evaluation.judge = createJudge(harness.cache, 4, { temperature: 0, maxTokens: 64, topP: 1 });
    const result = await runToResult(harness);

    expect(result.metric).toBe("judge");
    expect(result.best.dev).toBeGreaterThan(result.bestSingle.dev);
    expect(result.best.dev).toBeLessThanOrEqual(1);
  });

  it("judge metric without a judge fails clearly", async () => {
    await expect(runToResult(createHarness(syntheticTask(), "complementary", small, "judge"))).rejects.toThrow(/needs a judge model/);
  });
});
