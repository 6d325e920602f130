import { describe, expect, it } from "vitest";
import { bestSystemsByStep, displayIteration, stepLabel } from "../../components/data/steps";
import type { BestSystemShape } from "../../components/data/types";
import { CHAIN, FAN_IN, recordedSteps } from "./fixtures";

describe("stepLabel", () => {
  it("counts iterations from one", () => {
    expect(stepLabel({ kind: "role", iteration: 0 })).toBe("1 role");
    expect(stepLabel({ kind: "weight", iteration: 2 })).toBe("3 weight");
    expect(displayIteration({ kind: "init", iteration: 0 })).toBe(0);
  });
});

describe("bestSystemsByStep", () => {
  it("starts from the best initial graph", () => {
    const best = bestSystemsByStep(recordedSteps());

    expect(best[0]?.dag).toEqual(CHAIN);
    expect(best[0]?.dev).toBe(0.6);
    expect(best[0]?.assignment).toEqual([0, 1, 2]);
    expect(best[0]?.adjacency?.[1]).toBe(0.7);
  });

  it("replaces the best only on a strictly higher utility", () => {
    const steps = recordedSteps();
    steps[0].assignments = [{ assignment: [2, 2, 0], utility: 0.6 }];
    const best = bestSystemsByStep(steps);

    expect(best[0]?.assignment).toEqual([0, 1, 2]);
  });

  it("takes a better role-step graph with its adjacency", () => {
    const best = bestSystemsByStep(recordedSteps());

    expect(best[1]?.dag).toEqual(FAN_IN);
    expect(best[1]?.step).toBe(1);
    expect(best[1]?.adjacency?.[2]).toBe(1.4);
  });

  it("runs a better assignment on the latest best graph", () => {
    const best = bestSystemsByStep(recordedSteps());

    expect(best[2]?.dag).toEqual(FAN_IN);
    expect(best[2]?.assignment).toEqual([0, 0, 2]);
    expect(best[2]?.dev).toBe(0.75);
  });

  it("carries the best through steps that find nothing better", () => {
    const best = bestSystemsByStep(recordedSteps());

    expect(best[3]).toBe(best[2]);
  });

  it("prefers the best system a step records", () => {
    const steps = recordedSteps();
    const recorded: BestSystemShape = { kind: "dag", dag: CHAIN, assignment: [1, 1, 1], coefficients: [], dev: 0.9, adjacency: null, step: 1 };
    steps[1].best = recorded;
    const best = bestSystemsByStep(steps);

    expect(best[1]).toBe(recorded);
    expect(best[2]).toBe(recorded);
  });

  it("is null before any step", () => {
    expect(bestSystemsByStep([])).toEqual([]);
  });
});
