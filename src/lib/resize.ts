// Image resampling in pure JavaScript on HWC Float32Array images, deterministic to the bit in Node and in the
// browser (no TF.js: backends round differently).
//
// Two families, because the field uses both:
// - `imresize`: MATLAB's imresize with the bicubic kernel (a = -0.5), antialiasing when shrinking (the kernel
//   is widened by 1/scale), symmetric (mirror) boundary handling, output size ceil(in * scale). This is the
//   standard for making bicubic x4 test pairs and for the bicubic upsampling baseline.
// - `interpolate`: PyTorch's F.interpolate(mode = "area" | "bilinear" | "bicubic", align_corners = False), the
//   resizes Real-ESRGAN's degradation pipeline draws from. No antialiasing (as in PyTorch's default), bicubic
//   with a = -0.75 and clamped (replicated) borders, bilinear with clamped borders, area = adaptive average
//   pooling.
// Both are separable: one pass along the height, one along the width, each a weighted sum of input samples
// given by precomputed "contributions" (indices and weights per output position), cached per geometry.

/** A plain image: HWC interleaved samples, usually in [0,1]. */
export interface ImageF32 {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** Indices and weights of the input samples that make up each output sample along one axis. */
interface Contributions {
  outLength: number;
  taps: number;
  /** outLength * taps input indices, already inside [0, inLength). */
  index: Int32Array;
  /** outLength * taps weights (zero for unused taps). */
  weight: Float64Array;
}

function checkImage(img: ImageF32, who: string): void {
  const {width, height, channels, data} = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new Error(`${who}: invalid image size ${width}x${height}`);
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`${who}: invalid channel count ${channels}`);
  if (data.length !== width * height * channels)
    throw new Error(`${who}: ${data.length} samples for ${width}x${height}x${channels}`);
}

function checkLength(n: number, who: string, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${who}: ${what} must be a positive integer, got ${n}`);
}

// ---------------------------------------------------------------------------------------------------------
// MATLAB imresize

/** MATLAB's cubic kernel (Keys, a = -0.5). */
function matlabCubic(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

/**
 * MATLAB's `contributions` (imresize.m): weights for output positions 1..outLength at `scale`, indices mirrored
 * symmetrically at the borders (edge sample repeated), rows normalised to sum 1, all-zero columns removed.
 */
function matlabContributions(inLength: number, outLength: number, scale: number, antialias: boolean): Contributions {
  const kernelWidth0 = 4;
  const shrinkAA = scale < 1 && antialias;
  const kernelWidth = shrinkAA ? kernelWidth0 / scale : kernelWidth0;
  const h = shrinkAA ? (x: number) => scale * matlabCubic(scale * x) : matlabCubic;
  const P = Math.ceil(kernelWidth) + 2;
  const rawIndex = new Int32Array(outLength * P);
  const rawWeight = new Float64Array(outLength * P);
  for (let i = 0; i < outLength; i++) {
    const x = i + 1; // MATLAB's 1-based output coordinate
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kernelWidth / 2);
    let sum = 0;
    for (let j = 0; j < P; j++) {
      const idx = left + j;
      const w = h(u - idx);
      rawIndex[i * P + j] = idx;
      rawWeight[i * P + j] = w;
      sum += w;
    }
    for (let j = 0; j < P; j++) rawWeight[i * P + j] /= sum;
  }
  // Columns whose weights are zero for every output are dropped (MATLAB's "kill"), which only trims the ends.
  let first = 0;
  let last = P - 1;
  const colZero = (j: number) => {
    for (let i = 0; i < outLength; i++) if (rawWeight[i * P + j] !== 0) return false;
    return true;
  };
  while (first < last && colZero(first)) first++;
  while (last > first && colZero(last)) last--;
  const taps = last - first + 1;
  const index = new Int32Array(outLength * taps);
  const weight = new Float64Array(outLength * taps);
  const period = 2 * inLength;
  for (let i = 0; i < outLength; i++) {
    for (let j = 0; j < taps; j++) {
      const raw = rawIndex[i * P + first + j]; // 1-based
      // aux = [1:in, in:-1:1]; index = aux(mod(raw - 1, 2 * in) + 1)
      const m = (((raw - 1) % period) + period) % period;
      index[i * taps + j] = m < inLength ? m : period - 1 - m;
      weight[i * taps + j] = rawWeight[i * P + first + j];
    }
  }
  return {outLength, taps, index, weight};
}

/** Options of `imresize`: either a common `scale` or an output size; `round` emulates 8-bit output. */
export interface ImresizeOptions {
  /** Scale factor applied to both axes; output size is ceil(in * scale), as in MATLAB. */
  scale?: number;
  /** Output height; with `outWidth`, replaces `scale` (each axis then uses out/in as its scale). */
  outHeight?: number;
  outWidth?: number;
  /** Antialiasing when shrinking (MATLAB's default: true). */
  antialias?: boolean;
  /**
   * "uint8": round and clamp to multiples of 1/255 after each pass, as MATLAB does for uint8 input (imresizemex
   * returns the input's class after each dimension). "none" (default): keep floats.
   */
  round?: "none" | "uint8";
}

const contributionCache = new Map<string, Contributions>();

function cached(key: string, make: () => Contributions): Contributions {
  let c = contributionCache.get(key);
  if (!c) {
    if (contributionCache.size > 256) contributionCache.clear();
    c = make();
    contributionCache.set(key, c);
  }
  return c;
}

/**
 * MATLAB `imresize(img, scale, 'bicubic')` (or `imresize(img, [outHeight outWidth], 'bicubic')`) on an HWC
 * float image. Dimensions are processed in MATLAB's order (the axis with the smaller scale first).
 */
export function imresize(img: ImageF32, opts: ImresizeOptions): ImageF32 {
  checkImage(img, "imresize");
  const antialias = opts.antialias ?? true;
  let outH: number, outW: number, scaleH: number, scaleW: number;
  if (opts.outHeight !== undefined || opts.outWidth !== undefined) {
    if (opts.outHeight === undefined || opts.outWidth === undefined)
      throw new Error("imresize: give both outHeight and outWidth");
    checkLength(opts.outHeight, "imresize", "outHeight");
    checkLength(opts.outWidth, "imresize", "outWidth");
    outH = opts.outHeight;
    outW = opts.outWidth;
    scaleH = outH / img.height;
    scaleW = outW / img.width;
  } else {
    const s = opts.scale;
    if (s === undefined || !Number.isFinite(s) || s <= 0) throw new Error(`imresize: scale must be a positive number, got ${s}`);
    scaleH = scaleW = s;
    outH = Math.ceil(img.height * s);
    outW = Math.ceil(img.width * s);
  }
  const ch = cached(`m|${img.height}|${outH}|${scaleH}|${antialias}`, () =>
    matlabContributions(img.height, outH, scaleH, antialias),
  );
  const cw = cached(`m|${img.width}|${outW}|${scaleW}|${antialias}`, () =>
    matlabContributions(img.width, outW, scaleW, antialias),
  );
  const round8 = opts.round === "uint8";
  // MATLAB sorts the scales ascending and resizes along that order; equal scales keep rows first.
  if (scaleW < scaleH) {
    const t = resampleWidth(img, cw, round8);
    return resampleHeight(t, ch, round8);
  }
  const t = resampleHeight(img, ch, round8);
  return resampleWidth(t, cw, round8);
}

function roundTo8(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 1 : Math.round(v * 255) / 255;
}

function resampleHeight(img: ImageF32, c: Contributions, round8: boolean): ImageF32 {
  const {width, channels, data} = img;
  const rowLen = width * channels;
  const out = new Float32Array(c.outLength * rowLen);
  const acc = new Float64Array(rowLen);
  for (let i = 0; i < c.outLength; i++) {
    acc.fill(0);
    for (let j = 0; j < c.taps; j++) {
      const w = c.weight[i * c.taps + j];
      if (w === 0) continue;
      const base = c.index[i * c.taps + j] * rowLen;
      for (let k = 0; k < rowLen; k++) acc[k] += w * data[base + k];
    }
    const o = i * rowLen;
    if (round8) for (let k = 0; k < rowLen; k++) out[o + k] = roundTo8(acc[k]);
    else for (let k = 0; k < rowLen; k++) out[o + k] = acc[k];
  }
  return {width, height: c.outLength, channels, data: out};
}

function resampleWidth(img: ImageF32, c: Contributions, round8: boolean): ImageF32 {
  const {height, width, channels, data} = img;
  const outW = c.outLength;
  const out = new Float32Array(height * outW * channels);
  const taps = c.taps;
  const {index, weight} = c;
  if (channels === 3) {
    // The common case, unrolled: three accumulators in registers.
    for (let y = 0; y < height; y++) {
      const rowIn = y * width * 3;
      const rowOut = y * outW * 3;
      for (let x = 0; x < outW; x++) {
        let a0 = 0, a1 = 0, a2 = 0;
        for (let j = 0; j < taps; j++) {
          const w = weight[x * taps + j];
          const p = rowIn + index[x * taps + j] * 3;
          a0 += w * data[p];
          a1 += w * data[p + 1];
          a2 += w * data[p + 2];
        }
        const o = rowOut + x * 3;
        if (round8) {
          out[o] = roundTo8(a0);
          out[o + 1] = roundTo8(a1);
          out[o + 2] = roundTo8(a2);
        } else {
          out[o] = a0;
          out[o + 1] = a1;
          out[o + 2] = a2;
        }
      }
    }
  } else {
    for (let y = 0; y < height; y++) {
      const rowIn = y * width * channels;
      const rowOut = y * outW * channels;
      for (let x = 0; x < outW; x++) {
        for (let ch = 0; ch < channels; ch++) {
          let a = 0;
          for (let j = 0; j < taps; j++) a += weight[x * taps + j] * data[rowIn + index[x * taps + j] * channels + ch];
          out[rowOut + x * channels + ch] = round8 ? roundTo8(a) : a;
        }
      }
    }
  }
  return {width: outW, height, channels, data: out};
}

// ---------------------------------------------------------------------------------------------------------
// PyTorch F.interpolate

/** The resize modes Real-ESRGAN draws from. */
export type InterpolateMode = "area" | "bilinear" | "bicubic";
export const INTERPOLATE_MODES: readonly InterpolateMode[] = ["area", "bilinear", "bicubic"];

/** PyTorch's area_pixel_compute_scale: 1/scale_factor when one was given, else in/out. */
function torchRatio(inLength: number, outLength: number, scaleFactor: number | undefined): number {
  return scaleFactor !== undefined && scaleFactor > 0 ? 1 / scaleFactor : inLength / outLength;
}

function torchBilinear(inLength: number, outLength: number, scaleFactor?: number): Contributions {
  const ratio = torchRatio(inLength, outLength, scaleFactor);
  const index = new Int32Array(outLength * 2);
  const weight = new Float64Array(outLength * 2);
  for (let i = 0; i < outLength; i++) {
    if (outLength === inLength) {
      // PyTorch copies when the sizes agree, whatever the scale factor says.
      index[2 * i] = index[2 * i + 1] = i;
      weight[2 * i] = 1;
      weight[2 * i + 1] = 0;
      continue;
    }
    const src = Math.max(ratio * (i + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inLength - 1);
    const i1 = i0 < inLength - 1 ? i0 + 1 : i0;
    const l1 = Math.min(src - i0, 1);
    index[2 * i] = i0;
    index[2 * i + 1] = i1;
    weight[2 * i] = 1 - l1;
    weight[2 * i + 1] = l1;
  }
  return {outLength, taps: 2, index, weight};
}

function torchCubic1(x: number, a: number): number {
  return ((a + 2) * x - (a + 3)) * x * x + 1;
}
function torchCubic2(x: number, a: number): number {
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

function torchBicubic(inLength: number, outLength: number, scaleFactor?: number): Contributions {
  const a = -0.75;
  const ratio = torchRatio(inLength, outLength, scaleFactor);
  const index = new Int32Array(outLength * 4);
  const weight = new Float64Array(outLength * 4);
  for (let i = 0; i < outLength; i++) {
    const src = ratio * (i + 0.5) - 0.5;
    const f = Math.floor(src);
    const t = src - f;
    const w = [torchCubic2(t + 1, a), torchCubic1(t, a), torchCubic1(1 - t, a), torchCubic2(2 - t, a)];
    for (let k = 0; k < 4; k++) {
      index[4 * i + k] = Math.min(Math.max(f - 1 + k, 0), inLength - 1);
      weight[4 * i + k] = w[k];
    }
  }
  return {outLength, taps: 4, index, weight};
}

/** adaptive_avg_pool: output i averages input [floor(i*in/out), ceil((i+1)*in/out)). */
function torchArea(inLength: number, outLength: number): Contributions {
  const starts: number[] = [];
  const ends: number[] = [];
  let taps = 1;
  for (let i = 0; i < outLength; i++) {
    const s = Math.floor((i * inLength) / outLength);
    const e = Math.ceil(((i + 1) * inLength) / outLength);
    starts.push(s);
    ends.push(e);
    taps = Math.max(taps, e - s);
  }
  const index = new Int32Array(outLength * taps);
  const weight = new Float64Array(outLength * taps);
  for (let i = 0; i < outLength; i++) {
    const n = ends[i] - starts[i];
    for (let k = 0; k < taps; k++) {
      index[i * taps + k] = k < n ? starts[i] + k : starts[i];
      weight[i * taps + k] = k < n ? 1 / n : 0;
    }
  }
  return {outLength, taps, index, weight};
}

/** Options of `interpolate` (PyTorch F.interpolate, align_corners = False). */
export interface InterpolateOptions {
  mode: InterpolateMode;
  outHeight: number;
  outWidth: number;
  /**
   * The scale_factor PyTorch was called with, if any. PyTorch then maps coordinates with 1/scaleFactor rather
   * than in/out (the two differ when in * scale is not an integer). Ignored by "area".
   */
  scaleFactor?: number;
}

/** PyTorch `F.interpolate(x, size=(outHeight, outWidth) | scale_factor, mode)` on an HWC float image. */
export function interpolate(img: ImageF32, opts: InterpolateOptions): ImageF32 {
  checkImage(img, "interpolate");
  const {mode, outHeight, outWidth, scaleFactor} = opts;
  checkLength(outHeight, "interpolate", "outHeight");
  checkLength(outWidth, "interpolate", "outWidth");
  const make = (inLen: number, outLen: number): Contributions => {
    if (mode === "area") return cached(`a|${inLen}|${outLen}`, () => torchArea(inLen, outLen));
    if (mode === "bilinear") return cached(`l|${inLen}|${outLen}|${scaleFactor}`, () => torchBilinear(inLen, outLen, scaleFactor));
    if (mode === "bicubic") return cached(`c|${inLen}|${outLen}|${scaleFactor}`, () => torchBicubic(inLen, outLen, scaleFactor));
    throw new Error(`interpolate: unknown mode "${mode as string}" (use area, bilinear or bicubic)`);
  };
  const ch = make(img.height, outHeight);
  const cw = make(img.width, outWidth);
  return resampleWidth(resampleHeight(img, ch, false), cw, false);
}

/** PyTorch's output size for a scale_factor call: floor(in * scale), at least 1 here (PyTorch would fail at 0). */
export function scaledLength(inLength: number, scale: number): number {
  return Math.max(1, Math.floor(inLength * scale));
}
