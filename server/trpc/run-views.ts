import type { Run, RunEvent, RunStep } from "../../generated/prisma/client";
import { plannedSteps } from "../core/search";
import type { SearchConfig } from "../core/config";
import type { RunStepBest, RunStepGraph, RunStepModels } from "../runs/contracts";
import { isoDate } from "./views";

// Output shapes of runs, their steps and events.

export interface StepView {
  index: number;
  kind: RunStep["kind"];
  iteration: number;
  /** Graph particles evaluated in this step (init and role-steps), empty for other steps. */
  graphs: RunStepGraph[];
  models: RunStepModels;
  /** The best system found up to this step, or null before the first evaluation. */
  best: RunStepBest | null;
  createdAt: string;
}

export function toStepView(step: RunStep): StepView {
  return {
    index: step.index,
    kind: step.kind,
    iteration: step.iteration,
    graphs: (step.graphs ?? []) as unknown as RunStepGraph[],
    models: step.models as unknown as RunStepModels,
    best: isEmptyObject(step.best) ? null : (step.best as unknown as RunStepBest),
    createdAt: isoDate(step.createdAt),
  };
}

function isEmptyObject(value: unknown): boolean {
  return value === null || (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0);
}

export interface RunProgress {
  iteration: number;
  maxIterations: number | null;
  /** Backend calls made, cache hits excluded. */
  callsDone: number;
  /** The launch-time estimate of reference calls, an upper bound because cache hits cost nothing. */
  callsExpected: number;
  /** callsDone / callsExpected, at most 1, or null before the estimate exists. */
  fraction: number | null;
  cacheHits: number;
  /** cacheHits / (callsDone + cacheHits), or null before the first call. */
  cacheHitRate: number | null;
  tokens: number;
  /**
   * Seconds left if the remaining expected calls take as long as the calls so far. It is an
   * overestimate when the cache serves many of them. Null unless the run is running.
   */
  etaSeconds: number | null;
}

export interface RunStatusView {
  status: Run["status"];
  lastError: string | null;
  progress: RunProgress;
  startedAt: string | null;
  finishedAt: string | null;
}

export function toRunStatusView(run: Run, now: Date = new Date()): RunStatusView {
  return {
    status: run.status,
    lastError: run.lastError,
    progress: progressOf(run, now),
    startedAt: isoDate(run.startedAt),
    finishedAt: isoDate(run.finishedAt),
  };
}

function progressOf(run: Run, now: Date): RunProgress {
  const config = run.config as Partial<SearchConfig> | null;
  const answered = run.callsDone + run.cacheHits;

  let etaSeconds: number | null = null;
  if (run.status === "running" && run.startedAt && run.callsDone > 0 && run.callsExpected > run.callsDone) {
    const elapsedSeconds = (now.getTime() - run.startedAt.getTime()) / 1000;
    etaSeconds = Math.round((elapsedSeconds / run.callsDone) * (run.callsExpected - run.callsDone));
  }

  return {
    iteration: run.iteration,
    maxIterations: typeof config?.maxIterations === "number" ? config.maxIterations : null,
    callsDone: run.callsDone,
    callsExpected: run.callsExpected,
    fraction: run.callsExpected > 0 ? Math.min(1, run.callsDone / run.callsExpected) : null,
    cacheHits: run.cacheHits,
    cacheHitRate: answered > 0 ? run.cacheHits / answered : null,
    tokens: Number(run.tokens),
    etaSeconds,
  };
}

export function toRunSummary(
  run: Run & { task: { id: string; name: string }; pool: { id: string; name: string }; _count: { steps: number } },
) {
  const config = run.config as SearchConfig;
  // A configuration that lacks fields plannedSteps reads (an older version's) gives no count.
  let stepsPlanned: number | null = null;
  try {
    const planned = plannedSteps(config);
    stepsPlanned = Number.isFinite(planned) ? planned : null;
  } catch {
    stepsPlanned = null;
  }

  return {
    id: run.id,
    method: run.method,
    seed: run.seed,
    task: run.task,
    pool: run.pool,
    ...toRunStatusView(run),
    stepsDone: run._count.steps,
    stepsPlanned,
    createdAt: isoDate(run.createdAt),
  };
}

export function toEventView(event: RunEvent) {
  return { id: event.id, at: isoDate(event.at), level: event.level, message: event.message, data: event.data };
}
