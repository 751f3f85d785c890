/**
 * Where to look in a test image: the rules behind the report's side-by-side crops (scripts/report-crops.ts).
 * Both rules are computed from the ground truth, never hand-picked, so the same protocol always shows the
 * same regions:
 * - detail energy: the sum of squared level-1 Haar detail coefficients (LH1 + HL1 + HH1) of the luma
 *   (band-stats.ts lumaBands, orthonormal Haar, so it is the pixel-domain energy of the finest detail);
 * - region: the size x size window with the highest detail energy, its corner on a grid of `step` pixels
 *   (a multiple of the scale, so the window maps to whole LR pixels), at least `margin` pixels from every edge
 *   (the metrics' border crop); ties go to the first window in raster order (top, then left);
 * - images: ranked by detail energy per pixel of their evaluation crop, then `count` picked at evenly spaced
 *   ranks from the most to the least detailed, so the set spans textured and smooth content rather than
 *   collecting the four busiest textures.
 */
import type {ImageF32} from "../resize.js";
import {lumaBands} from "./band-stats.js";

export interface RegionRule {
  size: number;
  /** Grid of the window's corner, in pixels (a multiple of the SR scale). */
  step: number;
  /** Minimum distance from every edge, in pixels. */
  margin: number;
}

/** Lab defaults: 64 px windows (16 LR pixels), corners on a 4-px grid, clear of the 4-px border crop. */
export const REGION_DEFAULTS: Readonly<RegionRule> = Object.freeze({size: 64, step: 4, margin: 4});

/** Level-1 detail energy of the luma per 2x2 pixel block: a (height/2) x (width/2) map, row-major. */
export async function detailEnergyMap(img: ImageF32): Promise<{data: Float64Array; height: number; width: number}> {
  const bands = await lumaBands(img, {wavelet: "haar", levels: 1, crop: 0});
  const height = Math.floor(img.height / 2);
  const width = Math.floor(img.width / 2);
  const data = new Float64Array(height * width);
  for (const b of ["LH1", "HL1", "HH1"]) {
    const v = bands[b];
    if (v.length !== data.length) throw new Error(`detail energy: ${b} has ${v.length} coefficients, expected ${data.length}`);
    for (let i = 0; i < v.length; i++) data[i] += v[i] * v[i];
  }
  return {data, height, width};
}

/** The window of highest detail energy (x, y: its top-left corner in the image, pixels) and that energy. */
export async function bestDetailRegion(img: ImageF32, rule: RegionRule = REGION_DEFAULTS): Promise<{x: number; y: number; size: number; energy: number}> {
  const {size, step, margin} = rule;
  if (size % 2 || step % 2 || margin % 2) throw new Error("bestDetailRegion: size, step and margin must be even (2x2 Haar blocks)");
  if (img.width < size + 2 * margin || img.height < size + 2 * margin) throw new Error(`bestDetailRegion: ${img.width}x${img.height} is too small for ${size} px + ${margin} px margins`);
  const e = await detailEnergyMap(img);
  // Integral image over the coefficient map: window sums in O(1).
  const W = e.width + 1;
  const sat = new Float64Array((e.height + 1) * W);
  for (let r = 0; r < e.height; r++) {
    let row = 0;
    for (let c = 0; c < e.width; c++) {
      row += e.data[r * e.width + c];
      sat[(r + 1) * W + c + 1] = sat[r * W + c + 1] + row;
    }
  }
  const s = size / 2;
  let best = {x: margin, y: margin, size, energy: -Infinity};
  for (let y = margin; y + size + margin <= img.height; y += step) {
    for (let x = margin; x + size + margin <= img.width; x += step) {
      const r0 = y / 2;
      const c0 = x / 2;
      const sum = sat[(r0 + s) * W + c0 + s] - sat[r0 * W + c0 + s] - sat[(r0 + s) * W + c0] + sat[r0 * W + c0];
      if (sum > best.energy) best = {x, y, size, energy: sum};
    }
  }
  return best;
}

/**
 * `count` ids at evenly spaced ranks (round(i (n - 1) / (count - 1))) of the images sorted by detail energy per
 * pixel, highest first (ties by id).
 */
export async function spreadByDetail(images: readonly {id: string; gt: ImageF32}[], count: number): Promise<{id: string; energyPerPixel: number}[]> {
  if (count < 1 || count > images.length) throw new Error(`spreadByDetail: cannot pick ${count} of ${images.length} images`);
  const ranked: {id: string; energyPerPixel: number}[] = [];
  for (const im of images) {
    const e = await detailEnergyMap(im.gt);
    ranked.push({id: im.id, energyPerPixel: e.data.reduce((a, b) => a + b, 0) / (4 * e.data.length)});
  }
  ranked.sort((a, b) => b.energyPerPixel - a.energyPerPixel || (a.id < b.id ? -1 : 1));
  if (count === 1) return [ranked[0]];
  return Array.from({length: count}, (_, i) => ranked[Math.round((i * (ranked.length - 1)) / (count - 1))]);
}
