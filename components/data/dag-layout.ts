import { Graph, layout } from "@dagrejs/dagre";
import { ROLE_COLORS, structuralRoles } from "./roles";
import type { BestSystemShape, DagShape, StructuralRole } from "./types";

// Layout of a decoded DAG for React Flow: dagre ranks the nodes left to right, so sources sit on
// the left and the end node on the right. The node and edge objects are structurally React Flow's
// `Node` and `Edge`, built here without React so that they can be unit-tested.

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 60;

export interface ModelNodeData extends Record<string, unknown> {
  /** Model name at this position. */
  model: string;
  position: number;
  role: StructuralRole;
  color: string;
}

export interface FlowNode {
  id: string;
  type: "model";
  position: { x: number; y: number };
  data: ModelNodeData;
}

export interface FlowEdge {
  id: string;
  source: string;
  target: string;
  /** A_uv of the edge, with two decimals; absent when the adjacency is unknown. */
  label?: string;
  style: { strokeWidth: number; opacity: number };
  data: { adjacency: number | null; strength: number };
}

export interface DagLayoutOptions {
  /** Model name at each position. */
  names: readonly string[];
  /** Flattened n×n adjacency A of the graph particle, row u = source node; null when unknown. */
  adjacency?: readonly number[] | null;
  /** Role of each position; derived from the DAG when absent. A majority vote passes "source" for all. */
  roles?: readonly StructuralRole[];
}

export function nodeId(position: number): string {
  return `p${position}`;
}

/**
 * Returns a string that is equal for two systems exactly when the DAG view draws them alike:
 * same kind, DAG, model at each position and adjacency. The step that found a system is left
 * out, so a best system that several steps carry keeps one layout.
 */
export function drawnSystemKey(system: Pick<BestSystemShape, "kind" | "dag" | "assignment" | "adjacency">): string {
  const edges = system.dag.edges.map(([from, to]) => `${from}>${to}`).sort();
  const adjacency = system.adjacency === null ? "none" : system.adjacency.join(",");
  return `${system.kind}|${system.dag.n}|${system.dag.end}|${edges.join(",")}|${system.assignment.join(",")}|${adjacency}`;
}

/** Lays out `dag` and returns React Flow nodes (one per position) and edges (one per DAG edge). */
export function layoutDag(dag: DagShape, options: DagLayoutOptions): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const adjacency = options.adjacency ?? null;
  if (adjacency !== null && adjacency.length !== dag.n * dag.n) {
    throw new Error(`adjacency must have n×n = ${dag.n * dag.n} entries, but got ${adjacency.length}`);
  }

  const graph = new Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 80, marginx: 10, marginy: 10 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (let position = 0; position < dag.n; position++) {
    graph.setNode(nodeId(position), { width: NODE_WIDTH, height: NODE_HEIGHT });
  }
  for (const [from, to] of dag.edges) graph.setEdge(nodeId(from), nodeId(to));
  layout(graph);

  const roles = options.roles ?? structuralRoles(dag);
  const nodes = roles.map((role, position): FlowNode => {
    const placed = graph.node(nodeId(position));
    return {
      id: nodeId(position),
      type: "model",
      // dagre gives node centres, React Flow expects top-left corners.
      position: { x: placed.x - NODE_WIDTH / 2, y: placed.y - NODE_HEIGHT / 2 },
      data: { model: options.names[position] ?? `model ${position}`, position, role, color: ROLE_COLORS[role] },
    };
  });

  const range = adjacency === null ? null : offDiagonalRange(adjacency, dag.n);
  const edges = dag.edges.map(([from, to]): FlowEdge => {
    const value = adjacency === null ? null : adjacency[from * dag.n + to];
    const strength = value === null || range === null ? 1 : edgeStrength(value, range);
    const edge: FlowEdge = {
      id: `e${from}-${to}`,
      source: nodeId(from),
      target: nodeId(to),
      style: edgeStyle(strength),
      data: { adjacency: value, strength },
    };
    if (value !== null) edge.label = value.toFixed(2);
    return edge;
  });

  return { nodes, edges };
}

/**
 * Scales A_uv to [0, 1] within the range of the matrix's off-diagonal entries. PSO moves entries
 * outside [0, 1], so an absolute scale would flatten a drifted matrix to one width.
 */
export function edgeStrength(value: number, range: { min: number; max: number }): number {
  if (range.max <= range.min) return 1;
  return Math.min(1, Math.max(0, (value - range.min) / (range.max - range.min)));
}

export function edgeStyle(strength: number): { strokeWidth: number; opacity: number } {
  return { strokeWidth: round(1 + 4 * strength), opacity: round(0.35 + 0.65 * strength) };
}

function offDiagonalRange(adjacency: readonly number[], n: number): { min: number; max: number } | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let u = 0; u < n; u++) {
    for (let v = 0; v < n; v++) {
      if (u === v) continue;
      min = Math.min(min, adjacency[u * n + v]);
      max = Math.max(max, adjacency[u * n + v]);
    }
  }
  return Number.isFinite(min) ? { min, max } : null;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
