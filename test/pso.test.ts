import { describe, expect, it } from "vitest";
import { resolveConfig, stepLengthAt } from "../server/core/config";
import {
  createSwarm,
  diagonalIndices,
  flattenMatrix,
  moveSwarm,
  recordScores,
  restartStrays,
  toMatrix,
  type PsoParams,
  type Swarm,
} from "../server/core/pso";
import { Rng } from "../server/core/rng";

const DEFAULTS: PsoParams = resolveConfig({});
const DETERMINISTIC: PsoParams = { ...DEFAULTS, randomFactors: false };

/** Utility −||x − c||², maximised at c. */
function negativeSquaredDistance(center: number[]) {
  return (x: number[]) => -x.reduce((sum, value, k) => sum + (value - center[k]) ** 2, 0);
}

function randomPositions(count: number, dimension: number, rng: Rng, scale = 5): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: dimension }, () => scale * (2 * rng.next() - 1)));
}

function scoreAll(swarm: Swarm, utility: (x: number[]) => number): Swarm {
  return recordScores(
    swarm,
    swarm.particles.map((particle) => utility(particle.position)),
  );
}

/** Runs `iterations` rounds of move-then-score after scoring the start positions. */
function search(seed: number, params: PsoParams, iterations: number, utility: (x: number[]) => number, dimension = 2): { swarm: Swarm; rng: Rng } {
  const rng = Rng.fromSeed(seed);
  let swarm = scoreAll(createSwarm(randomPositions(10, dimension, rng), "random", rng), utility);
  for (let t = 0; t < iterations; t++) swarm = scoreAll(moveSwarm(swarm, params, 1, rng), utility);
  return { swarm, rng };
}

/** Two particles at [0, 0] (score 1) and [2, 4] (score 0), each starting with velocity towards the other. */
function twoParticleSwarm(): Swarm {
  const swarm = createSwarm(
    [
      [0, 0],
      [2, 4],
    ],
    "random",
    Rng.fromSeed(1),
  );
  return recordScores(swarm, [1, 0]);
}

describe("PSO", () => {
  it("converges on a convex utility", () => {
    const center = [1, -2];

    const { swarm } = search(3, { ...DEFAULTS, repelOn: false }, 50, negativeSquaredDistance(center));

    expect(Math.sqrt(-swarm.globalBestScore)).toBeLessThan(0.05);
    expect(swarm.globalBest[0]).toBeCloseTo(1, 1);
    expect(swarm.globalBest[1]).toBeCloseTo(-2, 1);
  });

  it("approaches the optimum with default settings", () => {
    const utility = negativeSquaredDistance([1, -2]);
    const start = search(3, DEFAULTS, 0, utility).swarm;

    const { swarm } = search(3, DEFAULTS, 50, utility);

    expect(Math.sqrt(-swarm.globalBestScore)).toBeLessThan(0.35);
    expect(swarm.globalBestScore).toBeGreaterThan(start.globalBestScore);
  });

  it("pins one update with random factors off", () => {
    // a = (0.4, 0.3, 0.3, 0.3) / 1.3 = (4, 3, 3, 3) / 13; g = [0, 0], w = [2, 4], p_i = x_i.
    // Particle 0: x = [0, 0], v = [2, 4].
    //   v' = 4/13·[2, 4] + 3/13·([0, 0] − [2, 4]) = [2/13, 4/13]; x' = x + 0.5·v' = [1/13, 2/13].
    // Particle 1: x = [2, 4], v = [−2, −4].
    //   v' = 4/13·[−2, −4] + 3/13·([0, 0] − [2, 4]) + 3/13·0 = [−14/13, −28/13];
    //   x' = [2, 4] + 0.5·v' = [19/13, 38/13].
    const moved = moveSwarm(twoParticleSwarm(), DETERMINISTIC, 0.5, Rng.fromSeed(9));
    const [first, second] = moved.particles;

    expect(first.velocity[0]).toBeCloseTo(2 / 13, 14);
    expect(first.velocity[1]).toBeCloseTo(4 / 13, 14);
    expect(first.position[0]).toBeCloseTo(1 / 13, 14);
    expect(first.position[1]).toBeCloseTo(2 / 13, 14);
    expect(second.velocity[0]).toBeCloseTo(-14 / 13, 14);
    expect(second.velocity[1]).toBeCloseTo(-28 / 13, 14);
    expect(second.position[0]).toBeCloseTo(19 / 13, 14);
    expect(second.position[1]).toBeCloseTo(38 / 13, 14);
  });

  it("pins a second update with every term active", () => {
    // Scores [0.5, 2] after the first update: particle 1 becomes personal and global best at
    // [19/13, 38/13]; particle 0 keeps p = [0, 0]; w stays [2, 4] (0.5 is not below 0).
    // Particle 0: x = [1/13, 2/13], v = [2/13, 4/13].
    //   v' = 4/13·v + 3/13·(p − x) + 3/13·(g − x) + 3/13·(x − w)
    //      = (4·[2, 4] + 3·[−1, −2] + 3·[18, 36] + 3·[−25, −50]) / 169 = [−16/169, −32/169]
    //   x' = x + 0.5·v' = [5/169, 10/169].
    const once = moveSwarm(twoParticleSwarm(), DETERMINISTIC, 0.5, Rng.fromSeed(9));
    const scored = recordScores(once, [0.5, 2]);

    const twice = moveSwarm(scored, DETERMINISTIC, 0.5, Rng.fromSeed(9));
    const [first] = twice.particles;

    expect(first.velocity[0]).toBeCloseTo(-16 / 169, 14);
    expect(first.velocity[1]).toBeCloseTo(-32 / 169, 14);
    expect(first.position[0]).toBeCloseTo(5 / 169, 14);
    expect(first.position[1]).toBeCloseTo(10 / 169, 14);
  });

  it("leaves out the repel term when it is off", () => {
    // Without repel, a = (4, 3, 3, 0) / 10 and particle 0 (x = p = g) keeps 0.4·v = [0.8, 1.6].
    const swarm = twoParticleSwarm();

    const withRepel = moveSwarm(swarm, DEFAULTS, 1, Rng.fromSeed(4));
    const withoutRepel = moveSwarm(swarm, { ...DEFAULTS, repelOn: false }, 1, Rng.fromSeed(4));
    const deterministic = moveSwarm(swarm, { ...DETERMINISTIC, repelOn: false }, 1, Rng.fromSeed(4));

    expect(withRepel.particles[0].position).not.toEqual(withoutRepel.particles[0].position);
    expect(deterministic.particles[0].velocity[0]).toBeCloseTo(0.8, 14);
    expect(deterministic.particles[0].velocity[1]).toBeCloseTo(1.6, 14);
  });

  it("draws four factors per particle", () => {
    const swarm = twoParticleSwarm();
    const random = Rng.fromSeed(6);
    const reference = Rng.fromSeed(6);
    const unused = Rng.fromSeed(6);

    moveSwarm(swarm, { ...DEFAULTS, repelOn: false }, 1, random);
    for (let draw = 0; draw < 8; draw++) reference.next();
    moveSwarm(swarm, DETERMINISTIC, 1, unused);

    expect(random.state()).toEqual(reference.state());
    expect(unused.state()).toEqual(Rng.fromSeed(6).state());
  });

  it("sets the velocity to 0 when all weights are 0", () => {
    const still = { ...DETERMINISTIC, inertia: 0, cognitive: 0, social: 0, repel: 0 };

    const moved = moveSwarm(twoParticleSwarm(), still, 1, Rng.fromSeed(1));

    expect(moved.particles[1].velocity).toEqual([0, 0]);
    expect(moved.particles[1].position).toEqual([2, 4]);
  });

  it("keeps fixed-zero entries at exactly 0", () => {
    const n = 4;
    const rng = Rng.fromSeed(2);
    const positions = Array.from({ length: 6 }, () => flattenMatrix(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : rng.next())))));
    let swarm = createSwarm(positions, "random", rng, diagonalIndices(n));
    const utility = (x: number[]) => x[1] - x[2];

    for (let t = 0; t < 10; t++) swarm = moveSwarm(scoreAll(swarm, utility), DEFAULTS, 1, rng);

    for (const particle of swarm.particles) {
      const matrix = toMatrix(particle.position, n);
      for (let i = 0; i < n; i++) {
        expect(Object.is(matrix[i][i], 0)).toBe(true);
        expect(Object.is(particle.velocity[i * n + i], 0)).toBe(true);
      }
    }
    expect(swarm.particles[0].position[1]).not.toBe(positions[0][1]);
  });

  it("rejects non-zero fixed-zero start entries", () => {
    expect(() => createSwarm([[0, 1], [0.5, 1]], "zero", Rng.fromSeed(1), [0])).toThrow(
      "positions[1][0] must be 0 because index 0 is fixed at zero, but got 0.5",
    );
  });

  it("scales the move by the step length of the schedule", () => {
    const config = { stepLength: 1, stepLengthFactor: 0.95, minStepLength: 0.1 };
    const swarm = twoParticleSwarm();

    const moved = moveSwarm(swarm, DETERMINISTIC, stepLengthAt(config, 2), Rng.fromSeed(1));
    const particle = moved.particles[1];

    expect(stepLengthAt(config, 0)).toBe(1);
    expect(stepLengthAt(config, 2)).toBeCloseTo(0.9025, 14);
    expect(stepLengthAt(config, 100)).toBe(0.1);
    expect(particle.position[0] - 2).toBeCloseTo(0.9025 * particle.velocity[0], 14);
    expect(particle.position[1] - 4).toBeCloseTo(0.9025 * particle.velocity[1], 14);
  });

  it("gives the same swarm for the same seed", () => {
    const utility = negativeSquaredDistance([0.5, 0.5, 0.5]);

    const a = search(11, DEFAULTS, 10, utility, 3).swarm;
    const b = search(11, DEFAULTS, 10, utility, 3).swarm;

    expect(a).toEqual(b);
  });

  it("gives a different swarm for a different seed", () => {
    const utility = negativeSquaredDistance([0.5, 0.5, 0.5]);

    const a = search(11, DEFAULTS, 10, utility, 3).swarm;
    const b = search(12, DEFAULTS, 10, utility, 3).swarm;

    expect(a.particles[0].position).not.toEqual(b.particles[0].position);
  });

  it("continues identically after a JSON round trip", () => {
    const utility = negativeSquaredDistance([1, 2, 3]);
    const { swarm, rng } = search(21, DEFAULTS, 5, utility, 3);
    const saved = JSON.stringify({ swarm, rng: rng.state() });

    const restored = JSON.parse(saved) as { swarm: Swarm; rng: [number, number, number, number] };
    let resumed = restored.swarm;
    const resumedRng = new Rng(restored.rng);
    let uninterrupted = swarm;
    for (let t = 0; t < 5; t++) {
      uninterrupted = scoreAll(moveSwarm(uninterrupted, DEFAULTS, 1, rng), utility);
      resumed = scoreAll(moveSwarm(resumed, DEFAULTS, 1, resumedRng), utility);
    }

    expect(resumed).toEqual(uninterrupted);
  });

  it("survives a JSON round trip before the first scores", () => {
    const rng = Rng.fromSeed(5);
    const created = createSwarm(randomPositions(4, 3, rng), "random", rng);

    const restored = JSON.parse(JSON.stringify(created)) as Swarm;

    expect(restored).toEqual(created);
    expect(recordScores(restored, [1, 2, 3, 4])).toEqual(recordScores(created, [1, 2, 3, 4]));
  });

  it("does not modify its inputs", () => {
    const swarm = twoParticleSwarm();
    const snapshot = JSON.stringify(swarm);

    const moved = moveSwarm(swarm, DEFAULTS, 1, Rng.fromSeed(1));
    const scored = recordScores(moved, [3, 3]);
    restartStrays(scored, 1);

    expect(JSON.stringify(swarm)).toBe(snapshot);
    expect(scored.particles[0].best).not.toBe(moved.particles[0].position);
  });

  it("rejects a move before any scores", () => {
    const swarm = createSwarm([[0], [1]], "zero", Rng.fromSeed(1));

    expect(() => moveSwarm(swarm, DEFAULTS, 1, Rng.fromSeed(1))).toThrow("call recordScores first");
  });

  it("rejects a non-finite score", () => {
    const swarm = createSwarm([[0], [1]], "zero", Rng.fromSeed(1));

    expect(() => recordScores(swarm, [1, Number.NaN])).toThrow("scores[1] must be a finite number, but got NaN");
    expect(() => recordScores(swarm, [1])).toThrow("scores must have one entry per particle (2), but got 1");
  });
});

describe("PSO start velocity", () => {
  it("points each particle at another one in random mode", () => {
    const positions = [[0, 0], [1, 10], [100, 1000]];

    const swarm = createSwarm(positions, "random", Rng.fromSeed(3));

    swarm.particles.forEach((particle, i) => {
      const target = particle.velocity.map((v, k) => v + positions[i][k]);
      const j = positions.findIndex((position) => position[0] === target[0] && position[1] === target[1]);
      expect(j).not.toBe(-1);
      expect(j).not.toBe(i);
    });
  });

  it("is zero for a single particle", () => {
    expect(createSwarm([[1, 2]], "random", Rng.fromSeed(3)).particles[0].velocity).toEqual([0, 0]);
  });

  it("is zero in zero mode", () => {
    const swarm = createSwarm([[1, 2], [3, 4]], "zero", Rng.fromSeed(3));

    expect(swarm.particles.map((particle) => particle.velocity)).toEqual([[0, 0], [0, 0]]);
  });
});

describe("PSO bests", () => {
  it("sets every best and the worst from the first scores", () => {
    const swarm = createSwarm([[0], [1], [2]], "zero", Rng.fromSeed(1));

    const scored = recordScores(swarm, [5, 7, 7]);

    expect(scored.particles.map((particle) => particle.bestScore)).toEqual([5, 7, 7]);
    expect(scored.particles.map((particle) => particle.best)).toEqual([[0], [1], [2]]);
    expect(scored.globalBestIndex).toBe(1);
    expect(scored.globalBest).toEqual([1]);
    expect(scored.globalWorst).toEqual([0]);
    expect(scored.globalWorstScore).toBe(5);
    expect(scored.sinceGlobalImproved).toBe(0);
  });

  it("keeps bests and the worst on ties", () => {
    const first = recordScores(createSwarm([[0], [1]], "zero", Rng.fromSeed(1)), [1, 3]);
    const moved: Swarm = { ...first, particles: first.particles.map((particle) => ({ ...particle, position: [particle.position[0] + 10] })) };

    const tied = recordScores(moved, [1, 3]);

    expect(tied.particles[0].best).toEqual([0]);
    expect(tied.particles[1].best).toEqual([1]);
    expect(tied.particles.map((particle) => particle.sinceImproved)).toEqual([1, 1]);
    expect(tied.globalBest).toEqual([1]);
    expect(tied.globalWorst).toEqual([0]);
    expect(tied.sinceGlobalImproved).toBe(1);
  });

  it("updates on strict improvement only", () => {
    const first = recordScores(createSwarm([[0], [1]], "zero", Rng.fromSeed(1)), [1, 3]);
    const moved: Swarm = { ...first, particles: first.particles.map((particle) => ({ ...particle, position: [particle.position[0] + 10] })) };

    const changed = recordScores(moved, [0.5, 4]);

    expect(changed.particles[0].best).toEqual([0]);
    expect(changed.particles[0].sinceImproved).toBe(1);
    expect(changed.particles[1].best).toEqual([11]);
    expect(changed.particles[1].bestScore).toBe(4);
    expect(changed.particles[1].sinceImproved).toBe(0);
    expect(changed.globalBest).toEqual([11]);
    expect(changed.globalBestIndex).toBe(1);
    expect(changed.globalWorst).toEqual([10]);
    expect(changed.globalWorstScore).toBe(0.5);
    expect(changed.sinceGlobalImproved).toBe(0);
  });

  it("counts iterations without a global improvement", () => {
    let swarm = recordScores(createSwarm([[0], [1]], "zero", Rng.fromSeed(1)), [1, 2]);

    for (let t = 0; t < 3; t++) swarm = recordScores(swarm, [2, 1]);

    expect(swarm.sinceGlobalImproved).toBe(3);
  });
});

describe("PSO stray restart", () => {
  /** Particle 0 never improves after its first score; particle 1 improves every time. */
  function strayAfter(iterations: number): Swarm {
    let swarm = recordScores(createSwarm([[0, 0], [5, 5]], "random", Rng.fromSeed(1)), [10, 0]);
    for (let t = 1; t <= iterations; t++) {
      swarm = moveSwarm(swarm, DEFAULTS, 1, Rng.fromSeed(t));
      swarm = recordScores(swarm, [0, t]);
    }
    return swarm;
  }

  it("returns a stray particle to its personal best at rest", () => {
    const swarm = strayAfter(3);

    const restarted = restartStrays(swarm, 3);
    const [stray, improving] = restarted.particles;

    expect(swarm.particles[0].position).not.toEqual([0, 0]);
    expect(stray.position).toEqual([0, 0]);
    expect(stray.velocity).toEqual([0, 0]);
    expect(stray.cooldown).toBe(3);
    expect(improving.position).toEqual(swarm.particles[1].position);
    expect(improving.velocity).toEqual(swarm.particles[1].velocity);
    expect(improving.cooldown).toBe(0);
  });

  it("waits for the full patience", () => {
    const swarm = strayAfter(2);

    const unchanged = restartStrays(swarm, 3);

    expect(unchanged.particles[0].position).toEqual(swarm.particles[0].position);
    expect(unchanged.particles[0].cooldown).toBe(0);
  });

  it("leaves a restarted particle alone during its cooldown", () => {
    let swarm = restartStrays(strayAfter(3), 3);
    const cooldowns: number[] = [];

    for (let t = 0; t < 3; t++) {
      swarm = recordScores(moveSwarm(swarm, DEFAULTS, 1, Rng.fromSeed(100 + t)), [0, 100 + t]);
      const before = swarm.particles[0].position;
      swarm = restartStrays(swarm, 3);
      cooldowns.push(swarm.particles[0].cooldown);
      expect(swarm.particles[0].position).toEqual(before);
    }
    swarm = recordScores(moveSwarm(swarm, DEFAULTS, 1, Rng.fromSeed(200)), [0, 200]);
    swarm = restartStrays(swarm, 3);

    expect(cooldowns).toEqual([2, 1, 0]);
    expect(swarm.particles[0].position).toEqual([0, 0]);
    expect(swarm.particles[0].cooldown).toBe(3);
  });
});
