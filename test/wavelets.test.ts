// The 2-D DWT against PyWavelets fixtures (scripts/fixtures/pywt_fixtures.py) and against its own
// mathematical properties: perfect reconstruction, energy preservation, and exact gradients.
import * as tf from "@tensorflow/tfjs";
import {beforeAll, describe, expect, it} from "vitest";
import {bandNames, dwt, idwt, WAVELET_NAMES, waveletFilters, type Subbands, type WaveletName} from "../src/lib/wavelets.js";
import fixture from "./fixtures/pywt.json";
import {NODE_BACKENDS, useBackend} from "./helpers/backends";

interface Fixture {
  filters: Record<string, {lo: number[]; hi: number[]}>;
  inputs: Record<string, {shape: [number, number]; data: number[][]}>;
  cases: {input: string; wavelet: WaveletName; levels: number; paddedSize: [number, number]; bands: Record<string, number[][]>}[];
  photo: {shape: [number, number, number]; data: number[]};
}
const fx = fixture as unknown as Fixture;

function inputTensor(name: string): tf.Tensor4D {
  const {shape, data} = fx.inputs[name];
  return tf.tensor4d(data.flat(), [1, shape[0], shape[1], 1]);
}

function photo(): tf.Tensor4D {
  const [h, w, c] = fx.photo.shape;
  return tf.tidy(() => tf.tensor4d(fx.photo.data, [1, h, w, c]).div(255) as tf.Tensor4D);
}

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor | number[]): Promise<number> {
  const x = await a.data();
  const y = Array.isArray(b) ? b : await b.data();
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

async function sumSquares(t: tf.Tensor): Promise<number> {
  // Float64 accumulation on the host so the check measures the transform, not float32 summation.
  const v = await t.data();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return s;
}

function disposeBands(s: Subbands): void {
  for (const t of Object.values(s.bands)) t.dispose();
}

describe("wavelet metadata", () => {
  it("bandNames lists bands coarse to fine", () => {
    expect(bandNames(1)).toEqual(["LL1", "LH1", "HL1", "HH1"]);
    expect(bandNames(2)).toEqual(["LL2", "LH2", "HL2", "HH2", "LH1", "HL1", "HH1"]);
    expect(bandNames(4)).toHaveLength(13);
    for (const bad of [0, 5, 1.5, -1, NaN]) expect(() => bandNames(bad)).toThrow(/levels/);
  });

  it("filters equal PyWavelets' dec_lo/dec_hi and are orthonormal", () => {
    for (const w of WAVELET_NAMES) {
      const {lo, hi} = waveletFilters(w);
      const ref = fx.filters[w];
      expect(lo.length).toBe(ref.lo.length);
      for (let i = 0; i < lo.length; i++) {
        expect(Math.abs(lo[i] - ref.lo[i])).toBeLessThan(1e-15);
        expect(Math.abs(hi[i] - ref.hi[i])).toBeLessThan(1e-15);
      }
      // <lo, lo shifted by 2m> = delta_m, <lo, hi shifted by 2m> = 0.
      for (let m = 0; 2 * m < lo.length; m++) {
        let ll = 0;
        let lh = 0;
        for (let i = 0; i + 2 * m < lo.length; i++) {
          ll += lo[i] * lo[i + 2 * m];
          lh += lo[i] * hi[i + 2 * m];
        }
        expect(Math.abs(ll - (m === 0 ? 1 : 0))).toBeLessThan(1e-10);
        expect(Math.abs(lh)).toBeLessThan(1e-10);
      }
    }
    expect(() => waveletFilters("db99" as WaveletName)).toThrow(/Unknown wavelet/);
  });
});

for (const backend of NODE_BACKENDS) {
  describe(`dwt / idwt on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it("agrees with pywt.wavedec2(mode='periodization') on every fixture case", async () => {
      let worst = 0;
      for (const c of fx.cases) {
        const x = inputTensor(c.input);
        const s = dwt(x, {wavelet: c.wavelet, levels: c.levels});
        expect(s.paddedSize).toEqual(c.paddedSize);
        expect(Object.keys(s.bands).sort()).toEqual(bandNames(c.levels).sort());
        for (const [name, ref] of Object.entries(c.bands)) {
          const band = s.bands[name];
          expect(band.shape).toEqual([1, ref.length, ref[0].length, 1]);
          const err = await maxAbsDiff(band, ref.flat());
          worst = Math.max(worst, err);
          if (err >= 1e-5) throw new Error(`${c.input} ${c.wavelet} L${c.levels} ${name}: max error ${err}`);
        }
        x.dispose();
        disposeBands(s);
      }
      expect(worst).toBeLessThan(1e-5);
    });

    it("transforms each channel and batch item independently", async () => {
      for (const wavelet of WAVELET_NAMES) {
        const a = inputTensor("sq16");
        const b = inputTensor("sq16b");
        // batch 0 = channels (a, b), batch 1 = channels (b, a)
        const x = tf.concat([tf.concat([a, b], 3), tf.concat([b, a], 3)], 0) as tf.Tensor4D;
        const s = dwt(x, {wavelet, levels: 2});
        const refA = fx.cases.find((c) => c.input === "sq16" && c.wavelet === wavelet && c.levels === 2)!;
        const refB = fx.cases.find((c) => c.input === "sq16b" && c.wavelet === wavelet && c.levels === 2)!;
        for (const name of bandNames(2)) {
          const band = s.bands[name];
          expect(band.shape[0]).toBe(2);
          expect(band.shape[3]).toBe(2);
          const [h, w] = [band.shape[1], band.shape[2]];
          const pick = (n: number, ch: number) => tf.slice(band, [n, 0, 0, ch], [1, h, w, 1]);
          const pairs: [number, number, Fixture["cases"][number]][] = [
            [0, 0, refA], [0, 1, refB], [1, 0, refB], [1, 1, refA]
          ];
          for (const [n, ch, ref] of pairs) {
            const t = pick(n, ch);
            expect(await maxAbsDiff(t, ref.bands[name].flat())).toBeLessThan(1e-5);
            t.dispose();
          }
        }
        tf.dispose([a, b, x]);
        disposeBands(s);
      }
    });

    it("reconstructs random tensors exactly (odd sizes, channels, batch, levels 1-4)", async () => {
      const shapes: [number, number, number, number][] = [
        [2, 37, 50, 3],
        [1, 16, 16, 1],
        [3, 8, 24, 2],
        [1, 5, 3, 1] // 4 levels pads 5x3 to 16x16: the symmetric extension has to repeat
      ];
      let worst = 0;
      for (const [i, shape] of shapes.entries()) {
        const x = tf.randomUniform(shape, -1, 1, "float32", 100 + i) as tf.Tensor4D;
        for (const wavelet of WAVELET_NAMES) {
          for (let levels = 1; levels <= 4; levels++) {
            const s = dwt(x, {wavelet, levels});
            const m = 2 ** levels;
            expect(s.size).toEqual([shape[1], shape[2]]);
            expect(s.paddedSize).toEqual([Math.ceil(shape[1] / m) * m, Math.ceil(shape[2] / m) * m]);
            expect(s.bands[`LL${levels}`].shape).toEqual([shape[0], s.paddedSize[0] / m, s.paddedSize[1] / m, shape[3]]);
            const y = idwt(s);
            expect(y.shape).toEqual(shape);
            const err = await maxAbsDiff(y, x);
            worst = Math.max(worst, err);
            if (err >= 1e-5) throw new Error(`${shape.join("x")} ${wavelet} L${levels}: max error ${err}`);
            y.dispose();
            disposeBands(s);
          }
        }
        x.dispose();
      }
      expect(worst).toBeLessThan(1e-5);
    });

    it("reconstructs a real photograph (astronaut crop) at levels 1-3", async () => {
      const x = photo();
      for (const wavelet of WAVELET_NAMES) {
        for (let levels = 1; levels <= 3; levels++) {
          const s = dwt(x, {wavelet, levels});
          const y = idwt(s);
          expect(await maxAbsDiff(y, x)).toBeLessThan(1e-5);
          y.dispose();
          disposeBands(s);
        }
      }
      x.dispose();
    });

    it("preserves energy (sum of squares over all bands) for sizes that need no padding", async () => {
      const rand = tf.randomUniform([2, 32, 48, 3], -1, 1, "float32", 7) as tf.Tensor4D;
      const pic = photo(); // 48x40: a multiple of 8
      for (const [x, maxLevels] of [[rand, 4], [pic, 3]] as const) {
        const e0 = await sumSquares(x);
        for (const wavelet of WAVELET_NAMES) {
          for (let levels = 1; levels <= maxLevels; levels++) {
            const s = dwt(x, {wavelet, levels});
            let e = 0;
            for (const t of Object.values(s.bands)) e += await sumSquares(t);
            expect(Math.abs(e - e0) / e0).toBeLessThan(1e-5);
            disposeBands(s);
          }
        }
      }
      // The photo is smooth, so most of its energy must sit in LL: a check that bands are not mislabelled.
      const s = dwt(pic, {wavelet: "haar", levels: 2});
      expect((await sumSquares(s.bands.LL2)) / (await sumSquares(pic))).toBeGreaterThan(0.95);
      disposeBands(s);
      tf.dispose([rand, pic]);
    });

    it("orients LH to horizontal edges and HL to vertical edges", async () => {
      // Rows alternate 0/1: a stack of horizontal lines, variation along H only.
      const rows = tf.tidy(() => tf.tile(tf.tensor4d([0, 1], [1, 2, 1, 1]), [1, 8, 16, 1]) as tf.Tensor4D);
      const cols = tf.tidy(() => rows.transpose([0, 2, 1, 3]) as tf.Tensor4D);
      const a = dwt(rows, {levels: 1});
      const b = dwt(cols, {levels: 1});
      expect(await sumSquares(a.bands.LH1)).toBeGreaterThan(1);
      expect(await sumSquares(a.bands.HL1)).toBeLessThan(1e-10);
      expect(await sumSquares(b.bands.HL1)).toBeGreaterThan(1);
      expect(await sumSquares(b.bands.LH1)).toBeLessThan(1e-10);
      tf.dispose([rows, cols]);
      disposeBands(a);
      disposeBands(b);
    });

    it("gradient of dwt is idwt of the band gradients, and idwt's is dwt (adjointness)", async () => {
      for (const wavelet of WAVELET_NAMES) {
        const levels = 2;
        const x = tf.randomUniform([2, 16, 24, 3], -1, 1, "float32", 11) as tf.Tensor4D;
        const y = tf.randomUniform([2, 16, 24, 3], -1, 1, "float32", 12) as tf.Tensor4D;
        const G = dwt(y, {wavelet, levels}); // random band-shaped weights
        const f = (t: tf.Tensor) => {
          const s = dwt(t as tf.Tensor4D, {wavelet, levels});
          return tf.addN(bandNames(levels).map((n) => tf.sum(tf.mul(s.bands[n], G.bands[n])))) as tf.Scalar;
        };
        const gx = tf.grad(f)(x);
        const ref = idwt(G); // equals y
        expect(await maxAbsDiff(gx, ref)).toBeLessThan(1e-5);
        // <dwt x, G> == <x, idwt G>
        const lhs = (await f(x).data())[0];
        const rhs = (await tf.sum(tf.mul(x, ref)).data())[0];
        expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * Math.max(1, Math.abs(lhs)));

        // Gradient of idwt with respect to each band is the band of dwt(dy).
        const names = bandNames(levels);
        const h = (...bs: tf.Tensor[]) => {
          const bands: Record<string, tf.Tensor4D> = {};
          names.forEach((n, i) => (bands[n] = bs[i] as tf.Tensor4D));
          return tf.sum(tf.mul(idwt({...G, bands}), x)) as tf.Scalar;
        };
        const gb = tf.grads(h)(names.map((n) => G.bands[n]));
        const Dx = dwt(x, {wavelet, levels});
        for (const [i, n] of names.entries()) expect(await maxAbsDiff(gb[i], Dx.bands[n])).toBeLessThan(1e-5);
        tf.dispose([x, y, gx, ref, ...gb]);
        disposeBands(G);
        disposeBands(Dx);
      }
    });

    it("gradient through the symmetric padding is exact (odd size, compared with f(e_i) of a linear map)", async () => {
      // f(x) = sum_b <band_b(x), G_b> is linear in x, so df/dx_i = f(e_i) exactly; this needs no finite
      // differences and catches any gradient lost in the padding (TF.js's own mirrorPad drops some).
      const [H, W, C] = [7, 9, 2];
      for (const wavelet of WAVELET_NAMES) {
        const levels = 2;
        const G = dwt(tf.randomUniform([1, H, W, C], -1, 1, "float32", 21) as tf.Tensor4D, {wavelet, levels});
        const f = (t: tf.Tensor) =>
          tf.tidy(() => {
            const s = dwt(t as tf.Tensor4D, {wavelet, levels});
            return tf.addN(bandNames(levels).map((n) => tf.sum(tf.mul(s.bands[n], G.bands[n])))) as tf.Scalar;
          });
        const x = tf.randomUniform([1, H, W, C], -1, 1, "float32", 22) as tf.Tensor4D;
        const g = await tf.grad(f)(x).data();
        // corners, last row/column (mirrored into the padding) and an interior point
        const coords: [number, number, number][] = [[0, 0, 0], [H - 1, W - 1, 1], [H - 1, 3, 0], [2, W - 1, 1], [H - 2, W - 2, 0], [3, 4, 1]];
        for (const [r, c, ch] of coords) {
          const e = tf.buffer([1, H, W, C], "float32");
          e.set(1, 0, r, c, ch);
          const et = e.toTensor() as tf.Tensor4D;
          const val = (await f(et).data())[0];
          expect(Math.abs(g[(r * W + c) * C + ch] - val)).toBeLessThan(1e-5);
          et.dispose();
        }
        disposeBands(G);
        x.dispose();
      }
    });

    it("leaks no tensors", async () => {
      const x = tf.randomUniform([1, 13, 10, 3], 0, 1, "float32", 3) as tf.Tensor4D;
      for (const wavelet of WAVELET_NAMES) {
        disposeBands(dwt(x, {wavelet, levels: 3})); // warm the cached filter banks
      }
      const before = tf.memory().numTensors;
      for (const wavelet of WAVELET_NAMES) {
        const s = dwt(x, {wavelet, levels: 3});
        idwt(s).dispose();
        disposeBands(s);
      }
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });

    it("rejects bad options and bad band sets", () => {
      const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
      expect(() => dwt(x, {levels: 0})).toThrow(/levels/);
      expect(() => dwt(x, {levels: 5})).toThrow(/levels/);
      expect(() => dwt(x, {wavelet: "coif1" as WaveletName})).toThrow(/Unknown wavelet/);
      expect(() => dwt(tf.zeros([8, 8]) as unknown as tf.Tensor4D)).toThrow(/NHWC/);
      const s = dwt(x, {levels: 2});
      const {HH1, ...rest} = s.bands;
      expect(() => idwt({...s, bands: rest})).toThrow(/HH1 is missing/);
      expect(() => idwt({...s, bands: {...s.bands, LH2: HH1}})).toThrow(/level 2/);
      x.dispose();
      disposeBands(s);
    });
  });
}
