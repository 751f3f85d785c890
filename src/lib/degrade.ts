// Degradations that turn a high-resolution (HR) patch into its low-resolution (LR) partner, in pure JavaScript
// so one seed gives the same LR bytes in Node, in a worker and on a page.
//
// Presets:
// - "bicubic": MATLAB imresize bicubic x1/scale with antialiasing (the field's classical benchmark degradation).
// - "realistic": Real-ESRGAN's second-order pipeline (Wang et al., ICCVW 2021; realesrgan_model.py feed_data and
//   train_realesrgan_x4plus.yml) with its published ranges: blur -> random resize -> noise -> JPEG, a second
//   round of the same (blur with probability 0.8), then a final resize to HR/scale with a sinc filter
//   (probability 0.8) and a JPEG, the two in random order.
// - "mild": lab default, not a published preset: one round (blur sigma 0.2-1.5, resize 0.5-1.2, noise sigma
//   1-10 or Poisson 0.05-1), then the final resize and one JPEG (quality 60-95), no sinc.
//
// Every stage can be switched off on its own (`stages: {blur1: false}`), and every stage draws from its own
// forked random stream, so switching one stage off leaves the parameters drawn by every other stage unchanged.
// The result carries a trace of every stage, in the order the stages ran (the final JPEG may come before the
// final resize), with all drawn parameters, the blur kernels, and with `capture` the image after each stage.
// The bicubic preset resizes the float image and rounds to 8 bits once at the end (as Python ports of imresize
// do); MATLAB on a uint8 image rounds after each axis, which differs by at most one level when shrinking.
//
// Deliberate differences from Real-ESRGAN, each for a stated reason:
// - The HR patch is degraded as is; Real-ESRGAN degrades an unsharp-masked copy of its ground truth because it
//   also trains on sharpened targets. The lab's targets are the plain photographs.
// - JPEG: the lossy steps of a baseline JPEG codec (IJG tables, 4:2:0, integer quality; checked against jpeg-js's
//   real encoder and decoder), where Real-ESRGAN uses DiffJPEG (the same steps made differentiable, real-valued
//   quality, zero padding to multiples of 16 where encoders, and this lab, repeat the edge).
// - Reflect padding for blurs repeats when a tiny image is smaller than the pad (PyTorch would raise).
// - Resizes never produce an empty image (at least one pixel per axis).
import {decodeImage, encodeJpeg} from "./image-io.js";
import {
  filter2D,
  REALESRGAN_KERNEL1,
  REALESRGAN_KERNEL2,
  sampleBlurKernel,
  sampleFinalSinc,
  type BlurKernel,
  type KernelSampling,
} from "./kernels.js";
import {imresize, interpolate, INTERPOLATE_MODES, scaledLength, type ImageF32, type InterpolateMode} from "./resize.js";
import {createRng, type Rng} from "./rng.js";

export type {ImageF32} from "./resize.js";

export type Preset = "bicubic" | "mild" | "realistic";
export const PRESETS: readonly Preset[] = ["bicubic", "mild", "realistic"];

/** Stages in pipeline order. "finalResize" is what makes the LR size and is always on. */
export type StageName =
  | "bicubic"
  | "blur1"
  | "resize1"
  | "noise1"
  | "jpeg1"
  | "blur2"
  | "resize2"
  | "noise2"
  | "finalResize"
  | "sinc"
  | "jpeg2";

export const STAGE_NAMES: readonly StageName[] = [
  "bicubic",
  "blur1",
  "resize1",
  "noise1",
  "jpeg1",
  "blur2",
  "resize2",
  "noise2",
  "finalResize",
  "sinc",
  "jpeg2",
];

/** Random resize: up/down/keep with probabilities, scale uniform in [range[0], 1] (down) or [1, range[1]] (up). */
export interface ResizeConfig {
  /** Probabilities of up, down, keep. */
  updownProb: readonly [number, number, number];
  range: readonly [number, number];
  modes: readonly InterpolateMode[];
}

/** Gaussian noise (sigma in 8-bit units) with probability gaussianProb, else Poisson; grey with grayProb. */
export interface NoiseConfig {
  gaussianProb: number;
  sigmaRange: readonly [number, number];
  poissonScaleRange: readonly [number, number];
  grayProb: number;
}

export interface JpegConfig {
  /** Quality drawn uniformly from this range, then rounded to an integer for the encoder. */
  qualityRange: readonly [number, number];
  /** Chroma subsampling (default "4:2:0", as DiffJPEG in Real-ESRGAN and most cameras). */
  subsampling?: ChromaSubsampling;
  /** "lab" (default): jpegCompress. "jpeg-js": a real file through jpeg-js (4:4:4 only, slow). */
  engine?: "lab" | "jpeg-js";
}

/** Everything a pipeline draws from; presets are complete configs, callers override parts. */
export interface DegradeConfig {
  blur1: KernelSampling;
  resize1: ResizeConfig;
  noise1: NoiseConfig;
  jpeg1: JpegConfig;
  /** The second blur is applied with probability `prob` (Real-ESRGAN: 0.8). */
  blur2: KernelSampling & {prob: number};
  resize2: ResizeConfig;
  noise2: NoiseConfig;
  finalResize: {modes: readonly InterpolateMode[]};
  /** Final sinc with probability `prob`, size from `sizes`, omega_c in [pi/3, pi]. */
  sinc: {prob: number; sizes: readonly number[]};
  jpeg2: JpegConfig;
  /** "random": 50/50 between resize+sinc then JPEG, and JPEG then resize+sinc (Real-ESRGAN). */
  finalOrder: "random" | "resize-first" | "jpeg-first";
  /** Which stages run. */
  stages: Record<StageName, boolean>;
}

const ALL_OFF: Record<StageName, boolean> = Object.fromEntries(STAGE_NAMES.map((s) => [s, false])) as Record<StageName, boolean>;

/** Real-ESRGAN x4plus settings (train_realesrgan_x4plus.yml, realesrgan_dataset.py). */
const REALISTIC: DegradeConfig = {
  blur1: REALESRGAN_KERNEL1,
  resize1: {updownProb: [0.2, 0.7, 0.1], range: [0.15, 1.5], modes: INTERPOLATE_MODES},
  noise1: {gaussianProb: 0.5, sigmaRange: [1, 30], poissonScaleRange: [0.05, 3], grayProb: 0.4},
  jpeg1: {qualityRange: [30, 95]},
  blur2: {...REALESRGAN_KERNEL2, prob: 0.8},
  resize2: {updownProb: [0.3, 0.4, 0.3], range: [0.3, 1.2], modes: INTERPOLATE_MODES},
  noise2: {gaussianProb: 0.5, sigmaRange: [1, 25], poissonScaleRange: [0.05, 2.5], grayProb: 0.4},
  finalResize: {modes: INTERPOLATE_MODES},
  sinc: {prob: 0.8, sizes: REALESRGAN_KERNEL1.sizes},
  jpeg2: {qualityRange: [30, 95]},
  finalOrder: "random",
  stages: {...ALL_OFF, blur1: true, resize1: true, noise1: true, jpeg1: true, blur2: true, resize2: true, noise2: true, finalResize: true, sinc: true, jpeg2: true},
};

/**
 * Lab default "mild": a first-order version of the pipeline with narrower ranges, for a student that should
 * first learn light real-world damage. The second-order settings stay filled in (Real-ESRGAN's) so that
 * switching those stages on gives the published behaviour.
 */
const MILD: DegradeConfig = {
  ...REALISTIC,
  blur1: {...REALESRGAN_KERNEL1, sigmaRange: [0.2, 1.5], sincProb: 0},
  resize1: {updownProb: [0.2, 0.7, 0.1], range: [0.5, 1.2], modes: INTERPOLATE_MODES},
  noise1: {gaussianProb: 0.5, sigmaRange: [1, 10], poissonScaleRange: [0.05, 1], grayProb: 0.4},
  jpeg2: {qualityRange: [60, 95]},
  finalOrder: "resize-first",
  stages: {...ALL_OFF, blur1: true, resize1: true, noise1: true, finalResize: true, jpeg2: true},
};

const BICUBIC: DegradeConfig = {...REALISTIC, stages: {...ALL_OFF, bicubic: true}};

/** A complete copy of a preset's configuration. */
export function presetConfig(preset: Preset): DegradeConfig {
  const c = preset === "bicubic" ? BICUBIC : preset === "mild" ? MILD : preset === "realistic" ? REALISTIC : null;
  if (!c) throw new Error(`degrade: unknown preset "${preset as string}" (use ${PRESETS.join(", ")})`);
  return structuredClone(c);
}

/** Parts of a configuration to override (one level deep per stage). */
export type DegradeConfigOverride = {
  [K in keyof DegradeConfig]?: DegradeConfig[K] extends object ? Partial<DegradeConfig[K]> : DegradeConfig[K];
};

export interface DegradeOptions {
  preset?: Preset;
  /** Overrides of the preset's ranges and probabilities. */
  config?: DegradeConfigOverride;
  /** Switch single stages on or off on top of the preset. */
  stages?: Partial<Record<StageName, boolean>>;
  seed: number;
  /** Downscaling factor, a positive integer (default 4). */
  scale?: number;
  /** Keep a copy of the image after every stage in the trace (for the data page). */
  capture?: boolean;
}

/** A JSON-friendly copy of a kernel for traces. */
export interface KernelTrace {
  type: BlurKernel["type"];
  size: number;
  data: number[];
  sigmaX?: number;
  sigmaY?: number;
  theta?: number;
  beta?: number;
  omegaC?: number;
}

export interface StageTrace {
  stage: StageName;
  /** Switched on for this run. */
  enabled: boolean;
  /** Actually changed the image (false when switched off, or when a probability said no). */
  applied: boolean;
  /** Every drawn parameter (numbers as drawn, before any rounding the encoder needs, plus what was used). */
  params: Record<string, number | string | boolean | null>;
  kernel?: KernelTrace;
  inSize: [number, number];
  outSize: [number, number];
  /** The image after this stage (only with `capture`). */
  image?: ImageF32;
}

export interface DegradeResult {
  /** The HR image the LR belongs to: the input as RGB, cropped at the bottom/right to a multiple of `scale`. */
  hr: ImageF32;
  /** RGB, (H/scale) x (W/scale), every value a multiple of 1/255 in [0, 1]. */
  lr: ImageF32;
  trace: StageTrace[];
  preset: Preset | "custom";
  seed: number;
  scale: number;
}

function sizeOf(img: ImageF32): [number, number] {
  return [img.height, img.width];
}

/** Grey, grey+alpha and RGBA become RGB (alpha composited over white, as image-io's toRgb does by default). */
function asRgb(img: ImageF32): ImageF32 {
  const {width, height, channels: c, data} = img;
  if (data.length !== width * height * c) throw new Error(`degrade: ${data.length} samples for ${width}x${height}x${c}`);
  if (c === 3) return img;
  if (c !== 1 && c !== 2 && c !== 4) throw new Error(`degrade: expected 1 to 4 channels, got ${c}`);
  const n = width * height;
  const out = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    let r: number, g: number, b: number;
    let a = 1;
    if (c <= 2) {
      r = g = b = data[p * c];
      if (c === 2) a = data[p * c + 1];
    } else {
      r = data[p * 4];
      g = data[p * 4 + 1];
      b = data[p * 4 + 2];
      a = data[p * 4 + 3];
    }
    if (a < 1) {
      r = r * a + (1 - a);
      g = g * a + (1 - a);
      b = b * a + (1 - a);
    }
    out[p * 3] = r;
    out[p * 3 + 1] = g;
    out[p * 3 + 2] = b;
  }
  return {width, height, channels: 3, data: out};
}

/** Top-left crop to a multiple of `scale` (the field's "modcrop"). */
function modcrop(img: ImageF32, scale: number): ImageF32 {
  const h = img.height - (img.height % scale);
  const w = img.width - (img.width % scale);
  if (h === img.height && w === img.width) return img;
  const out = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * img.width * 3, (y * img.width + w) * 3), y * w * 3);
  return {width: w, height: h, channels: 3, data: out};
}

function kernelTrace(k: BlurKernel): KernelTrace {
  const t: KernelTrace = {type: k.type, size: k.size, data: Array.from(k.data)};
  if (k.sigmaX !== undefined) t.sigmaX = k.sigmaX;
  if (k.sigmaY !== undefined) t.sigmaY = k.sigmaY;
  if (k.theta !== undefined) t.theta = k.theta;
  if (k.beta !== undefined) t.beta = k.beta;
  if (k.omegaC !== undefined) t.omegaC = k.omegaC;
  return t;
}

function kernelParams(k: BlurKernel): Record<string, number | string | null> {
  return {
    kernelType: k.type,
    kernelSize: k.size,
    sigmaX: k.sigmaX ?? null,
    sigmaY: k.sigmaY ?? null,
    theta: k.theta ?? null,
    beta: k.beta ?? null,
    omegaC: k.omegaC ?? null,
  };
}

/** Real-ESRGAN's random resize of one order: direction, scale, mode. */
function drawResize(rng: Rng, cfg: ResizeConfig): {direction: "up" | "down" | "keep"; scale: number; mode: InterpolateMode} {
  const direction = rng.choice(["up", "down", "keep"] as const, cfg.updownProb);
  const scale = direction === "up" ? rng.uniform(1, cfg.range[1]) : direction === "down" ? rng.uniform(cfg.range[0], 1) : 1;
  const mode = rng.choice(cfg.modes);
  return {direction, scale, mode};
}

/** torchvision rgb_to_grayscale weights. */
const GRAY_W = [0.2989, 0.587, 0.114] as const;

/** Gaussian or Poisson noise, colour or grey, clipped to [0, 1] (random_add_*_noise_pt with clip=True). */
function applyNoise(img: ImageF32, rng: Rng, cfg: NoiseConfig): {out: ImageF32; params: Record<string, number | string | boolean>} {
  const gaussian = rng.uniform() < cfg.gaussianProb;
  const n = img.width * img.height;
  const d = img.data;
  const out = new Float32Array(d.length);
  if (gaussian) {
    const sigma = rng.uniform(cfg.sigmaRange[0], cfg.sigmaRange[1]);
    const gray = rng.uniform() < cfg.grayProb;
    const s = sigma / 255;
    for (let p = 0; p < n; p++) {
      if (gray) {
        const e = rng.normal() * s;
        for (let c = 0; c < 3; c++) out[p * 3 + c] = d[p * 3 + c] + e;
      } else {
        for (let c = 0; c < 3; c++) out[p * 3 + c] = d[p * 3 + c] + rng.normal() * s;
      }
    }
    for (let i = 0; i < out.length; i++) out[i] = out[i] > 0 ? (out[i] < 1 ? out[i] : 1) : 0;
    return {out: {...img, data: out}, params: {type: "gaussian", sigma, gray}};
  }
  const scale = rng.uniform(cfg.poissonScaleRange[0], cfg.poissonScaleRange[1]);
  const gray = rng.uniform() < cfg.grayProb;
  // generate_poisson_noise_pt: count the distinct 8-bit levels, vals = 2^ceil(log2(count)), noise =
  // Poisson(x * vals) / vals - x on the rounded image, scaled, added to the unrounded image.
  const seen = new Uint8Array(256);
  let vals: number;
  if (gray) {
    const g8 = new Float64Array(n);
    for (let p = 0; p < n; p++) {
      const y = GRAY_W[0] * d[p * 3] + GRAY_W[1] * d[p * 3 + 1] + GRAY_W[2] * d[p * 3 + 2];
      const q = Math.min(255, Math.max(0, Math.round(y * 255)));
      seen[q] = 1;
      g8[p] = q / 255;
    }
    vals = levelsToVals(seen);
    for (let p = 0; p < n; p++) {
      const e = (rng.poisson(g8[p] * vals) / vals - g8[p]) * scale;
      for (let c = 0; c < 3; c++) out[p * 3 + c] = d[p * 3 + c] + e;
    }
  } else {
    const q8 = new Float64Array(d.length);
    for (let i = 0; i < d.length; i++) {
      const q = Math.min(255, Math.max(0, Math.round(d[i] * 255)));
      seen[q] = 1;
      q8[i] = q / 255;
    }
    vals = levelsToVals(seen);
    for (let i = 0; i < d.length; i++) out[i] = d[i] + (rng.poisson(q8[i] * vals) / vals - q8[i]) * scale;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i] > 0 ? (out[i] < 1 ? out[i] : 1) : 0;
  return {out: {...img, data: out}, params: {type: "poisson", scale, gray, vals}};
}

function levelsToVals(seen: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < 256; i++) count += seen[i];
  return Math.pow(2, Math.ceil(Math.log2(Math.max(1, count))));
}

// ---------------------------------------------------------------------------------------------------------
// JPEG
//
// The pipeline's JPEG stage performs the lossy steps of a baseline JPEG codec directly: 8-bit RGB -> YCbCr
// (JFIF), optional 4:2:0 chroma subsampling (2x2 average), 8x8 DCT per block, quantisation with the IJG tables
// scaled by quality (libjpeg's jpeg_quality_scaling), dequantisation, inverse DCT, chroma upsampling (sample
// replication, as Real-ESRGAN's DiffJPEG), YCbCr -> RGB, rounding to 8 bits. The entropy coding a file would
// add is lossless and is skipped. Why not jpeg-js for every pair: its encoder rebuilds its tables on every call
// (about 0.2 s even for a 16x16 image), which would cap the pipeline at a few pairs per second.
// `jpegRoundTrip` goes through jpeg-js's real encoder and decoder (4:4:4 only); test/degrade.test.ts checks the
// two agree (jpeg-js's decoder truncates where this rounds, so they differ by about half a level on average).

/** IJG/Annex K base tables, row-major (not zig-zag). */
const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56,
  68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/** libjpeg's quality scaling (jpeg_quality_scaling + jpeg_add_quant_table with force_baseline). */
export function jpegQuantTable(quality: number, chroma: boolean): Int32Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const sf = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  const base = chroma ? CHROMA_Q : LUMA_Q;
  const t = new Int32Array(64);
  for (let i = 0; i < 64; i++) t[i] = Math.min(255, Math.max(1, Math.floor((base[i] * sf + 50) / 100)));
  return t;
}

/** DCT-II basis: M[u*8+x] = C(u)/2 cos((2x+1) u pi / 16), so F = M f M^T and f = M^T F M. */
const DCT_M = (() => {
  const m = new Float64Array(64);
  for (let u = 0; u < 8; u++)
    for (let x = 0; x < 8; x++) m[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  return m;
})();

const quantCache = new Map<string, Int32Array>();
function cachedQuant(quality: number, chroma: boolean): Int32Array {
  const key = `${quality}|${chroma}`;
  let t = quantCache.get(key);
  if (!t) {
    t = jpegQuantTable(quality, chroma);
    quantCache.set(key, t);
  }
  return t;
}

/** Quantises every 8x8 block of a plane (values 0..255, size a multiple of 8) in place, returns it rounded. */
function quantisePlane(plane: Float64Array, w: number, h: number, qt: Int32Array): void {
  const blk = new Float64Array(64);
  const tmp = new Float64Array(64);
  const M = DCT_M;
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) blk[y * 8 + x] = plane[(by + y) * w + bx + x] - 128;
      // rows: tmp[y][u] = sum_x f[y][x] M[u][x]
      for (let y = 0; y < 8; y++)
        for (let u = 0; u < 8; u++) {
          let a = 0;
          for (let x = 0; x < 8; x++) a += blk[y * 8 + x] * M[u * 8 + x];
          tmp[y * 8 + u] = a;
        }
      // columns: F[v][u] = sum_y M[v][y] tmp[y][u]; quantise, dequantise
      for (let v = 0; v < 8; v++)
        for (let u = 0; u < 8; u++) {
          let a = 0;
          for (let y = 0; y < 8; y++) a += M[v * 8 + y] * tmp[y * 8 + u];
          const q = qt[v * 8 + u];
          const r = a / q;
          blk[v * 8 + u] = (r < 0 ? -Math.floor(-r + 0.5) : Math.floor(r + 0.5)) * q;
        }
      // inverse: f = M^T F M
      for (let v = 0; v < 8; v++)
        for (let x = 0; x < 8; x++) {
          let a = 0;
          for (let u = 0; u < 8; u++) a += blk[v * 8 + u] * M[u * 8 + x];
          tmp[v * 8 + x] = a;
        }
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) {
          let a = 0;
          for (let v = 0; v < 8; v++) a += M[v * 8 + y] * tmp[v * 8 + x];
          const o = Math.round(a + 128);
          plane[(by + y) * w + bx + x] = o < 0 ? 0 : o > 255 ? 255 : o;
        }
    }
  }
}

export type ChromaSubsampling = "4:2:0" | "4:4:4";

/**
 * JPEG compression and decompression of an RGB image at an integer quality 1-100 (the lossy steps of a
 * baseline codec; see the comment above). Input values are clamped to [0,1] and rounded to 8 bits first.
 */
export function jpegCompress(img: ImageF32, quality: number, subsampling: ChromaSubsampling = "4:2:0"): ImageF32 {
  const {width: w, height: h, data} = img;
  if (img.channels !== 3) throw new Error(`jpegCompress: expected RGB, got ${img.channels} channels`);
  const mcu = subsampling === "4:2:0" ? 16 : 8;
  const pw = Math.ceil(w / mcu) * mcu;
  const ph = Math.ceil(h / mcu) * mcu;
  const Y = new Float64Array(pw * ph);
  const Cb = new Float64Array(pw * ph);
  const Cr = new Float64Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const sy = y < h ? y : h - 1; // encoders pad by repeating the last row and column
    for (let x = 0; x < pw; x++) {
      const sx = x < w ? x : w - 1;
      const i = (sy * w + sx) * 3;
      const r = to255(data[i]);
      const g = to255(data[i + 1]);
      const b = to255(data[i + 2]);
      const o = y * pw + x;
      Y[o] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      Cb[o] = Math.min(255, Math.max(0, Math.round(-0.168735892 * r - 0.331264108 * g + 0.5 * b + 128)));
      Cr[o] = Math.min(255, Math.max(0, Math.round(0.5 * r - 0.418687589 * g - 0.081312411 * b + 128)));
    }
  }
  quantisePlane(Y, pw, ph, cachedQuant(quality, false));
  let cb = Cb;
  let cr = Cr;
  if (subsampling === "4:2:0") {
    const cw = pw / 2;
    const ch = ph / 2;
    cb = new Float64Array(cw * ch);
    cr = new Float64Array(cw * ch);
    for (let y = 0; y < ch; y++)
      for (let x = 0; x < cw; x++) {
        const a = 2 * y * pw + 2 * x;
        cb[y * cw + x] = Math.round((Cb[a] + Cb[a + 1] + Cb[a + pw] + Cb[a + pw + 1]) / 4);
        cr[y * cw + x] = Math.round((Cr[a] + Cr[a + 1] + Cr[a + pw] + Cr[a + pw + 1]) / 4);
      }
    quantisePlane(cb, cw, ch, cachedQuant(quality, true));
    quantisePlane(cr, cw, ch, cachedQuant(quality, true));
  } else {
    quantisePlane(cb, pw, ph, cachedQuant(quality, true));
    quantisePlane(cr, pw, ph, cachedQuant(quality, true));
  }
  const out = new Float32Array(w * h * 3);
  const sub = subsampling === "4:2:0";
  const cw = sub ? pw / 2 : pw;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const yy = Y[y * pw + x];
      const ci = sub ? (y >> 1) * cw + (x >> 1) : y * pw + x;
      const u = cb[ci] - 128;
      const v = cr[ci] - 128;
      const o = (y * w + x) * 3;
      out[o] = clamp255(yy + 1.402 * v) / 255;
      out[o + 1] = clamp255(yy - 0.344136286 * u - 0.714136286 * v) / 255;
      out[o + 2] = clamp255(yy + 1.772 * u) / 255;
    }
  return {width: w, height: h, channels: 3, data: out};
}

function to255(v: number): number {
  return v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
}
function clamp255(v: number): number {
  const r = Math.round(v);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/**
 * JPEG round trip through jpeg-js's encoder and decoder (4:4:4, integer quality): a real file in between.
 * Slow (about 0.2 s per call); used to check jpegCompress and available as the pipeline's "jpeg-js" engine.
 */
export function jpegRoundTrip(img: ImageF32, quality: number): ImageF32 {
  const {width, height, data} = img;
  if (img.channels !== 3) throw new Error(`jpegRoundTrip: expected RGB, got ${img.channels} channels`);
  const n = width * height;
  const rgba = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = to255(data[p * 3 + c]);
    rgba[p * 4 + 3] = 255;
  }
  const bytes = encodeJpeg({width, height, data: rgba}, quality);
  const dec = decodeImage(bytes, `jpeg stage (quality ${quality})`);
  if (dec.width !== width || dec.height !== height || dec.channels !== 3)
    throw new Error(`jpegRoundTrip: decoder returned ${dec.width}x${dec.height}x${dec.channels}, expected ${width}x${height}x3`);
  return {width, height, channels: 3, data: dec.data};
}

function applyJpeg(img: ImageF32, quality: number, cfg: JpegConfig): ImageF32 {
  if (cfg.engine === "jpeg-js") {
    if ((cfg.subsampling ?? "4:2:0") !== "4:4:4") throw new Error('degrade: the "jpeg-js" engine only does 4:4:4 chroma; set subsampling "4:4:4"');
    return jpegRoundTrip(img, quality);
  }
  return jpegCompress(img, quality, cfg.subsampling ?? "4:2:0");
}

function drawJpeg(rng: Rng, cfg: JpegConfig): {qualityDrawn: number; quality: number} {
  const qualityDrawn = rng.uniform(cfg.qualityRange[0], cfg.qualityRange[1]);
  return {qualityDrawn, quality: Math.min(100, Math.max(1, Math.round(qualityDrawn)))};
}

function mergeConfig(base: DegradeConfig, o: DegradeConfigOverride | undefined): DegradeConfig {
  if (!o) return base;
  const out = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (!(k in out)) throw new Error(`degrade: unknown config key "${k}"`);
    const cur = out[k];
    out[k] = cur !== null && typeof cur === "object" && !Array.isArray(cur) && typeof v === "object" && !Array.isArray(v) ? {...cur, ...v} : v;
  }
  return out as unknown as DegradeConfig;
}

/**
 * Degrades an HR image (HWC floats in [0,1], 1 to 4 channels; grey and alpha are converted to RGB) into its LR
 * partner. The same seed, options and input give the same LR bytes every time.
 */
export function degrade(input: ImageF32, opts: DegradeOptions): DegradeResult {
  const scale = opts.scale ?? 4;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`degrade: scale must be a positive integer, got ${scale}`);
  if (!Number.isFinite(opts.seed)) throw new Error(`degrade: seed must be a finite number, got ${opts.seed}`);
  const rgb = asRgb(input);
  if (rgb.height < scale || rgb.width < scale)
    throw new Error(`degrade: image ${rgb.width}x${rgb.height} is smaller than the scale factor ${scale}`);
  const hr = modcrop(rgb, scale);
  const preset = opts.preset ?? "realistic";
  const cfg = mergeConfig(presetConfig(preset), opts.config);
  const stages = {...cfg.stages, ...(opts.stages ?? {})};
  for (const k of Object.keys(opts.stages ?? {}))
    if (!(STAGE_NAMES as readonly string[]).includes(k)) throw new Error(`degrade: unknown stage "${k}" (stages: ${STAGE_NAMES.join(", ")})`);
  const custom = opts.config !== undefined || opts.stages !== undefined;
  const root = createRng(opts.seed);
  const capture = opts.capture ?? false;
  const lrH = hr.height / scale;
  const lrW = hr.width / scale;
  const trace: StageTrace[] = [];
  let img = hr;

  const record = (stage: StageName, applied: boolean, params: StageTrace["params"], before: ImageF32, kernel?: BlurKernel) => {
    const t: StageTrace = {stage, enabled: stages[stage], applied, params, inSize: sizeOf(before), outSize: sizeOf(img)};
    if (kernel) t.kernel = kernelTrace(kernel);
    if (capture && stages[stage]) t.image = {...img, data: Float32Array.from(img.data)};
    trace.push(t);
  };
  const skip = (stage: StageName) => record(stage, false, {}, img);

  if (stages.bicubic) {
    // MATLAB bicubic x1/scale with antialiasing on the float image; the final rounding below is the 8-bit step.
    const before = img;
    img = imresize(img, {outHeight: lrH, outWidth: lrW});
    record("bicubic", true, {method: "matlab-imresize-bicubic", antialias: true, scale: 1 / scale}, before);
  } else skip("bicubic");

  const realistic = STAGE_NAMES.some((s) => s !== "bicubic" && stages[s]);
  if (realistic && stages.bicubic)
    throw new Error("degrade: the bicubic stage cannot be combined with the Real-ESRGAN stages; pick one preset");
  if (realistic && !stages.finalResize)
    throw new Error("degrade: finalResize cannot be switched off (it produces the LR size); change its modes instead");

  if (realistic) {
    // ---- first order
    if (stages.blur1) {
      const k = sampleBlurKernel(root.fork("blur1"), cfg.blur1);
      const before = img;
      img = filter2D(img, k);
      record("blur1", true, kernelParams(k), before, k);
    } else skip("blur1");

    if (stages.resize1) {
      const r = drawResize(root.fork("resize1"), cfg.resize1);
      const before = img;
      const oh = scaledLength(img.height, r.scale);
      const ow = scaledLength(img.width, r.scale);
      img = interpolate(img, {mode: r.mode, outHeight: oh, outWidth: ow, scaleFactor: r.scale});
      record("resize1", true, {direction: r.direction, scale: r.scale, mode: r.mode}, before);
    } else skip("resize1");

    if (stages.noise1) {
      const before = img;
      const {out, params} = applyNoise(img, root.fork("noise1"), cfg.noise1);
      img = out;
      record("noise1", true, params, before);
    } else skip("noise1");

    if (stages.jpeg1) {
      const q = drawJpeg(root.fork("jpeg1"), cfg.jpeg1);
      const before = img;
      img = applyJpeg(img, q.quality, cfg.jpeg1);
      record("jpeg1", true, q, before);
    } else skip("jpeg1");

    // ---- second order
    if (stages.blur2) {
      const rng = root.fork("blur2");
      const k = sampleBlurKernel(rng, cfg.blur2);
      const apply = rng.uniform() < cfg.blur2.prob;
      const before = img;
      if (apply) img = filter2D(img, k);
      record("blur2", apply, {...kernelParams(k), prob: cfg.blur2.prob, drawnApply: apply}, before, k);
    } else skip("blur2");

    if (stages.resize2) {
      const r = drawResize(root.fork("resize2"), cfg.resize2);
      const before = img;
      // Real-ESRGAN sizes the second resize from the ORIGINAL size: int(ori / scale * s).
      const oh = Math.max(1, Math.trunc((hr.height / scale) * r.scale));
      const ow = Math.max(1, Math.trunc((hr.width / scale) * r.scale));
      img = interpolate(img, {mode: r.mode, outHeight: oh, outWidth: ow});
      record("resize2", true, {direction: r.direction, scale: r.scale, mode: r.mode}, before);
    } else skip("resize2");

    if (stages.noise2) {
      const before = img;
      const {out, params} = applyNoise(img, root.fork("noise2"), cfg.noise2);
      img = out;
      record("noise2", true, params, before);
    } else skip("noise2");

    // ---- final: resize to HR/scale + sinc, and JPEG, in random order
    const orderRng = root.fork("order");
    const resizeFirst = cfg.finalOrder === "random" ? orderRng.uniform() < 0.5 : cfg.finalOrder === "resize-first";
    const finalRng = root.fork("finalResize");
    const finalMode = finalRng.choice(cfg.finalResize.modes);
    const sincRng = root.fork("sinc");
    const sincOn = sincRng.uniform() < cfg.sinc.prob;
    const sinc = sampleFinalSinc(sincRng, cfg.sinc.sizes);
    const jpegDraw = drawJpeg(root.fork("jpeg2"), cfg.jpeg2);

    const doResizeSinc = () => {
      let before = img;
      img = interpolate(img, {mode: finalMode, outHeight: lrH, outWidth: lrW});
      record("finalResize", true, {mode: finalMode, order: resizeFirst ? "resize-first" : "jpeg-first"}, before);
      if (stages.sinc) {
        before = img;
        if (sincOn) img = filter2D(img, sinc);
        record("sinc", sincOn, {...kernelParams(sinc), prob: cfg.sinc.prob, drawnApply: sincOn}, before, sinc);
      } else skip("sinc");
    };
    const doJpeg = () => {
      if (stages.jpeg2) {
        const before = img;
        img = applyJpeg(img, jpegDraw.quality, cfg.jpeg2);
        record("jpeg2", true, jpegDraw, before);
      } else skip("jpeg2");
    };
    if (resizeFirst) {
      doResizeSinc();
      doJpeg();
    } else {
      doJpeg();
      doResizeSinc();
    }
  } else {
    for (const s of STAGE_NAMES) if (s !== "bicubic") skip(s);
  }

  if (img.height !== lrH || img.width !== lrW)
    throw new Error(`degrade: internal error, LR is ${img.width}x${img.height}, expected ${lrW}x${lrH}`);
  // Clamp and round to 8-bit levels, as Real-ESRGAN does at the end (torch.clamp((out * 255).round(), 0, 255) / 255).
  const d = img.data;
  const lrData = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = Math.round(d[i] * 255);
    lrData[i] = (v < 0 ? 0 : v > 255 ? 255 : v) / 255;
  }
  return {hr, lr: {width: lrW, height: lrH, channels: 3, data: lrData}, trace, preset: custom ? "custom" : preset, seed: opts.seed, scale};
}

/** An image as 8-bit samples (clamped, rounded), e.g. for the pair cache. */
export function toUint8(img: ImageF32): Uint8Array {
  const d = img.data;
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}
