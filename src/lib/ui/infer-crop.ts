// Chooses the region of a photograph the models page super-resolves: the whole photograph as a thumbnail with a
// square marking the crop; a click centres the crop there (arrow keys move it), and a select sets its side.
// The models run on this crop only, so a run stays within seconds on a machine without a GPU (a 96 × 96 LR crop,
// 384 × 384 HR, at most). An Observable Framework view: `value` is the crop, one bubbling "input" per change.
import {toUint8, type ImageF32} from "../degrade.js";
import {decodeImage, toRgb, type RasterImage} from "../image-io.js";
import type {ValueElement} from "./controls.js";

/** Largest photograph of the visitor's own the page takes: the decoder needs about a second per megapixel. */
export const PHOTO_MAX_PIXELS = 16_000_000;

export interface PreparedPhoto {
  raster: RasterImage;
  /** RGB floats in [0,1] (grey made RGB, alpha composited over white): what crops are cut from. */
  rgb: ImageF32;
  /** The same as RGBA bytes for the thumbnail. */
  rgba: Uint8ClampedArray;
  decodeMs: number;
}

/** Decodes a PNG or JPEG for the page; throws a message that names the file when it cannot. */
export function preparePhoto(bytes: Uint8Array, name: string): PreparedPhoto {
  const t0 = performance.now();
  const raster = decodeImage(bytes, name);
  const n = raster.width * raster.height;
  if (n > PHOTO_MAX_PIXELS) {
    throw new Error(`Cannot use image "${name}": it is ${raster.width} × ${raster.height} (${(n / 1e6).toFixed(1)} MP); this page takes up to ${PHOTO_MAX_PIXELS / 1e6} MP.`);
  }
  const rgb: ImageF32 = {width: raster.width, height: raster.height, channels: 3, data: toRgb(raster)};
  const bytes8 = toUint8(rgb);
  const rgba = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    rgba[4 * p] = bytes8[3 * p];
    rgba[4 * p + 1] = bytes8[3 * p + 1];
    rgba[4 * p + 2] = bytes8[3 * p + 2];
    rgba[4 * p + 3] = 255;
  }
  return {raster, rgb, rgba, decodeMs: performance.now() - t0};
}

/** Crop sides offered, in HR (ground-truth) pixels; the LR side is a quarter. All multiples of the scale 4. */
export const CROP_SIDES = [96, 128, 192, 256, 384] as const;
export type CropSide = (typeof CROP_SIDES)[number];
/** The smallest side a crop may have on a small photograph of the visitor's own (two student windows of LR). */
export const CROP_MIN = 64;
const STEP = 4;

export interface CropRect {
  x: number;
  y: number;
  /** Side in HR pixels, a multiple of 4. */
  size: number;
}

/**
 * The crop moved inside a width x height photograph: its side is kept when it fits, otherwise the largest
 * multiple of 4 that does (at least CROP_MIN); the corner is clamped. Throws when the photograph is too small.
 */
export function fitCrop(c: CropRect, width: number, height: number): CropRect {
  const room = Math.floor(Math.min(width, height) / STEP) * STEP;
  if (room < CROP_MIN) throw new Error(`the photograph is ${width} × ${height} px; the models page needs at least ${CROP_MIN} × ${CROP_MIN}`);
  const wanted = Number.isFinite(c.size) ? Math.floor(c.size / STEP) * STEP : CROP_SIDES[0];
  const size = Math.max(CROP_MIN, Math.min(room, wanted, CROP_SIDES[CROP_SIDES.length - 1]));
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, Math.round(Number.isFinite(v) ? v : 0)));
  return {x: clamp(c.x, width - size), y: clamp(c.y, height - size), size};
}

/** The crop of `size` centred on (cx, cy), as far as the photograph allows. */
export function cropAround(cx: number, cy: number, size: number, width: number, height: number): CropRect {
  return fitCrop({x: Math.round(cx - size / 2), y: Math.round(cy - size / 2), size}, width, height);
}

export interface CropChooserOptions {
  photo: {width: number; height: number; rgba: Uint8ClampedArray};
  crop: CropRect;
  /** Largest size of the thumbnail on screen, in CSS pixels. */
  maxWidth: number;
  maxHeight: number;
}

export function cropChooser(opts: CropChooserOptions): ValueElement<CropRect> {
  const {width, height} = opts.photo;
  let crop = fitCrop(opts.crop, width, height);
  const root = document.createElement("div");
  root.className = "dtkd-crop-chooser";

  const scale = Math.min(opts.maxWidth / width, opts.maxHeight / height, 1);
  const frame = document.createElement("div");
  frame.className = "dtkd-photo";
  Object.assign(frame.style, {
    position: "relative",
    width: `${Math.round(width * scale)}px`,
    maxWidth: "100%",
    aspectRatio: `${width} / ${height}`,
    cursor: "crosshair"
  });
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.dataset.role = "crop-photo";
  canvas.tabIndex = 0;
  canvas.setAttribute("aria-label", `the photograph, ${width} × ${height} px: click or use the arrow keys to move the crop`);
  Object.assign(canvas.style, {width: "100%", height: "100%", display: "block"});
  canvas.getContext("2d")!.putImageData(new ImageData(opts.photo.rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
  const box = document.createElement("div");
  box.dataset.role = "crop-box";
  Object.assign(box.style, {
    position: "absolute",
    boxSizing: "border-box",
    border: "2px solid #ff3b30",
    outline: "1px solid rgba(255,255,255,0.8)",
    pointerEvents: "none",
    minWidth: "4px",
    minHeight: "4px"
  });
  frame.append(canvas, box);

  const sideLabel = document.createElement("label");
  sideLabel.append("Crop side");
  const side = document.createElement("select");
  side.name = "crop-size";
  const room = Math.floor(Math.min(width, height) / STEP) * STEP;
  const sides: number[] = CROP_SIDES.filter((s) => s <= room);
  if (!sides.includes(crop.size)) sides.push(crop.size);
  for (const s of sides.sort((a, b) => a - b)) {
    const o = document.createElement("option");
    o.value = String(s);
    o.textContent = `${s} × ${s} px (LR ${s / STEP} × ${s / STEP})`;
    side.append(o);
  }
  sideLabel.append(side);
  const where = document.createElement("span");
  where.className = "dtkd-facts";
  where.dataset.role = "crop-facts";
  const row = document.createElement("div");
  row.className = "dtkd-controls";
  row.append(sideLabel, where);
  root.append(frame, row);

  const show = () => {
    box.style.left = `${(100 * crop.x) / width}%`;
    box.style.top = `${(100 * crop.y) / height}%`;
    box.style.width = `${(100 * crop.size) / width}%`;
    box.style.height = `${(100 * crop.size) / height}%`;
    side.value = String(crop.size);
    where.textContent = `Crop ${crop.size} × ${crop.size} px at (${crop.x}, ${crop.y}) of the ${width} × ${height} photograph. Click the photograph to centre the crop there (arrow keys move it by a quarter side, with Shift by 4 px).`;
    root.dataset.crop = `${crop.x},${crop.y},${crop.size}`;
  };
  const set = (c: CropRect) => {
    const next = fitCrop(c, width, height);
    const changed = next.x !== crop.x || next.y !== crop.y || next.size !== crop.size;
    crop = next;
    show();
    if (changed) root.dispatchEvent(new Event("input", {bubbles: true}));
  };
  show();

  canvas.addEventListener("click", (event) => {
    const r = canvas.getBoundingClientRect();
    set(cropAround(((event.clientX - r.left) / r.width) * width, ((event.clientY - r.top) / r.height) * height, crop.size, width, height));
  });
  canvas.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? STEP : Math.max(STEP, crop.size / 4);
    const d: Record<string, [number, number]> = {ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step]};
    const move = d[event.key];
    if (!move) return;
    event.preventDefault();
    set({...crop, x: crop.x + move[0], y: crop.y + move[1]});
  });
  side.addEventListener("input", (event) => event.stopPropagation());
  side.addEventListener("change", (event) => {
    event.stopPropagation();
    // A new side keeps the crop centred where it was.
    set(cropAround(crop.x + crop.size / 2, crop.y + crop.size / 2, Number(side.value), width, height));
  });

  Object.defineProperty(root, "value", {
    get: () => crop,
    set: (c: CropRect) => {
      crop = fitCrop(c, width, height);
      show();
    }
  });
  return root as unknown as ValueElement<CropRect>;
}
