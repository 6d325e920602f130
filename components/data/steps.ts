import type { BestSystemShape, DagShape, StepView } from "./types";

/** Short axis label of a step: "init", "3 role", "3 weight", "final". */
export function stepLabel(step: Pick<StepView, "kind" | "iteration">): string {
  if (step.kind === "init" || step.kind === "final") return step.kind;
  return `${displayIteration(step)} ${step.kind}`;
}

/**
 * Iteration number shown for a step, counting from 1. A step records the number of iterations
 * completed before it, so the role- and weight-step of the first iteration record 0.
 */
export function displayIteration(step: Pick<StepView, "kind" | "iteration">): number {
  if (step.kind === "init" || step.kind === "final") return step.iteration;
  return step.iteration + 1;
}

/**
 * Returns the all-time best system after each step. A step that carries its best system is taken
 * as is; otherwise the best is replayed from the step's graphs and assignments with the search's
 * rule: a system replaces the best only with a strictly higher dev utility, the first one wins a
 * tie, and a weight-step's assignments run on the best graph of the latest init or role-step.
 */
export function bestSystemsByStep(steps: readonly StepView[]): (BestSystemShape | null)[] {
  let best: BestSystemShape | null = null;
  let iterationBest: { dag: DagShape; adjacency: number[] | null } | null = null;

  return steps.map((step) => {
    const graphs = step.graphs ?? [];
    if (graphs.length > 0) {
      const top = argmax(graphs.map((g) => g.utility));
      iterationBest = { dag: graphs[top].dag, adjacency: step.graphPositions?.[top] ?? null };
    }

    if (step.best) {
      best = step.best;
      return best;
    }

    graphs.forEach((graph, particle) => {
      if (best === null || graph.utility > best.dev) {
        best = {
          kind: "dag",
          dag: graph.dag,
          assignment: identity(graph.dag.n),
          coefficients: step.coefficients,
          dev: graph.utility,
          adjacency: step.graphPositions?.[particle] ?? null,
          step: step.index,
        };
      }
    });
    if (iterationBest !== null) {
      for (const outcome of step.assignments ?? []) {
        if (best === null || outcome.utility > best.dev) {
          best = { kind: "dag", ...iterationBest, assignment: outcome.assignment, coefficients: step.coefficients, dev: outcome.utility, step: step.index };
        }
      }
    }
    return best;
  });
}

function argmax(values: readonly number[]): number {
  let top = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[top]) top = i;
  return top;
}

function identity(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
