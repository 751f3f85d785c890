// Node-only file helpers around image-io.ts. Kept apart so the browser bundle never pulls in node:fs.
import * as tf from "@tensorflow/tfjs";
import {readFile, writeFile} from "node:fs/promises";
import {decodeImage, encodePng, ImageDecodeError, type RasterImage} from "./image-io.js";

/** Reads and decodes a PNG or JPEG file; every failure (missing file included) is an ImageDecodeError naming `path`. */
export async function readImageFile(path: string): Promise<RasterImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const cause =
      code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory, not a file" : (e as Error).message;
    throw new ImageDecodeError(path, cause, {cause: e});
  }
  return decodeImage(bytes, path);
}

/**
 * Writes an image tensor ([1,H,W,C] or [H,W,C], C = 1, 3 or 4, values in [0,1], clamped) as a PNG.
 * 16-bit keeps more than 8 bits of a float result, for outputs that are compared numerically later.
 */
export async function writePng(path: string, t: tf.Tensor4D | tf.Tensor3D, bitDepth: 8 | 16 = 8): Promise<void> {
  let h: number, w: number, c: number;
  if (t.rank === 4) {
    const [b, hh, ww, cc] = t.shape as [number, number, number, number];
    if (b !== 1) throw new Error(`writePng(${path}): expected a batch of one image, got batch size ${b}`);
    [h, w, c] = [hh, ww, cc];
  } else if (t.rank === 3) {
    [h, w, c] = t.shape as [number, number, number];
  } else {
    throw new Error(`writePng(${path}): expected a [1,H,W,C] or [H,W,C] tensor, got [${t.shape.join(",")}]`);
  }
  if (c !== 1 && c !== 3 && c !== 4) throw new Error(`writePng(${path}): expected 1, 3 or 4 channels, got ${c}`);
  const data = (await t.data()) as Float32Array;
  const png = encodePng({width: w, height: h, channels: c, data: Float32Array.from(data)}, bitDepth);
  await writeFile(path, png);
}
