import {readFileSync} from "node:fs";
import {describe, expect, it} from "vitest";
import {imresize, interpolate, type ImageF32, type InterpolateMode} from "../src/lib/resize";

interface Arr {
  height: number;
  width: number;
  channels: number;
  data: number[];
}
interface ResizeCase {
  name: string;
  dtype: "uint8" | "float";
  input: Arr;
  output: Arr;
  scale?: number;
  out_shape?: [number, number];
  antialias?: boolean;
}

const matlab = JSON.parse(readFileSync("test/fixtures/resize.json", "utf8")) as {cases: ResizeCase[]};
const torch = JSON.parse(readFileSync("test/fixtures/degrade.json", "utf8")) as {
  image: Arr;
  interpolate: {mode: InterpolateMode; outHeight: number; outWidth: number; scaleFactor?: number; output: number[]}[];
};

function toImage(a: Arr, div = 1): ImageF32 {
  return {width: a.width, height: a.height, channels: a.channels, data: Float32Array.from(a.data, (v) => v / div)};
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] * scale - b[i]));
  return m;
}

function run(c: ResizeCase, round: "none" | "uint8"): ImageF32 {
  const div = c.dtype === "uint8" ? 255 : 1;
  const opts = c.out_shape ? {outHeight: c.out_shape[0], outWidth: c.out_shape[1]} : {scale: c.scale};
  return imresize(toImage(c.input, div), {...opts, antialias: c.antialias ?? true, round});
}

describe("imresize (MATLAB bicubic) against the numpy reference", () => {
  it("has the fixture cases", () => expect(matlab.cases.length).toBeGreaterThanOrEqual(10));

  for (const c of matlab.cases) {
    it(c.name, () => {
      const out = run(c, "none");
      expect([out.height, out.width, out.channels]).toEqual([c.output.height, c.output.width, c.output.channels]);
      if (c.dtype === "float") {
        // Same algorithm in float: agreement to float32 precision.
        expect(maxAbs(out.data, c.output.data)).toBeLessThan(1e-5);
      } else {
        // MATLAB's class rule (uint8 after each pass) emulated: within 1/255 everywhere, and nearly always equal
        // (ties like k + 0.5 can fall either way after float32 scaling).
        const exact = run(c, "uint8");
        expect(maxAbs(exact.data, c.output.data, 255)).toBeLessThanOrEqual(1 + 1e-3);
        let differ = 0;
        for (let i = 0; i < exact.data.length; i++) if (Math.abs(exact.data[i] * 255 - c.output.data[i]) > 1e-3) differ++;
        expect(differ / exact.data.length).toBeLessThan(0.01);
        if ((c.scale ?? 0) < 1) {
          // Shrinking: the float pipeline rounded once at the end (what degrade's bicubic preset does) stays within
          // 1/255 too. (Enlarging noise overshoots [0,1] in the first pass, where MATLAB clips and floats do not.)
          const rounded = Float32Array.from(out.data, (v) => Math.min(255, Math.max(0, Math.round(v * 255))));
          expect(maxAbs(rounded, c.output.data)).toBeLessThanOrEqual(1);
        }
      }
    });
  }

  it("keeps a constant image constant and computes MATLAB's output size", () => {
    const img: ImageF32 = {width: 9, height: 7, channels: 3, data: new Float32Array(9 * 7 * 3).fill(0.4)};
    for (const scale of [0.25, 0.5, 0.37, 1.7, 4]) {
      const out = imresize(img, {scale});
      expect([out.height, out.width]).toEqual([Math.ceil(7 * scale), Math.ceil(9 * scale)]);
      expect(maxAbs(out.data, new Float32Array(out.data.length).fill(0.4))).toBeLessThan(1e-6);
    }
  });

  it("rejects bad arguments", () => {
    const img: ImageF32 = {width: 2, height: 2, channels: 1, data: new Float32Array(4)};
    expect(() => imresize(img, {scale: 0})).toThrow(/scale/);
    expect(() => imresize({...img, data: new Float32Array(3)}, {scale: 2})).toThrow(/samples/);
    expect(() => imresize(img, {outHeight: 3})).toThrow(/both/);
  });
});

describe("interpolate (PyTorch F.interpolate) against torch", () => {
  const img = toImage(torch.image);
  for (const c of torch.interpolate) {
    const label = c.scaleFactor !== undefined ? `scale_factor ${c.scaleFactor}` : `size ${c.outHeight}x${c.outWidth}`;
    it(`${c.mode}, ${label}`, () => {
      const out = interpolate(img, {mode: c.mode, outHeight: c.outHeight, outWidth: c.outWidth, scaleFactor: c.scaleFactor});
      expect(maxAbs(out.data, c.output)).toBeLessThan(1e-5);
    });
  }
});
