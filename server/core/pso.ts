import type { SearchConfig } from "./config";
import type { Rng } from "./rng";

// Particle swarm optimization shared by graph particles (flattened n×n adjacency matrices with
// the diagonal fixed at 0) and model particles (weight-coefficient vectors), following
// Heterogeneous Swarms (Feng et al. 2025, arXiv 2502.04510) and its reference code
// (BunsenFeng/heterogeneous_swarm, search.py). Utilities are maximised. Every function returns
// a new swarm and leaves its input untouched, and the state is plain JSON.

/** One particle. All its vectors have the swarm's dimension. */
export interface Particle {
  position: number[];
  velocity: number[];
  /** Utility at the position last passed to `recordScores`; null before the first call. */
  score: number | null;
  /** Personal best position. */
  best: number[];
  bestScore: number;
  /** `recordScores` calls since the personal best last improved strictly. */
  sinceImproved: number;
  /** Remaining `restartStrays` calls during which this particle cannot restart again. */
  cooldown: number;
}

/**
 * The swarm's state. Until the first `recordScores` call, `globalBestIndex` is −1, `globalBest`
 * and `globalWorst` are empty, and the scores are ∓Number.MAX_VALUE placeholders (finite, unlike
 * ±Infinity, so that the state survives JSON).
 */
export interface Swarm {
  particles: Particle[];
  globalBest: number[];
  globalBestScore: number;
  /** Particle whose position became the global best, when it last improved. */
  globalBestIndex: number;
  globalWorst: number[];
  globalWorstScore: number;
  /** Indices kept at exactly 0 in every position and velocity, e.g. the diagonal of a graph particle. */
  fixedZero: number[];
  /** `recordScores` calls since the global best last improved strictly. */
  sinceGlobalImproved: number;
}

export type PsoParams = Pick<SearchConfig, "inertia" | "cognitive" | "social" | "repel" | "repelOn" | "randomFactors">;

/**
 * Creates a swarm at `positions`. With `startVelocity` "random", particle i starts with velocity
 * x_j − x_i for a uniformly drawn j ≠ i (one `rng.int` per particle, in index order, and none for
 * a single particle, which starts at rest). With "zero", the RNG is not used.
 */
export function createSwarm(positions: number[][], startVelocity: "random" | "zero", rng: Rng, fixedZero: number[] = []): Swarm {
  const dimension = checkPositions(positions);
  const zeroIndices = checkFixedZero(fixedZero, dimension, positions);
  if (startVelocity !== "random" && startVelocity !== "zero") {
    throw new Error(`startVelocity must be "random" or "zero", but got ${JSON.stringify(startVelocity)}`);
  }

  const count = positions.length;
  const particles = positions.map((position, i): Particle => {
    let velocity = new Array<number>(dimension).fill(0);
    if (startVelocity === "random" && count > 1) {
      let j = rng.int(count - 1);
      if (j >= i) j += 1;
      velocity = positions[j].map((value, k) => value - position[k]);
    }
    const start = [...position];
    for (const k of zeroIndices) {
      start[k] = 0;
      velocity[k] = 0;
    }
    return {
      position: start,
      velocity,
      score: null,
      best: [...start],
      bestScore: -Number.MAX_VALUE,
      sinceImproved: 0,
      cooldown: 0,
    };
  });

  return {
    particles,
    globalBest: [],
    globalBestScore: -Number.MAX_VALUE,
    globalBestIndex: -1,
    globalWorst: [],
    globalWorstScore: Number.MAX_VALUE,
    fixedZero: zeroIndices,
    sinceGlobalImproved: 0,
  };
}

/**
 * Records each particle's utility at its current position. Personal bests, the global best and
 * the global worst change only on strict improvement (the worst: strictly lower), so ties keep
 * the earlier record, and within one call the lowest particle index wins a tie. The first call
 * after `createSwarm` sets every best and the worst from these scores.
 */
export function recordScores(swarm: Swarm, scores: number[]): Swarm {
  if (!Array.isArray(scores) || scores.length !== swarm.particles.length) {
    throw new Error(`scores must have one entry per particle (${swarm.particles.length}), but got ${Array.isArray(scores) ? scores.length : typeof scores}`);
  }
  scores.forEach((score, i) => {
    if (typeof score !== "number" || !Number.isFinite(score)) {
      throw new Error(`scores[${i}] must be a finite number, but got ${String(score)}`);
    }
  });

  const first = swarm.globalBestIndex === -1;
  const particles = swarm.particles.map((particle, i): Particle => {
    const score = scores[i];
    const improved = first || score > particle.bestScore;
    return {
      ...cloneParticle(particle),
      score,
      best: improved ? [...particle.position] : [...particle.best],
      bestScore: improved ? score : particle.bestScore,
      sinceImproved: improved ? 0 : particle.sinceImproved + 1,
    };
  });

  const next: Swarm = { ...cloneSwarm(swarm), particles };
  let globalImproved = false;
  scores.forEach((score, i) => {
    // On the first call particle 0 seeds both records, whatever the placeholder scores are.
    const seed = first && i === 0;
    if (seed || score > next.globalBestScore) {
      next.globalBest = [...particles[i].position];
      next.globalBestScore = score;
      next.globalBestIndex = i;
      globalImproved = true;
    }
    if (seed || score < next.globalWorstScore) {
      next.globalWorst = [...particles[i].position];
      next.globalWorstScore = score;
    }
  });
  next.sinceGlobalImproved = globalImproved ? 0 : swarm.sinceGlobalImproved + 1;

  return next;
}

/**
 * Moves every particle once:
 *   a = (r_v·inertia, r_p·cognitive, r_g·social, r_w·repel or 0 when repelOn is false) / sum
 *   v ← a_v·v + a_p·(p − x) + a_g·(g − x) + a_w·(x − w)
 *   x ← x + stepLength·v
 * with p the personal best, g the global best and w the global worst. With randomFactors on, the
 * RNG draws r_v, r_p, r_g, r_w in this order for particle 0, then for particle 1, and so on.
 * That is four `rng.next()` calls per particle. r_w is drawn even when repelOn is false, so
 * switching the repel term leaves the other draws unchanged. With randomFactors off every r is 1
 * and the RNG is not used. If the weights sum to 0 (all coefficients 0), the velocity becomes 0.
 */
export function moveSwarm(swarm: Swarm, params: PsoParams, stepLength: number, rng: Rng): Swarm {
  requireScores(swarm, "moveSwarm");
  checkParams(params);
  if (typeof stepLength !== "number" || !Number.isFinite(stepLength) || stepLength < 0) {
    throw new Error(`stepLength must be a finite number >= 0, but got ${String(stepLength)}`);
  }

  const particles = swarm.particles.map((particle): Particle => {
    const [rv, rp, rg, rw] = params.randomFactors ? [rng.next(), rng.next(), rng.next(), rng.next()] : [1, 1, 1, 1];
    const weights = [rv * params.inertia, rp * params.cognitive, rg * params.social, params.repelOn ? rw * params.repel : 0];
    const total = weights[0] + weights[1] + weights[2] + weights[3];
    const [av, ap, ag, aw] = total > 0 ? weights.map((weight) => weight / total) : [0, 0, 0, 0];

    const x = particle.position;
    const velocity = particle.velocity.map(
      (v, k) => av * v + ap * (particle.best[k] - x[k]) + ag * (swarm.globalBest[k] - x[k]) + aw * (x[k] - swarm.globalWorst[k]),
    );
    const position = x.map((value, k) => value + stepLength * velocity[k]);
    for (const k of swarm.fixedZero) {
      velocity[k] = 0;
      position[k] = 0;
    }

    return { ...cloneParticle(particle), position, velocity };
  });

  return { ...cloneSwarm(swarm), particles };
}

/**
 * Restarts stray particles. A particle whose personal best has not improved for
 * `patienceIterations` `recordScores` calls (the caller passes ⌈restartPatience·patience⌉) and
 * whose cooldown is 0 jumps back to its personal best with zero velocity, and its cooldown is set
 * to `patienceIterations`. Every other particle's cooldown drops by one. A particle on cooldown
 * still moves by PSO; it only cannot restart again.
 */
export function restartStrays(swarm: Swarm, patienceIterations: number): Swarm {
  requireScores(swarm, "restartStrays");
  if (!Number.isInteger(patienceIterations) || patienceIterations < 1) {
    throw new Error(`patienceIterations must be a positive integer, but got ${patienceIterations}`);
  }

  // This counts whole iterations without improvement against ⌈restartPatience·patience⌉. The
  // reference code restarts one iteration earlier, because its count includes the iteration that
  // set the best, and it floors restart_patience·patience.
  const particles = swarm.particles.map((particle): Particle => {
    const copy = cloneParticle(particle);
    if (particle.cooldown === 0 && particle.sinceImproved >= patienceIterations) {
      return { ...copy, position: [...particle.best], velocity: new Array<number>(particle.velocity.length).fill(0), cooldown: patienceIterations };
    }
    return { ...copy, cooldown: Math.max(0, particle.cooldown - 1) };
  });

  return { ...cloneSwarm(swarm), particles };
}

/** Flattens an n×n matrix row by row into a graph particle's position. */
export function flattenMatrix(matrix: number[][]): number[] {
  return matrix.flatMap((row) => [...row]);
}

/** Rebuilds the n×n matrix from a graph particle's row-major position. */
export function toMatrix(flat: readonly number[], n: number): number[][] {
  if (flat.length !== n * n) {
    throw new Error(`a ${n}×${n} matrix needs ${n * n} entries, but got ${flat.length}`);
  }
  return Array.from({ length: n }, (_, i) => flat.slice(i * n, (i + 1) * n));
}

/** Returns the flat indices of the diagonal of an n×n matrix, the `fixedZero` of graph particles. */
export function diagonalIndices(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i * n + i);
}

function cloneParticle(particle: Particle): Particle {
  return {
    position: [...particle.position],
    velocity: [...particle.velocity],
    score: particle.score,
    best: [...particle.best],
    bestScore: particle.bestScore,
    sinceImproved: particle.sinceImproved,
    cooldown: particle.cooldown,
  };
}

function cloneSwarm(swarm: Swarm): Swarm {
  return {
    particles: swarm.particles.map(cloneParticle),
    globalBest: [...swarm.globalBest],
    globalBestScore: swarm.globalBestScore,
    globalBestIndex: swarm.globalBestIndex,
    globalWorst: [...swarm.globalWorst],
    globalWorstScore: swarm.globalWorstScore,
    fixedZero: [...swarm.fixedZero],
    sinceGlobalImproved: swarm.sinceGlobalImproved,
  };
}

function requireScores(swarm: Swarm, operation: string): void {
  if (swarm.globalBestIndex === -1) {
    throw new Error(`${operation} needs a global best and worst, but no scores were recorded yet: call recordScores first`);
  }
}

function checkPositions(positions: number[][]): number {
  if (!Array.isArray(positions) || positions.length === 0) {
    throw new Error("positions must contain at least one particle, but got none");
  }

  const dimension = positions[0]?.length;
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new Error(`positions[0] must be a non-empty vector, but got ${String(positions[0])}`);
  }
  positions.forEach((position, i) => {
    if (!Array.isArray(position) || position.length !== dimension) {
      throw new Error(`positions[${i}] must have ${dimension} entries like positions[0], but got ${Array.isArray(position) ? position.length : typeof position}`);
    }
    position.forEach((value, k) => {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new Error(`positions[${i}][${k}] must be a finite number, but got ${String(value)}`);
      }
    });
  });
  return dimension;
}

function checkFixedZero(fixedZero: number[], dimension: number, positions: number[][]): number[] {
  for (const k of fixedZero) {
    if (!Number.isInteger(k) || k < 0 || k >= dimension) {
      throw new Error(`fixedZero indices must be integers in [0, ${dimension - 1}], but got ${k}`);
    }
    positions.forEach((position, i) => {
      if (position[k] !== 0) {
        throw new Error(`positions[${i}][${k}] must be 0 because index ${k} is fixed at zero, but got ${position[k]}`);
      }
    });
  }
  return [...new Set(fixedZero)].sort((a, b) => a - b);
}

function checkParams(params: PsoParams): void {
  for (const name of ["inertia", "cognitive", "social", "repel"] as const) {
    const value = params[name];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new Error(`${name} must be a finite number >= 0, but got ${String(value)}`);
    }
  }
}
