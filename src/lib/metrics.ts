// Full-reference image-quality metrics as batched TF.js ops: PSNR (RGB and Y), SSIM on Y, HaarPSI.
//
// Inputs are NHWC float tensors, RGB, values in [0,1]; every metric returns one value per image (Tensor1D).
// Conventions follow the SR literature and scikit-image so numbers can be compared with published ones:
// test/metrics.test.ts checks them against scikit-image 0.19 and an independent NumPy HaarPSI
// (scripts/fixtures/metrics_fixtures.py). Values are NOT clamped to [0,1] first: the caller decides
// whether a network output is clipped (and should say so beside the number).
import * as tf from "@tensorflow/tfjs";

export interface MetricOptions {
  /** Border pixels removed on every side of both images before measuring (default 0). SR papers crop `scale`. */
  crop?: number;
}

export interface HaarPsiOptions extends MetricOptions {
  /** The reference method's 2x2 mean + dyadic subsampling step (models viewing distance). Default true. */
  subsample?: boolean;
}

export type MetricName = "psnrRgb" | "psnrY" | "ssimY" | "haarpsi";

/** One-line protocol per metric; print it (with the crop, see protocolText) beside every reported number. */
export const METRIC_PROTOCOL: Record<MetricName, string> = {
  psnrRgb: "PSNR (dB) on RGB in [0,1], peak 1, MSE over all pixels and the 3 channels, float (no rounding to 8 bit)",
  psnrY:
    "PSNR (dB) on Y of BT.601 studio-swing YCbCr (Y = 16 + 65.481R + 128.553G + 24.966B, MATLAB/skimage rgb2ycbcr), " +
    "0..255 scale, peak 255, float Y (not rounded)",
  ssimY:
    "SSIM on the same float Y (0..255, L = 255), Gaussian window 11x11 sigma 1.5, K1 0.01, K2 0.03, " +
    "population covariance, mean over the 'valid' map (as skimage structural_similarity with gaussian_weights)",
  haarpsi:
    "HaarPSI (Reisenhofer et al. 2018), colour version (YIQ with chroma term), images scaled to 0..255, C 30, " +
    "alpha 4.2, 3 Haar scales, 2x2 mean subsampling first, MATLAB conv2 'same' zero padding"
};

/** The protocol line with the options that change the number (crop, HaarPSI subsampling) filled in. */
export function protocolText(metric: MetricName, opts: HaarPsiOptions = {}): string {
  const crop = opts.crop ?? 0;
  let text = METRIC_PROTOCOL[metric];
  if (metric === "haarpsi" && opts.subsample === false) text = text.replace("2x2 mean subsampling first", "no subsampling");
  return `${text}; border crop ${crop} px`;
}

// BT.601 studio swing on [0,1] input, as skimage.color.rgb2ycbcr and MATLAB rgb2ycbcr (before MATLAB's rounding).
const Y_COEFFS = [65.481, 128.553, 24.966];
const Y_OFFSET = 16;

function assertImage(x: tf.Tensor, what: string): void {
  if (x.rank !== 4) throw new Error(`${what}: expected an NHWC batch (rank 4), got rank ${x.rank} [${x.shape}]`);
}

function assertPair(a: tf.Tensor, b: tf.Tensor, metric: string): void {
  assertImage(a, `${metric}: first image`);
  assertImage(b, `${metric}: second image`);
  if (a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${metric}: image shapes differ: [${a.shape}] vs [${b.shape}]`);
  }
}

function assertRgb(x: tf.Tensor4D, metric: string): void {
  if (x.shape[3] !== 3) throw new Error(`${metric}: expected 3 RGB channels, got ${x.shape[3]}`);
}

/** Throws unless `crop` is a non-negative integer that leaves at least `minSize` x `minSize` pixels. */
function checkCrop(shape: number[], crop: number, metric: string, minSize = 1): void {
  if (!Number.isInteger(crop) || crop < 0) throw new Error(`${metric}: crop must be a non-negative integer, got ${crop}`);
  const [, h, w] = shape;
  const hh = h - 2 * crop;
  const ww = w - 2 * crop;
  if (hh < minSize || ww < minSize) {
    throw new Error(
      `${metric}: crop ${crop} leaves ${Math.max(hh, 0)}x${Math.max(ww, 0)} of a ${h}x${w} image, ` +
        `need at least ${minSize}x${minSize}`
    );
  }
}

/** Removes `crop` pixels from every side (checked beforehand by checkCrop). */
function cropBorder(x: tf.Tensor4D, crop: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return crop === 0 ? x : tf.slice(x, [0, crop, crop, 0], [n, h - 2 * crop, w - 2 * crop, c]);
}

/** Y of BT.601 studio-swing YCbCr, divided by 255 (so in [16/255, 235/255] for inputs in [0,1]). */
export function rgbToY(x: tf.Tensor4D): tf.Tensor4D {
  assertImage(x, "rgbToY");
  assertRgb(x, "rgbToY");
  return tf.tidy(() => {
    const w = tf.tensor1d(Y_COEFFS.map((v) => v / 255));
    return tf.add(tf.sum(tf.mul(x, w), 3, true), Y_OFFSET / 255) as tf.Tensor4D;
  });
}

/** PSNR from a per-image MSE; identical images give +Infinity (explicitly, not via a division by zero). */
function psnrFromMse(mse: tf.Tensor1D, peak: number): tf.Tensor1D {
  const positive = tf.greater(mse, 0);
  const safe = tf.where(positive, mse, tf.onesLike(mse));
  const db = tf.mul(10 / Math.LN10, tf.sub(Math.log(peak * peak), tf.log(safe)));
  return tf.where(positive, db, tf.fill(mse.shape, Infinity)) as tf.Tensor1D;
}

function mseOf(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D {
  return tf.mean(tf.square(tf.sub(a, b)), [1, 2, 3]) as tf.Tensor1D;
}

/** PSNR in dB on all channels with peak 1 (inputs in [0,1]). */
export function psnrRgb(a: tf.Tensor4D, b: tf.Tensor4D, opts: MetricOptions = {}): tf.Tensor1D {
  assertPair(a, b, "psnrRgb");
  const crop = opts.crop ?? 0;
  checkCrop(a.shape, crop, "psnrRgb");
  return tf.tidy(() => psnrFromMse(mseOf(cropBorder(a, crop), cropBorder(b, crop)), 1));
}

/** PSNR in dB on BT.601 Y, field convention (0..255 scale, peak 255; equal to peak 1 on Y/255). */
export function psnrY(a: tf.Tensor4D, b: tf.Tensor4D, opts: MetricOptions = {}): tf.Tensor1D {
  assertPair(a, b, "psnrY");
  assertRgb(a, "psnrY");
  const crop = opts.crop ?? 0;
  checkCrop(a.shape, crop, "psnrY");
  return tf.tidy(() => {
    const ya = rgbToY(cropBorder(a, crop));
    const yb = rgbToY(cropBorder(b, crop));
    return psnrFromMse(mseOf(ya, yb), 1);
  });
}

const SSIM_WIN = 11;
const SSIM_SIGMA = 1.5;

// scipy.ndimage.gaussian_filter's taps for sigma 1.5, truncate 3.5 (radius 5), normalised to sum 1.
function gaussianTaps(): number[] {
  const r = (SSIM_WIN - 1) / 2;
  const g = Array.from({length: SSIM_WIN}, (_, i) => Math.exp(-((i - r) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA)));
  const s = g.reduce((p, v) => p + v, 0);
  return g.map((v) => v / s);
}

/**
 * SSIM on Y (0..255, L = 255), mean over the 'valid' map. Matches skimage
 * structural_similarity(y1, y2, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False):
 * skimage filters with reflect padding but then discards the 5-pixel border, which is exactly a 'valid' filter.
 */
export function ssimY(a: tf.Tensor4D, b: tf.Tensor4D, opts: MetricOptions = {}): tf.Tensor1D {
  assertPair(a, b, "ssimY");
  assertRgb(a, "ssimY");
  const crop = opts.crop ?? 0;
  checkCrop(a.shape, crop, "ssimY", SSIM_WIN);
  return tf.tidy(() => {
    const ca = cropBorder(a, crop);
    const cb = cropBorder(b, crop);
    const [n, h, w] = ca.shape;
    const ya = tf.mul(rgbToY(ca), 255);
    const yb = tf.mul(rgbToY(cb), 255);
    // Variances are E[x^2] - E[x]^2: in float32 at the 0..255 scale that cancellation loses ~1e-3 absolute.
    // Shifting both images by the same per-image constant leaves (co)variances exact and keeps the squares small;
    // the means are shifted back before the luminance term, which is not shift-invariant.
    const shift = tf.mean(tf.add(ya, yb), [1, 2, 3], true).div(2);
    const x = tf.sub(ya, shift);
    const y = tf.sub(yb, shift);
    const stack = tf.concat([x, y, tf.square(x), tf.square(y), tf.mul(x, y)], 3); // [n,h,w,5]
    const planes = tf.reshape(tf.transpose(stack, [0, 3, 1, 2]), [n * 5, h, w, 1]) as tf.Tensor4D;
    const taps = gaussianTaps();
    const gv = tf.tensor4d(taps, [SSIM_WIN, 1, 1, 1]);
    const gh = tf.tensor4d(taps, [1, SSIM_WIN, 1, 1]);
    const filtered = tf.conv2d(tf.conv2d(planes, gv, 1, "valid"), gh, 1, "valid");
    const hv = h - SSIM_WIN + 1;
    const wv = w - SSIM_WIN + 1;
    const [mx, my, exx, eyy, exy] = tf.unstack(tf.reshape(filtered, [n, 5, hv, wv]), 1);
    const vx = tf.sub(exx, tf.square(mx));
    const vy = tf.sub(eyy, tf.square(my));
    const vxy = tf.sub(exy, tf.mul(mx, my));
    const s2 = tf.reshape(shift, [n, 1, 1]);
    const ux = tf.add(mx, s2);
    const uy = tf.add(my, s2);
    const c1 = (0.01 * 255) ** 2;
    const c2 = (0.03 * 255) ** 2;
    const num = tf.mul(tf.add(tf.mul(2, tf.mul(ux, uy)), c1), tf.add(tf.mul(2, vxy), c2));
    const den = tf.mul(tf.add(tf.add(tf.square(ux), tf.square(uy)), c1), tf.add(tf.add(vx, vy), c2));
    return tf.mean(tf.div(num, den), [1, 2]) as tf.Tensor1D;
  });
}

const HAARPSI_C = 30;
const HAARPSI_ALPHA = 4.2;
const HAARPSI_SCALES = 3;
// RGB -> YIQ rows as in the reference implementation.
const YIQ = [
  [0.299, 0.587, 0.114],
  [0.596, -0.274, -0.322],
  [0.211, -0.523, 0.312]
];

/**
 * MATLAB conv2(x, k, 'same') for a k x k kernel with even k equals a correlation with the flipped kernel
 * after zero padding k/2 - 1 rows/columns before and k/2 after. The asymmetric padding is why this is
 * written out instead of using TF's 'same' (whose split is the same today, but is backend-defined).
 */
function padMatlabSame(x: tf.Tensor4D, k: number): tf.Tensor4D {
  const before = k / 2 - 1;
  const after = k / 2;
  return tf.pad(x, [
    [0, 0],
    [before, after],
    [before, after],
    [0, 0]
  ]);
}

/** Correlation kernels [k,k,1,2] for Haar scale s: flipped reference filter and its transpose. */
function haarKernels(scale: number): tf.Tensor4D {
  const k = 2 ** scale;
  const v = 2 ** -scale;
  const data = new Float32Array(k * k * 2);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) {
      // The reference filter has its upper half negative; flipped for correlation, the upper half is positive.
      data[(r * k + c) * 2] = r < k / 2 ? v : -v;
      data[(r * k + c) * 2 + 1] = c < k / 2 ? v : -v;
    }
  }
  return tf.tensor4d(data, [k, k, 1, 2]);
}

/** 2x2 mean in the MATLAB 'same' convention (zero row/column appended at the bottom/right), stride 1 or 2. */
function box2(x: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  const [, h, w] = x.shape;
  // With stride 2 only an odd size needs the extra zero line; with stride 1 there is always one.
  const padH = stride === 1 ? 1 : h % 2;
  const padW = stride === 1 ? 1 : w % 2;
  const padded = tf.pad(x, [
    [0, 0],
    [0, padH],
    [0, padW],
    [0, 0]
  ]);
  return tf.avgPool(padded, 2, stride, "valid");
}

function similarity(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.div(tf.add(tf.mul(2, tf.mul(a, b)), HAARPSI_C), tf.add(tf.add(tf.square(a), tf.square(b)), HAARPSI_C));
}

/**
 * HaarPSI, Reisenhofer, Bosse, Kutyniok, Wiegand, "A Haar wavelet-based perceptual similarity index for
 * image quality assessment", Signal Processing: Image Communication 61 (2018), following the authors'
 * reference code (rgcda/haarpsi): YIQ, optional 2x2 subsampling, three Haar scales on Y (weights from the
 * coarsest, similarities from the two finer), a chroma similarity on 2x2-averaged |I| and |Q| weighted by
 * the mean of the two luminance weights, C = 30, alpha = 4.2, on 0..255 values. Single-channel input
 * gives the greyscale version (no chroma term). In [0,1], 1 for identical images.
 * Lab choice where the reference divides 0 by 0 (both images without any coarse-scale detail, e.g. flat):
 * the local similarities are averaged with equal weights instead of returning NaN.
 */
export function haarpsi(a: tf.Tensor4D, b: tf.Tensor4D, opts: HaarPsiOptions = {}): tf.Tensor1D {
  assertPair(a, b, "haarpsi");
  const channels = a.shape[3];
  if (channels !== 3 && channels !== 1) throw new Error(`haarpsi: expected 3 (RGB) or 1 (grey) channels, got ${channels}`);
  const crop = opts.crop ?? 0;
  checkCrop(a.shape, crop, "haarpsi");
  return tf.tidy(() => {
    const ca = cropBorder(a, crop);
    const cb = cropBorder(b, crop);
    const n = ca.shape[0];
    // Reference and distorted image go through the same filters in one batch: [2n, h, w, c].
    let both = tf.mul(tf.concat([ca, cb], 0), 255) as tf.Tensor4D;
    if (channels === 3) {
      const m = tf.tensor4d(
        [0, 1, 2].flatMap((ci) => YIQ.map((row) => row[ci])),
        [1, 1, 3, 3]
      );
      both = tf.conv2d(both, m, 1, "valid");
    }
    if (opts.subsample ?? true) both = box2(both, 2);
    const [, h, w] = both.shape;
    const lum = tf.slice(both, [0, 0, 0, 0], [2 * n, h, w, 1]);

    const mags: tf.Tensor4D[] = [];
    for (let s = 1; s <= HAARPSI_SCALES; s++) {
      mags.push(tf.abs(tf.conv2d(padMatlabSame(lum, 2 ** s), haarKernels(s), 1, "valid")));
    }
    const split = (t: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] => [
      tf.slice(t, [0, 0, 0, 0], [n, h, w, -1]),
      tf.slice(t, [n, 0, 0, 0], [n, h, w, -1])
    ];
    const [wa, wb] = split(mags[HAARPSI_SCALES - 1]);
    const lumWeights = tf.maximum(wa, wb); // [n,h,w,2]: both orientations
    const [a1, b1] = split(mags[0]);
    const [a2, b2] = split(mags[1]);
    const lumSims = tf.div(tf.add(similarity(a1, b1), similarity(a2, b2)), 2);

    let sims: tf.Tensor = lumSims;
    let weights: tf.Tensor = lumWeights;
    if (channels === 3) {
      const chroma = tf.abs(box2(tf.slice(both, [0, 0, 0, 1], [2 * n, h, w, 2]), 1));
      const [ia, ib] = split(chroma);
      const chromaSim = tf.mean(similarity(ia, ib), 3, true); // (sim_I + sim_Q) / 2
      const chromaWeight = tf.mean(lumWeights, 3, true);
      sims = tf.concat([lumSims, chromaSim], 3);
      weights = tf.concat([lumWeights, chromaWeight], 3);
    }
    const sig = tf.sigmoid(tf.mul(HAARPSI_ALPHA, sims));
    const wsum = tf.sum(weights, [1, 2, 3]);
    const hasWeight = tf.greater(wsum, 0);
    const weighted = tf.div(tf.sum(tf.mul(sig, weights), [1, 2, 3]), tf.where(hasWeight, wsum, tf.onesLike(wsum)));
    const p = tf.where(hasWeight, weighted, tf.mean(sig, [1, 2, 3]));
    const logit = tf.div(tf.log(tf.div(p, tf.sub(1, p))), HAARPSI_ALPHA);
    return tf.square(logit) as tf.Tensor1D;
  });
}

export interface AllMetrics {
  psnrRgb: number[];
  psnrY: number[];
  ssimY: number[];
  haarpsi: number[];
}

/** All four metrics as plain numbers (one per image); awaits the data so it is safe on WebGPU/WebGL. */
export async function measureAll(a: tf.Tensor4D, b: tf.Tensor4D, opts: HaarPsiOptions = {}): Promise<AllMetrics> {
  const tensors: tf.Tensor1D[] = [];
  try {
    // Pushed one by one so that a metric that rejects the input (e.g. SSIM on a too-small crop) leaks nothing.
    for (const f of [psnrRgb, psnrY, ssimY, haarpsi]) tensors.push(f(a, b, opts));
    const [p, py, s, h] = await Promise.all(tensors.map(async (t) => Array.from(await t.data())));
    return {psnrRgb: p, psnrY: py, ssimY: s, haarpsi: h};
  } finally {
    tensors.forEach((t) => t.dispose());
  }
}
