/**
 * Per-sub-band statistics of a model's output against the ground truth, on the luma of a 2-level Haar DWT
 * (src/lib/wavelets.ts; bands LL2, LH2, HL2, HH2, LH1, HL1, HH1): what tells texture from grain (NOTES 7).
 * Energy alone rewards added noise; Gaussian grain has kurtosis 3 while photographic detail is heavy-tailed
 * (kurtosis well above 3), and grain does not correlate with the truth.
 *
 * Protocol (lab defaults, named in BAND_STATS_DEFAULTS):
 * - Luma Y = 0.299 R + 0.587 G + 0.114 B on [0,1] (BT.601 full range, as train/texture-stats.ts logs during
 *   training). Ratios, kurtosis and correlations of the detail bands do not depend on the luma's offset or
 *   scale; LL2's energy ratio would change slightly with studio-swing Y.
 * - `crop` border pixels are removed on every side first (the metrics' border crop), then the bottom/right
 *   edge is trimmed to a multiple of 2^levels so that no DWT padding enters the statistics.
 * - Pooled over all images (every coefficient of every image counts once; larger images weigh more):
 *   energy = sum of squared coefficients; energy ratio = output energy / ground-truth energy;
 *   kurtosis = m4 / m2^2 with central moments about the pooled mean (not excess kurtosis: Gaussian = 3);
 *   correlation = Pearson correlation of output and ground-truth coefficients at the same positions.
 */
import * as tf from "@tensorflow/tfjs";
import type {ImageF32} from "../resize.js";
import {bandNames, dwt, type WaveletName} from "../wavelets.js";

export interface BandStatsOptions {
  wavelet: WaveletName;
  levels: number;
  /** Border pixels removed on every side before the transform. */
  crop: number;
}

export const BAND_STATS_DEFAULTS: Readonly<BandStatsOptions> = Object.freeze({wavelet: "haar", levels: 2, crop: 4});

export function bandStatsProtocolText(o: BandStatsOptions = BAND_STATS_DEFAULTS): string {
  return (
    `luma Y = 0.299R + 0.587G + 0.114B on [0,1], border crop ${o.crop} px, ${o.levels}-level ${o.wavelet} DWT (periodization), ` +
    `pooled over all images: energy ratio = sum(out^2)/sum(gt^2), kurtosis = m4/m2^2 (central, not excess; Gaussian = 3), ` +
    `Pearson correlation with the ground truth`
  );
}

/** Luma plane of an RGB image, cropped by `crop` on every side and trimmed to a multiple of `multiple`. */
export function lumaPlane(img: ImageF32, crop: number, multiple: number): {data: Float32Array; height: number; width: number} {
  if (img.channels !== 3) throw new Error(`band stats: expected RGB, got ${img.channels} channels`);
  const h = Math.floor((img.height - 2 * crop) / multiple) * multiple;
  const w = Math.floor((img.width - 2 * crop) / multiple) * multiple;
  if (h < multiple || w < multiple) throw new Error(`band stats: a ${img.width}x${img.height} image is too small for crop ${crop}`);
  const data = new Float32Array(h * w);
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      const i = ((r + crop) * img.width + c + crop) * 3;
      data[r * w + c] = 0.299 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2];
    }
  return {data, height: h, width: w};
}

/** The DWT bands of one luma plane as plain arrays (computed with TF.js on the current backend). */
export async function lumaBands(img: ImageF32, o: BandStatsOptions): Promise<Record<string, Float32Array>> {
  const {data, height, width} = lumaPlane(img, o.crop, 2 ** o.levels);
  const x = tf.tensor4d(data, [1, height, width, 1]);
  const sb = dwt(x, {wavelet: o.wavelet, levels: o.levels});
  x.dispose();
  const out: Record<string, Float32Array> = {};
  try {
    for (const name of bandNames(o.levels)) out[name] = Float32Array.from(await sb.bands[name].data());
  } finally {
    for (const t of Object.values(sb.bands)) t.dispose();
  }
  return out;
}

interface Moments {
  n: number;
  s1: number;
  s2: number;
  s3: number;
  s4: number;
}

const emptyMoments = (): Moments => ({n: 0, s1: 0, s2: 0, s3: 0, s4: 0});

function addMoments(m: Moments, x: Float32Array): void {
  let s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const v2 = v * v;
    s1 += v;
    s2 += v2;
    s3 += v2 * v;
    s4 += v2 * v2;
  }
  m.n += x.length;
  m.s1 += s1;
  m.s2 += s2;
  m.s3 += s3;
  m.s4 += s4;
}

/** m4 / m2^2 with central moments about the pooled mean; NaN for a constant band. */
function kurtosisOf(m: Moments): number {
  const mu = m.s1 / m.n;
  const e2 = m.s2 / m.n;
  const e3 = m.s3 / m.n;
  const e4 = m.s4 / m.n;
  const m2 = e2 - mu * mu;
  const m4 = e4 - 4 * mu * e3 + 6 * mu * mu * e2 - 3 * mu ** 4;
  return m2 > 0 ? m4 / (m2 * m2) : NaN;
}

export interface BandComparison {
  bands: string[];
  /** Pooled kurtosis of the output's coefficients per band. */
  kurtosis: Record<string, number>;
  /** The ground truth's pooled kurtosis per band. */
  gtKurtosis: Record<string, number>;
  /** sum(out^2) / sum(gt^2) per band. */
  energyRatio: Record<string, number>;
  /** Pearson correlation of output and ground-truth coefficients per band. */
  correlation: Record<string, number>;
  /** Coefficients pooled per band, summed over bands (for the record). */
  coefficients: number;
}

/** Accumulates (output, ground truth) pairs; `result()` gives the pooled statistics. */
export class BandStatsAccumulator {
  private readonly names: string[];
  private readonly out = new Map<string, Moments>();
  private readonly gt = new Map<string, Moments>();
  private readonly cross = new Map<string, number>();

  constructor(readonly options: BandStatsOptions = BAND_STATS_DEFAULTS) {
    this.names = bandNames(options.levels);
    for (const b of this.names) {
      this.out.set(b, emptyMoments());
      this.gt.set(b, emptyMoments());
      this.cross.set(b, 0);
    }
  }

  /** Adds one pair (same size, RGB in [0,1]). */
  async add(output: ImageF32, groundTruth: ImageF32): Promise<void> {
    if (output.width !== groundTruth.width || output.height !== groundTruth.height)
      throw new Error(`band stats: output ${output.width}x${output.height} vs ground truth ${groundTruth.width}x${groundTruth.height}`);
    await this.addBands(await lumaBands(output, this.options), await lumaBands(groundTruth, this.options));
  }

  /** Adds precomputed bands (e.g. the ground truth's, transformed once for many models). */
  async addBands(out: Record<string, Float32Array>, gt: Record<string, Float32Array>): Promise<void> {
    for (const b of this.names) {
      const o = out[b];
      const g = gt[b];
      if (!o || !g || o.length !== g.length) throw new Error(`band stats: band ${b} missing or of different sizes`);
      addMoments(this.out.get(b)!, o);
      addMoments(this.gt.get(b)!, g);
      let c = 0;
      for (let i = 0; i < o.length; i++) c += o[i] * g[i];
      this.cross.set(b, this.cross.get(b)! + c);
    }
  }

  result(): BandComparison {
    const kurtosis: Record<string, number> = {};
    const gtKurtosis: Record<string, number> = {};
    const energyRatio: Record<string, number> = {};
    const correlation: Record<string, number> = {};
    let coefficients = 0;
    for (const b of this.names) {
      const o = this.out.get(b)!;
      const g = this.gt.get(b)!;
      if (o.n === 0) throw new Error("band stats: no images added");
      coefficients += o.n;
      kurtosis[b] = kurtosisOf(o);
      gtKurtosis[b] = kurtosisOf(g);
      energyRatio[b] = g.s2 > 0 ? o.s2 / g.s2 : NaN;
      const n = o.n;
      const cov = this.cross.get(b)! / n - (o.s1 / n) * (g.s1 / n);
      const vo = o.s2 / n - (o.s1 / n) ** 2;
      const vg = g.s2 / n - (g.s1 / n) ** 2;
      correlation[b] = vo > 0 && vg > 0 ? cov / Math.sqrt(vo * vg) : NaN;
    }
    return {bands: [...this.names], kurtosis, gtKurtosis, energyRatio, correlation, coefficients};
  }
}
