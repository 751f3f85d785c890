// Where a student's output departs from its teacher's, band by band: the DWT of the difference, per-band maps
// and energies, per-group energies, and the terms the distillation loss (src/lib/loss.ts bandGroupLoss) would
// see for a given loss configuration. DOM-free (Node, worker or page); the discrepancy page draws the results.
//
// The DWT is linear, so dwt(teacher) - dwt(student) = dwt(teacher - student): the difference is transformed
// once. The lab's wavelets are orthonormal with a periodic boundary, so for an image whose sides are multiples
// of 2^levels (no padding) the band energies of the difference add up to its pixel-domain energy (Parseval);
// the page's crops satisfy this, and the test checks it.
import * as tf from "@tensorflow/tfjs";
import {bandGroupLoss, disposeBandLoss, readBandLoss, type BandLossConfig, PIXEL_BAND} from "./loss.js";
import {bandNames, dwt, type WaveletName} from "./wavelets.js";

export interface BandDiscrepancy {
  band: string;
  /** Level j of the band (J for LL{J}). */
  level: number;
  /** "LL", "LH", "HL" or "HH". */
  orientation: string;
  height: number;
  width: number;
  /** Sum of squared coefficients of teacher - student over the band's positions and the RGB channels. */
  energy: number;
  /** Mean over positions and channels of |teacher - student| coefficients (the band's L1, as the loss sees it). */
  meanAbs: number;
  /** Largest value of `map`. */
  mapMax: number;
  /** Per position (row-major, height x width): mean over RGB of |teacher - student| coefficients. */
  map: Float32Array;
}

export interface DiscrepancyAnalysis {
  wavelet: WaveletName;
  levels: number;
  /** Image size after the DWT's symmetric padding to a multiple of 2^levels. */
  paddedSize: [number, number];
  /** Coarse to fine (bandNames order). */
  bands: BandDiscrepancy[];
  /** Sum of squared pixel differences (unpadded image, RGB): equals the band total when nothing was padded. */
  pixelEnergy: number;
  /** Sum of the band energies. */
  bandEnergy: number;
}

/** Per-band discrepancy of two NHWC images of one shape (batch 1, any channel count). Leaves its inputs alone. */
export async function analyseDiscrepancy(
  teacher: tf.Tensor4D,
  student: tf.Tensor4D,
  opts: {wavelet: WaveletName; levels: number}
): Promise<DiscrepancyAnalysis> {
  if (teacher.shape.some((v, i) => v !== student.shape[i])) {
    throw new Error(`analyseDiscrepancy: teacher ${teacher.shape.join("x")} and student ${student.shape.join("x")} differ`);
  }
  if (teacher.shape[0] !== 1) throw new Error(`analyseDiscrepancy: expects one image, got a batch of ${teacher.shape[0]}`);
  const names = bandNames(opts.levels);
  const diff = tf.sub(teacher, student) as tf.Tensor4D;
  const sub = dwt(diff, opts);
  try {
    // One read-back: every band's per-position mean |d| over channels, then [energy, meanAbs] per band, then the
    // pixel-domain energy.
    const flat = tf.tidy(() => {
      const parts: tf.Tensor[] = [];
      for (const n of names) parts.push(tf.mean(tf.abs(sub.bands[n]), 3).flatten());
      for (const n of names) parts.push(tf.stack([tf.sum(tf.square(sub.bands[n])), tf.mean(tf.abs(sub.bands[n]))]));
      parts.push(tf.sum(tf.square(diff)).reshape([1]));
      return tf.concat(parts);
    });
    const v = (await flat.data()) as Float32Array;
    flat.dispose();
    let offset = 0;
    const maps = names.map((n) => {
      const [, h, w] = sub.bands[n].shape;
      const m = v.slice(offset, offset + h * w);
      offset += h * w;
      return {h, w, m};
    });
    const bands: BandDiscrepancy[] = names.map((band, i) => {
      const {h, w, m} = maps[i];
      let mapMax = 0;
      for (const x of m) if (x > mapMax) mapMax = x;
      return {
        band,
        level: Number(band.slice(2)),
        orientation: band.slice(0, 2),
        height: h,
        width: w,
        energy: v[offset + 2 * i],
        meanAbs: v[offset + 2 * i + 1],
        mapMax,
        map: m
      };
    });
    const pixelEnergy = v[offset + 2 * names.length];
    return {
      wavelet: opts.wavelet,
      levels: opts.levels,
      paddedSize: sub.paddedSize,
      bands,
      pixelEnergy,
      bandEnergy: bands.reduce((a, b) => a + b.energy, 0)
    };
  } finally {
    diff.dispose();
    tf.dispose(Object.values(sub.bands));
  }
}

export interface GroupEnergy {
  group: string;
  bands: string[];
  /** Sum of the member bands' energies. */
  energy: number;
  /** energy / the energy of all bands. */
  share: number;
}

/** Energy per frequency group (e.g. loss.ts defaultGroups); a band in no group is counted in none. */
export function groupEnergies(bands: readonly BandDiscrepancy[], groups: Record<string, string[]>): GroupEnergy[] {
  const byName = new Map(bands.map((b) => [b.band, b]));
  const total = bands.reduce((a, b) => a + b.energy, 0);
  return Object.entries(groups).map(([group, members]) => {
    let energy = 0;
    for (const m of members) {
      const b = byName.get(m);
      if (!b) throw new Error(`groupEnergies: group "${group}" names band "${m}", which the analysis lacks`);
      energy += b.energy;
    }
    return {group, bands: [...members], energy, share: total > 0 ? energy / total : 0};
  });
}

export interface LossTerm {
  group: string;
  bands: string[];
  /** The group's weight in the loss configuration. */
  weight: number;
  /** Unweighted group value: mean of its bands' distances (bandGroupLoss perGroup). */
  value: number;
  /** weight x value: this group's share of the total. */
  weighted: number;
}

export interface DistillationTerms {
  config: BandLossConfig;
  /** The loss as bandGroupLoss computes it. */
  total: number;
  /** Every band's distance (bandGroupLoss perBand). */
  perBand: Record<string, number>;
  terms: LossTerm[];
  /** Per band: the weight it carries in the total, its group's weight / the group's size (0 if in no group). */
  bandWeights: Record<string, number>;
}

/** Weight each band carries in the total: bandGroupLoss averages a group's bands, then weights the group. */
export function effectiveBandWeights(cfg: BandLossConfig): Record<string, number> {
  const order = cfg.levels === 0 ? [PIXEL_BAND] : bandNames(cfg.levels);
  const out: Record<string, number> = Object.fromEntries(order.map((b) => [b, 0]));
  for (const [g, members] of Object.entries(cfg.groups)) for (const b of members) out[b] += cfg.weights[g] / members.length;
  return out;
}

/** The total from per-band distances, by loss.ts's rule (mean within a group, weighted sum over groups). */
export function weightedTotal(perBand: Record<string, number>, cfg: BandLossConfig): number {
  let total = 0;
  for (const [g, members] of Object.entries(cfg.groups)) {
    total += (cfg.weights[g] * members.reduce((a, b) => a + perBand[b], 0)) / members.length;
  }
  return total;
}

/**
 * What the distillation loss sees when `student` is trained towards `teacher` under `cfg`: bandGroupLoss itself
 * (student first, target second, as the DTKD trainer calls it), read back, split into its weighted group terms.
 */
export async function distillationTerms(student: tf.Tensor4D, teacher: tf.Tensor4D, cfg: BandLossConfig): Promise<DistillationTerms> {
  const r = bandGroupLoss(student, teacher, cfg);
  try {
    const v = await readBandLoss(r);
    const terms = Object.entries(cfg.groups).map(([group, members]) => ({
      group,
      bands: [...members],
      weight: cfg.weights[group],
      value: v.perGroup[group],
      weighted: cfg.weights[group] * v.perGroup[group]
    }));
    return {config: cfg, total: v.total, perBand: v.perBand, terms, bandWeights: effectiveBandWeights(cfg)};
  } finally {
    disposeBandLoss(r);
  }
}

/** Per pixel: mean over channels of |a - b| for two images of one size (interleaved channels), with its max and mean. */
export function pixelDiscrepancy(
  a: {width: number; height: number; channels: number; data: Float32Array},
  b: {width: number; height: number; channels: number; data: Float32Array}
): {map: Float32Array; max: number; mean: number} {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) throw new Error("pixelDiscrepancy: images differ in size");
  const n = a.width * a.height;
  const c = a.channels;
  const map = new Float32Array(n);
  let max = 0;
  let sum = 0;
  for (let p = 0; p < n; p++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += Math.abs(a.data[p * c + k] - b.data[p * c + k]);
    const v = s / c;
    map[p] = v;
    sum += v;
    if (v > max) max = v;
  }
  return {map, max, mean: sum / n};
}
