// Seeded pseudo-random numbers for everything in the lab that must replay exactly: degradations, patch sampling,
// diffusion noise. Pure integer arithmetic (Math.imul, shifts) for the generator itself, so one seed gives the
// same stream in Node, in a worker and in any browser.
//
// Generator: xoshiro128** (Blackman and Vigna), 128-bit state, seeded through splitmix32 so that nearby seeds
// (0, 1, 2, ...) still give unrelated streams.
//
// Bit-exactness caveat: uniform(), int(), choice() and bernoulli() are exact everywhere. normal() and poisson()
// use Math.log/Math.cos/Math.sqrt/Math.exp; V8 (Node, Chromium, Edge) implements log/cos/exp with the same
// fdlibm port on every platform, so results are bit-identical there. Other engines may differ in the last bit
// of a transcendental function, which after rounding an image to 8 bits almost never changes a byte.

/** A stream of random numbers. Every method advances the stream except `fork` and `seed`. */
export interface Rng {
  /** The 32-bit seed this stream started from (for a fork: the derived seed). */
  readonly seed: number;
  /** Next raw 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number;
  /** Uniform double in [lo, hi) (lo + (hi - lo) * uniform()). */
  uniform(lo: number, hi: number): number;
  /** Uniform integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number;
  /** Normal deviate (Box-Muller; the second value of each pair is kept for the next call). */
  normal(mean?: number, std?: number): number;
  /** Fills `out` with independent N(mean, std^2) samples and returns it. Faster than calling normal() in a loop. */
  fillNormal(out: Float32Array | Float64Array, mean?: number, std?: number): Float32Array | Float64Array;
  /** Poisson deviate with mean `lambda` >= 0 (inversion below 10, Hormann's PTRS rejection above). */
  poisson(lambda: number): number;
  /** True with probability p. Always draws exactly one uniform. */
  bernoulli(p: number): boolean;
  /** One element, uniformly or with the given (unnormalised, non-negative) weights. Draws exactly one uniform. */
  choice<T>(items: readonly T[], weights?: readonly number[]): T;
  /** In-place Fisher-Yates shuffle; returns `items`. */
  shuffle<T>(items: T[]): T[];
  /**
   * An independent stream named `label`. It depends only on this stream's seed and the label, not on how many
   * numbers were drawn here, and drawing from it does not advance this stream. Use one fork per purpose
   * (e.g. per degradation stage) so that switching one purpose off leaves the others' numbers unchanged.
   */
  fork(label: string): Rng;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** splitmix32 finaliser: a bijective avalanche mix of a 32-bit integer. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** 32-bit FNV-1a over the UTF-16 code units of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Log-factorial for small k (exact sums), Stirling series above; used by the Poisson rejection sampler. */
const LOG_FACT_TABLE: number[] = (() => {
  const t = [0];
  for (let k = 1; k < 16; k++) t.push(t[k - 1] + Math.log(k));
  return t;
})();
function logFactorial(k: number): number {
  if (k < 16) return LOG_FACT_TABLE[k];
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x * x);
}

class Xoshiro128 implements Rng {
  readonly seed: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number, state?: readonly [number, number, number, number]) {
    if (state) {
      this.seed = Math.floor(seed) >>> 0;
      [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0) as [number, number, number, number];
      if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) throw new Error("createRngFromState: the all-zero state is not allowed");
      return;
    }
    if (!Number.isFinite(seed)) throw new Error(`createRng: seed must be a finite number, got ${seed}`);
    // Any finite number is accepted; it is reduced to 32 bits (negative and fractional seeds included).
    const s = Math.floor(seed) >>> 0;
    this.seed = s;
    let z = s;
    z = mix32(z);
    this.s0 = z;
    z = mix32(z);
    this.s1 = z;
    z = mix32(z);
    this.s2 = z;
    z = mix32(z);
    this.s3 = z;
    // xoshiro must not start from the all-zero state; mix32 of four chained values never gives four zeros,
    // but guard anyway.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  uniform(lo?: number, hi?: number): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    const u = (a * 67108864 + b) / TWO_POW_53;
    if (lo === undefined) return u;
    if (hi === undefined) throw new Error("Rng.uniform: give both lo and hi, or neither");
    return lo + (hi - lo) * u;
  }

  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo)
      throw new Error(`Rng.int: need integers lo <= hi, got ${lo}, ${hi}`);
    const n = hi - lo + 1;
    if (n <= TWO_POW_32) {
      // Rejection sampling on 32 bits: exactly uniform, no modulo bias.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return lo + (x % n);
    }
    return lo + Math.floor(this.uniform() * n);
  }

  normal(mean = 0, std = 1): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return mean + std * this.spare;
    }
    // 1 - uniform() lies in (0, 1], so the logarithm is finite.
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return mean + std * r * Math.cos(theta);
  }

  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): Float32Array | Float64Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }

  poisson(lambda: number): number {
    if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`Rng.poisson: lambda must be finite and >= 0, got ${lambda}`);
    if (lambda === 0) return 0;
    if (lambda < 10) {
      // Inversion by sequential search: exact, O(lambda) uniforms-free steps after one uniform.
      const u = this.uniform();
      let k = 0;
      let p = Math.exp(-lambda);
      let cdf = p;
      while (u > cdf && k < 1000) {
        k++;
        p *= lambda / k;
        cdf += p;
      }
      return k;
    }
    // PTRS: W. Hormann, "The transformed rejection method for generating Poisson random variables" (1993).
    const slam = Math.sqrt(lambda);
    const loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logFactorial(k)) return k;
    }
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  choice<T>(items: readonly T[], weights?: readonly number[]): T {
    if (items.length === 0) throw new Error("Rng.choice: empty list");
    if (!weights) return items[Math.floor(this.uniform() * items.length)];
    if (weights.length !== items.length) throw new Error(`Rng.choice: ${items.length} items but ${weights.length} weights`);
    let total = 0;
    for (const w of weights) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`Rng.choice: weights must be finite and >= 0, got ${w}`);
      total += w;
    }
    if (total <= 0) throw new Error("Rng.choice: weights sum to zero");
    // Same rule as Python's random.choices: first index whose cumulative weight exceeds u * total.
    const x = this.uniform() * total;
    let acc = 0;
    for (let i = 0; i < items.length; i++) {
      acc += weights[i];
      if (x < acc) return items[i];
    }
    // Rounding in the running sum can leave x just above the last cumulative value.
    for (let i = items.length - 1; i >= 0; i--) if (weights[i] > 0) return items[i];
    return items[items.length - 1];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  fork(label: string): Rng {
    return new Xoshiro128(mix32(mix32(this.seed ^ 0x6a09e667) ^ fnv1a(label)));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A new stream from a seed. Seeds are reduced to 32 bits: `createRng(s)` and `createRng(s + 2**32)` agree. */
export function createRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

/**
 * A stream started from an explicit xoshiro128** state (four 32-bit words, not all zero), bypassing the
 * splitmix32 seeding: for checking against the reference implementation's published outputs.
 */
export function createRngFromState(state: readonly [number, number, number, number]): Rng {
  return new Xoshiro128(0, state);
}

/**
 * A 32-bit seed derived from a string (FNV-1a then splitmix32), for seeding from names such as an image id.
 */
export function seedFromString(s: string): number {
  return mix32(fnv1a(s));
}
