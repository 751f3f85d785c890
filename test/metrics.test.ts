// Metrics against scikit-image 0.19 (PSNR, SSIM) and an independent NumPy HaarPSI (itself checked against the
// authors' reference code); fixtures from scripts/fixtures/metrics_fixtures.py.
import {describe, it, expect, beforeAll} from "vitest";
import * as tf from "@tensorflow/tfjs";
import {readFileSync} from "node:fs";
import {useBackend, NODE_BACKENDS} from "./helpers/backends";
import {
  rgbToY,
  psnrRgb,
  psnrY,
  ssimY,
  haarpsi,
  measureAll,
  METRIC_PROTOCOL,
  protocolText
} from "../src/lib/metrics.js";

interface FixtureMetrics {
  crop: number;
  psnrRgb: number;
  psnrY: number;
  ssimY: number;
  haarpsi: number;
  haarpsiNoSubsample: number;
}
interface Pair {
  name: string;
  height: number;
  width: number;
  a: number[];
  b: number[];
  metrics: FixtureMetrics[];
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/metrics.json", import.meta.url), "utf8")) as {pairs: Pair[]};

function image(p: Pair, which: "a" | "b"): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.tensor4d(p[which], [1, p.height, p.width, 3], "float32"), 255) as tf.Tensor4D);
}

async function values(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

/** A seeded smooth-ish random RGB batch, so tests do not depend on Math.random. */
function seededImages(n: number, h: number, w: number, seed: number): tf.Tensor4D {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const data = new Float32Array(n * h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = rand();
  return tf.tidy(() => {
    const noise = tf.tensor4d(data, [n, h, w, 3]);
    return tf.clipByValue(tf.add(tf.mul(tf.avgPool(noise, 3, 1, "same"), 0.8), tf.mul(noise, 0.2)), 0, 1) as tf.Tensor4D;
  });
}

for (const backend of NODE_BACKENDS) {
  describe(`metrics on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    for (const pair of fixture.pairs) {
      for (const ref of pair.metrics) {
        it(`${pair.name} ${pair.height}x${pair.width} crop ${ref.crop} matches skimage / reference HaarPSI`, async () => {
          const a = image(pair, "a");
          const b = image(pair, "b");
          const opts = {crop: ref.crop};
          const [pr] = await values(psnrRgb(a, b, opts));
          const [py] = await values(psnrY(a, b, opts));
          const [ss] = await values(ssimY(a, b, opts));
          const [hp] = await values(haarpsi(a, b, opts));
          const [hn] = await values(haarpsi(a, b, {...opts, subsample: false}));
          a.dispose();
          b.dispose();
          expect(Math.abs(pr - ref.psnrRgb)).toBeLessThan(0.01);
          expect(Math.abs(py - ref.psnrY)).toBeLessThan(0.01);
          expect(Math.abs(ss - ref.ssimY)).toBeLessThan(1e-3);
          expect(Math.abs(hp - ref.haarpsi)).toBeLessThan(1e-3);
          expect(Math.abs(hn - ref.haarpsiNoSubsample)).toBeLessThan(1e-3);
        });
      }
    }

    it("rgbToY gives BT.601 studio swing: black 16/255, white 235/255, pure primaries", async () => {
      const x = tf.tensor4d([0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 1, 5, 3]);
      const y = await values(rgbToY(x));
      x.dispose();
      const expected = [16, 235, 16 + 65.481, 16 + 128.553, 16 + 24.966].map((v) => v / 255);
      y.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    });

    it("a batch gives the same values as one image at a time (mixed pairs of equal size)", async () => {
      const same = fixture.pairs.filter((p) => p.height === 64 && p.width === 64);
      expect(same.length).toBeGreaterThanOrEqual(2);
      const as = same.map((p) => image(p, "a"));
      const bs = same.map((p) => image(p, "b"));
      const a = tf.concat(as, 0);
      const b = tf.concat(bs, 0);
      for (const crop of [0, 4]) {
        const batched = await measureAll(a, b, {crop});
        for (let i = 0; i < same.length; i++) {
          const single = await measureAll(as[i], bs[i], {crop});
          for (const k of ["psnrRgb", "psnrY", "ssimY", "haarpsi"] as const) {
            expect(batched[k][i]).toBeCloseTo(single[k][0], 4);
          }
        }
      }
      [...as, ...bs, a, b].forEach((t) => t.dispose());
    });

    it("identity: PSNR is +Infinity (not NaN), SSIM and HaarPSI are 1", async () => {
      const x = seededImages(2, 24, 20, 7);
      const m = await measureAll(x, x);
      for (let i = 0; i < 2; i++) {
        expect(m.psnrRgb[i]).toBe(Infinity);
        expect(m.psnrY[i]).toBe(Infinity);
        expect(m.ssimY[i]).toBeCloseTo(1, 5);
        expect(m.haarpsi[i]).toBeCloseTo(1, 5);
      }
      // A flat image has no coarse-scale Haar detail: the lab's fallback still gives 1, not NaN.
      const flat = tf.fill([1, 16, 16, 3], 0.5) as tf.Tensor4D;
      const [hf] = await values(haarpsi(flat, flat));
      expect(hf).toBeCloseTo(1, 5);
      x.dispose();
      flat.dispose();
    });

    it("symmetry: swapping the images changes nothing; more noise scores worse on every metric", async () => {
      const x = seededImages(1, 40, 36, 11);
      const noise = seededImages(1, 40, 36, 12);
      const small = tf.clipByValue(tf.add(x, tf.mul(tf.sub(noise, 0.5), 0.05)), 0, 1) as tf.Tensor4D;
      const large = tf.clipByValue(tf.add(x, tf.mul(tf.sub(noise, 0.5), 0.3)), 0, 1) as tf.Tensor4D;
      const ab = await measureAll(x, small, {crop: 2});
      const ba = await measureAll(small, x, {crop: 2});
      const worse = await measureAll(x, large, {crop: 2});
      for (const k of ["psnrRgb", "psnrY", "ssimY", "haarpsi"] as const) {
        expect(ba[k][0]).toBeCloseTo(ab[k][0], 5);
        expect(worse[k][0]).toBeLessThan(ab[k][0]);
      }
      expect(ab.ssimY[0]).toBeLessThan(1);
      expect(ab.haarpsi[0]).toBeGreaterThan(0);
      expect(ab.haarpsi[0]).toBeLessThan(1);
      [x, noise, small, large].forEach((t) => t.dispose());
    });

    it("HaarPSI's chroma term sees a colour shift that leaves Y almost unchanged", async () => {
      const x = seededImages(1, 32, 32, 5);
      // +R, -G chosen so that the BT.601 luma change nearly cancels: 0.299*0.06 - 0.587*0.03 = 0.0003.
      const shifted = tf.add(x, tf.tensor1d([0.06, -0.03, 0])) as tf.Tensor4D;
      const [py] = await values(psnrY(x, shifted));
      const [hp] = await values(haarpsi(x, shifted));
      // The greyscale HaarPSI on Y alone cannot see it.
      const yx = rgbToY(x);
      const ys = rgbToY(shifted);
      const [hg] = await values(haarpsi(yx, ys));
      yx.dispose();
      ys.dispose();
      expect(py).toBeGreaterThan(50);
      expect(hp).toBeLessThan(0.99);
      expect(hg).toBeGreaterThan(0.999);
      x.dispose();
      shifted.dispose();
    });

    it("the crop removes exactly `crop` pixels: a difference confined to the border is invisible", async () => {
      const x = seededImages(1, 30, 26, 3);
      const mask = tf.pad(tf.zeros([1, 22, 18, 3]), [[0, 0], [4, 4], [4, 4], [0, 0]], 1);
      const y = tf.add(x, tf.mul(mask, 0.1)) as tf.Tensor4D;
      const inner = await measureAll(x, y, {crop: 4});
      expect(inner.psnrRgb[0]).toBe(Infinity);
      expect(inner.psnrY[0]).toBe(Infinity);
      expect(inner.ssimY[0]).toBeCloseTo(1, 5);
      const [p3] = await values(psnrRgb(x, y, {crop: 3}));
      expect(Number.isFinite(p3)).toBe(true);
      [x, mask, y].forEach((t) => t.dispose());
    });

    it("rejects mismatched shapes, bad ranks, bad channel counts and crops that leave no image", () => {
      const a = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
      const b = tf.zeros([1, 16, 15, 3]) as tf.Tensor4D;
      const c = tf.zeros([2, 16, 16, 3]) as tf.Tensor4D;
      const g = tf.zeros([1, 16, 16, 2]) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      for (const f of [psnrRgb, psnrY, ssimY, haarpsi]) {
        expect(() => f(a, b)).toThrow(/shapes differ: \[1,16,16,3\] vs \[1,16,15,3\]/);
        expect(() => f(a, c)).toThrow(/shapes differ/);
        expect(() => f(a, a, {crop: 8})).toThrow(/crop 8 leaves 0x0 of a 16x16 image/);
        expect(() => f(a, a, {crop: -1})).toThrow(/non-negative integer/);
        expect(() => f(a, a, {crop: 1.5})).toThrow(/non-negative integer/);
      }
      expect(() => ssimY(a, a, {crop: 3})).toThrow(/need at least 11x11/);
      expect(() => psnrY(g, g)).toThrow(/expected 3 RGB channels, got 2/);
      expect(() => haarpsi(g, g)).toThrow(/3 \(RGB\) or 1 \(grey\) channels, got 2/);
      expect(() => psnrRgb(tf.zeros([16, 16, 3]) as unknown as tf.Tensor4D, a)).toThrow(/rank 4/);
      expect(tf.memory().numTensors).toBe(before + 1); // only the rank-3 tensor made inside the last line
      return measureAll(a, a, {crop: 3}).then(
        () => expect.unreachable("measureAll should reject"),
        (e: Error) => {
          expect(e.message).toMatch(/ssimY: crop 3 leaves 10x10/);
          expect(tf.memory().numTensors).toBe(before + 1);
          [a, b, c, g].forEach((t) => t.dispose());
        }
      );
    });

    it("does not leak tensors", async () => {
      const x = seededImages(2, 20, 20, 1);
      const y = seededImages(2, 20, 20, 2);
      const before = tf.memory().numTensors;
      await measureAll(x, y, {crop: 2});
      await values(haarpsi(x, y, {subsample: false}));
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      y.dispose();
    });
  });
}

describe("metric protocol text", () => {
  it("names the conventions that change the numbers", () => {
    expect(METRIC_PROTOCOL.psnrY).toMatch(/65\.481/);
    expect(METRIC_PROTOCOL.ssimY).toMatch(/sigma 1\.5/);
    expect(METRIC_PROTOCOL.haarpsi).toMatch(/alpha 4\.2/);
    expect(protocolText("psnrY", {crop: 4})).toMatch(/border crop 4 px$/);
    expect(protocolText("haarpsi", {subsample: false})).toMatch(/no subsampling/);
  });
});
