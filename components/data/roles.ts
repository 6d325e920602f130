import { displayIteration, stepLabel } from "./steps";
import type { DagShape, RoleCountsShape, StepView, StructuralRole } from "./types";

export const ROLE_ORDER: readonly StructuralRole[] = ["source", "relay", "aggregator", "end", "unused"];

export const ROLE_COLORS: Record<StructuralRole, string> = {
  source: "#3b82f6",
  relay: "#14b8a6",
  aggregator: "#f59e0b",
  end: "#dc2626",
  unused: "#9ca3af",
};

export const ROLE_HELP: Record<StructuralRole, string> = {
  source: "no predecessors: answers the question alone",
  relay: "one predecessor: refines one previous response",
  aggregator: "two or more predecessors: combines previous responses",
  end: "its output is the system's answer",
  unused: "its output does not reach the end node, so it is not run",
};

/**
 * Returns the structural role of each position, by the server's rule. The end node is "end", and
 * a node that does not reach the end is "unused". Any other node is a source, relay or
 * aggregator when it has 0, 1, or 2 and more predecessors.
 */
export function structuralRoles(dag: DagShape): StructuralRole[] {
  const reaches = new Array<boolean>(dag.n).fill(false);
  reaches[dag.end] = true;
  const stack = [dag.end];
  while (stack.length > 0) {
    const node = stack.pop() as number;
    for (const [from, to] of dag.edges) {
      if (to === node && !reaches[from]) {
        reaches[from] = true;
        stack.push(from);
      }
    }
  }

  const predecessorCount = new Array<number>(dag.n).fill(0);
  for (const [, to] of dag.edges) predecessorCount[to] += 1;

  return Array.from({ length: dag.n }, (_, node): StructuralRole => {
    if (node === dag.end) return "end";
    if (!reaches[node]) return "unused";
    if (predecessorCount[node] === 0) return "source";
    return predecessorCount[node] === 1 ? "relay" : "aggregator";
  });
}

export type RoleRow = { label: string; total: number } & Record<StructuralRole, number>;

/** A bar of the roles-over-iterations chart: the roles of one step, with its iteration. */
export type StepRoleRow = RoleRow & { iteration: number };

/**
 * Roles per DAG object, computed once because the run page counts them again after every step.
 * A DAG must not be changed in place once its roles were read.
 */
const rolesByDag = new WeakMap<DagShape, readonly StructuralRole[]>();

function cachedRoles(dag: DagShape): readonly StructuralRole[] {
  let roles = rolesByDag.get(dag);
  if (roles === undefined) {
    roles = structuralRoles(dag);
    rolesByDag.set(dag, roles);
  }
  return roles;
}

function emptyRow(label: string): RoleRow {
  return { label, total: 0, source: 0, relay: 0, aggregator: 0, end: 0, unused: 0 };
}

function addCount(row: RoleRow, role: StructuralRole, count: number): void {
  row[role] += count;
  row.total += count;
}

/**
 * Builds one stacked bar per model from its role counts. With `share`, each bar's segments are
 * fractions of the model's total (a model with no counts stays all zeros).
 */
export function roleBarsPerModel(roleCounts: readonly RoleCountsShape[], names: readonly string[], share = false): RoleRow[] {
  return names.map((name, model) => {
    const row = emptyRow(name);
    const counts = roleCounts[model] ?? {};
    for (const role of ROLE_ORDER) addCount(row, role, counts[role] ?? 0);
    return share ? toShares(row) : row;
  });
}

/**
 * Counts roles per model over every graph the steps decoded. Graph particles are evaluated with
 * the identity assignment, so position i of every graph is model i.
 */
export function roleCountsFromSteps(steps: readonly StepView[], modelCount: number): RoleCountsShape[] {
  const counts: Record<StructuralRole, number>[] = Array.from({ length: modelCount }, () => ({
    source: 0,
    relay: 0,
    aggregator: 0,
    end: 0,
    unused: 0,
  }));

  for (const step of steps) {
    for (const graph of step.graphs ?? []) {
      cachedRoles(graph.dag).forEach((role, position) => {
        if (position < modelCount) counts[position][role] += 1;
      });
    }
  }
  return counts;
}

/**
 * Builds one stacked bar per step that decoded graphs: the roles that `model` took in that step's
 * graphs, or the roles of all positions when `model` is null.
 */
export function roleBarsOverSteps(steps: readonly StepView[], model: number | null): StepRoleRow[] {
  const rows: StepRoleRow[] = [];
  for (const step of steps) {
    if (!step.graphs || step.graphs.length === 0) continue;

    const row = { ...emptyRow(stepLabel(step)), iteration: displayIteration(step) };
    for (const graph of step.graphs) {
      const roles = cachedRoles(graph.dag);
      if (model === null) roles.forEach((role) => addCount(row, role, 1));
      else if (model < roles.length) addCount(row, roles[model], 1);
    }
    rows.push(row);
  }
  return rows;
}

function toShares(row: RoleRow): RoleRow {
  if (row.total === 0) return row;
  const shared = emptyRow(row.label);
  for (const role of ROLE_ORDER) shared[role] = row[role] / row.total;
  shared.total = 1;
  return shared;
}
