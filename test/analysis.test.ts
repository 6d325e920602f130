import { describe, expect, it } from "vitest";
import { collaborativeGain, roleDistribution, structuralRoles } from "../server/core/analysis";
import { sparsify } from "../server/core/gdecode";
import type { Dag } from "../server/core/types";

// End node 0. Node 1 aggregates 2 and 3, node 4 feeds 0 directly, and 5 relays through 4.
//   2 ─┐
//      1 ──> 0 <── 4 <── 5
//   3 ─┘
const HAND_DAG: Dag = {
  n: 6,
  end: 0,
  placement: [0, 1, 4, 2, 3, 5],
  edges: [
    [1, 0],
    [4, 0],
    [2, 1],
    [3, 1],
    [5, 4],
  ],
};

describe("structural roles", () => {
  it("labels source, relay, aggregator and end", () => {
    expect(structuralRoles(HAND_DAG)).toEqual(["end", "aggregator", "source", "source", "relay", "source"]);
  });

  it("labels a single node as the end", () => {
    expect(structuralRoles({ n: 1, end: 0, placement: [0], edges: [] })).toEqual(["end"]);
  });

  it("labels a chain as source, relays and end", () => {
    const chain: Dag = {
      n: 3,
      end: 0,
      placement: [0, 1, 2],
      edges: [
        [1, 0],
        [2, 1],
      ],
    };

    expect(structuralRoles(chain)).toEqual(["end", "relay", "source"]);
  });

  it("labels nodes cut off by sparsification as unused", () => {
    // Dropping 4 → 0 (A = 0.1) leaves 4 and 5 unable to reach the end.
    const adjacency = [
      [0, 0, 0, 0, 0, 0],
      [0.9, 0, 0, 0, 0, 0],
      [0, 0.8, 0, 0, 0, 0],
      [0, 0.7, 0, 0, 0, 0],
      [0.1, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0.6, 0],
    ];

    const roles = structuralRoles(sparsify(HAND_DAG, adjacency, 0.5));

    expect(roles).toEqual(["end", "aggregator", "source", "source", "unused", "unused"]);
  });
});

describe("role distribution", () => {
  it("counts roles per model across DAGs", () => {
    const chain: Dag = {
      n: 3,
      end: 0,
      placement: [0, 1, 2],
      edges: [
        [1, 0],
        [2, 1],
      ],
    };
    const star: Dag = {
      n: 3,
      end: 2,
      placement: [2, 0, 1],
      edges: [
        [0, 2],
        [1, 2],
      ],
    };

    // Chain roles [end, relay, source] held by models [0, 1, 2];
    // star roles [source, source, end] held by models [1, 1, 0].
    const counts = roleDistribution([chain, star], [[0, 1, 2], [1, 1, 0]], 3);

    expect(counts[0]).toEqual({ source: 0, relay: 0, aggregator: 0, end: 2, unused: 0 });
    expect(counts[1]).toEqual({ source: 2, relay: 1, aggregator: 0, end: 0, unused: 0 });
    expect(counts[2]).toEqual({ source: 1, relay: 0, aggregator: 0, end: 0, unused: 0 });
  });

  it("rejects a model index outside the pool", () => {
    const single: Dag = { n: 1, end: 0, placement: [0], edges: [] };

    expect(() => roleDistribution([single], [[3]], 2)).toThrow("assignments[0][0] must be a model index in [0, 1], but got 3");
  });

  it("rejects assignments of the wrong length", () => {
    const single: Dag = { n: 1, end: 0, placement: [0], edges: [] };

    expect(() => roleDistribution([single], [[0, 1]], 2)).toThrow("assignments[0] must have one model per position (1), but got 2");
    expect(() => roleDistribution([single], [], 2)).toThrow("assignments must have one entry per DAG (1), but got 0");
  });
});

describe("collaborative gain", () => {
  it("matches a hand computation", () => {
    // 3 models, 6 items. Models solving each item alone: k = [3, 1, 0, 1, 2, 0].
    // Buckets: B_0 = {2, 5}, B_1 = {1, 3}, B_2 = {4}, B_3 = {0}.
    // The system solves items 0, 1, 2: acc_0 = 1/2, acc_1 = 1/2, acc_2 = 0, acc_3 = 1.
    // C-Gain = 2/6·(1/2 − 0) + 2/6·(1/2 − 1/3) + 1/6·(0 − 2/3) + 1/6·(1 − 1)
    //        = 3/18 + 1/18 − 2/18 + 0 = 1/9.
    const singleCorrect = [
      [true, true, false, false, true, false],
      [true, false, false, true, false, false],
      [true, false, false, false, true, false],
    ];
    const systemCorrect = [true, true, true, false, false, false];

    const result = collaborativeGain(systemCorrect, singleCorrect);

    expect(result.cGain).toBeCloseTo(1 / 9, 14);
    expect(result.buckets).toEqual([
      { k: 0, items: 2, solved: 1, accuracy: 0.5, expected: 0 },
      { k: 1, items: 2, solved: 1, accuracy: 0.5, expected: 1 / 3 },
      { k: 2, items: 1, solved: 0, accuracy: 0, expected: 2 / 3 },
      { k: 3, items: 1, solved: 1, accuracy: 1, expected: 1 },
    ]);
  });

  it("lets empty buckets contribute nothing", () => {
    // 2 models, k = [2, 1]; B_0 is empty. C-Gain = 1/2·(1 − 1) + 1/2·(1 − 1/2) = 1/4.
    const result = collaborativeGain(
      [true, true],
      [
        [true, true],
        [true, false],
      ],
    );

    expect(result.buckets[0]).toEqual({ k: 0, items: 0, solved: 0, accuracy: null, expected: 0 });
    expect(result.cGain).toBeCloseTo(0.25, 14);
  });

  it("is zero when the system matches the expected accuracy", () => {
    // One model: the system is right exactly where the model is, so acc_k = k/n in every bucket.
    const result = collaborativeGain([true, false, true], [[true, false, true]]);

    expect(result.cGain).toBe(0);
  });

  it("rejects rows of the wrong length", () => {
    expect(() => collaborativeGain([true, false], [[true, false], [true]])).toThrow("singleCorrect[1] must have one entry per item (2), but got 1");
  });

  it("rejects empty input", () => {
    expect(() => collaborativeGain([], [[]])).toThrow("systemCorrect must cover at least one item");
    expect(() => collaborativeGain([true], [])).toThrow("singleCorrect must contain at least one model");
  });
});
