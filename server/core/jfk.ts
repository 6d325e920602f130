import type { Rng } from "./rng";

// JFK-score: credit assignment for the weight-step. Each of M random assignments puts a model
// index at every position of the current best graph, uniformly and with replacement. A model's
// score is the utility of the systems it took part in, weighted by how many positions it took.

/** Draws `count` assignments of `positions` positions over `modelCount` models, with replacement. */
export function drawAssignments(count: number, positions: number, modelCount: number, rng: Rng): number[][] {
  const assignments: number[][] = [];
  for (let j = 0; j < count; j++) {
    const assignment: number[] = [];
    for (let p = 0; p < positions; p++) assignment.push(rng.int(modelCount));
    assignments.push(assignment);
  }
  return assignments;
}

/**
 * JFK(model i) = Σ_j cnt_ij·f_j / Σ_j cnt_ij, where cnt_ij counts the positions model i takes in
 * assignment j. A model drawn in no assignment keeps its previous score, and `drawn[i]` tells which.
 */
export function jfkScores(
  assignments: readonly number[][],
  utilities: readonly number[],
  previous: readonly number[],
): { scores: number[]; drawn: boolean[] } {
  if (assignments.length !== utilities.length) {
    throw new Error(`jfkScores needs one utility per assignment, but got ${utilities.length} for ${assignments.length}`);
  }

  const weighted = new Array<number>(previous.length).fill(0);
  const counts = new Array<number>(previous.length).fill(0);
  assignments.forEach((assignment, j) => {
    for (const model of assignment) {
      weighted[model] += utilities[j];
      counts[model] += 1;
    }
  });

  const drawn = counts.map((c) => c > 0);
  const scores = previous.map((old, i) => (drawn[i] ? weighted[i] / counts[i] : old));
  return { scores, drawn };
}
