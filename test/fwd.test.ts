// Fréchet Wavelet Distance (src/lib/eval/fwd.ts) against SciPy/NumPy references (test/fixtures/fwd/, made by
// make_fwd_fixtures.py; no Python at run time) and its basic properties.
import {readFileSync} from "node:fs";
import {describe, expect, it} from "vitest";
import {
  FWD_DEFAULTS,
  frechetDistance,
  frechetWaveletDistance,
  fwdAgainst,
  fwdReference,
  PacketStatistics,
  packetNames,
  sqrtmSymmetric,
  symmetricEigen,
  traceSqrtProduct,
  waveletPackets,
  type FwdOptions,
} from "../src/lib/eval/fwd.js";
import type {ImageF32} from "../src/lib/resize.js";
import {createRng} from "../src/lib/rng.js";
import type {WaveletName} from "../src/lib/wavelets.js";

interface Fixture {
  sqrtm: {n: number; a: number[]; b: number[]; sqrtA: number[]; eigA: number[]; traceSqrtAB: number}[];
  frechet: {n: number; mu1: number[]; mu2: number[]; s1: number[]; s2: number[]; fd: number}[];
  packets: {wavelet: WaveletName; level: number; size: number; plane: number[]; packets: number[][]}[];
  fwd: {options: FwdOptions; size: number; a: number[][]; b: number[][]; samples: number; dim: number; fwd: number; perPacket: number[]; meanA0: number[]; covA0: number[]}[];
}

const fx = JSON.parse(readFileSync(new URL("./fixtures/fwd/fwd.json", import.meta.url), "utf8")) as Fixture;

const f64 = (a: number[]) => Float64Array.from(a);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const toImage = (bytes: number[], size: number): ImageF32 => ({width: size, height: size, channels: 3, data: Float32Array.from(bytes, (v) => v / 255)});

describe("symmetric eigendecomposition and square root", () => {
  it("reproduces A = V diag(w) V^T, with eigenvalues as numpy.linalg.eigvalsh", () => {
    for (const c of fx.sqrtm) {
      const {values, vectors} = symmetricEigen(f64(c.a), c.n);
      const sorted = Array.from(values).sort((x, y) => x - y);
      expect(maxAbsDiff(sorted, c.eigA)).toBeLessThan(1e-10 * Math.max(...c.eigA));
      const n = c.n;
      const back = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) back[i * n + j] += vectors[i * n + k] * values[k] * vectors[j * n + k];
      expect(maxAbsDiff(back, c.a)).toBeLessThan(1e-10 * Math.max(...c.eigA));
    }
  });

  it("sqrtmSymmetric equals scipy.linalg.sqrtm on SPD matrices", () => {
    for (const c of fx.sqrtm) expect(maxAbsDiff(sqrtmSymmetric(f64(c.a), c.n), c.sqrtA)).toBeLessThan(1e-9);
  });

  it("Tr sqrt(A B) equals trace(scipy.linalg.sqrtm(A @ B))", () => {
    for (const c of fx.sqrtm) {
      const got = traceSqrtProduct(f64(c.b), c.n, sqrtmSymmetric(f64(c.a), c.n));
      expect(Math.abs(got - c.traceSqrtAB)).toBeLessThan(1e-9 * c.traceSqrtAB);
    }
  });

  it("clamps the negative rounding-level eigenvalues of a singular PSD matrix", () => {
    // Rank one: v v^T with v = (1, 2, 3); its root is v v^T / |v|.
    const v = [1, 2, 3];
    const a = f64(v.flatMap((x) => v.map((y) => x * y)));
    const r = sqrtmSymmetric(a, 3);
    const norm = Math.sqrt(14);
    expect(maxAbsDiff(r, Array.from(a, (x) => x / norm))).toBeLessThan(1e-12);
  });
});

describe("Fréchet distance between Gaussians", () => {
  it("matches the FID formula with scipy's sqrtm", () => {
    for (const c of fx.frechet) {
      const got = frechetDistance({mean: f64(c.mu1), cov: f64(c.s1), n: c.n}, {mean: f64(c.mu2), cov: f64(c.s2), n: c.n});
      expect(Math.abs(got - c.fd)).toBeLessThan(1e-9 * c.fd);
    }
  });

  it("is 0 for identical Gaussians and symmetric in its arguments", () => {
    const c = fx.frechet[2];
    const a = {mean: f64(c.mu1), cov: f64(c.s1), n: c.n};
    const b = {mean: f64(c.mu2), cov: f64(c.s2), n: c.n};
    expect(frechetDistance(a, a)).toBeLessThan(1e-9);
    expect(Math.abs(frechetDistance(a, b) - frechetDistance(b, a))).toBeLessThan(1e-9 * c.fd);
  });
});

describe("wavelet packets", () => {
  it("equal the NumPy reference (PyWavelets' periodization convention), in natural order", () => {
    for (const c of fx.packets) {
      const got = waveletPackets(f64(c.plane), c.size, c.wavelet, c.level);
      expect(got.length).toBe(4 ** c.level);
      got.forEach((p, i) => expect(maxAbsDiff(p, c.packets[i])).toBeLessThan(1e-12));
    }
    expect(packetNames(2).slice(0, 5)).toEqual(["aa", "ah", "av", "ad", "ha"]);
  });

  it("preserve energy (orthonormal transform)", () => {
    const rng = createRng(3);
    const x = Float64Array.from({length: 32 * 32}, () => rng.normal());
    const e = x.reduce((s, v) => s + v * v, 0);
    for (const w of ["haar", "db2", "sym4"] as const) {
      const pk = waveletPackets(x, 32, w, 3);
      const ep = pk.reduce((s, p) => s + p.reduce((t, v) => t + v * v, 0), 0);
      expect(Math.abs(ep - e)).toBeLessThan(1e-9 * e);
    }
  });
});

describe("FWD", () => {
  it("matches the NumPy/SciPy reference end to end (haar and db2)", () => {
    for (const c of fx.fwd) {
      const a = c.a.map((im) => toImage(im, c.size));
      const b = c.b.map((im) => toImage(im, c.size));
      const stats = new PacketStatistics(c.options);
      for (const im of a) stats.addImage(im);
      expect(stats.samples).toBe(c.samples);
      expect(stats.dim).toBe(c.dim);
      const g0 = stats.gaussians()[0];
      // Float32 pixels (v/255) against float64 ones in NumPy: agreement to ~1e-5 relative.
      expect(maxAbsDiff(g0.mean, c.meanA0)).toBeLessThan(1e-4);
      expect(maxAbsDiff(g0.cov, c.covA0)).toBeLessThan(1e-6 * Math.max(...c.covA0.map(Math.abs)));
      const r = frechetWaveletDistance(a, b, c.options);
      expect(r.perPacket.length).toBe(c.perPacket.length);
      r.perPacket.forEach((v, i) => expect(Math.abs(v - c.perPacket[i])).toBeLessThan(1e-6 * c.fwd));
      expect(Math.abs(r.fwd - c.fwd)).toBeLessThan(1e-6 * c.fwd);
    }
  });

  const noisyImages = (sigma: number, seed: number): ImageF32[] => {
    // Four 64x64 structured images (sums of a few random sinusoids), plus Gaussian noise of `sigma`.
    const rng = createRng(seed);
    const base = createRng(11);
    return Array.from({length: 4}, () => {
      const waves = Array.from({length: 6}, () => ({fx: base.uniform(0, 0.4), fy: base.uniform(0, 0.4), ph: base.uniform(0, 6.28), a: base.uniform(0.03, 0.1)}));
      const data = new Float32Array(64 * 64 * 3);
      for (let y = 0; y < 64; y++)
        for (let x = 0; x < 64; x++)
          for (let c = 0; c < 3; c++) {
            let v = 0.5;
            for (const w of waves) v += w.a * Math.sin(w.fx * x + w.fy * y + w.ph + c);
            data[(y * 64 + x) * 3 + c] = v + sigma * rng.normal();
          }
      return {width: 64, height: 64, channels: 3, data};
    });
  };

  it("is 0 for a set against itself and grows with added Gaussian noise (lab defaults)", () => {
    const statsOf = (images: ImageF32[]) => {
      const s = new PacketStatistics();
      for (const im of images) s.addImage(im);
      return s;
    };
    const clean = statsOf(noisyImages(0, 1));
    const ref = fwdReference(clean);
    expect(fwdAgainst(ref, clean).fwd).toBeLessThan(1e-6);
    const d = [0.01, 0.03, 0.1].map((s) => fwdAgainst(ref, statsOf(noisyImages(s, 2))).fwd);
    expect(d[0]).toBeGreaterThan(0);
    expect(d[1]).toBeGreaterThan(d[0]);
    expect(d[2]).toBeGreaterThan(d[1]);
  });

  it("rejects inconsistent options", () => {
    expect(() => new PacketStatistics({...FWD_DEFAULTS, patch: 20})).toThrow(/multiple/);
    const s = new PacketStatistics();
    expect(() => s.gaussians()).toThrow(/at least 2/);
  });
});
