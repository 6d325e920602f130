import { describe, expect, it } from "vitest";
import { drawAssignments, jfkScores } from "../server/core/jfk";
import { Rng } from "../server/core/rng";

describe("JFK-score", () => {
  it("equals a hand-computed example", () => {
    // Model 0 holds 1 position in assignment 0 (f = 0.6) and 2 in assignment 1 (f = 0.3):
    // (1·0.6 + 2·0.3) / 3 = 0.4. Model 1 holds 2 positions in assignment 0: 0.6.
    // Model 2 holds 1 position in assignment 1: 0.3. Model 3 is never drawn and keeps 9.
    const { scores, drawn } = jfkScores(
      [
        [0, 1, 1],
        [2, 0, 0],
      ],
      [0.6, 0.3],
      [9, 9, 9, 9],
    );

    expect(scores[0]).toBeCloseTo(0.4, 12);
    expect(scores[1]).toBeCloseTo(0.6, 12);
    expect(scores[2]).toBeCloseTo(0.3, 12);
    expect(scores[3]).toBe(9);
    expect(drawn).toEqual([true, true, true, false]);
  });

  it("rejects a utility count that differs from the assignments", () => {
    expect(() => jfkScores([[0]], [0.1, 0.2], [0])).toThrow(/one utility per assignment/);
  });
});

describe("drawAssignments", () => {
  it("draws with replacement over every model", () => {
    const assignments = drawAssignments(400, 5, 3, Rng.fromSeed(1));
    const flat = assignments.flat();

    expect(assignments).toHaveLength(400);
    expect(assignments.every((a) => a.length === 5)).toBe(true);
    expect(new Set(flat)).toEqual(new Set([0, 1, 2]));
    expect(assignments.some((a) => new Set(a).size < a.length)).toBe(true);
  });

  it("is reproducible from the seed", () => {
    expect(drawAssignments(10, 4, 6, Rng.fromSeed(5))).toEqual(drawAssignments(10, 4, 6, Rng.fromSeed(5)));
    expect(drawAssignments(10, 4, 6, Rng.fromSeed(5))).not.toEqual(drawAssignments(10, 4, 6, Rng.fromSeed(6)));
  });
});

describe("Rng", () => {
  it("restores from its state", () => {
    const rng = Rng.fromSeed(42);
    rng.next();
    const copy = new Rng(JSON.parse(JSON.stringify(rng.state())));

    expect(Array.from({ length: 5 }, () => copy.next())).toEqual(Array.from({ length: 5 }, () => rng.next()));
  });

  it("draws uniformly in [0, 1)", () => {
    const rng = Rng.fromSeed(3);
    const draws = Array.from({ length: 20000 }, () => rng.next());
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;

    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
  });

  it("rejects an unsafe seed", () => {
    expect(() => Rng.fromSeed(1.5)).toThrow(/safe integer/);
  });
});
