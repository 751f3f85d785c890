// Image decoding and encoding for the lab: PNG via fast-png, JPEG via jpeg-js. Pure JavaScript, no DOM and
// no file system, so the same code runs in Node, in a web worker and on a page. File helpers for Node live in
// image-files.ts.
import * as tf from "@tensorflow/tfjs";
import {decode as pngDecode, encode as pngEncode, convertIndexedToRgb} from "fast-png";
import type {DecodedPng, IndexedColors} from "fast-png";
import jpeg from "jpeg-js";

/** A decoded image: HWC interleaved samples scaled to [0,1], channels as stored in the file. */
export interface RasterImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. Palette PNGs are expanded to 3 or 4. */
  channels: 1 | 2 | 3 | 4;
  /** 16 only for 16-bit PNGs; sub-byte PNGs (1, 2, 4 bit) report 8. */
  bitDepth: 8 | 16;
  data: Float32Array;
  /** The file name or path the bytes came from; used in error messages. */
  name: string;
  format: "png" | "jpeg";
}

/** Any failure to read an image. The message always names the file and the cause. */
export class ImageDecodeError extends Error {
  readonly file: string;
  constructor(file: string, cause: string, options?: {cause?: unknown}) {
    super(`Cannot read image "${file}": ${cause}`, options);
    this.name = "ImageDecodeError";
    this.file = file;
  }
}

/**
 * Largest image decodeImage accepts (40 megapixels). At 4 bytes per float sample a 40 MP RGBA image already
 * needs 640 MB, which is as far as a browser tab can be trusted to go; larger files get a clear error before
 * any pixel buffer is allocated.
 */
export const MAX_PIXELS = 40_000_000;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function asBytes(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** Identifies PNG and JPEG by their magic bytes; anything else is null. */
export function sniffFormat(bytes: Uint8Array): "png" | "jpeg" | null {
  if (startsWith(bytes, PNG_SIGNATURE)) return "png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  return null;
}

/** Names common formats the lab does not read, so the error can say what the file is rather than "unknown". */
function describeUnsupported(bytes: Uint8Array): string {
  const head = ascii(bytes, 0, Math.min(bytes.length, 12));
  if (head.startsWith("GIF87a") || head.startsWith("GIF89a")) return "GIF is not supported (use PNG or JPEG)";
  if (head.startsWith("BM")) return "BMP is not supported (use PNG or JPEG)";
  if (head.startsWith("RIFF") && head.slice(8, 12) === "WEBP") return "WebP is not supported (use PNG or JPEG)";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return "TIFF is not supported (use PNG or JPEG)";
  if (head.slice(4, 8) === "ftyp") return "HEIF/AVIF is not supported (use PNG or JPEG)";
  if (startsWith(bytes, [0x3c]) || head.trimStart().startsWith("<")) return "the file is text/markup, not an image";
  if (startsWith(bytes, PNG_SIGNATURE.slice(0, 4))) return "PNG signature is damaged";
  return "not a PNG or JPEG file (unrecognised header)";
}

function checkSize(name: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new ImageDecodeError(name, `invalid dimensions ${width}x${height}`);
  if (width * height > MAX_PIXELS)
    throw new ImageDecodeError(
      name,
      `image is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} MP), above the limit of ${MAX_PIXELS / 1e6} MP`,
    );
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const inner = e.cause instanceof Error ? ` (${e.cause.message})` : "";
    return `${e.message}${inner}`;
  }
  return String(e);
}

/**
 * Decodes PNG or JPEG bytes. `name` is only used for the result and for error messages.
 * Throws ImageDecodeError for empty, truncated, corrupt, oversized or unsupported input.
 */
export function decodeImage(bytes: Uint8Array | ArrayBuffer, name: string): RasterImage {
  const b = asBytes(bytes);
  if (b.length === 0) throw new ImageDecodeError(name, "the file is empty");
  const format = sniffFormat(b);
  if (format === null) throw new ImageDecodeError(name, describeUnsupported(b));
  try {
    return format === "png" ? decodePngBytes(b, name) : decodeJpegBytes(b, name);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    const kind = format === "png" ? "PNG" : "JPEG";
    // fast-png reads through a DataView, so running off the end of a cut-off file surfaces as a RangeError.
    if (e instanceof RangeError && /outside the bounds/i.test(e.message))
      throw new ImageDecodeError(name, `the file ends before the ${kind} data is complete (truncated)`, {cause: e});
    throw new ImageDecodeError(name, `corrupt or truncated ${kind} data: ${errorText(e)}`, {cause: e});
  }
}

function decodePngBytes(b: Uint8Array, name: string): RasterImage {
  // IHDR sits at a fixed offset; reading the size here refuses huge images before fast-png allocates them.
  if (b.length < 33 || ascii(b, 12, 16) !== "IHDR") throw new ImageDecodeError(name, "PNG header (IHDR) is missing or truncated");
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  checkSize(name, view.getUint32(16), view.getUint32(20));

  const png: DecodedPng = pngDecode(b, {checkCrc: true});
  const {width, height} = png;
  const n = width * height;

  let raw: ArrayLike<number>;
  let channels: number;
  let maxValue: number;
  if (png.palette) {
    // Indexed colour: the library expands indices (any bit depth) to RGB or RGBA (when tRNS is present).
    const rgb = convertIndexedToRgb(png);
    channels = rgb.length / n;
    raw = rgb;
    maxValue = 255;
  } else if (png.depth < 8) {
    // Sub-byte greyscale arrives packed; a synthetic one-entry-per-level palette lets the same library routine
    // unpack it, already scaled to 0..255.
    const levels = 1 << png.depth;
    const ramp: IndexedColors = Array.from({length: levels}, (_, i) => [Math.round((i * 255) / (levels - 1))]);
    raw = convertIndexedToRgb({...png, palette: ramp});
    channels = 1;
    maxValue = 255;
  } else {
    raw = png.data;
    channels = png.channels;
    maxValue = png.depth === 16 ? 65535 : 255;
  }
  if (![1, 2, 3, 4].includes(channels) || raw.length !== n * channels)
    throw new ImageDecodeError(name, `unexpected PNG sample layout (${raw.length} samples for ${width}x${height})`);

  // tRNS on grey or RGB images marks one colour as fully transparent: turn it into a real alpha channel.
  const key = !png.palette && png.transparency && (channels === 1 || channels === 3) ? png.transparency : null;
  const outChannels = key ? channels + 1 : channels;
  const data = new Float32Array(n * outChannels);
  const scale = 1 / maxValue;
  if (!key) {
    for (let i = 0; i < raw.length; i++) data[i] = raw[i] * scale;
  } else {
    const keyScaled = png.depth < 8 ? Array.from(key, (v) => Math.round((v * 255) / ((1 << png.depth) - 1))) : Array.from(key);
    for (let p = 0; p < n; p++) {
      let match = true;
      for (let c = 0; c < channels; c++) {
        const v = raw[p * channels + c];
        data[p * outChannels + c] = v * scale;
        if (v !== keyScaled[c]) match = false;
      }
      data[p * outChannels + channels] = match ? 0 : 1;
    }
  }
  return {
    width,
    height,
    channels: outChannels as RasterImage["channels"],
    bitDepth: png.depth === 16 ? 16 : 8,
    data,
    name,
    format: "png",
  };
}

/** Reads the frame size from the first SOFn marker so huge JPEGs are refused before decoding. */
function jpegSize(b: Uint8Array): {width: number; height: number} | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = (b[i + 2] << 8) | b[i + 3];
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return {height: (b[i + 5] << 8) | b[i + 6], width: (b[i + 7] << 8) | b[i + 8]};
    if (marker === 0xda) return null;
    i += 2 + len;
  }
  return null;
}

function decodeJpegBytes(b: Uint8Array, name: string): RasterImage {
  const size = jpegSize(b);
  if (size) checkSize(name, size.width, size.height);
  // tolerantDecoding false: a truncated scan then throws instead of leaving grey blocks in the picture.
  const out = jpeg.decode(b, {
    useTArray: true,
    formatAsRGBA: false,
    tolerantDecoding: false,
    maxResolutionInMP: MAX_PIXELS / 1e6,
    maxMemoryUsageInMB: 2048,
  });
  checkSize(name, out.width, out.height);
  const src = out.data;
  if (src.length !== out.width * out.height * 3)
    throw new ImageDecodeError(name, `unexpected JPEG sample count ${src.length} for ${out.width}x${out.height}`);
  const data = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) data[i] = src[i] / 255;
  // jpeg-js always delivers RGB, greyscale JPEGs included.
  return {width: out.width, height: out.height, channels: 3, bitDepth: 8, data, name, format: "jpeg"};
}

/**
 * How transparency becomes RGB: composite over white (the default: what a browser shows on a page), over
 * black, or drop the alpha channel and keep the stored colour.
 */
export type AlphaMode = "white" | "black" | "drop";

/** HWC RGB samples in [0,1]: grey is replicated to three channels, alpha handled per `alpha`. Always a new array. */
export function toRgb(img: RasterImage, alpha: AlphaMode = "white"): Float32Array {
  const n = img.width * img.height;
  const c = img.channels;
  const src = img.data;
  if (src.length !== n * c) throw new Error(`toRgb: "${img.name}" has ${src.length} samples, expected ${n * c}`);
  const out = new Float32Array(n * 3);
  const bg = alpha === "white" ? 1 : 0;
  for (let p = 0; p < n; p++) {
    let r: number, g: number, b: number, a = 1;
    if (c === 1 || c === 2) {
      r = g = b = src[p * c];
      if (c === 2) a = src[p * c + 1];
    } else {
      r = src[p * c];
      g = src[p * c + 1];
      b = src[p * c + 2];
      if (c === 4) a = src[p * c + 3];
    }
    if (alpha !== "drop" && a < 1) {
      r = r * a + bg * (1 - a);
      g = g * a + bg * (1 - a);
      b = b * a + bg * (1 - a);
    }
    out[p * 3] = r;
    out[p * 3 + 1] = g;
    out[p * 3 + 2] = b;
  }
  return out;
}

/** The image as a [1,H,W,3] float32 tensor in [0,1] (the lab's image convention). */
export function toTensor(img: RasterImage, alpha: AlphaMode = "white"): tf.Tensor4D {
  return tf.tensor4d(toRgb(img, alpha), [1, img.height, img.width, 3], "float32");
}

function shapeHWC(t: tf.Tensor4D | tf.Tensor3D, who: string): [number, number, number] {
  if (t.rank === 4) {
    const [b, h, w, c] = t.shape as [number, number, number, number];
    if (b !== 1) throw new Error(`${who}: expected a batch of one image, got batch size ${b}`);
    return [h, w, c];
  }
  if (t.rank === 3) return t.shape as [number, number, number];
  throw new Error(`${who}: expected a [1,H,W,C] or [H,W,C] tensor, got shape [${t.shape.join(",")}]`);
}

function to8(v: number): number {
  // NaN maps to 0 explicitly rather than relying on typed-array coercion.
  return v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
}

/**
 * Pixels of an image tensor for drawing (ImageData layout): RGBA bytes, values clamped to [0,1] and rounded.
 * Grey ([.,.,1]) is replicated; alpha is 255 unless the tensor has a fourth channel. Reads with the async
 * data() so it never blocks the WebGPU/WebGL pipeline.
 */
export async function tensorToRgba8(
  t: tf.Tensor4D | tf.Tensor3D,
): Promise<{width: number; height: number; data: Uint8ClampedArray}> {
  const [height, width, c] = shapeHWC(t, "tensorToRgba8");
  if (c !== 1 && c !== 3 && c !== 4) throw new Error(`tensorToRgba8: expected 1, 3 or 4 channels, got ${c}`);
  const src = (await t.data()) as Float32Array;
  const n = width * height;
  const data = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    if (c === 1) {
      const v = to8(src[p]);
      data[p * 4] = data[p * 4 + 1] = data[p * 4 + 2] = v;
      data[p * 4 + 3] = 255;
    } else {
      data[p * 4] = to8(src[p * c]);
      data[p * 4 + 1] = to8(src[p * c + 1]);
      data[p * 4 + 2] = to8(src[p * c + 2]);
      data[p * 4 + 3] = c === 4 ? to8(src[p * c + 3]) : 255;
    }
  }
  return {width, height, data};
}

/** Encodes float samples in [0,1] (clamped, rounded) as an 8- or 16-bit PNG: grey, RGB or RGBA. */
export function encodePng(
  img: {width: number; height: number; channels: 1 | 3 | 4; data: Float32Array},
  bitDepth: 8 | 16 = 8,
): Uint8Array {
  const {width, height, channels, data} = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new Error(`encodePng: invalid size ${width}x${height}`);
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new Error(`encodePng: unsupported channel count ${channels}`);
  if (bitDepth !== 8 && bitDepth !== 16) throw new Error(`encodePng: bit depth must be 8 or 16, got ${bitDepth}`);
  const n = width * height * channels;
  if (data.length !== n) throw new Error(`encodePng: ${data.length} samples for ${width}x${height}x${channels}`);
  const max = bitDepth === 16 ? 65535 : 255;
  const samples = bitDepth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    samples[i] = v > 0 ? (v < 1 ? Math.round(v * max) : max) : 0;
  }
  return pngEncode({width, height, data: samples, depth: bitDepth, channels});
}

/**
 * Encodes RGBA bytes (ImageData layout; alpha ignored) as a baseline JPEG, quality 1-100.
 */
export function encodeJpeg(
  rgba8: {width: number; height: number; data: Uint8Array | Uint8ClampedArray},
  quality: number,
): Uint8Array {
  const {width, height, data} = rgba8;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || width > 65535 || height > 65535)
    throw new Error(`encodeJpeg: invalid size ${width}x${height}`);
  if (data.length !== width * height * 4) throw new Error(`encodeJpeg: expected ${width * height * 4} RGBA bytes, got ${data.length}`);
  if (!Number.isFinite(quality) || quality < 1 || quality > 100) throw new Error(`encodeJpeg: quality must be in 1-100, got ${quality}`);
  // jpeg-js ends with Buffer.from(bytes) when it believes it runs as CommonJS, which a bundler can make true in a
  // browser that has no Buffer. A minimal stand-in for that one synchronous call avoids the crash without
  // leaving a fake Buffer behind for other libraries.
  const g = globalThis as {Buffer?: unknown};
  const shim = typeof g.Buffer === "undefined";
  if (shim) g.Buffer = {from: (a: ArrayLike<number>) => Uint8Array.from(a)};
  try {
    const out = jpeg.encode({width, height, data: data as Uint8Array}, Math.round(quality)).data as Uint8Array;
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } finally {
    if (shim) delete g.Buffer;
  }
}
