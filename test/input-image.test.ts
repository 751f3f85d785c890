// A visitor's own image as LR input (src/lib/input-image.ts): conversions with notes, refusals with messages.
import {describe, expect, it} from "vitest";
import {encodeJpeg, encodePng} from "../src/lib/image-io.js";
import {headerSize, InputImageError, MAX_INPUT_PIXELS, MIN_INPUT_SIDE, readInputImage} from "../src/lib/input-image.js";

function png(width: number, height: number, channels: 1 | 3 | 4, fill: (p: number, c: number) => number, bitDepth: 8 | 16 = 8): Uint8Array {
  const data = new Float32Array(width * height * channels);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < channels; c++) data[p * channels + c] = fill(p, c);
  return encodePng({width, height, channels, data}, bitDepth);
}

describe("readInputImage", () => {
  it("8-bit RGB passes unchanged with no notes", () => {
    const r = readInputImage(png(9, 8, 3, (p, c) => ((p * 3 + c) % 256) / 255), "rgb.png");
    expect(r.notes).toEqual([]);
    expect([r.image.width, r.image.height, r.image.channels]).toEqual([9, 8, 3]);
    expect(r.image.data[5]).toBe(Math.fround(5 / 255));
  });

  it("grey becomes RGB with the value in all three channels, and says so", () => {
    const r = readInputImage(png(8, 8, 1, (p) => (p * 4) / 255), "grey.png");
    expect(r.notes).toEqual(["greyscale: the grey value is copied to R, G and B"]);
    for (let p = 0; p < 64; p++) {
      const v = Math.fround((p * 4) / 255);
      expect([r.image.data[p * 3], r.image.data[p * 3 + 1], r.image.data[p * 3 + 2]]).toEqual([v, v, v]);
    }
  });

  it("16-bit grey becomes float exactly (value / 65535, no 8-bit rounding)", () => {
    const k = (p: number) => (p * 1021 + 7) % 65536;
    const r = readInputImage(png(8, 10, 1, (p) => k(p) / 65535, 16), "grey16.png");
    expect(r.source.bitDepth).toBe(16);
    expect(r.notes).toContain("16-bit samples: kept as 32-bit floats (value / 65535), not rounded to 8 bits");
    for (let p = 0; p < 80; p++) expect(r.image.data[p * 3 + 1]).toBe(Math.fround(k(p) / 65535));
    // At least one value an 8-bit image cannot hold.
    expect(Array.from(r.image.data).some((v) => Math.abs(v * 255 - Math.round(v * 255)) > 1e-3)).toBe(true);
  });

  it("alpha is composited over white, and the note counts the transparent pixels", () => {
    // Half the pixels fully transparent red, the rest opaque red.
    const r = readInputImage(png(8, 8, 4, (p, c) => (c === 3 ? (p < 32 ? 0 : 1) : c === 0 ? 1 : 0)), "alpha.png");
    expect(r.notes).toEqual(["alpha channel: composited over white (32 of 64 pixels are partly or fully transparent)"]);
    expect(Array.from(r.image.data.slice(0, 3))).toEqual([1, 1, 1]); // transparent -> white
    expect(Array.from(r.image.data.slice(32 * 3, 32 * 3 + 3))).toEqual([1, 0, 0]);
    // Half transparent blue over white: (0.5, 0.5, 1) within 8-bit alpha rounding.
    const h = readInputImage(png(8, 8, 4, (_p, c) => (c === 3 ? 0.5 : c === 2 ? 1 : 0)), "half.png");
    expect(h.image.data[0]).toBeCloseTo(1 - 128 / 255, 6);
    expect(h.image.data[2]).toBe(1);
  });

  it("an opaque alpha channel is dropped, and says so", () => {
    const r = readInputImage(png(8, 8, 4, (_p, c) => (c === 3 ? 1 : 0.2)), "opaque.png");
    expect(r.notes).toEqual(["alpha channel: every pixel is opaque, so it was dropped"]);
  });

  it("JPEG works (RGB)", () => {
    const rgba = new Uint8Array(16 * 16 * 4).fill(200);
    const r = readInputImage(encodeJpeg({width: 16, height: 16, data: rgba}, 90), "x.jpg");
    expect([r.image.width, r.image.height, r.source.format]).toEqual([16, 16, "jpeg"]);
    expect(headerSize(encodeJpeg({width: 40, height: 24, data: new Uint8Array(40 * 24 * 4)}, 90))).toEqual({width: 40, height: 24});
  });

  it(`refuses images smaller than ${MIN_INPUT_SIDE}x${MIN_INPUT_SIDE} with a message`, () => {
    expect(() => readInputImage(png(7, 20, 3, () => 0.5), "tiny.png")).toThrow(
      new InputImageError(`"tiny.png" is 7 × 20 pixels; the smallest input is 8 × 8 (the models upscale ×4 and need that much context).`)
    );
  });

  it(`refuses images over ${MAX_INPUT_PIXELS.toLocaleString("en-US")} pixels from the header, before decoding`, () => {
    // A 1001 x 1000 header with no image data: refused for its size, not for the missing data.
    const big = png(8, 8, 3, () => 0.5);
    new DataView(big.buffer, big.byteOffset).setUint32(16, 1001);
    new DataView(big.buffer, big.byteOffset).setUint32(20, 1000);
    expect(() => readInputImage(big, "big.png")).toThrow(/"big.png" is 1001 × 1000 = 1,001,000 pixels; the largest input is 1,000,000 pixels .*Crop or downscale it first/);
    expect(() => readInputImage(png(20, 20, 3, () => 0.5), "cap.png", {maxPixels: 399})).toThrow(/largest input is 399 pixels/);
  });

  it("refuses a file that is not an image, naming it", () => {
    expect(() => readInputImage(new TextEncoder().encode("hello, not an image"), "notes.txt")).toThrow(InputImageError);
    expect(() => readInputImage(new TextEncoder().encode("hello, not an image"), "notes.txt")).toThrow(/notes\.txt.*Use a PNG or JPEG file/);
  });
});
