// Ground-truth preparation and seeded patch sampling.
//
// - downscaleForGroundTruth: strongly compressed wallpapers carry JPEG blocks and ringing at full size; shrinking
//   by 2 with MATLAB's antialiased bicubic averages most of it away before the image serves as HR truth.
// - samplePatches: square HR patches at seeded random positions, images drawn in proportion to how many patch
//   positions they offer (so a large photo contributes more patches than a small one), flat patches rejected.
//
// Flat-patch rejection (lab default): the gradient energy of a patch is the mean over its pixels of
// (dY/dx)^2 + (dY/dy)^2 with forward differences of the luma Y = 0.299 R + 0.587 G + 0.114 B in [0,1].
// Patches below `minGradientEnergy` are redrawn. Default 2e-4, an RMS step of 0.01 (2.6 levels of 255) per
// direction: about three times the floor that sensor and JPEG noise give a flat area (1-2 levels), so clear
// sky, out-of-focus backgrounds and black borders go, soft but structured patches stay. Measured on 64x64
// patches at random positions: it rejects about 55% of draws from the wallpapers (training set, mostly
// bokeh and sky) and about 20% from the committed test set.
import {imresize, type ImageF32} from "./resize.js";
import {createRng, type Rng} from "./rng.js";

/** Default gradient-energy threshold (mean squared forward difference of luma per pixel). */
export const DEFAULT_MIN_GRADIENT_ENERGY = 2e-4;

/** Shrinks an image by an integer factor with MATLAB's antialiased bicubic (output ceil(size / factor)). */
export function downscaleForGroundTruth(img: ImageF32, factor = 2): ImageF32 {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`downscaleForGroundTruth: factor must be a positive integer, got ${factor}`);
  if (factor === 1) return img;
  const out = imresize(img, {scale: 1 / factor});
  // Bicubic overshoots slightly at edges; ground truth stays inside [0,1].
  const d = out.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i] > 0 ? (d[i] < 1 ? d[i] : 1) : 0;
  return out;
}

/** Copies the size x size square at (x, y) (top-left corner). */
export function cropPatch(img: ImageF32, x: number, y: number, size: number, sizeY = size): ImageF32 {
  const {width, height, channels: c, data} = img;
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x + size > width || y + sizeY > height)
    throw new Error(`cropPatch: ${size}x${sizeY} at (${x}, ${y}) does not fit in ${width}x${height}`);
  const out = new Float32Array(size * sizeY * c);
  for (let r = 0; r < sizeY; r++) out.set(data.subarray(((y + r) * width + x) * c, ((y + r) * width + x + size) * c), r * size * c);
  return {width: size, height: sizeY, channels: c, data: out};
}

function luma(data: Float32Array, i: number, c: number): number {
  return c >= 3 ? 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2] : data[i];
}

/** Mean of (dY/dx)^2 + (dY/dy)^2 over a patch (forward differences inside the patch). */
export function gradientEnergy(img: ImageF32, x = 0, y = 0, size = Math.min(img.width, img.height), sizeY = size): number {
  const {width, channels: c, data} = img;
  let sum = 0;
  for (let r = 0; r < sizeY; r++) {
    for (let q = 0; q < size; q++) {
      const i = ((y + r) * width + x + q) * c;
      const v = luma(data, i, c);
      if (q + 1 < size) {
        const d = luma(data, i + c, c) - v;
        sum += d * d;
      }
      if (r + 1 < sizeY) {
        const d = luma(data, i + width * c, c) - v;
        sum += d * d;
      }
    }
  }
  return sum / (size * sizeY);
}

export interface PatchSamplerOptions {
  /** Patch side in pixels (HR). */
  size: number;
  seed: number;
  /** Reject patches whose gradient energy is below this (default DEFAULT_MIN_GRADIENT_ENERGY; 0 keeps all). */
  minGradientEnergy?: number;
  /** Draws per accepted patch before giving up with an error (default 50). */
  maxTries?: number;
  /** Random horizontal flips and 90-degree rotations (default false: patches as photographed). */
  augment?: boolean;
}

export interface Patch {
  image: ImageF32;
  /** Index into the images array, and the top-left corner in that image. */
  source: number;
  x: number;
  y: number;
  /** 0-7: bit 0 horizontal flip, bits 1-2 quarter turns (only with augment). */
  transform: number;
  gradientEnergy: number;
}

/** Applies flip (bit 0) then `transform >> 1` quarter turns counter-clockwise to a square patch. */
function transformSquare(img: ImageF32, transform: number): ImageF32 {
  if (transform === 0) return img;
  const n = img.width;
  const c = img.channels;
  let src = img.data;
  if (transform & 1) {
    const f = new Float32Array(src.length);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let k = 0; k < c; k++) f[(y * n + x) * c + k] = src[(y * n + (n - 1 - x)) * c + k];
    src = f;
  }
  for (let t = 0; t < transform >> 1; t++) {
    const r = new Float32Array(src.length);
    // (x, y) -> (y, n-1-x): counter-clockwise quarter turn
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let k = 0; k < c; k++) r[((n - 1 - x) * n + y) * c + k] = src[(y * n + x) * c + k];
    src = r;
  }
  return {width: n, height: n, channels: c, data: src};
}

/**
 * An endless seeded stream of patches from `images` (which must each be at least size x size). The k-th patch
 * depends only on the images, the options and k.
 */
export function* samplePatches(images: readonly ImageF32[], opts: PatchSamplerOptions): Generator<Patch, never, undefined> {
  const {size} = opts;
  if (!Number.isInteger(size) || size < 1) throw new Error(`samplePatches: size must be a positive integer, got ${size}`);
  const minE = opts.minGradientEnergy ?? DEFAULT_MIN_GRADIENT_ENERGY;
  const maxTries = opts.maxTries ?? 50;
  const usable = images.map((im, i) => ({im, i})).filter(({im}) => im.width >= size && im.height >= size);
  if (usable.length === 0) throw new Error(`samplePatches: no image is at least ${size}x${size}`);
  const weights = usable.map(({im}) => (im.width - size + 1) * (im.height - size + 1));
  const rng: Rng = createRng(opts.seed);
  for (let k = 0; ; k++) {
    let tries = 0;
    for (;;) {
      const {im, i} = rng.choice(usable, weights);
      const x = rng.int(0, im.width - size);
      const y = rng.int(0, im.height - size);
      const transform = opts.augment ? rng.int(0, 7) : 0;
      const e = gradientEnergy(im, x, y, size);
      if (e >= minE) {
        yield {image: transformSquare(cropPatch(im, x, y, size), transform), source: i, x, y, transform, gradientEnergy: e};
        break;
      }
      if (++tries >= maxTries)
        throw new Error(
          `samplePatches: ${maxTries} draws in a row were flatter than minGradientEnergy ${minE} (patch ${k}); lower the threshold or use more textured images`,
        );
    }
  }
}

/** Convenience: the first `count` patches of `samplePatches`. */
export function takePatches(images: readonly ImageF32[], count: number, opts: PatchSamplerOptions): Patch[] {
  const out: Patch[] = [];
  if (count <= 0) return out;
  for (const p of samplePatches(images, opts)) {
    out.push(p);
    if (out.length >= count) break;
  }
  return out;
}
