/**
 * Band-group distillation loss: the distance between student and target (teacher) images measured per
 * wavelet sub-band, with bands gathered into frequency groups that carry their own weights.
 *
 * Reduction (fixed, so that weights mean the same thing at every size, depth and grouping):
 * - per-band value = mean over all elements (batch, rows, columns, channels) of the element distance
 *   between the two images' coefficients in that band. A mean, not a sum, because a level-j band holds
 *   4x as many coefficients as a level-(j+1) band: a sum would let the finest bands dominate by count.
 * - group value = plain mean of its bands' values, so a group's weight does not depend on how many
 *   bands it holds (mid at three levels holds six bands, high holds three).
 * - total = sum over groups of weight x group value. A weighted sum, not a weighted mean, so that
 *   weights are absolute multipliers (doubling one weight doubles that group's pull and leaves the
 *   others alone) and a preset's scale stays comparable with published numbers (Korkmaz's 0.05 etc.).
 *
 * The DWT is linear, so the bands of (student - target) equal the difference of the two images' bands;
 * the loss transforms the difference once instead of transforming both images.
 * Magnitudes: the orthonormal DWT scales the approximation band by 2 per level, so LL{J} coefficients
 * are about 2^J x the local mean colour; an L1 on LL2 is about 4x a pixel L1 on the same low-pass error.
 * Detail coefficients are correspondingly scaled. Weights are therefore not comparable with pixel
 * weights one for one; presets state their numbers as used.
 *
 * Distances (element-wise on the coefficient difference d):
 * - "l1": |d|.
 * - "l2": d^2 (mean squared error).
 * - "charbonnier": sqrt(d^2 + eps^2) - eps, computed as d^2 / (sqrt(d^2 + eps^2) + eps); the "- eps"
 *   makes identical inputs give exactly 0, and the gradient is the usual d / sqrt(d^2 + eps^2).
 */
import * as tf from "@tensorflow/tfjs";
import {bandNames, dwt, WAVELET_NAMES, type WaveletName} from "./wavelets.js";

export type Distance = "l1" | "charbonnier" | "l2";
export const DISTANCES: readonly Distance[] = ["l1", "charbonnier", "l2"];
export type LossPresetName = "uniform" | "dtkd" | "low" | "high" | "korkmaz" | "pixel";
export const LOSS_PRESETS: readonly LossPresetName[] = ["uniform", "dtkd", "low", "high", "korkmaz", "pixel"];

/**
 * Group weights of the three-group presets (default groups low/mid/high at any depth). "dtkd", "low" and "high"
 * are permutations of the same numbers (0.5, 1, 2): the total weight (3.5) is equal, so an ablation over them
 * changes only which frequency group is stressed, not how hard the band loss pulls overall.
 */
export const GROUP_WEIGHTINGS: Readonly<Record<"uniform" | "dtkd" | "low" | "high", Readonly<Record<"low" | "mid" | "high", number>>>> =
  Object.freeze({
    uniform: Object.freeze({low: 1, mid: 1, high: 1}),
    dtkd: Object.freeze({low: 0.5, mid: 2.0, high: 1.0}),
    low: Object.freeze({low: 2.0, mid: 1.0, high: 0.5}),
    high: Object.freeze({low: 0.5, mid: 1.0, high: 2.0}),
  });

/** The band name used when `levels` is 0 (image space, no DWT). */
export const PIXEL_BAND = "pixel";

export interface BandLossConfig {
  wavelet: WaveletName;
  /** 1..4; 0 means image space (no DWT, the only band is "pixel"). */
  levels: number;
  distance: Distance;
  /** Charbonnier's eps (in coefficient units); default 1e-3. Must be > 0 even when unused. */
  charbonnierEps: number;
  /** Group name -> band names. */
  groups: Record<string, string[]>;
  /** Group name -> non-negative weight; every group needs one. */
  weights: Record<string, number>;
}

export interface BandLossResult {
  /** Differentiable total for training. */
  total: tf.Scalar;
  /** Every band of the decomposition, used by a group or not (for display). */
  perBand: Record<string, tf.Scalar>;
  /** Unweighted group values (mean of the group's bands). */
  perGroup: Record<string, tf.Scalar>;
}

export interface BandLossValues {
  total: number;
  perBand: Record<string, number>;
  perGroup: Record<string, number>;
}

export const DEFAULT_CHARBONNIER_EPS = 1e-3;

/**
 * Default frequency groups; the same three names at every depth so presets carry over.
 * - 0 levels: {pixel: [pixel]}.
 * - 1 level: low = {LL1}, mid = {LH1, HL1}, high = {HH1}. A one-level split has no octave in the
 *   middle, so this splits by radial frequency: HH1's pass band is centred at radius about 1.06 pi
 *   (3pi/4, 3pi/4), LH1 and HL1 at about 0.79 pi (3pi/4, pi/4). Lab default.
 * - 2 levels: low = {LL2}, mid = {LH2, HL2, HH2}, high = {LH1, HL1, HH1} (the issue's grouping).
 * - J >= 3 levels: low = {LL_J}, mid = the detail bands of levels 2..J (the band-pass octaves between
 *   the coarse approximation and the finest detail), high = level 1. Lab default.
 */
export function defaultGroups(levels: number): Record<string, string[]> {
  if (levels === 0) return {pixel: [PIXEL_BAND]};
  bandNames(levels); // validates 1..4
  if (levels === 1) return {low: ["LL1"], mid: ["LH1", "HL1"], high: ["HH1"]};
  const mid: string[] = [];
  for (let j = levels; j >= 2; j--) mid.push(`LH${j}`, `HL${j}`, `HH${j}`);
  return {low: [`LL${levels}`], mid, high: ["LH1", "HL1", "HH1"]};
}

/**
 * Named loss configurations.
 * - "uniform": default groups, every weight 1, L1.
 * - "dtkd": default groups, low 0.5, mid 2.0, high 1.0, L1. Mid emphasis follows the DTKD abstract
 *   (Park and Song, Electronics 2026); the numbers are a LAB DEFAULT: the paper publishes none.
 * - "low": default groups, low 2.0, mid 1.0, high 0.5, L1: the opposite emphasis (coarse structure first,
 *   weight falling with frequency). LAB DEFAULT, the comparison preset of the weighting ablation.
 * - "high": default groups, low 0.5, mid 1.0, high 2.0, L1: finest detail stressed, weight rising with
 *   frequency. LAB DEFAULT, likewise. (dtkd, low and high share the weights' sum, see GROUP_WEIGHTINGS.)
 * - "korkmaz": one level, each band its own group, LL 0.05, LH 0.025, HL 0.025, HH 0.02, L1; default
 *   wavelet sym4 (the closest here). Korkmaz and Tekalp (CVPRW 2024) used a one-level *stationary*
 *   (undecimated) sym19 transform on the Y channel plus a pixel L1 with weight 1.0; this is the
 *   decimated, per-RGB-channel analogue of their wavelet term only (add the pixel term separately).
 * - "pixel": no DWT (levels 0), one group "pixel" with weight 1, L1 in image space: the no-wavelet
 *   baseline.
 * `levels` defaults to 2 for uniform, dtkd, low and high; korkmaz is defined at 1 and pixel at 0, and passing any
 * other explicit `levels` for them throws rather than silently changing the preset.
 */
export function lossPreset(name: LossPresetName, levels?: number, wavelet?: WaveletName): BandLossConfig {
  const base = {distance: "l1" as Distance, charbonnierEps: DEFAULT_CHARBONNIER_EPS};
  let cfg: BandLossConfig;
  switch (name) {
    case "uniform":
    case "dtkd":
    case "low":
    case "high": {
      const lv = levels ?? 2;
      if (!Number.isInteger(lv) || lv < 1 || lv > 4) {
        throw new Error(`Loss preset "${name}" needs levels 1 to 4, got ${String(lv)}`);
      }
      const groups = defaultGroups(lv);
      const weights = {...GROUP_WEIGHTINGS[name]};
      cfg = {...base, wavelet: wavelet ?? "haar", levels: lv, groups, weights};
      break;
    }
    case "korkmaz":
      if (levels !== undefined && levels !== 1) {
        throw new Error(`Loss preset "korkmaz" is defined at one level, got levels ${String(levels)}`);
      }
      cfg = {
        ...base,
        wavelet: wavelet ?? "sym4",
        levels: 1,
        groups: {LL: ["LL1"], LH: ["LH1"], HL: ["HL1"], HH: ["HH1"]},
        weights: {LL: 0.05, LH: 0.025, HL: 0.025, HH: 0.02}
      };
      break;
    case "pixel":
      if (levels !== undefined && levels !== 0) {
        throw new Error(`Loss preset "pixel" works in image space (levels 0), got levels ${String(levels)}`);
      }
      cfg = {...base, wavelet: wavelet ?? "haar", levels: 0, groups: {pixel: [PIXEL_BAND]}, weights: {pixel: 1}};
      break;
    default:
      throw new Error(`Unknown loss preset "${String(name)}"; expected one of ${LOSS_PRESETS.join(", ")}`);
  }
  validateLossConfig(cfg);
  return cfg;
}

/** Throws an Error naming the first problem found; returns quietly for a usable config. */
export function validateLossConfig(cfg: BandLossConfig): void {
  if (!cfg || typeof cfg !== "object") throw new Error("Loss config must be an object");
  const {levels, wavelet, distance, charbonnierEps, groups, weights} = cfg;
  if (!Number.isInteger(levels) || levels < 0 || levels > 4) {
    throw new Error(`Loss config: levels must be an integer from 0 (image space) to 4, got ${String(levels)}`);
  }
  if (levels > 0 && !WAVELET_NAMES.includes(wavelet)) {
    throw new Error(`Loss config: unknown wavelet "${String(wavelet)}"; expected one of ${WAVELET_NAMES.join(", ")}`);
  }
  if (!DISTANCES.includes(distance)) {
    throw new Error(`Loss config: unknown distance "${String(distance)}"; expected one of ${DISTANCES.join(", ")}`);
  }
  if (typeof charbonnierEps !== "number" || !Number.isFinite(charbonnierEps) || charbonnierEps <= 0) {
    throw new Error(`Loss config: charbonnierEps must be a finite number > 0, got ${String(charbonnierEps)}`);
  }
  if (!groups || typeof groups !== "object") throw new Error("Loss config: groups must be an object");
  if (!weights || typeof weights !== "object") throw new Error("Loss config: weights must be an object");
  const groupNames = Object.keys(groups);
  if (groupNames.length === 0) throw new Error("Loss config: no groups");
  const valid = new Set(levels === 0 ? [PIXEL_BAND] : bandNames(levels));
  const validList = [...valid].join(", ");
  for (const g of groupNames) {
    const bands = groups[g];
    if (!Array.isArray(bands) || bands.length === 0) throw new Error(`Loss config: group "${g}" is empty`);
    const seen = new Set<string>();
    for (const b of bands) {
      if (!valid.has(b)) {
        throw new Error(
          `Loss config: group "${g}" names unknown band "${String(b)}" (at ${levels} level(s) the bands are ${validList})`
        );
      }
      if (seen.has(b)) throw new Error(`Loss config: group "${g}" lists band "${b}" twice`);
      seen.add(b);
    }
    if (!(g in weights)) throw new Error(`Loss config: group "${g}" has no weight`);
  }
  let positive = false;
  for (const [g, w] of Object.entries(weights)) {
    if (!(g in groups)) throw new Error(`Loss config: weight given for unknown group "${g}"`);
    if (typeof w !== "number" || !Number.isFinite(w)) {
      throw new Error(`Loss config: weight of group "${g}" must be a finite number, got ${String(w)}`);
    }
    if (w < 0) throw new Error(`Loss config: weight of group "${g}" is negative (${w})`);
    if (w > 0) positive = true;
  }
  if (!positive) throw new Error("Loss config: every weight is 0, so the loss would be identically 0");
}

function distanceMean(d: tf.Tensor, distance: Distance, eps: number): tf.Scalar {
  switch (distance) {
    case "l1":
      return tf.mean(tf.abs(d));
    case "l2":
      return tf.mean(tf.square(d));
    case "charbonnier": {
      // sqrt(d^2 + eps^2) - eps, rationalised: exactly 0 at d = 0 and no cancellation when |d| << eps.
      const d2 = tf.square(d);
      return tf.mean(tf.div(d2, tf.add(tf.sqrt(tf.add(d2, eps * eps)), eps)));
    }
  }
}

/**
 * The band-group loss of `student` against `target` (NHWC, same shape). Differentiable with respect to
 * both on every backend. The caller owns (and disposes) every tensor of the result.
 */
export function bandGroupLoss(student: tf.Tensor4D, target: tf.Tensor4D, cfg: BandLossConfig): BandLossResult {
  validateLossConfig(cfg);
  if (student.shape.length !== 4 || target.shape.length !== 4) {
    throw new Error("bandGroupLoss expects NHWC tensors");
  }
  if (student.shape.some((v, i) => v !== target.shape[i])) {
    throw new Error(`bandGroupLoss: student ${student.shape.join("x")} and target ${target.shape.join("x")} differ`);
  }
  return tf.tidy(() => {
    const diff = tf.sub(student, target) as tf.Tensor4D;
    const bands: Record<string, tf.Tensor> =
      cfg.levels === 0 ? {[PIXEL_BAND]: diff} : dwt(diff, {wavelet: cfg.wavelet, levels: cfg.levels}).bands;
    const perBand: Record<string, tf.Scalar> = {};
    const order = cfg.levels === 0 ? [PIXEL_BAND] : bandNames(cfg.levels);
    for (const name of order) perBand[name] = distanceMean(bands[name], cfg.distance, cfg.charbonnierEps);
    const perGroup: Record<string, tf.Scalar> = {};
    const terms: tf.Scalar[] = [];
    for (const [g, members] of Object.entries(cfg.groups)) {
      // clone: a one-band group must not share its tensor with perBand (each is disposed on its own)
      const value =
        members.length === 1
          ? perBand[members[0]].clone()
          : (tf.div(tf.addN(members.map((b) => perBand[b])), members.length) as tf.Scalar);
      perGroup[g] = value;
      const w = cfg.weights[g];
      if (w !== 0) terms.push(tf.mul(value, w));
    }
    const total = (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
    return {total, perBand, perGroup};
  });
}

/**
 * Reads a loss result with one async `.data()` (safe on WebGPU, one GPU readback instead of one per
 * scalar); leaves the tensors alive.
 */
export async function readBandLoss(r: BandLossResult): Promise<BandLossValues> {
  const bandKeys = Object.keys(r.perBand);
  const groupKeys = Object.keys(r.perGroup);
  const all = tf.stack([r.total, ...bandKeys.map((k) => r.perBand[k]), ...groupKeys.map((k) => r.perGroup[k])]);
  const v = await all.data();
  all.dispose();
  const perBand: Record<string, number> = {};
  const perGroup: Record<string, number> = {};
  bandKeys.forEach((k, i) => (perBand[k] = v[1 + i]));
  groupKeys.forEach((k, i) => (perGroup[k] = v[1 + bandKeys.length + i]));
  return {total: v[0], perBand, perGroup};
}

/** Disposes every tensor of a loss result. */
export function disposeBandLoss(r: BandLossResult): void {
  tf.dispose([r.total, ...Object.values(r.perBand), ...Object.values(r.perGroup)]);
}
