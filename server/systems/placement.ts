import type { PrismaClient } from "../db/client";
import { OperationalError } from "../errors";
import type { SystemDefinition } from "../trpc/system-definition";

// The order in which G-Decode placed a system's nodes. It sets the order of the "Previous
// response k" blocks in each prompt and breaks ties in the topological order, so a system answers
// exactly as it did during the search only with the same placement.

/**
 * Returns the system's placement, from the first source that has a valid one:
 * 1. `placement` in the stored definition's `dag`,
 * 2. the best system in the checkpoint of the run that found it, when its edges and end node
 *    are the definition's,
 * 3. a placement rebuilt from the edges (see `rebuildPlacement`).
 */
export async function placementOf(prisma: PrismaClient, definition: SystemDefinition, storedPlacement: unknown): Promise<number[]> {
  if (isValidPlacement(storedPlacement, definition.dag)) return storedPlacement;

  const fromRun = await placementFromRun(prisma, definition);
  if (fromRun !== null) return fromRun;

  return rebuildPlacement(definition.dag);
}

interface DefinitionDag {
  n: number;
  edges: [number, number][];
  end: number;
}

/** Whether `placement` lists each node once and every edge goes from a later-placed node to an earlier-placed one. */
export function isValidPlacement(placement: unknown, dag: DefinitionDag): placement is number[] {
  if (!Array.isArray(placement) || placement.length !== dag.n) return false;

  const rank = new Array<number>(dag.n).fill(-1);
  for (const [index, node] of placement.entries()) {
    if (!Number.isInteger(node) || node < 0 || node >= dag.n || rank[node] !== -1) return false;
    rank[node] = index;
  }
  return dag.edges.every(([from, to]) => rank[from] > rank[to]);
}

/** Reads the placement of the best system from the run's checkpoint, without loading the whole checkpoint. */
async function placementFromRun(prisma: PrismaClient, definition: SystemDefinition): Promise<number[] | null> {
  const rows = await prisma.$queryRaw<{ dag: unknown }[]>`
    SELECT checkpoint #> '{result,best,spec,dag}' AS dag FROM run WHERE id = ${definition.source.runId}`;
  const dag = rows[0]?.dag as Partial<DefinitionDag & { placement: unknown }> | null | undefined;
  if (dag === null || dag === undefined || typeof dag !== "object") return null;

  const sameSystem = dag.end === definition.dag.end && JSON.stringify(dag.edges) === JSON.stringify(definition.dag.edges);
  if (!sameSystem || !isValidPlacement(dag.placement, definition.dag)) return null;
  return dag.placement;
}

/**
 * Builds a placement in which every edge goes from a later-placed node to an earlier-placed
 * one: the end node first, then repeatedly the lowest-numbered node whose successors are all
 * placed. Throws CONFLICT when the edges contain a cycle.
 *
 * NOTE: G-Decode may have placed the nodes in another valid order. A node with several
 * predecessors then lists their outputs in another order than during the search, so its
 * outputs can differ from the ones the system's utility was measured with.
 */
export function rebuildPlacement(dag: DefinitionDag): number[] {
  const unplacedSuccessors = new Array<number>(dag.n).fill(0);
  for (const [from] of dag.edges) unplacedSuccessors[from] += 1;

  const placed = new Array<boolean>(dag.n).fill(false);
  const placement: number[] = [];
  while (placement.length < dag.n) {
    const ready = (node: number) => !placed[node] && unplacedSuccessors[node] === 0;
    let next = ready(dag.end) ? dag.end : -1;
    for (let node = 0; next === -1 && node < dag.n; node++) {
      if (ready(node)) next = node;
    }
    if (next === -1) {
      throw new OperationalError("CONFLICT", `The system's DAG must be acyclic, but its edges ${JSON.stringify(dag.edges)} contain a cycle.`);
    }

    placed[next] = true;
    placement.push(next);
    for (const [from, to] of dag.edges) {
      if (to === next) unplacedSuccessors[from] -= 1;
    }
  }
  return placement;
}
