import { describe, expect, it } from "vitest";
import { buildRunDashboard, keepUnchangedParts, MAX_LINE_POINTS, MAX_ROLE_BARS, readResult } from "../../components/data/run-dashboard";
import type { StepView } from "../../components/data/types";
import { NAMES, recordedSteps } from "./fixtures";

const storedResult = {
  task: "demo",
  models: NAMES,
  best: { dev: 0.75, test: 0.7, kind: "dag", edges: [[0, 2], [1, 2]], end: 2, assignment: ["math", "math", "verifier"], roles: ["source", "source", "end"], coefficients: [], foundAtStep: 2 },
  bestSingle: { model: "verifier", dev: 0.62, test: 0.6 },
  singles: [
    { model: "math", dev: 0.55, test: 0.5 },
    { model: "law", dev: 0.4, test: 0.45 },
    { model: "verifier", dev: 0.62, test: 0.6 },
  ],
  calls: { backend: 120, reference: 400, cacheHits: 280, promptTokens: 0, completionTokens: 0 },
  cGain: 0.12,
  buckets: [
    { k: 0, items: 2, solved: 1, accuracy: 0.5, expected: 0 },
    { k: 1, items: 0, solved: 0, accuracy: null, expected: 1 / 3 },
  ],
  jfk: [0.6, 0.4, 0.75],
  roleCounts: [{ source: 5 }, { relay: 2, unused: 1 }, { end: 4 }],
  iterations: 1,
  stopReason: "max iterations: 1",
};

describe("readResult", () => {
  it("reads the final utilities and the best single model", () => {
    const result = readResult(storedResult);

    expect(result?.bestDev).toBe(0.75);
    expect(result?.bestTest).toBe(0.7);
    expect(result?.bestSingle).toEqual({ model: "verifier", dev: 0.62, test: 0.6 });
    expect(result?.calls).toEqual({ backend: 120, reference: 400, cacheHits: 280 });
  });

  it("keeps an empty bucket's accuracy null", () => {
    expect(readResult(storedResult)?.buckets[1].accuracy).toBeNull();
  });

  it("is null without a result", () => {
    expect(readResult(null)).toBeNull();
    expect(readResult({})).toBeNull();
  });
});

describe("buildRunDashboard", () => {
  it("draws roles from the result once there is one", () => {
    const dashboard = buildRunDashboard(recordedSteps(), NAMES, readResult(storedResult));

    expect(dashboard.rolesPerModel[0].source).toBe(5);
    expect(dashboard.rolesPerModel[1].unused).toBe(1);
    expect(dashboard.cGainBars).toHaveLength(2);
  });

  it("counts roles from the steps while running", () => {
    const dashboard = buildRunDashboard(recordedSteps(), NAMES, null);

    expect(dashboard.rolesPerModel[0].source).toBe(4);
    expect(dashboard.cGainBars).toEqual([]);
  });

  it("has one best system and label per step", () => {
    const dashboard = buildRunDashboard(recordedSteps(), NAMES, null);

    expect(dashboard.bests).toHaveLength(4);
    expect(dashboard.stepLabels).toEqual(["init", "1 role", "1 weight", "final"]);
  });

  it("shows the best system's and the latest step's coefficients", () => {
    const dashboard = buildRunDashboard(recordedSteps(), NAMES, null);

    expect(dashboard.currentCoefficients?.rows[0].cells.map((c) => c.value)).toEqual([0.8, -0.3, 0]);
    expect(dashboard.bestCoefficients?.rows[0].cells.map((c) => c.value)).toEqual([0.8, -0.3, 0]);
    expect(dashboard.currentCoefficients?.fixedModels).toEqual(["verifier"]);
  });

  it("follows the selected model over the steps", () => {
    const dashboard = buildRunDashboard(recordedSteps(), NAMES, null, 2);

    expect(dashboard.rolesOverSteps.rows[0]).toMatchObject({ end: 2, total: 2 });
  });

  it("names the latest step drawn", () => {
    expect(buildRunDashboard(recordedSteps(), NAMES, null).lastStepIndex).toBe(3);
  });

  it("downsamples the charts of a long run", () => {
    const role = recordedSteps()[1];
    const steps: StepView[] = Array.from({ length: 250 }, (_, i) => ({ ...role, index: i, iteration: i }));
    const dashboard = buildRunDashboard(steps, NAMES, null);

    expect(dashboard.graphSide.rows).toHaveLength(MAX_LINE_POINTS);
    expect(dashboard.graphSide.buckets).not.toBeNull();
    expect(dashboard.rolesOverSteps.rows).toHaveLength(MAX_ROLE_BARS);
    expect(dashboard.bests).toHaveLength(250);
  });

  it("is empty before the first step", () => {
    const dashboard = buildRunDashboard([], NAMES, null);

    expect(dashboard.lastStepIndex).toBeNull();
    expect(dashboard.graphSide.rows).toEqual([]);
    expect(dashboard.bestCoefficients).toBeNull();
    expect(dashboard.currentCoefficients).toBeNull();
  });
});

describe("keepUnchangedParts", () => {
  it("keeps the graph side when a weight-step arrives", () => {
    const steps = recordedSteps();
    const before = buildRunDashboard(steps.slice(0, 2), NAMES, null);
    const after = keepUnchangedParts(before, buildRunDashboard(steps.slice(0, 3), NAMES, null));

    expect(after.graphSide).toBe(before.graphSide);
    expect(after.rolesOverSteps).toBe(before.rolesOverSteps);
  });

  it("replaces the parts the new step changed", () => {
    const steps = recordedSteps();
    const before = buildRunDashboard(steps.slice(0, 2), NAMES, null);
    const after = keepUnchangedParts(before, buildRunDashboard(steps.slice(0, 3), NAMES, null));

    expect(after.modelSide).not.toBe(before.modelSide);
    expect(after.modelSide.rows).toHaveLength(2);
    expect(after.lastStepIndex).toBe(2);
  });

  it("returns the new dashboard without a previous one", () => {
    const next = buildRunDashboard(recordedSteps(), NAMES, null);

    expect(keepUnchangedParts(null, next)).toBe(next);
  });
});
