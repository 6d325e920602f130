import { describe, expect, it } from "vitest";
import { roleBarsOverSteps, roleBarsPerModel, roleCountsFromSteps, structuralRoles } from "../../components/data/roles";
import { structuralRoles as serverRoles } from "../../server/core/analysis";
import { gDecode, sparsify } from "../../server/core/gdecode";
import { Rng } from "../../server/core/rng";
import { CHAIN, FAN_IN, NAMES, recordedSteps } from "./fixtures";

describe("structuralRoles", () => {
  it("names sources, relays and the end of a chain", () => {
    expect(structuralRoles(CHAIN)).toEqual(["source", "relay", "end"]);
  });

  it("names an end node with two predecessors end, not aggregator", () => {
    expect(structuralRoles(FAN_IN)).toEqual(["source", "source", "end"]);
  });

  it("names a node with two predecessors an aggregator", () => {
    const dag = { n: 4, edges: [[0, 2], [1, 2], [2, 3]] as [number, number][], end: 3 };

    expect(structuralRoles(dag)[2]).toBe("aggregator");
  });

  it("names a node that does not reach the end unused", () => {
    const dag = { n: 3, edges: [[1, 2]] as [number, number][], end: 2 };

    expect(structuralRoles(dag)[0]).toBe("unused");
  });
});

describe("roleBarsPerModel", () => {
  it("stacks each model's counts with a total", () => {
    const rows = roleBarsPerModel([{ source: 3, end: 1 }, { relay: 2 }, {}], NAMES);

    expect(rows[0]).toMatchObject({ label: "math", source: 3, end: 1, relay: 0, total: 4 });
    expect(rows[1]).toMatchObject({ label: "law", relay: 2, total: 2 });
    expect(rows[2].total).toBe(0);
  });

  it("turns counts into shares that sum to one", () => {
    const rows = roleBarsPerModel([{ source: 3, end: 1 }], ["math"], true);

    expect(rows[0].source).toBe(0.75);
    expect(rows[0].end).toBe(0.25);
  });

  it("leaves a model without counts at zero in share mode", () => {
    const rows = roleBarsPerModel([{}], ["math"], true);

    expect(rows[0].total).toBe(0);
    expect(rows[0].source).toBe(0);
  });
});

describe("roleCountsFromSteps", () => {
  it("counts positions as models over every decoded graph", () => {
    const counts = roleCountsFromSteps(recordedSteps(), 3);

    // Two fan-ins and two chains: model 0 is a source in all four, model 1 a source twice and a relay twice.
    expect(counts[0].source).toBe(4);
    expect(counts[1].source).toBe(2);
    expect(counts[1].relay).toBe(2);
    expect(counts[2].end).toBe(4);
  });
});

describe("roleBarsOverSteps", () => {
  it("makes one bar per step that decoded graphs", () => {
    const rows = roleBarsOverSteps(recordedSteps(), null);

    expect(rows.map((r) => r.label)).toEqual(["init", "1 role"]);
    expect(rows[0].total).toBe(6);
  });

  it("counts a single model's roles when one is selected", () => {
    const rows = roleBarsOverSteps(recordedSteps(), 1);

    expect(rows[0]).toMatchObject({ source: 1, relay: 1, total: 2 });
  });

  it("gives each bar its iteration", () => {
    expect(roleBarsOverSteps(recordedSteps(), null).map((r) => r.iteration)).toEqual([0, 1]);
  });

  it("counts again after the steps' DAGs are replaced", () => {
    const steps = recordedSteps();
    const before = roleBarsOverSteps(steps, 2);
    steps[0].graphs = [{ dag: { n: 3, edges: [[2, 0]], end: 0 }, utility: 0.5 }];

    expect(before[0].end).toBe(2);
    expect(roleBarsOverSteps(steps, 2)[0]).toMatchObject({ source: 1, total: 1 });
  });
});

describe("structuralRoles parity with the server", () => {
  it("agrees with the search's roles on decoded and sparsified DAGs", () => {
    const rng = Rng.fromSeed(7);
    const seen = new Set<string>();
    for (let trial = 0; trial < 50; trial++) {
      const n = 2 + (trial % 5);
      const adjacency = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : rng.next())));
      const mode = trial % 2 === 0 ? "tree" : "dag";
      let dag = gDecode(adjacency, { topP: 0.8, mode, edgeThreshold: 0.5 }, rng);
      if (trial % 3 === 0) dag = sparsify(dag, adjacency, 0.4);

      expect(structuralRoles(dag)).toEqual(serverRoles(dag));
      serverRoles(dag).forEach((role) => seen.add(role));
    }

    expect([...seen].sort()).toEqual(["aggregator", "end", "relay", "source", "unused"]);
  });
});
