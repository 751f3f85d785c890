/**
 * Training pairs (HR patch, degraded LR patch) for Node training, from a folder of photographs.
 *
 * Degrading one 64x64 patch with the "mild" preset costs about 0.2-0.3 s in JavaScript (measured here; the JPEG
 * and resize stages dominate), i.e. several seconds per batch of 16, longer than a training step. So pairs are
 * kept in a pool that is refreshed one slot at a time, and each draw applies a random dihedral transform
 * (8 flips/rotations, applied to HR and LR alike, which commutes with the isotropic parts of the degradation).
 *
 * The pool is a deterministic function of (seed, step, image list): slot i was last refreshed at the most
 * recent refresh step that maps to i, with a generator forked from the seed by that step. Rebuilding it at
 * resume therefore reproduces the pool of an uninterrupted run (as long as the image list is unchanged).
 */
import * as tf from "@tensorflow/tfjs";
import {degrade, type Preset} from "../degrade.js";
import type {ImageF32} from "../resize.js";
import {createRng, type Rng} from "../rng.js";

/** An RGB photograph held as 8-bit samples (a float copy of every training photo would not fit in memory). */
export interface Photo {
  name: string;
  width: number;
  height: number;
  data: Uint8Array;
}

export interface PairOptions {
  hrSize: number;
  scale: number;
  preset: Preset;
  /** Luma standard deviation below which a crop counts as flat and is redrawn (up to `maxTries`). */
  flatStd: number;
  maxTries: number;
}

export const DEFAULT_PAIR_OPTIONS: PairOptions = {hrSize: 64, scale: 4, preset: "mild", flatStd: 0.04, maxTries: 20};

export function photoFromRgb(name: string, width: number, height: number, rgb: Float32Array): Photo {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(rgb[i] * 255)));
  return {name, width, height, data};
}

function crop(p: Photo, x: number, y: number, s: number): ImageF32 {
  const out = new Float32Array(s * s * 3);
  for (let r = 0; r < s; r++) {
    const src = ((y + r) * p.width + x) * 3;
    for (let k = 0; k < s * 3; k++) out[r * s * 3 + k] = p.data[src + k] / 255;
  }
  return {width: s, height: s, channels: 3, data: out};
}

function lumaStd(img: ImageF32): number {
  const n = img.width * img.height;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const yv = 0.299 * img.data[3 * i] + 0.587 * img.data[3 * i + 1] + 0.114 * img.data[3 * i + 2];
    s += yv;
    s2 += yv * yv;
  }
  const m = s / n;
  return Math.sqrt(Math.max(0, s2 / n - m * m));
}

/** One (HR, LR) pair from a random non-flat crop of a random photo, degraded with `opts.preset`. */
export function makePair(photos: Photo[], rng: Rng, opts: PairOptions): {hr: Float32Array; lr: Float32Array} {
  const s = opts.hrSize;
  const usable = photos.filter((p) => p.width >= s && p.height >= s);
  if (usable.length === 0) throw new Error(`pairs: no photo is at least ${s}x${s}`);
  let patch: ImageF32 | null = null;
  for (let k = 0; k < opts.maxTries; k++) {
    // Pick photos in proportion to their area so large photos are not under-sampled.
    const p = rng.choice(
      usable,
      usable.map((u) => u.width * u.height),
    );
    const c = crop(p, rng.int(0, p.width - s), rng.int(0, p.height - s), s);
    patch = c;
    if (lumaStd(c) >= opts.flatStd) break;
  }
  const d = degrade(patch!, {preset: opts.preset, seed: rng.nextUint32(), scale: opts.scale});
  return {hr: d.hr.data, lr: d.lr.data};
}

/** Applies dihedral transform k (0..7) to an [s,s,3] image stored HWC. */
function dihedral(src: Float32Array, s: number, k: number, dst: Float32Array, dstOffset: number): void {
  for (let y = 0; y < s; y++)
    for (let x = 0; x < s; x++) {
      let u = x;
      let v = y;
      if (k & 1) u = s - 1 - u; // flip horizontally
      if (k & 2) v = s - 1 - v; // flip vertically
      if (k & 4) [u, v] = [v, u]; // transpose
      const si = (v * s + u) * 3;
      const di = dstOffset + (y * s + x) * 3;
      dst[di] = src[si];
      dst[di + 1] = src[si + 1];
      dst[di + 2] = src[si + 2];
    }
}

export interface PairPoolOptions extends PairOptions {
  poolSize: number;
  /** One slot is refreshed every `refreshEvery` steps (0: never). */
  refreshEvery: number;
}

export class PairPool {
  private hr: Float32Array[] = [];
  private lr: Float32Array[] = [];

  constructor(
    private readonly photos: Photo[],
    private readonly seed: number,
    readonly opts: PairPoolOptions,
  ) {}

  /** Seed stream for a slot's content generated at refresh number `gen` (-1: the initial fill). */
  private slotRng(slot: number, gen: number): Rng {
    return createRng(this.seed).fork(gen < 0 ? `pool-init-${slot}` : `pool-refresh-${gen}`);
  }

  /** Builds the pool as it stands just before training step `step`; `onProgress` reports filled slots. */
  build(step: number, onProgress?: (done: number, total: number) => void): void {
    const {poolSize: P, refreshEvery: k} = this.opts;
    const refreshes = k > 0 ? Math.floor(step / k) : 0; // refresh numbers 0..refreshes-1 have happened
    for (let i = 0; i < P; i++) {
      // Latest refresh g < refreshes with g mod P == i.
      let g = -1;
      if (refreshes > i) g = i + Math.floor((refreshes - 1 - i) / P) * P;
      const pair = makePair(this.photos, this.slotRng(i, g), this.opts);
      this.hr[i] = pair.hr;
      this.lr[i] = pair.lr;
      onProgress?.(i + 1, P);
    }
  }

  /** Call once per training step (before drawing) to refresh the slot due at this step. */
  advance(step: number): void {
    const k = this.opts.refreshEvery;
    if (k <= 0 || step % k !== k - 1) return;
    const g = Math.floor(step / k);
    const i = g % this.opts.poolSize;
    const pair = makePair(this.photos, this.slotRng(i, g), this.opts);
    this.hr[i] = pair.hr;
    this.lr[i] = pair.lr;
  }

  /** A batch of `n` pairs drawn with `rng` (with random dihedral transforms), as tensors. */
  batch(n: number, rng: Rng): {lr: tf.Tensor4D; hr: tf.Tensor4D} {
    const s = this.opts.hrSize;
    const ls = s / this.opts.scale;
    const hr = new Float32Array(n * s * s * 3);
    const lr = new Float32Array(n * ls * ls * 3);
    for (let b = 0; b < n; b++) {
      const i = rng.int(0, this.opts.poolSize - 1);
      const k = rng.int(0, 7);
      dihedral(this.hr[i], s, k, hr, b * s * s * 3);
      dihedral(this.lr[i], ls, k, lr, b * ls * ls * 3);
    }
    return {lr: tf.tensor4d(lr, [n, ls, ls, 3]), hr: tf.tensor4d(hr, [n, s, s, 3])};
  }
}

/** A fixed validation set: `n` pairs made with a seed of their own (independent of training). */
export function fixedPairs(photos: Photo[], n: number, seed: number, opts: PairOptions): {lr: tf.Tensor4D; hr: tf.Tensor4D} {
  const s = opts.hrSize;
  const ls = s / opts.scale;
  const hr = new Float32Array(n * s * s * 3);
  const lr = new Float32Array(n * ls * ls * 3);
  const root = createRng(seed);
  for (let b = 0; b < n; b++) {
    const p = makePair(photos, root.fork(`val-${b}`), opts);
    hr.set(p.hr, b * s * s * 3);
    lr.set(p.lr, b * ls * ls * 3);
  }
  return {lr: tf.tensor4d(lr, [n, ls, ls, 3]), hr: tf.tensor4d(hr, [n, s, s, 3])};
}
