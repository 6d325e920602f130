import { cGainBars, type CGainBar } from "./cgain";
import { coefficientHeatmap, type CoefficientHeatmap } from "./coefficients";
import { downsampleRows, keepIfEqual, type Combine, type Downsampled } from "./downsample";
import { ROLE_ORDER, roleBarsOverSteps, roleBarsPerModel, roleCountsFromSteps, type RoleRow, type StepRoleRow } from "./roles";
import { downsampleSeries, graphUtilitySeries, jfkSeries, modelUtilitySeries, type DrawnSeries, type JfkSeries } from "./series";
import { bestSystemsByStep, stepLabel } from "./steps";
import type { BestSystemShape, CollaborativeGainBucketShape, RoleCountsShape, StepView } from "./types";

// Everything the run page draws, computed from the steps so far and, once the run completed,
// its result. Components receive these values ready to render.

/** The fields of a completed run's result that the run page shows. */
export interface ResultView {
  bestDev: number;
  bestTest: number;
  bestSingle: { model: string; dev: number; test: number };
  singles: { model: string; dev: number; test: number }[];
  cGain: number;
  buckets: CollaborativeGainBucketShape[];
  roleCounts: RoleCountsShape[];
  /** Best system's roles per position. */
  roles: string[];
  calls: { backend: number; reference: number; cacheHits: number };
  iterations: number;
  stopReason: string | null;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function num(value: unknown, fallback = Number.NaN): number {
  return typeof value === "number" ? value : fallback;
}

function readRoleCounts(value: unknown): RoleCountsShape[] {
  if (!Array.isArray(value)) return [];
  return value.map((counts) => (isObject(counts) ? (counts as RoleCountsShape) : {}));
}

/** Reads the stored result of a run (the search result JSON); null when absent or malformed. */
export function readResult(value: unknown): ResultView | null {
  if (!isObject(value) || !isObject(value.best)) return null;
  const best = value.best;
  const single = isObject(value.bestSingle) ? value.bestSingle : {};
  const calls = isObject(value.calls) ? value.calls : {};

  return {
    bestDev: num(best.dev),
    bestTest: num(best.test),
    bestSingle: { model: String(single.model ?? ""), dev: num(single.dev), test: num(single.test) },
    singles: Array.isArray(value.singles)
      ? value.singles.filter(isObject).map((s) => ({ model: String(s.model ?? ""), dev: num(s.dev), test: num(s.test) }))
      : [],
    cGain: num(value.cGain),
    buckets: Array.isArray(value.buckets)
      ? value.buckets.filter(isObject).map((b) => ({
          k: num(b.k, 0),
          items: num(b.items, 0),
          solved: num(b.solved, 0),
          accuracy: typeof b.accuracy === "number" ? b.accuracy : null,
          expected: num(b.expected, 0),
        }))
      : [],
    roleCounts: readRoleCounts(value.roleCounts),
    roles: Array.isArray(best.roles) ? best.roles.map(String) : [],
    calls: { backend: num(calls.backend, 0), reference: num(calls.reference, 0), cacheHits: num(calls.cacheHits, 0) },
    iterations: num(value.iterations, 0),
    stopReason: typeof value.stopReason === "string" ? value.stopReason : null,
  };
}

/** Most points of a line chart over steps; longer runs are downsampled to this many. */
export const MAX_LINE_POINTS = 100;
/** Most bars of the roles-over-iterations chart. */
export const MAX_ROLE_BARS = 40;

const ROLE_COMBINE: Record<string, Combine> = Object.fromEntries([...ROLE_ORDER, "total"].map((key) => [key, "mean"]));

export interface RunDashboard {
  /** Index of the latest step drawn, or null before the first step. */
  lastStepIndex: number | null;
  graphSide: DrawnSeries;
  modelSide: DrawnSeries;
  jfk: DrawnSeries<JfkSeries>;
  /** Best system after each step, for the replay slider. */
  bests: (BestSystemShape | null)[];
  stepLabels: string[];
  /** Coefficients of the all-time best system. */
  bestCoefficients: CoefficientHeatmap | null;
  /** Coefficients of the model particles after the latest step. */
  currentCoefficients: CoefficientHeatmap | null;
  rolesPerModel: RoleRow[];
  /** Roles per step, or per-step means over consecutive steps for a long run. */
  rolesOverSteps: Downsampled<StepRoleRow>;
  cGainBars: CGainBar[];
}

/**
 * Builds the run page's chart data. `roleModel` selects the model whose roles the
 * over-iterations chart shows (null: all positions).
 */
export function buildRunDashboard(steps: readonly StepView[], names: readonly string[], result: ResultView | null, roleModel: number | null = null): RunDashboard {
  const bests = bestSystemsByStep(steps);
  const latestBest = bests.length > 0 ? bests[bests.length - 1] : null;
  const latestStep = steps.length > 0 ? steps[steps.length - 1] : null;

  const roleCounts = result && result.roleCounts.length > 0 ? result.roleCounts : roleCountsFromSteps(steps, names.length);

  return {
    lastStepIndex: latestStep?.index ?? null,
    graphSide: downsampleSeries(graphUtilitySeries(steps), MAX_LINE_POINTS),
    modelSide: downsampleSeries(modelUtilitySeries(steps), MAX_LINE_POINTS),
    jfk: downsampleSeries(jfkSeries(steps, names), MAX_LINE_POINTS),
    bests,
    stepLabels: steps.map(stepLabel),
    bestCoefficients: latestBest && latestBest.coefficients.length > 0 ? coefficientHeatmap(latestBest.coefficients, names) : null,
    currentCoefficients: latestStep && latestStep.coefficients.length > 0 ? coefficientHeatmap(latestStep.coefficients, names) : null,
    rolesPerModel: roleBarsPerModel(roleCounts, names),
    rolesOverSteps: downsampleRows(roleBarsOverSteps(steps, roleModel), ROLE_COMBINE, MAX_ROLE_BARS),
    cGainBars: result ? cGainBars(result.buckets) : [],
  };
}

/**
 * Returns `next` with every part that equals the same part of `previous` replaced by the
 * previous object. A step changes only some charts (a weight-step leaves the graph side as it
 * was), so the memoized charts whose data kept its identity are not drawn again.
 */
export function keepUnchangedParts(previous: RunDashboard | null, next: RunDashboard): RunDashboard {
  if (previous === null) return next;
  const reused = { ...next };
  for (const key of Object.keys(next) as (keyof RunDashboard)[]) {
    (reused as Record<keyof RunDashboard, unknown>)[key] = keepIfEqual(previous[key], next[key]);
  }
  return reused;
}
