import type { Rng } from "./rng";
import type { Dag } from "./types";

/**
 * G-Decode (Feng et al. 2025, arXiv 2502.04510) turns a graph particle, a continuous
 * adjacency matrix A with zero diagonal, into an in-tree rooted at the end node. Comments
 * below compare it with the paper's reference code (BunsenFeng/heterogeneous_swarm,
 * graph_decode.py).
 *
 * 1. The end node is drawn with weights softmax(−s), where s_i = Σ_j A_ij is the out-strength.
 * 2. Until every node is placed: an unplaced node u is drawn with weights softmax(s) over the
 *    unplaced nodes, then its target v with weights softmax(A_u·) over the placed nodes, and
 *    u → v is added.
 * 3. Every draw uses top-p selection (see `topPCandidates`); p = 0 is argmax.
 *
 * Randomness: at p = 0 no draw is made, so the result depends on the matrix alone. At p > 0
 * each of the 2n − 1 choices consumes exactly one `rng.next()`, even when a single candidate
 * remains, so the RNG stream advances by the same amount for every matrix of size n.
 *
 * In "dag" mode, every u → v with u placed after v and A_uv > edgeThreshold is added after the
 * tree. Edges therefore always point from later-placed to earlier-placed nodes, which keeps
 * the graph acyclic.
 */
export function gDecode(adjacency: number[][], options: GDecodeOptions, rng: Rng): Dag {
  const n = checkAdjacency(adjacency);
  checkOptions(options);

  const strength = adjacency.map((row, i) => outStrength(row, i));
  const placed: boolean[] = new Array(n).fill(false);
  const all: boolean[] = new Array(n).fill(true);

  // The reference code uses softmax(1/s), which divides by zero at s = 0 and rises again for
  // negative s. PSO moves entries below 0, so softmax(−s), which falls as s grows for every real s, is used.
  const end = chooseMasked(strength.map((s) => -s), all, options.topP, rng);
  placed[end] = true;
  const placement = [end];
  const edges: [number, number][] = [];

  while (placement.length < n) {
    const unplaced = placed.map((isPlaced) => !isPlaced);
    const u = chooseMasked(strength, unplaced, options.topP, rng);
    const v = chooseMasked(adjacency[u], placed, options.topP, rng);
    edges.push([u, v]);
    placed[u] = true;
    placement.push(u);
  }

  if (options.mode === "dag") {
    edges.push(...extraEdges(adjacency, placement, edges, options.edgeThreshold));
  }

  return { n, edges, end, placement };
}

export interface GDecodeOptions {
  /** Top-p threshold in [0, 1], where 0 is argmax. */
  topP: number;
  /** "tree": the in-tree only. "dag": the tree plus every later → earlier edge above `edgeThreshold`. */
  mode: "tree" | "dag";
  edgeThreshold: number;
}

/**
 * Drops every edge u → v whose A_uv is below `tau`. The result may be a forest: nodes whose
 * output no longer reaches the end node are simply not run (see `reachableNodes`).
 */
export function sparsify(dag: Dag, adjacency: number[][], tau: number): Dag {
  checkDag(dag);
  const n = checkAdjacency(adjacency);
  if (n !== dag.n) {
    throw new Error(`adjacency must be ${dag.n}×${dag.n} to match the DAG, but got ${n}×${n}`);
  }
  if (typeof tau !== "number" || Number.isNaN(tau)) {
    throw new Error(`tau must be a number, but got ${String(tau)}`);
  }

  const edges = dag.edges.filter(([u, v]) => adjacency[u][v] >= tau).map(([u, v]) => [u, v] as [number, number]);
  return { n: dag.n, edges, end: dag.end, placement: [...dag.placement] };
}

/**
 * Orders the nodes so that every node comes after all of its predecessors. Among nodes that are
 * ready at the same time, the one placed latest by G-Decode goes first, so for G-Decode output
 * the order is exactly the reverse placement. Throws on a cycle.
 */
export function topologicalOrder(dag: Dag): number[] {
  checkDag(dag);
  const rank = placementRank(dag);
  const pendingPredecessors: number[] = new Array(dag.n).fill(0);
  const successors: number[][] = Array.from({ length: dag.n }, () => []);
  for (const [from, to] of dag.edges) {
    pendingPredecessors[to] += 1;
    successors[from].push(to);
  }

  const done: boolean[] = new Array(dag.n).fill(false);
  const order: number[] = [];
  while (order.length < dag.n) {
    let next = -1;
    for (let node = 0; node < dag.n; node++) {
      if (done[node] || pendingPredecessors[node] > 0) continue;
      if (next === -1 || rank[node] > rank[next]) next = node;
    }
    if (next === -1) {
      const stuck = [...Array(dag.n).keys()].filter((node) => !done[node]);
      throw new Error(`DAG must be acyclic, but nodes ${stuck.join(", ")} lie on or behind a cycle`);
    }

    done[next] = true;
    order.push(next);
    for (const to of successors[next]) pendingPredecessors[to] -= 1;
  }
  return order;
}

/**
 * Returns the nodes whose output feeds `node`, in placement order (earliest placed first).
 * This is the order of the "Previous response k" blocks in the node's prompt.
 */
export function predecessors(dag: Dag, node: number): number[] {
  checkDag(dag);
  if (!Number.isInteger(node) || node < 0 || node >= dag.n) {
    throw new Error(`node must be an integer in [0, ${dag.n - 1}], but got ${node}`);
  }

  const rank = placementRank(dag);
  return dag.edges
    .filter(([, to]) => to === node)
    .map(([from]) => from)
    .sort((a, b) => rank[a] - rank[b]);
}

/** Returns the nodes with a path to the end node (the end node included), in topological order. */
export function reachableNodes(dag: Dag): number[] {
  const order = topologicalOrder(dag);

  const reaches: boolean[] = new Array(dag.n).fill(false);
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

  return order.filter((node) => reaches[node]);
}

/**
 * Returns the indices that top-p selection keeps: candidates sorted by probability (descending,
 * ties by lower index), then the shortest prefix whose sum exceeds p, and at least one.
 * p = 0 keeps only the argmax. Because the sum must exceed p, p = 1 keeps every candidate.
 */
export function topPCandidates(probabilities: readonly number[], p: number): number[] {
  if (probabilities.length === 0) {
    throw new Error("top-p selection needs at least one candidate, but got none");
  }

  const sorted = [...probabilities.keys()].sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  const kept: number[] = [];
  let cumulative = 0;
  for (const index of sorted) {
    kept.push(index);
    cumulative += probabilities[index];
    if (cumulative > p) break;
  }
  return kept;
}

/**
 * Draws one index by top-p selection. At p = 0 it returns the argmax (lowest index on ties)
 * without touching the RNG. Otherwise it consumes exactly one `rng.next()`.
 */
export function selectTopP(probabilities: readonly number[], p: number, rng: Rng): number {
  const kept = topPCandidates(probabilities, p);
  if (p === 0) return kept[0];

  // Renormalising keeps the candidates' relative weights, and `rng.weighted` divides by their sum.
  // The reference code re-applies a softmax to the kept probabilities instead, which flattens them.
  const choice = rng.weighted(kept.map((index) => probabilities[index]));
  return kept[choice];
}

/**
 * Computes softmax(logits) over the indices where `allowed` is true, and probability 0 elsewhere.
 * Subtracting the maximum keeps it finite for logits such as ±1e6.
 */
export function maskedSoftmax(logits: readonly number[], allowed: readonly boolean[]): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (allowed[i] && logits[i] > max) max = logits[i];
  }
  if (max === -Infinity) {
    throw new Error("softmax needs at least one allowed entry, but every entry is masked");
  }

  const weights = logits.map((logit, i) => (allowed[i] ? Math.exp(logit - max) : 0));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return weights.map((weight) => weight / total);
}

// The mask is explicit because an entry equal to 0 is a real weight. The reference code treats
// exp(0) as "no edge", so it also masks unplaced nodes whose out-strength happens to be 0.
function chooseMasked(logits: readonly number[], allowed: readonly boolean[], p: number, rng: Rng): number {
  const candidates = [...logits.keys()].filter((i) => allowed[i]);
  const probabilities = maskedSoftmax(logits, allowed);
  const pick = selectTopP(
    candidates.map((i) => probabilities[i]),
    p,
    rng,
  );
  return candidates[pick];
}

function extraEdges(adjacency: number[][], placement: number[], treeEdges: [number, number][], threshold: number): [number, number][] {
  const present = new Set(treeEdges.map(([u, v]) => `${u},${v}`));
  const extra: [number, number][] = [];
  for (let later = 1; later < placement.length; later++) {
    const u = placement[later];
    for (let earlier = 0; earlier < later; earlier++) {
      const v = placement[earlier];
      if (adjacency[u][v] > threshold && !present.has(`${u},${v}`)) extra.push([u, v]);
    }
  }
  return extra;
}

function outStrength(row: number[], node: number): number {
  const strength = row.reduce((sum, entry) => sum + entry, 0);
  if (!Number.isFinite(strength)) {
    throw new Error(`out-strength of node ${node} must be finite, but row ${node} of adjacency sums to ${strength}`);
  }
  return strength;
}

function placementRank(dag: Dag): number[] {
  const rank: number[] = new Array(dag.n);
  dag.placement.forEach((node, index) => {
    rank[node] = index;
  });
  return rank;
}

/** Checks that `adjacency` is a non-empty square matrix of finite numbers with zero diagonal, and returns n. */
function checkAdjacency(adjacency: number[][]): number {
  if (!Array.isArray(adjacency) || adjacency.length === 0) {
    throw new Error("adjacency must be a non-empty square matrix, but got no rows");
  }

  const n = adjacency.length;
  for (let i = 0; i < n; i++) {
    const row = adjacency[i];
    if (!Array.isArray(row) || row.length !== n) {
      const found = Array.isArray(row) ? `${row.length} entries` : typeof row;
      throw new Error(`adjacency must be square (${n}×${n}), but row ${i} has ${found}`);
    }
    for (let j = 0; j < n; j++) {
      const entry = row[j];
      if (typeof entry !== "number") {
        throw new Error(`adjacency[${i}][${j}] must be a number, but got ${typeof entry}`);
      }
      if (!Number.isFinite(entry)) {
        throw new Error(`adjacency[${i}][${j}] must be finite, but got ${entry}`);
      }
    }
    if (row[i] !== 0) {
      throw new Error(`adjacency[${i}][${i}] must be 0 because graph particles have a zero diagonal, but got ${row[i]}`);
    }
  }
  return n;
}

function checkOptions(options: GDecodeOptions): void {
  if (typeof options.topP !== "number" || !(options.topP >= 0 && options.topP <= 1)) {
    throw new Error(`topP must be in [0, 1], but got ${String(options.topP)}`);
  }
  if (options.mode !== "tree" && options.mode !== "dag") {
    throw new Error(`mode must be "tree" or "dag", but got ${JSON.stringify(options.mode)}`);
  }
  if (options.mode === "dag" && (typeof options.edgeThreshold !== "number" || Number.isNaN(options.edgeThreshold))) {
    throw new Error(`edgeThreshold must be a number, but got ${String(options.edgeThreshold)}`);
  }
}

/** Checks node count, end node, placement (a permutation of 0..n-1) and edges (in range, no self-loops, no duplicates). */
export function checkDag(dag: Dag): void {
  if (!Number.isInteger(dag.n) || dag.n < 1) {
    throw new Error(`DAG must have a positive integer node count, but got n = ${dag.n}`);
  }
  if (!Number.isInteger(dag.end) || dag.end < 0 || dag.end >= dag.n) {
    throw new Error(`DAG end node must be in [0, ${dag.n - 1}], but got ${dag.end}`);
  }

  const seen = new Set<number>();
  for (const node of dag.placement) {
    if (Number.isInteger(node) && node >= 0 && node < dag.n) seen.add(node);
  }
  if (dag.placement.length !== dag.n || seen.size !== dag.n) {
    throw new Error(`DAG placement must list each node 0..${dag.n - 1} once, but got [${dag.placement.join(", ")}]`);
  }

  const edgeKeys = new Set<string>();
  for (const [from, to] of dag.edges) {
    const inRange = (node: number) => Number.isInteger(node) && node >= 0 && node < dag.n;
    if (!inRange(from) || !inRange(to) || from === to) {
      throw new Error(`DAG edge ${from} → ${to} must join two different nodes in [0, ${dag.n - 1}]`);
    }
    const key = `${from},${to}`;
    if (edgeKeys.has(key)) {
      throw new Error(`DAG edge ${from} → ${to} must appear once, but appears twice`);
    }
    edgeKeys.add(key);
  }
}
