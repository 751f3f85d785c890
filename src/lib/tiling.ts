/**
 * Tiled super-resolution for LR images of any size, DOM-free (Node, worker or page).
 *
 * A model sees one tile at a time, so memory stays bounded and progress can be reported and cancelled between
 * tiles. Neighbouring tiles overlap; in the overlap their x`scale` outputs are blended with raised-cosine
 * weights that fall to (almost) zero at each tile's inner edge, where the model's padding makes its output
 * least like the untiled one. Along one axis, the falling ramp of a tile and the rising ramp of the next are
 * w(k) and 1 - w(k) over the same pixels, so the weights of all tiles sum to exactly 1 everywhere (a partition
 * of unity: no seams, no brightness change); the blend still divides by the accumulated sum to absorb rounding.
 *
 * Lab defaults (not the paper's; the paper does not tile): DEFAULT_TILE and DEFAULT_OVERLAP below. Tile starts
 * are multiples of `align` (DEFAULT_ALIGN, the shipped student's attention window of 8 LR pixels), so every
 * tile's windows fall on the same grid as the untiled image's; the last tile along an axis is narrower rather
 * than shifted off that grid.
 */
import type {ImageF32} from "./resize.js";

/** Lab default: tile side in LR pixels (256 output pixels at x4: small enough for a browser tab on any backend). */
export const DEFAULT_TILE = 64;
/**
 * Lab default: overlap of neighbouring tiles in LR pixels (64 output pixels at x4). The blend ramp spans the
 * whole overlap. With these defaults the shipped student's tiled output differs from its untiled output by at
 * most 6.6e-3 (mean 8.8e-5; RGB in [0,1], away from the image border), measured by test/tiling.test.ts; with an
 * 8 px overlap the maximum grows to 1.8e-2, because the student's shifted-window attention sees far.
 */
export const DEFAULT_OVERLAP = 16;
/** Lab default: tile starts are multiples of this many LR pixels (the student's attention window). */
export const DEFAULT_ALIGN = 8;

export interface TileOptions {
  tile?: number;
  overlap?: number;
  align?: number;
}

/** One interval along an axis, in LR pixels. */
export interface Span {
  start: number;
  size: number;
}

/** One tile, in LR pixels. */
export interface Tile {
  index: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TilePlan {
  width: number;
  height: number;
  tile: number;
  overlap: number;
  align: number;
  xs: Span[];
  ys: Span[];
  /** Row-major: y outer, x inner. */
  tiles: Tile[];
}

/** A tiled run that its AbortSignal stopped. */
export class TilingAbortedError extends Error {
  constructor() {
    super("tiling cancelled");
    this.name = "TilingAbortedError";
  }
}

function checkOptions(tile: number, overlap: number, align: number): void {
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`tiling: tile must be a positive integer, got ${tile}`);
  if (!Number.isInteger(align) || align < 1) throw new Error(`tiling: align must be a positive integer, got ${align}`);
  if (!Number.isInteger(overlap) || overlap < 0) throw new Error(`tiling: overlap must be a non-negative integer, got ${overlap}`);
  // Each tile's two ramps must not overlap each other, or the weights would no longer sum to 1.
  if (2 * overlap > tile) throw new Error(`tiling: overlap ${overlap} is more than half the tile ${tile}`);
  if ((tile - overlap) % align !== 0)
    throw new Error(`tiling: the tile step ${tile} - ${overlap} = ${tile - overlap} is not a multiple of align ${align}`);
}

/**
 * Spans along one axis of `size` LR pixels: starts 0, step, 2 step, ... (step = tile - overlap); the last span
 * reaches the end and may be narrower than `tile`, but always wider than `overlap`. One span when it fits.
 */
export function planAxis(size: number, tile: number, overlap: number, align = DEFAULT_ALIGN): Span[] {
  checkOptions(tile, overlap, align);
  if (!Number.isInteger(size) || size < 1) throw new Error(`tiling: size must be a positive integer, got ${size}`);
  if (size <= tile) return [{start: 0, size}];
  const step = tile - overlap;
  const spans: Span[] = [];
  let start = 0;
  for (;;) {
    if (start + tile >= size) {
      spans.push({start, size: size - start});
      return spans;
    }
    spans.push({start, size: tile});
    start += step;
  }
}

export function planTiles(width: number, height: number, opts: TileOptions = {}): TilePlan {
  const tile = opts.tile ?? DEFAULT_TILE;
  const overlap = opts.overlap ?? DEFAULT_OVERLAP;
  const align = opts.align ?? DEFAULT_ALIGN;
  const xs = planAxis(width, tile, overlap, align);
  const ys = planAxis(height, tile, overlap, align);
  const tiles: Tile[] = [];
  for (const y of ys) for (const x of xs) tiles.push({index: tiles.length, x: x.start, y: y.start, width: x.size, height: y.size});
  return {width, height, tile, overlap, align, xs, ys, tiles};
}

/** Raised-cosine rise over n samples: 0.5 - 0.5 cos(pi (k + 0.5) / n), so rise(k) + rise(n - 1 - k) = 1. */
function rise(k: number, n: number): number {
  return 0.5 - 0.5 * Math.cos((Math.PI * (k + 0.5)) / n);
}

/**
 * Blend weights of span `i` along an axis, one per output pixel (span size x scale): 1 inside, a raised-cosine
 * rise over the overlap with the previous span, a fall over the overlap with the next. Image borders get no ramp.
 */
export function axisWeights(spans: readonly Span[], i: number, scale: number): Float32Array {
  const s = spans[i];
  const w = new Float32Array(s.size * scale).fill(1);
  if (i > 0) {
    const prev = spans[i - 1];
    const n = (prev.start + prev.size - s.start) * scale;
    for (let k = 0; k < n; k++) w[k] *= rise(k, n);
  }
  if (i < spans.length - 1) {
    const next = spans[i + 1];
    const n = (s.start + s.size - next.start) * scale;
    const off = (next.start - s.start) * scale;
    for (let k = 0; k < n; k++) w[off + k] *= 1 - rise(k, n);
  }
  return w;
}

/** The sum over all tiles of their blend weights at each output pixel (row-major, H*scale x W*scale): all 1. */
export function weightSum(plan: TilePlan, scale: number): Float32Array {
  const W = plan.width * scale;
  const sum = new Float32Array(W * plan.height * scale);
  plan.ys.forEach((ys, iy) => {
    const wy = axisWeights(plan.ys, iy, scale);
    plan.xs.forEach((xs, ix) => {
      const wx = axisWeights(plan.xs, ix, scale);
      for (let r = 0; r < wy.length; r++) {
        const row = (ys.start * scale + r) * W + xs.start * scale;
        for (let c = 0; c < wx.length; c++) sum[row + c] += wy[r] * wx[c];
      }
    });
  });
  return sum;
}

/** A rectangle of an image (a copy). */
export function cropImage(img: ImageF32, x: number, y: number, width: number, height: number): ImageF32 {
  const c = img.channels;
  if (x < 0 || y < 0 || x + width > img.width || y + height > img.height)
    throw new Error(`cropImage: ${width}x${height} at (${x}, ${y}) is outside the ${img.width}x${img.height} image`);
  const data = new Float32Array(width * height * c);
  for (let r = 0; r < height; r++) {
    const from = ((y + r) * img.width + x) * c;
    data.set(img.data.subarray(from, from + width * c), r * width * c);
  }
  return {width, height, channels: c, data};
}

export interface TileProgress {
  /** Tiles finished so far. */
  done: number;
  of: number;
  /** The tile just finished (null before the first). */
  tile: Tile | null;
}

export interface TiledRunOptions extends TileOptions {
  /** Upscaling factor of the model (default 4). */
  scale?: number;
  signal?: AbortSignal;
  onProgress?: (p: TileProgress) => void;
}

/** The model on one LR tile: must return an image of exactly scale x the tile's size with the same channels. */
export type TileModel = (tile: ImageF32, info: {tile: Tile; of: number}) => Promise<ImageF32>;

export interface TiledResult {
  image: ImageF32;
  plan: TilePlan;
}

/**
 * Runs `model` tile by tile over `lr` and blends the outputs. Checks `signal` before each tile and after each
 * model call; an abort ends the run with TilingAbortedError (nothing partial is returned).
 */
export async function runTiled(lr: ImageF32, model: TileModel, opts: TiledRunOptions = {}): Promise<TiledResult> {
  const scale = opts.scale ?? 4;
  const plan = planTiles(lr.width, lr.height, opts);
  const c = lr.channels;
  const W = lr.width * scale;
  const H = lr.height * scale;
  const acc = new Float32Array(W * H * c);
  const wsum = new Float32Array(W * H);
  const stopIfAborted = () => {
    if (opts.signal?.aborted) throw new TilingAbortedError();
  };
  const of = plan.tiles.length;
  opts.onProgress?.({done: 0, of, tile: null});
  for (const t of plan.tiles) {
    stopIfAborted();
    const out = await model(cropImage(lr, t.x, t.y, t.width, t.height), {tile: t, of});
    stopIfAborted();
    const tw = t.width * scale;
    const th = t.height * scale;
    if (out.width !== tw || out.height !== th || out.channels !== c)
      throw new Error(`tiling: the model returned ${out.width}x${out.height}x${out.channels} for a ${t.width}x${t.height} tile; expected ${tw}x${th}x${c}`);
    const wx = axisWeights(plan.xs, plan.xs.findIndex((s) => s.start === t.x), scale);
    const wy = axisWeights(plan.ys, plan.ys.findIndex((s) => s.start === t.y), scale);
    for (let r = 0; r < th; r++) {
      const orow = (t.y * scale + r) * W + t.x * scale;
      for (let q = 0; q < tw; q++) {
        const w = wy[r] * wx[q];
        const o = orow + q;
        wsum[o] += w;
        const src = (r * tw + q) * c;
        for (let k = 0; k < c; k++) acc[o * c + k] += w * out.data[src + k];
      }
    }
    opts.onProgress?.({done: t.index + 1, of, tile: t});
  }
  for (let o = 0; o < W * H; o++) {
    const inv = 1 / wsum[o];
    for (let k = 0; k < c; k++) acc[o * c + k] *= inv;
  }
  return {image: {width: W, height: H, channels: c, data: acc}, plan};
}
