// Seeded random number generator with a plain, restorable state.
// The algorithm never calls Math.random(): every draw goes through an Rng passed in by the caller.

/** The four 32-bit words of a sfc32 generator. */
export type RngState = [number, number, number, number];

/**
 * Small Fast Counter (sfc32, Chris Doty-Humphrey's PractRand suite): 128-bit state,
 * passes PractRand, and its state is four integers that serialise as JSON.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(state: RngState) {
    [this.a, this.b, this.c, this.d] = state.map((word) => word >>> 0) as RngState;
  }

  /** Creates a generator from an integer seed, warmed up so that nearby seeds diverge. */
  static fromSeed(seed: number): Rng {
    if (!Number.isSafeInteger(seed)) {
      throw new Error(`seed must be a safe integer, but got ${seed}`);
    }
    const low = seed >>> 0;
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    const rng = new Rng([0x9e3779b9, low, high, 1]);
    for (let i = 0; i < 16; i++) rng.nextUint32();
    return rng;
  }

  state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform draw in [0, 1). */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new Error(`int(n) needs a positive integer n, but got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  /** Draws an index with probability proportional to `weights` (non-negative, not all zero). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new Error(`weighted() needs finite non-negative weights with a positive sum, but got sum ${total}`);
    }
    let u = this.next() * total;
    let last = -1;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] <= 0) continue;
      last = i;
      u -= weights[i];
      if (u < 0) return i;
    }
    return last;
  }
}
