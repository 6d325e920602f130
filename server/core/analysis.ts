import { checkDag, predecessors, reachableNodes } from "./gdecode";
import type { Dag } from "./types";

/**
 * Structural role of a node in a decoded DAG. The end node is "end". Any other node that reaches
 * the end is a "source" (no predecessors), a "relay" (one) or an "aggregator" (two or more).
 * "unused" marks nodes whose output no longer reaches the end after sparsification, because such
 * nodes are not run.
 */
export type StructuralRole = "source" | "relay" | "aggregator" | "end" | "unused";

export const STRUCTURAL_ROLES: readonly StructuralRole[] = ["source", "relay", "aggregator", "end", "unused"];

export type RoleCounts = Record<StructuralRole, number>;

/** Returns the structural role of each node position 0..n-1. */
export function structuralRoles(dag: Dag): StructuralRole[] {
  const reaches = new Set(reachableNodes(dag));

  return Array.from({ length: dag.n }, (_, node): StructuralRole => {
    if (node === dag.end) return "end";
    if (!reaches.has(node)) return "unused";

    const count = predecessors(dag, node).length;
    if (count === 0) return "source";
    return count === 1 ? "relay" : "aggregator";
  });
}

/**
 * Counts, per model, the nodes it occupies in each structural role. Position p of `dags[i]` is
 * occupied by model `assignments[i][p]`.
 */
export function roleDistribution(dags: Dag[], assignments: number[][], modelCount: number): RoleCounts[] {
  if (!Number.isInteger(modelCount) || modelCount < 1) {
    throw new Error(`modelCount must be a positive integer, but got ${modelCount}`);
  }
  if (dags.length !== assignments.length) {
    throw new Error(`assignments must have one entry per DAG (${dags.length}), but got ${assignments.length}`);
  }

  const counts = Array.from({ length: modelCount }, () => emptyRoleCounts());
  dags.forEach((dag, i) => {
    checkDag(dag);
    const assignment = assignments[i];
    if (!Array.isArray(assignment) || assignment.length !== dag.n) {
      throw new Error(`assignments[${i}] must have one model per position (${dag.n}), but got ${Array.isArray(assignment) ? assignment.length : typeof assignment}`);
    }

    structuralRoles(dag).forEach((role, position) => {
      const model = assignment[position];
      if (!Number.isInteger(model) || model < 0 || model >= modelCount) {
        throw new Error(`assignments[${i}][${position}] must be a model index in [0, ${modelCount - 1}], but got ${model}`);
      }
      counts[model][role] += 1;
    });
  });
  return counts;
}

export interface CollaborativeGainBucket {
  /** Number of models that solve the bucket's items alone. */
  k: number;
  items: number;
  /** Items the system solves. */
  solved: number;
  /** solved / items, or null for an empty bucket. */
  accuracy: number | null;
  /** k / n, the accuracy expected if the system did no better than a random single model. */
  expected: number;
}

export interface CollaborativeGain {
  buckets: CollaborativeGainBucket[];
  cGain: number;
}

/**
 * Computes the collaborative gain: items are bucketed by k, the number of the n models that
 * solve them alone, and C-Gain = Σ_k (|B_k| / |D|)·(acc_k − k/n). Empty buckets contribute 0.
 * `singleCorrect[m][j]` is true when model m alone solves item j.
 */
export function collaborativeGain(systemCorrect: boolean[], singleCorrect: boolean[][]): CollaborativeGain {
  const itemCount = systemCorrect.length;
  const modelCount = singleCorrect.length;
  if (itemCount === 0) {
    throw new Error("systemCorrect must cover at least one item, but got none");
  }
  if (modelCount === 0) {
    throw new Error("singleCorrect must contain at least one model, but got none");
  }
  singleCorrect.forEach((row, m) => {
    if (!Array.isArray(row) || row.length !== itemCount) {
      throw new Error(`singleCorrect[${m}] must have one entry per item (${itemCount}), but got ${Array.isArray(row) ? row.length : typeof row}`);
    }
  });

  const items: number[] = new Array(modelCount + 1).fill(0);
  const solved: number[] = new Array(modelCount + 1).fill(0);
  for (let j = 0; j < itemCount; j++) {
    let k = 0;
    for (let m = 0; m < modelCount; m++) if (singleCorrect[m][j]) k += 1;
    items[k] += 1;
    if (systemCorrect[j]) solved[k] += 1;
  }

  let cGain = 0;
  const buckets = items.map((size, k): CollaborativeGainBucket => {
    const expected = k / modelCount;
    const accuracy = size === 0 ? null : solved[k] / size;
    if (accuracy !== null) cGain += (size / itemCount) * (accuracy - expected);
    return { k, items: size, solved: solved[k], accuracy, expected };
  });
  return { buckets, cGain };
}

function emptyRoleCounts(): RoleCounts {
  return { source: 0, relay: 0, aggregator: 0, end: 0, unused: 0 };
}
