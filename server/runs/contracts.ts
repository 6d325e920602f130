import { z } from "zod";

// Names and payloads shared by the web server, which enqueues and listens, and the worker,
// which runs searches and notifies. Both sides import them from here only.

/** pg-boss queue of runs to execute. */
export const RUN_QUEUE = "hswarm-run";

export const runJobSchema = z.object({ runId: z.string().min(1) });
export type RunJob = z.infer<typeof runJobSchema>;

/** PostgreSQL NOTIFY channel on which the worker announces every persisted change of a run. */
export const RUN_EVENTS_CHANNEL = "hswarm_run_events";

export const runNotificationSchema = z.object({
  runId: z.string(),
  /** Index of the step just persisted, or null for a status change without a step. */
  stepIndex: z.number().int().nullable(),
  status: z.enum(["queued", "running", "paused", "cancelled", "completed", "failed"]),
});
export type RunNotification = z.infer<typeof runNotificationSchema>;

/**
 * Options of RUN_QUEUE, given to pg-boss `createQueue` by every process that creates it (the
 * first creation wins, so all must agree).
 * - policy "short": at most one waiting job per singletonKey (the run id), so that repeated
 *   sends of one run collapse into one job while another job of that run is active.
 * - expireInSeconds: a worker keeps its job active for the whole run, so the expiry is pg-boss's
 *   maximum (just under 24 hours). A dead worker's job stays active until then, so recovery
 *   does not wait for it: workers re-enqueue runs whose lease on the run row has expired.
 */
export const RUN_QUEUE_OPTIONS = {
  policy: "short",
  expireInSeconds: 23 * 60 * 60,
  retryLimit: 3,
  retryDelay: 5,
  retryBackoff: true,
} as const;

/** One graph particle of a step, as stored in RunStep.graphs (an array of these). */
export interface RunStepGraph {
  /** The particle's continuous adjacency matrix after the step, flattened n×n row by row. */
  position: number[] | null;
  dag: { n: number; edges: [number, number][]; end: number; placement: number[] };
  /** Dev utility of the decoded DAG with the identity assignment. */
  utility: number;
}

/** RunStep.models: the weight-step's view of the pool after a step. */
export interface RunStepModels {
  /** JFK-score per pool model (null: the step drew no assignments). */
  jfk: number[] | null;
  /** Per pool model, whether the step's assignments reached it. */
  jfkDrawn: boolean[] | null;
  /** Weight coefficients per pool model (null entries: fixed weights). */
  coefficients: (number[] | null)[];
  /** Assignments drawn in the step (position → model index) and their dev utilities. */
  assignments: { assignment: number[]; utility: number }[] | null;
}

/** RunStep.best: the best system found up to and including the step. */
export interface RunStepBest {
  dev: number;
  kind: "dag" | "vote";
  edges: [number, number][];
  end: number;
  /** Model index at each position. */
  assignment: number[];
  coefficients: (number[] | null)[];
  /** Index of the step that found it. */
  foundAtStep: number;
}
