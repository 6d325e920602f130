import { describe, expect, it } from "vitest";
import { drawnSystemKey, edgeStrength, edgeStyle, layoutDag, NODE_WIDTH } from "../../components/data/dag-layout";
import { ROLE_COLORS } from "../../components/data/roles";
import { CHAIN, FAN_IN, NAMES } from "./fixtures";

describe("layoutDag", () => {
  it("makes one node per position with its model name and role", () => {
    const { nodes } = layoutDag(FAN_IN, { names: NAMES });

    expect(nodes.map((n) => n.id)).toEqual(["p0", "p1", "p2"]);
    expect(nodes.map((n) => n.data.model)).toEqual(["math", "law", "verifier"]);
    expect(nodes.map((n) => n.data.role)).toEqual(["source", "source", "end"]);
    expect(nodes[2].data.color).toBe(ROLE_COLORS.end);
    expect(nodes.every((n) => n.type === "model")).toBe(true);
  });

  it("ranks a chain left to right in edge direction", () => {
    const { nodes } = layoutDag(CHAIN, { names: NAMES });
    const x = nodes.map((n) => n.position.x);

    expect(x[0]).toBeLessThan(x[1]);
    expect(x[1]).toBeLessThan(x[2]);
    expect(x[1] - x[0]).toBeGreaterThanOrEqual(NODE_WIDTH);
  });

  it("stacks the sources of a fan-in in one rank", () => {
    const { nodes } = layoutDag(FAN_IN, { names: NAMES });

    expect(nodes[0].position.x).toBe(nodes[1].position.x);
    expect(nodes[0].position.y).not.toBe(nodes[1].position.y);
  });

  it("maps each DAG edge to a source-to-target edge", () => {
    const { edges } = layoutDag(FAN_IN, { names: NAMES });

    expect(edges.map((e) => [e.source, e.target])).toEqual([
      ["p0", "p2"],
      ["p1", "p2"],
    ]);
    expect(new Set(edges.map((e) => e.id)).size).toBe(2);
  });

  it("draws stronger adjacency values wider and more opaque", () => {
    const adjacency = [0, 0.2, 0.9, 0.1, 0, 0.3, 0.3, 0.4, 0];
    const { edges } = layoutDag(FAN_IN, { names: NAMES, adjacency });
    const [strong, weak] = edges;

    expect(strong.data.adjacency).toBe(0.9);
    expect(weak.data.adjacency).toBe(0.3);
    expect(strong.style.strokeWidth).toBeGreaterThan(weak.style.strokeWidth);
    expect(strong.style.opacity).toBeGreaterThan(weak.style.opacity);
    expect(strong.label).toBe("0.90");
  });

  it("ignores the diagonal when scaling adjacency values", () => {
    const adjacency = [5, 0.2, 0.9, 0.1, 5, 0.3, 0.3, 0.4, 5];
    const { edges } = layoutDag(FAN_IN, { names: NAMES, adjacency });

    expect(edges[0].data.strength).toBe(1);
  });

  it("draws uniform unlabelled edges without an adjacency", () => {
    const { edges } = layoutDag(FAN_IN, { names: NAMES, adjacency: null });

    expect(edges.every((e) => e.label === undefined)).toBe(true);
    expect(edges.every((e) => e.data.strength === 1)).toBe(true);
  });

  it("rejects an adjacency of the wrong size", () => {
    expect(() => layoutDag(FAN_IN, { names: NAMES, adjacency: [0, 1] })).toThrow(/9 entries, but got 2/);
  });

  it("marks nodes that do not reach the end as unused", () => {
    const sparse = { n: 3, edges: [[0, 2]] as [number, number][], end: 2 };
    const { nodes } = layoutDag(sparse, { names: NAMES });

    expect(nodes[1].data.role).toBe("unused");
  });
});

describe("edgeStrength", () => {
  it("scales within the matrix range and clamps", () => {
    expect(edgeStrength(0.5, { min: 0, max: 1 })).toBe(0.5);
    expect(edgeStrength(-1, { min: 0, max: 1 })).toBe(0);
    expect(edgeStrength(2, { min: 0, max: 1 })).toBe(1);
  });

  it("is full strength for a constant matrix", () => {
    expect(edgeStrength(0.4, { min: 0.4, max: 0.4 })).toBe(1);
  });

  it("keeps weak edges visible", () => {
    expect(edgeStyle(0).opacity).toBeGreaterThan(0);
    expect(edgeStyle(0).strokeWidth).toBeGreaterThanOrEqual(1);
  });
});

describe("layoutDag roles", () => {
  it("takes given roles, as for a majority vote", () => {
    const vote = { n: 3, edges: [] as [number, number][], end: 0 };
    const { nodes } = layoutDag(vote, { names: NAMES, roles: ["source", "source", "source"] });

    expect(nodes.map((n) => n.data.role)).toEqual(["source", "source", "source"]);
  });
});

describe("drawnSystemKey", () => {
  const system = { kind: "dag" as const, dag: FAN_IN, assignment: [0, 1, 2], adjacency: [0, 0.2, 0.9, 0.1, 0, 0.8, 0.3, 0.4, 0] };

  it("is equal for copies found at different steps", () => {
    expect(drawnSystemKey({ ...system, dag: { ...FAN_IN, edges: [[1, 2], [0, 2]] } })).toBe(drawnSystemKey(system));
  });

  it("differs for another assignment", () => {
    expect(drawnSystemKey({ ...system, assignment: [2, 1, 0] })).not.toBe(drawnSystemKey(system));
  });

  it("differs for another adjacency", () => {
    expect(drawnSystemKey({ ...system, adjacency: null })).not.toBe(drawnSystemKey(system));
  });

  it("differs for another DAG", () => {
    expect(drawnSystemKey({ ...system, dag: CHAIN })).not.toBe(drawnSystemKey(system));
  });
});
