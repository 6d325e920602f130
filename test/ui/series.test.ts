import { describe, expect, it } from "vitest";
import { bestCurves, downsampleSeries, graphUtilitySeries, jfkSeries, modelUtilitySeries, type Series } from "../../components/data/series";
import { NAMES, recordedSteps } from "./fixtures";

describe("graphUtilitySeries", () => {
  it("has one row per init and role-step", () => {
    const { rows } = graphUtilitySeries(recordedSteps());

    expect(rows.map((r) => r.label)).toEqual(["init", "1 role"]);
  });

  it("keys each particle's utility and the bests", () => {
    const { rows, lines } = graphUtilitySeries(recordedSteps());

    expect(rows[1]).toMatchObject({ g0: 0.7, g1: 0.65, globalBest: 0.7, bestDev: 0.7 });
    expect(lines.map((l) => l.key)).toEqual(["bestDev", "globalBest", "g0", "g1"]);
  });

  it("leaves a missing best absent instead of zero", () => {
    const steps = recordedSteps();
    steps[0].bestDev = null;
    const { rows } = graphUtilitySeries(steps);

    expect("bestDev" in rows[0]).toBe(false);
  });
});

describe("modelUtilitySeries", () => {
  it("summarises the assignments of init and weight-steps", () => {
    const { rows } = modelUtilitySeries(recordedSteps());

    expect(rows.map((r) => r.label)).toEqual(["init", "1 weight"]);
    expect(rows[1].bestAssignment).toBe(0.75);
    expect(rows[1].meanAssignment).toBeCloseTo(0.715);
  });
});

describe("jfkSeries", () => {
  it("keys each model's score per scoring step", () => {
    const { rows, lines } = jfkSeries(recordedSteps(), NAMES);

    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ m0: 0.6, m1: 0.4, m2: 0.75 });
    expect(lines.map((l) => l.name)).toEqual(NAMES);
  });

  it("lists models whose score was carried over", () => {
    const { carriedOver } = jfkSeries(recordedSteps(), NAMES);

    expect(carriedOver).toEqual([{ model: "law", steps: ["1 weight"] }]);
  });
});

describe("bestCurves", () => {
  it("aligns runs by iteration with each run's last best", () => {
    const { rows, lines } = bestCurves([
      { id: "a", name: "run a", steps: recordedSteps() },
      { id: "b", name: "run b", steps: [{ kind: "init", iteration: 0, bestDev: 0.3 }] },
    ]);

    expect(rows.map((r) => r.iteration)).toEqual([0, 1]);
    expect(rows[0]).toMatchObject({ a: 0.6, b: 0.3 });
    expect(rows[1].a).toBe(0.75);
    expect("b" in rows[1]).toBe(false);
    expect(lines).toEqual([
      { key: "a", name: "run a" },
      { key: "b", name: "run b" },
    ]);
  });
});

describe("downsampleSeries", () => {
  function longSeries(length: number): Series {
    const rows = Array.from({ length }, (_, i) => ({ step: i, label: `${i} role`, iteration: i, bestDev: i / length, g0: i % 2 }));
    return { rows, lines: [{ key: "bestDev", name: "all-time best", combine: "max" }, { key: "g0", name: "graph 0" }] };
  }

  it("leaves a short series as it is", () => {
    const drawn = downsampleSeries(graphUtilitySeries(recordedSteps()), 100);

    expect(drawn.rows).toEqual(graphUtilitySeries(recordedSteps()).rows);
    expect(drawn.buckets).toBeNull();
  });

  it("draws at most maxPoints rows of a long series", () => {
    const drawn = downsampleSeries(longSeries(201), 100);

    expect(drawn.rows).toHaveLength(100);
    expect(drawn.buckets).toHaveLength(100);
  });

  it("draws a running best by its maximum and a particle by its mean", () => {
    const drawn = downsampleSeries(longSeries(4), 2);

    expect(drawn.rows.map((row) => row.bestDev)).toEqual([0.25, 0.75]);
    expect(drawn.rows.map((row) => row.g0)).toEqual([0.5, 0.5]);
  });

  it("marks the graph side's bests as running maxima", () => {
    const { lines } = graphUtilitySeries(recordedSteps());

    expect(lines.filter((line) => line.combine === "max").map((line) => line.key)).toEqual(["bestDev", "globalBest"]);
  });
});
