/**
 * A visitor's own image as the models' LR input: any PNG or JPEG that image-io.ts decodes becomes RGB float in
 * [0,1] (the lab's image convention), with a plain sentence for every conversion made, or it is refused with
 * a message that says why and what would work. DOM-free.
 *
 * What image-io.ts already does (and this module relies on): PNG grey, grey+alpha, RGB, RGBA, palette (expanded),
 * tRNS colour keys (turned into alpha), 1-16 bit depths (16-bit scaled by 1/65535 into float32, never through 8
 * bits); JPEG always as RGB; anything over its MAX_PIXELS (40 MP) refused from the header before decoding.
 * What it does not do, and this module adds: one RGB layout, a stated alpha rule, and size limits that fit
 * super-resolution in a browser tab (the output has 16 times the input's pixels).
 */
import {decodeImage, ImageDecodeError, sniffFormat, toRgb, type RasterImage} from "./image-io.js";
import type {ImageF32} from "./resize.js";

/**
 * Lab default: the smallest LR side accepted. The student's attention window is 8 LR pixels and the teacher's
 * bicubic base needs a few pixels of context; below this a x4 result says nothing.
 */
export const MIN_INPUT_SIDE = 8;
/**
 * Lab default: the largest LR image accepted, in pixels (1 megapixel). Its x4 output has 16 MP; with the tiled
 * blend's float32 accumulators that is about 270 MB, as much as a browser tab can be trusted with.
 */
export const MAX_INPUT_PIXELS = 1_000_000;

export interface InputLimits {
  minSide?: number;
  maxPixels?: number;
}

/** How a file was read: the image as RGB float plus a sentence per conversion. */
export interface InputImage {
  image: ImageF32;
  /** e.g. "greyscale replicated to R, G and B". Empty when the file was 8-bit RGB already. */
  notes: string[];
  source: {name: string; format: "png" | "jpeg"; width: number; height: number; channels: number; bitDepth: number};
}

/** A file that cannot be an LR input; the message names the file and says what would work. */
export class InputImageError extends Error {
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = "InputImageError";
  }
}

function limitsOf(l: InputLimits): Required<InputLimits> {
  return {minSide: l.minSide ?? MIN_INPUT_SIDE, maxPixels: l.maxPixels ?? MAX_INPUT_PIXELS};
}

/** Refuses sizes outside the limits, before any pixel buffer exists when called on header dimensions. */
export function checkInputSize(name: string, width: number, height: number, limits: InputLimits = {}): void {
  const {minSide, maxPixels} = limitsOf(limits);
  if (width < minSide || height < minSide)
    throw new InputImageError(
      `"${name}" is ${width} × ${height} pixels; the smallest input is ${minSide} × ${minSide} (the models upscale ×4 and need that much context).`
    );
  if (width * height > maxPixels)
    throw new InputImageError(
      `"${name}" is ${width} × ${height} = ${(width * height).toLocaleString("en-US")} pixels; the largest input is ` +
        `${maxPixels.toLocaleString("en-US")} pixels (its ×4 output would have ${((16 * width * height) / 1e6).toFixed(0)} megapixels). ` +
        `Crop or downscale it first.`
    );
}

/**
 * Width and height from a PNG's IHDR or a JPEG's SOF marker without decoding, or null when the header cannot be
 * found (the decoder then gives the precise error).
 */
export function headerSize(bytes: Uint8Array): {width: number; height: number} | null {
  const format = sniffFormat(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === "png") return bytes.length >= 24 ? {width: view.getUint32(16), height: view.getUint32(20)} : null;
  if (format !== "jpeg") return null;
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const len = view.getUint16(i + 2);
    // SOF0-SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return {height: view.getUint16(i + 5), width: view.getUint16(i + 7)};
    i += 2 + len;
  }
  return null;
}

/** The decoded image as RGB float, with notes; alpha is composited over white (what a browser shows on a page). */
export function normaliseInput(raster: RasterImage, limits: InputLimits = {}): InputImage {
  const {width, height, channels, bitDepth, name, format} = raster;
  checkInputSize(name, width, height, limits);
  const notes: string[] = [];
  if (channels === 1 || channels === 2) notes.push("greyscale: the grey value is copied to R, G and B");
  if (channels === 2 || channels === 4) {
    let partly = 0;
    for (let p = 0; p < width * height; p++) if (raster.data[p * channels + channels - 1] < 1) partly++;
    notes.push(
      partly === 0
        ? "alpha channel: every pixel is opaque, so it was dropped"
        : `alpha channel: composited over white (${partly.toLocaleString("en-US")} of ${(width * height).toLocaleString("en-US")} pixels are partly or fully transparent)`
    );
  }
  if (bitDepth === 16) notes.push("16-bit samples: kept as 32-bit floats (value / 65535), not rounded to 8 bits");
  return {
    image: {width, height, channels: 3, data: toRgb(raster, "white")},
    notes,
    source: {name, format, width, height, channels, bitDepth}
  };
}

/**
 * Decodes a PNG or JPEG file into an LR input. Sizes are checked from the header first, so a huge file is
 * refused before it is decoded. Every failure is an InputImageError with a message for the visitor.
 */
export function readInputImage(bytes: Uint8Array | ArrayBuffer, name: string, limits: InputLimits = {}): InputImage {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const size = headerSize(b);
  if (size) checkInputSize(name, size.width, size.height, limits);
  let raster: RasterImage;
  try {
    raster = decodeImage(b, name);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw new InputImageError(`${e.message}. Use a PNG or JPEG file.`, {cause: e});
    throw e;
  }
  return normaliseInput(raster, limits);
}
