// Browser-side shapes of what a run records. They are structural copies of the server's records
// (the step record of a search, the final search result), reduced to the fields the pages draw,
// so the chart and layout functions depend on no server module.

export type StepKind = "init" | "role" | "weight" | "final";

export type StructuralRole = "source" | "relay" | "aggregator" | "end" | "unused";

/** A decoded DAG over positions 0..n-1. Edge [from, to] feeds the output of `from` to `to`. */
export interface DagShape {
  n: number;
  edges: [number, number][];
  end: number;
}

export interface GraphOutcome {
  dag: DagShape;
  utility: number;
}

export interface AssignmentOutcome {
  /** Model index at each position of the iteration's best graph. */
  assignment: number[];
  utility: number;
}

/** The best system found so far, as of one step. */
export interface BestSystemShape {
  /** "vote": the majority-vote baseline, whose positions answer alone (no edges). */
  kind: "dag" | "vote";
  dag: DagShape;
  /** Model index at each position. */
  assignment: number[];
  dev: number;
  /** Flattened n×n adjacency of the graph particle the DAG was decoded from, when known. */
  adjacency: number[] | null;
  /** Weight coefficients of every pool model in this system; null for fixed weights. */
  coefficients: (number[] | null)[];
  /** Index of the step that found this system. */
  step: number;
}

/** One step of a run, as the run page draws it. */
export interface StepView {
  index: number;
  kind: StepKind;
  iteration: number;
  /** Graph particles evaluated in this step (init and role-steps), in particle order. */
  graphs: GraphOutcome[] | null;
  /** Flattened n×n adjacency of each graph particle after this step. */
  graphPositions: number[][] | null;
  /** Best graph utility so far (the graph swarm's global best); null before the first graph. */
  graphGlobalBest: number | null;
  /** JFK-score of each pool model after this step (init and weight-steps). */
  jfk: number[] | null;
  /** Whether the step's assignment draw reached each model; an undrawn model keeps its previous score. */
  jfkDrawn: boolean[] | null;
  assignments: AssignmentOutcome[] | null;
  /** Weight coefficients of every pool model after this step; null for fixed weights. */
  coefficients: (number[] | null)[];
  /** All-time best dev utility after this step; null before any system was evaluated. */
  bestDev: number | null;
  best: BestSystemShape | null;
}

export interface CollaborativeGainBucketShape {
  k: number;
  items: number;
  solved: number;
  accuracy: number | null;
  expected: number;
}

export type RoleCountsShape = Partial<Record<StructuralRole, number>>;
