import { downsampleRows, type Combine, type StepBucket } from "./downsample";
import { displayIteration, stepLabel } from "./steps";
import type { StepView } from "./types";

// Line-chart rows for recharts: one row per step, one numeric key per line. A key is absent
// (not null) where a line has no value, so recharts leaves a gap instead of drawing zero.

export type SeriesRow = { step: number; label: string; iteration: number } & Record<string, number | string>;

export interface SeriesLine {
  key: string;
  name: string;
  /** Rule by which downsampling combines the line's values: the mean (default), or the maximum for a running best. */
  combine?: Combine;
}

export interface Series {
  rows: SeriesRow[];
  lines: SeriesLine[];
}

/** A series as drawn: its rows, downsampled when there are many, and the buckets behind them. */
export type DrawnSeries<S extends Series = Series> = S & {
  /** Rows combined into each drawn row, by the row's "bucket" value; null when every row is drawn. */
  buckets: StepBucket[] | null;
};

/**
 * Combines the rows of `series` into at most `maxPoints` rows, each line by its `combine` rule.
 * A series with no more rows is returned with buckets null.
 */
export function downsampleSeries<S extends Series>(series: S, maxPoints: number): DrawnSeries<S> {
  const combine = Object.fromEntries(series.lines.map((line) => [line.key, line.combine ?? "mean"]));
  const { rows, buckets } = downsampleRows(series.rows, combine, maxPoints);
  return { ...series, rows, buckets };
}

function baseRow(step: StepView): SeriesRow {
  return { step: step.index, label: stepLabel(step), iteration: displayIteration(step) };
}

/**
 * Graph side of the search: per init and role-step, the utility of each graph particle
 * (`g0`, `g1`, …), the graph swarm's global best (`globalBest`) and the all-time best system
 * (`bestDev`), which includes systems found by the weight-step.
 */
export function graphUtilitySeries(steps: readonly StepView[]): Series {
  const rows: SeriesRow[] = [];
  let particles = 0;

  for (const step of steps) {
    if (!step.graphs || step.graphs.length === 0) continue;
    const row = baseRow(step);
    step.graphs.forEach((graph, i) => {
      row[`g${i}`] = graph.utility;
    });
    if (step.graphGlobalBest !== null) row.globalBest = step.graphGlobalBest;
    if (step.bestDev !== null) row.bestDev = step.bestDev;
    particles = Math.max(particles, step.graphs.length);
    rows.push(row);
  }

  const lines: SeriesLine[] = [
    { key: "bestDev", name: "all-time best", combine: "max" },
    { key: "globalBest", name: "graph global best", combine: "max" },
  ];
  for (let i = 0; i < particles; i++) lines.push({ key: `g${i}`, name: `graph ${i}` });
  return { rows, lines };
}

/**
 * Model side of the search: per init and weight-step, the best and the mean utility of the M
 * assignments drawn for the JFK-score, and the all-time best system.
 */
export function modelUtilitySeries(steps: readonly StepView[]): Series {
  const rows: SeriesRow[] = [];

  for (const step of steps) {
    if (!step.assignments || step.assignments.length === 0) continue;
    const utilities = step.assignments.map((a) => a.utility);
    const row = baseRow(step);
    row.bestAssignment = Math.max(...utilities);
    row.meanAssignment = utilities.reduce((sum, u) => sum + u, 0) / utilities.length;
    if (step.bestDev !== null) row.bestDev = step.bestDev;
    rows.push(row);
  }

  return {
    rows,
    lines: [
      { key: "bestDev", name: "all-time best", combine: "max" },
      { key: "bestAssignment", name: "best assignment" },
      { key: "meanAssignment", name: "mean assignment" },
    ],
  };
}

export interface JfkSeries extends Series {
  /** Per model, the labels of the steps whose draw did not reach it, so its score was carried over. */
  carriedOver: { model: string; steps: string[] }[];
}

/** JFK-score of each model (`m0`, `m1`, …) per init and weight-step. */
export function jfkSeries(steps: readonly StepView[], names: readonly string[]): JfkSeries {
  const rows: SeriesRow[] = [];
  const carried: string[][] = names.map(() => []);

  for (const step of steps) {
    if (!step.jfk) continue;
    const row = baseRow(step);
    step.jfk.forEach((score, model) => {
      row[`m${model}`] = score;
      if (step.jfkDrawn && step.jfkDrawn[model] === false && model < carried.length) carried[model].push(row.label);
    });
    rows.push(row);
  }

  return {
    rows,
    lines: names.map((name, model) => ({ key: `m${model}`, name })),
    carriedOver: names.map((model, i) => ({ model, steps: carried[i] })).filter((entry) => entry.steps.length > 0),
  };
}

export interface RunCurve {
  id: string;
  name: string;
  steps: readonly Pick<StepView, "kind" | "iteration" | "bestDev">[];
}

/**
 * Overlays the all-time best dev utility of several runs by iteration: one row per iteration,
 * one key per run id, holding the run's best after the last step of that iteration.
 */
export function bestCurves(runs: readonly RunCurve[]): Series {
  const byIteration = new Map<number, SeriesRow>();

  for (const run of runs) {
    for (const step of run.steps) {
      if (step.bestDev === null || step.kind === "final") continue;
      const iteration = displayIteration(step);
      const row = byIteration.get(iteration) ?? { step: iteration, label: String(iteration), iteration };
      row[run.id] = step.bestDev;
      byIteration.set(iteration, row);
    }
  }

  const rows = [...byIteration.values()].sort((a, b) => a.iteration - b.iteration);
  return { rows, lines: runs.map((run) => ({ key: run.id, name: run.name })) };
}
