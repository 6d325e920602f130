import type { Method } from "./config";
import { gDecode } from "./gdecode";
import type { Rng } from "./rng";
import type { SystemSpec } from "./system";
import type { Dag } from "./types";

// Baselines with a fixed system: evaluated once on dev and test, with no search. They run as
// ordinary runs so that their results have the same shape as a search's.

export const FIXED_METHODS = ["best-single", "majority-vote", "chain", "star", "complete", "random"] as const;
export type FixedMethod = (typeof FIXED_METHODS)[number];

export function isFixedMethod(method: Method): method is FixedMethod {
  return (FIXED_METHODS as readonly string[]).includes(method);
}

/**
 * Builds the fixed system of a baseline over the n pool models, each at its own position.
 * `bestSingle` is the model with the best dev utility alone: it is the best-single system and
 * the hub of the star.
 */
export function fixedSystem(method: FixedMethod, n: number, bestSingle: number, coefficients: (number[] | null)[], rng: Rng): SystemSpec {
  const identity = Array.from({ length: n }, (_, i) => i);
  const dag = (d: Dag): SystemSpec => ({ kind: "dag", dag: d, assignment: identity, coefficients });

  switch (method) {
    case "best-single":
      return { kind: "dag", dag: { n: 1, edges: [], end: 0, placement: [0] }, assignment: [bestSingle], coefficients };
    case "majority-vote":
      return { kind: "vote", dag: { n, edges: [], end: 0, placement: identity }, assignment: identity, coefficients };
    case "chain":
      return dag(chainDag(n));
    case "star":
      return dag(starDag(n, bestSingle));
    case "complete":
      return dag(completeDag(n));
    case "random": {
      // One U(0,1) matrix decoded by argmax G-Decode: the search's starting point, unsearched.
      const adjacency = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : rng.next())));
      return dag(gDecode(adjacency, { topP: 0, mode: "tree", edgeThreshold: 0 }, rng));
    }
  }
}

/** 0 → 1 → … → n−1; the last model answers. */
export function chainDag(n: number): Dag {
  const edges: [number, number][] = [];
  for (let i = 0; i + 1 < n; i++) edges.push([i, i + 1]);
  return { n, edges, end: n - 1, placement: reversedPositions(n) };
}

/** Every model sends its answer to the hub, which answers. */
export function starDag(n: number, hub: number): Dag {
  const edges: [number, number][] = [];
  for (let i = 0; i < n; i++) if (i !== hub) edges.push([i, hub]);
  return { n, edges, end: hub, placement: [hub, ...reversedPositions(n).filter((i) => i !== hub)] };
}

/** i → j for every i < j: each model reads every earlier one; the last model answers. */
export function completeDag(n: number): Dag {
  const edges: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.push([i, j]);
  return { n, edges, end: n - 1, placement: reversedPositions(n) };
}

function reversedPositions(n: number): number[] {
  return Array.from({ length: n }, (_, i) => n - 1 - i);
}
