import { describe, expect, it } from "vitest";
import {
  gDecode,
  maskedSoftmax,
  predecessors,
  reachableNodes,
  selectTopP,
  sparsify,
  topPCandidates,
  topologicalOrder,
  type GDecodeOptions,
} from "../server/core/gdecode";
import { Rng } from "../server/core/rng";
import type { Dag } from "../server/core/types";

const TREE_ARGMAX: GDecodeOptions = { topP: 0, mode: "tree", edgeThreshold: 0.5 };
const TREE_SAMPLED: GDecodeOptions = { topP: 0.8, mode: "tree", edgeThreshold: 0.5 };

function matrix(n: number, entry: (i: number, j: number) => number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : entry(i, j))));
}

const MATRIX_KINDS: Record<string, (n: number, rng: Rng) => number[][]> = {
  random: (n, rng) => matrix(n, () => rng.next()),
  "all-zero": (n) => matrix(n, () => 0),
  negative: (n, rng) => matrix(n, () => -rng.next()),
  "very large": (n, rng) => matrix(n, () => 1e6 * (1 + rng.next())),
  "very negative": (n, rng) => matrix(n, () => -1e6 * (1 + rng.next())),
  "mixed ±1e6": (n, rng) => matrix(n, () => (rng.next() < 0.5 ? -1e6 : 1e6)),
  "wide random": (n, rng) => matrix(n, () => 20 * rng.next() - 10),
};

/** Asserts every property of an in-tree rooted at `dag.end` as G-Decode produces it. */
function expectRootedTree(dag: Dag): void {
  const rank = new Map(dag.placement.map((node, index) => [node, index]));
  expect([...dag.placement].sort((a, b) => a - b)).toEqual([...Array(dag.n).keys()]);
  expect(dag.placement[0]).toBe(dag.end);

  const outgoing: number[] = new Array(dag.n).fill(0);
  for (const [from, to] of dag.edges) {
    outgoing[from] += 1;
    expect(rank.get(from)!).toBeGreaterThan(rank.get(to)!);
  }
  for (let node = 0; node < dag.n; node++) {
    expect(outgoing[node]).toBe(node === dag.end ? 0 : 1);
  }

  expect(dag.edges).toHaveLength(dag.n - 1);
  expect(reachableNodes(dag)).toHaveLength(dag.n);
  expect(() => topologicalOrder(dag)).not.toThrow();
}

describe("G-Decode", () => {
  it("always yields a tree rooted at the end node", () => {
    const rng = Rng.fromSeed(7);
    for (const [, make] of Object.entries(MATRIX_KINDS)) {
      for (let n = 1; n <= 12; n++) {
        for (const options of [TREE_ARGMAX, TREE_SAMPLED, { ...TREE_SAMPLED, topP: 1 }]) {
          expectRootedTree(gDecode(make(n, rng), options, rng));
        }
      }
    }
  });

  it("decodes a hand example at p = 0", () => {
    // s = [1.0, 0.5, 1.4]. End = argmin s = 1. Unplaced {0, 2}: argmax s = 2, whose only placed
    // target is 1. Then 0 chooses between A[0][1] = 0.9 and A[0][2] = 0.1, so 0 → 1.
    const adjacency = [
      [0, 0.9, 0.1],
      [0.2, 0, 0.3],
      [0.6, 0.8, 0],
    ];

    const dag = gDecode(adjacency, TREE_ARGMAX, Rng.fromSeed(1));

    expect(dag).toEqual({ n: 3, end: 1, placement: [1, 2, 0], edges: [[2, 1], [0, 1]] });
  });

  it("is deterministic at p = 0 whatever the RNG state", () => {
    const adjacency = MATRIX_KINDS.random(10, Rng.fromSeed(3));
    const first = Rng.fromSeed(1);
    const second = Rng.fromSeed(99);
    const stateBefore = first.state();

    const a = gDecode(adjacency, TREE_ARGMAX, first);
    const b = gDecode(adjacency, TREE_ARGMAX, second);

    expect(a).toEqual(b);
    expect(first.state()).toEqual(stateBefore);
  });

  it("gives the same DAG for the same seed at p > 0", () => {
    const adjacency = MATRIX_KINDS.random(10, Rng.fromSeed(3));

    const a = gDecode(adjacency, TREE_SAMPLED, Rng.fromSeed(5));
    const b = gDecode(adjacency, TREE_SAMPLED, Rng.fromSeed(5));

    expect(a).toEqual(b);
  });

  it("gives different DAGs for different seeds at p > 0", () => {
    const adjacency = MATRIX_KINDS.random(10, Rng.fromSeed(3));

    const decoded = new Set<string>();
    for (let seed = 0; seed < 20; seed++) decoded.add(JSON.stringify(gDecode(adjacency, TREE_SAMPLED, Rng.fromSeed(seed))));

    expect(decoded.size).toBeGreaterThan(1);
  });

  it("consumes one draw per choice at p > 0", () => {
    const n = 6;
    const rng = Rng.fromSeed(11);
    const reference = Rng.fromSeed(11);

    gDecode(MATRIX_KINDS.random(n, Rng.fromSeed(2)), TREE_SAMPLED, rng);
    for (let draw = 0; draw < 2 * n - 1; draw++) reference.next();

    expect(rng.state()).toEqual(reference.state());
  });

  it("picks the lowest out-strength as end node at p = 0", () => {
    // Out-strengths [3, -2, 1, -2]: node 1 and node 3 tie for the lowest, so node 1 wins.
    const adjacency = [
      [0, 1, 1, 1],
      [-1, 0, -0.5, -0.5],
      [0.5, 0.5, 0, 0],
      [-1, -1, 0, 0],
    ];

    expect(gDecode(adjacency, TREE_ARGMAX, Rng.fromSeed(1)).end).toBe(1);
  });

  it("prefers lower out-strength as end node when sampling", () => {
    // Out-strengths [0, 1, 2]; with p = 1 every node can be drawn, with weights e^0 : e^-1 : e^-2.
    const adjacency = [
      [0, 0, 0],
      [0.5, 0, 0.5],
      [1, 1, 0],
    ];
    const rng = Rng.fromSeed(4);
    const counts = [0, 0, 0];

    for (let trial = 0; trial < 3000; trial++) counts[gDecode(adjacency, { ...TREE_SAMPLED, topP: 1 }, rng).end] += 1;

    expect(counts[0]).toBeGreaterThan(counts[1]);
    expect(counts[1]).toBeGreaterThan(counts[2]);
    expect(counts[2]).toBeGreaterThan(0);
  });

  it("treats zero entries as weights, not missing edges", () => {
    // s = [-3, -1, 0], so end = 0. Node 2 (s = 0) is placed next, with target 0 (A[2][0] = 0).
    // Node 1 then prefers A[1][2] = 0 over A[1][0] = -1. The reference code's softmax treats
    // every exp(0) as "no edge" and would mask all three of these zero weights.
    const adjacency = [
      [0, -1.5, -1.5],
      [-1, 0, 0],
      [0, 0, 0],
    ];

    const dag = gDecode(adjacency, TREE_ARGMAX, Rng.fromSeed(1));

    expect(dag.end).toBe(0);
    expect(dag.placement).toEqual([0, 2, 1]);
    expect(dag.edges).toEqual([
      [2, 0],
      [1, 2],
    ]);
  });

  it("stays finite for entries of ±1e6", () => {
    const adjacency = [
      [0, 1e6, -1e6],
      [-1e6, 0, -1e6],
      [1e6, 1e6, 0],
    ];

    const dag = gDecode(adjacency, TREE_ARGMAX, Rng.fromSeed(1));

    expect(dag.end).toBe(1);
    expect(dag.edges).toEqual([
      [2, 1],
      [0, 1],
    ]);
  });

  it("rejects non-finite entries with their position", () => {
    const adjacency = matrix(4, () => 0.5);
    adjacency[2][3] = Number.NaN;

    expect(() => gDecode(adjacency, TREE_ARGMAX, Rng.fromSeed(1))).toThrow("adjacency[2][3] must be finite, but got NaN");

    adjacency[2][3] = Number.POSITIVE_INFINITY;
    expect(() => gDecode(adjacency, TREE_ARGMAX, Rng.fromSeed(1))).toThrow("adjacency[2][3] must be finite, but got Infinity");
  });

  it("rejects a non-square matrix", () => {
    const adjacency = [
      [0, 1, 1],
      [1, 0],
      [1, 1, 0],
    ];

    expect(() => gDecode(adjacency, TREE_ARGMAX, Rng.fromSeed(1))).toThrow("adjacency must be square (3×3), but row 1 has 2 entries");
  });

  it("rejects an empty matrix", () => {
    expect(() => gDecode([], TREE_ARGMAX, Rng.fromSeed(1))).toThrow("adjacency must be a non-empty square matrix");
  });

  it("rejects a non-zero diagonal", () => {
    const adjacency = matrix(3, () => 0.5);
    adjacency[1][1] = 0.2;

    expect(() => gDecode(adjacency, TREE_ARGMAX, Rng.fromSeed(1))).toThrow("adjacency[1][1] must be 0");
  });

  it("rejects top-p outside [0, 1]", () => {
    const adjacency = matrix(3, () => 0.5);

    expect(() => gDecode(adjacency, { ...TREE_ARGMAX, topP: 1.5 }, Rng.fromSeed(1))).toThrow("topP must be in [0, 1], but got 1.5");
    expect(() => gDecode(adjacency, { ...TREE_ARGMAX, topP: Number.NaN }, Rng.fromSeed(1))).toThrow("topP must be in [0, 1], but got NaN");
  });

  it("does not modify the adjacency matrix", () => {
    const adjacency = MATRIX_KINDS.random(6, Rng.fromSeed(8));
    const copy = adjacency.map((row) => [...row]);

    gDecode(adjacency, { topP: 0.8, mode: "dag", edgeThreshold: 0.3 }, Rng.fromSeed(2));

    expect(adjacency).toEqual(copy);
  });
});

describe("top-p selection", () => {
  const probabilities = [0.2, 0.5, 0.3];

  it("keeps the shortest prefix that exceeds p", () => {
    expect(topPCandidates(probabilities, 0.6)).toEqual([1, 2]);
  });

  it("keeps one more when the prefix only equals p", () => {
    expect(topPCandidates(probabilities, 0.5)).toEqual([1, 2]);
  });

  it("keeps only the argmax at p = 0", () => {
    expect(topPCandidates(probabilities, 0)).toEqual([1]);
  });

  it("keeps every candidate at p = 1", () => {
    expect(topPCandidates(probabilities, 1)).toEqual([1, 2, 0]);
  });

  it("breaks ties by the lower index", () => {
    expect(topPCandidates([0.25, 0.375, 0.375], 0)).toEqual([1]);
    expect(topPCandidates([0.25, 0.375, 0.375], 0.5)).toEqual([1, 2]);
  });

  it("returns the argmax at p = 0 without drawing", () => {
    const rng = Rng.fromSeed(1);
    const before = rng.state();

    expect(selectTopP(probabilities, 0, rng)).toBe(1);
    expect(rng.state()).toEqual(before);
  });

  it("draws only among the kept candidates, in proportion", () => {
    const rng = Rng.fromSeed(2);
    const counts = [0, 0, 0];

    for (let trial = 0; trial < 4000; trial++) counts[selectTopP(probabilities, 0.6, rng)] += 1;

    expect(counts[0]).toBe(0);
    // Renormalised weights 0.5 / 0.8 and 0.3 / 0.8: expected 2500 and 1500 draws.
    expect(counts[1]).toBeGreaterThan(2350);
    expect(counts[1]).toBeLessThan(2650);
  });
});

describe("masked softmax", () => {
  it("gives masked entries probability 0", () => {
    const probabilities = maskedSoftmax([0, 0, 0], [true, false, true]);

    expect(probabilities).toEqual([0.5, 0, 0.5]);
  });

  it("stays finite for logits of ±1e6", () => {
    const probabilities = maskedSoftmax([1e6, -1e6, 1e6 - 1], [true, true, true]);

    expect(probabilities.every(Number.isFinite)).toBe(true);
    expect(probabilities[1]).toBe(0);
    expect(probabilities[0] + probabilities[2]).toBeCloseTo(1, 12);
    expect(probabilities[0] / probabilities[2]).toBeCloseTo(Math.E, 9);
  });
});

describe("G-Decode dag mode", () => {
  const options: GDecodeOptions = { topP: 0, mode: "dag", edgeThreshold: 0.5 };

  it("adds only later-to-earlier edges above the threshold", () => {
    const adjacency = MATRIX_KINDS.random(8, Rng.fromSeed(21));
    const tree = gDecode(adjacency, { ...options, mode: "tree" }, Rng.fromSeed(1));

    const dag = gDecode(adjacency, options, Rng.fromSeed(1));
    const rank = new Map(dag.placement.map((node, index) => [node, index]));
    const treeKeys = new Set(tree.edges.map((edge) => edge.join(",")));
    const extra = dag.edges.filter((edge) => !treeKeys.has(edge.join(",")));

    expect(dag.edges.slice(0, tree.edges.length)).toEqual(tree.edges);
    expect(extra.length).toBeGreaterThan(0);
    for (const [u, v] of extra) {
      expect(rank.get(u)!).toBeGreaterThan(rank.get(v)!);
      expect(adjacency[u][v]).toBeGreaterThan(0.5);
    }
  });

  it("adds every later-to-earlier edge above the threshold once", () => {
    const adjacency = MATRIX_KINDS.random(8, Rng.fromSeed(21));

    const dag = gDecode(adjacency, options, Rng.fromSeed(1));
    const keys = dag.edges.map((edge) => edge.join(","));

    expect(new Set(keys).size).toBe(keys.length);
    for (let later = 1; later < dag.n; later++) {
      for (let earlier = 0; earlier < later; earlier++) {
        const [u, v] = [dag.placement[later], dag.placement[earlier]];
        if (adjacency[u][v] > 0.5) expect(keys).toContain(`${u},${v}`);
      }
    }
  });

  it("stays acyclic with every node reaching the end", () => {
    const rng = Rng.fromSeed(5);
    for (let n = 1; n <= 12; n++) {
      const dag = gDecode(MATRIX_KINDS.random(n, rng), { ...options, topP: 0.8, edgeThreshold: 0.2 }, rng);
      const order = topologicalOrder(dag);
      const position = new Map(order.map((node, index) => [node, index]));

      for (const [from, to] of dag.edges) expect(position.get(from)!).toBeLessThan(position.get(to)!);
      expect(reachableNodes(dag)).toHaveLength(n);
    }
  });
});

describe("sparsify", () => {
  // Tree: 3 → 1 (A = 0.9), 2 → 0 (A = 0.1), 1 → 0 (A = 0.7); end node 0.
  const dag: Dag = {
    n: 4,
    end: 0,
    placement: [0, 1, 2, 3],
    edges: [
      [1, 0],
      [2, 0],
      [3, 1],
    ],
  };
  const adjacency = [
    [0, 0, 0, 0],
    [0.7, 0, 0, 0],
    [0.1, 0, 0, 0],
    [0, 0.9, 0, 0],
  ];

  it("drops edges below tau", () => {
    expect(sparsify(dag, adjacency, 0.5).edges).toEqual([
      [1, 0],
      [3, 1],
    ]);
  });

  it("keeps edges equal to tau", () => {
    expect(sparsify(dag, adjacency, 0.7).edges).toEqual([
      [1, 0],
      [3, 1],
    ]);
  });

  it("leaves cut-off nodes out of the reachable set", () => {
    expect(reachableNodes(sparsify(dag, adjacency, 0.8))).toEqual([0]);
    expect(reachableNodes(sparsify(dag, adjacency, 0.5))).toEqual([3, 1, 0]);
  });

  it("rejects a matrix of another size", () => {
    expect(() => sparsify(dag, [[0]], 0.5)).toThrow("adjacency must be 4×4 to match the DAG, but got 1×1");
  });
});

describe("topological order", () => {
  it("is the reverse placement for G-Decode output", () => {
    const dag = gDecode(MATRIX_KINDS.random(9, Rng.fromSeed(12)), TREE_ARGMAX, Rng.fromSeed(1));

    expect(topologicalOrder(dag)).toEqual([...dag.placement].reverse());
  });

  it("puts predecessors first for hand-made DAGs", () => {
    // Chain 0 → 1 → 2 with end 2, listed with a placement that does not follow the edges.
    const chain: Dag = {
      n: 3,
      end: 2,
      placement: [0, 1, 2],
      edges: [
        [0, 1],
        [1, 2],
      ],
    };

    expect(topologicalOrder(chain)).toEqual([0, 1, 2]);
  });

  it("rejects a cycle", () => {
    const cyclic: Dag = {
      n: 3,
      end: 0,
      placement: [0, 1, 2],
      edges: [
        [1, 0],
        [2, 1],
        [1, 2],
      ],
    };

    expect(() => topologicalOrder(cyclic)).toThrow("DAG must be acyclic");
  });

  it("rejects duplicate edges", () => {
    const duplicated: Dag = {
      n: 2,
      end: 0,
      placement: [0, 1],
      edges: [
        [1, 0],
        [1, 0],
      ],
    };

    expect(() => topologicalOrder(duplicated)).toThrow("DAG edge 1 → 0 must appear once");
  });
});

describe("predecessors", () => {
  it("lists predecessors in placement order", () => {
    const dag: Dag = {
      n: 4,
      end: 0,
      placement: [0, 3, 1, 2],
      edges: [
        [2, 0],
        [3, 0],
        [1, 0],
      ],
    };

    expect(predecessors(dag, 0)).toEqual([3, 1, 2]);
    expect(predecessors(dag, 2)).toEqual([]);
  });

  it("rejects a node outside the DAG", () => {
    const dag: Dag = { n: 2, end: 0, placement: [0, 1], edges: [[1, 0]] };

    expect(() => predecessors(dag, 2)).toThrow("node must be an integer in [0, 1], but got 2");
  });
});
