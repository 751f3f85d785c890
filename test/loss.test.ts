// The band-group loss: configuration, reduction against a float64 reference built from PyWavelets
// coefficients (test/fixtures/pywt.json), gradients against central finite differences, validation.
import * as tf from "@tensorflow/tfjs";
import {beforeAll, describe, expect, it} from "vitest";
import {
  bandGroupLoss,
  defaultGroups,
  disposeBandLoss,
  DISTANCES,
  GROUP_WEIGHTINGS,
  LOSS_PRESETS,
  lossPreset,
  readBandLoss,
  validateLossConfig,
  type BandLossConfig,
  type Distance
} from "../src/lib/loss.js";
import {bandNames, dwt, idwt, type WaveletName} from "../src/lib/wavelets.js";
import fixture from "./fixtures/pywt.json";
import {NODE_BACKENDS, useBackend} from "./helpers/backends";

interface Fixture {
  inputs: Record<string, {shape: [number, number]; data: number[][]}>;
  cases: {input: string; wavelet: WaveletName; levels: number; bands: Record<string, number[][]>}[];
}
const fx = fixture as unknown as Fixture;

function inputTensor(name: string): tf.Tensor4D {
  const {shape, data} = fx.inputs[name];
  return tf.tensor4d(data.flat(), [1, shape[0], shape[1], 1]);
}

function fixtureBands(input: string, wavelet: WaveletName, levels: number): Record<string, number[]> {
  const c = fx.cases.find((k) => k.input === input && k.wavelet === wavelet && k.levels === levels);
  if (!c) throw new Error(`no fixture ${input} ${wavelet} ${levels}`);
  return Object.fromEntries(Object.entries(c.bands).map(([k, v]) => [k, v.flat()]));
}

/** Float64 reference of the documented reduction, from coefficient differences. */
function referenceLoss(diffBands: Record<string, number[]>, cfg: BandLossConfig) {
  const el = (d: number): number =>
    cfg.distance === "l1"
      ? Math.abs(d)
      : cfg.distance === "l2"
        ? d * d
        : Math.sqrt(d * d + cfg.charbonnierEps ** 2) - cfg.charbonnierEps;
  const perBand: Record<string, number> = {};
  for (const [k, v] of Object.entries(diffBands)) perBand[k] = v.reduce((s, d) => s + el(d), 0) / v.length;
  const perGroup: Record<string, number> = {};
  let total = 0;
  for (const [g, members] of Object.entries(cfg.groups)) {
    perGroup[g] = members.reduce((s, b) => s + perBand[b], 0) / members.length;
    total += cfg.weights[g] * perGroup[g];
  }
  return {total, perBand, perGroup};
}

function close(a: number, b: number, rel = 1e-5, abs = 1e-6): boolean {
  return Math.abs(a - b) <= abs + rel * Math.abs(b);
}

describe("loss configuration", () => {
  it("default groups partition the bands at every depth", () => {
    expect(defaultGroups(0)).toEqual({pixel: ["pixel"]});
    expect(defaultGroups(1)).toEqual({low: ["LL1"], mid: ["LH1", "HL1"], high: ["HH1"]});
    expect(defaultGroups(2)).toEqual({low: ["LL2"], mid: ["LH2", "HL2", "HH2"], high: ["LH1", "HL1", "HH1"]});
    expect(defaultGroups(3)).toEqual({
      low: ["LL3"],
      mid: ["LH3", "HL3", "HH3", "LH2", "HL2", "HH2"],
      high: ["LH1", "HL1", "HH1"]
    });
    for (let levels = 1; levels <= 4; levels++) {
      const all = Object.values(defaultGroups(levels)).flat().sort();
      expect(all).toEqual(bandNames(levels).sort());
    }
    expect(() => defaultGroups(5)).toThrow(/levels/);
  });

  it("presets carry the documented numbers", () => {
    const d = lossPreset("dtkd");
    expect([d.levels, d.wavelet, d.distance, d.charbonnierEps]).toEqual([2, "haar", "l1", 1e-3]);
    expect(d.weights).toEqual({low: 0.5, mid: 2.0, high: 1.0});
    expect(d.groups).toEqual(defaultGroups(2));
    expect(lossPreset("dtkd", 3, "db2").groups).toEqual(defaultGroups(3));
    expect(lossPreset("dtkd", 3, "db2").wavelet).toBe("db2");
    expect(lossPreset("uniform", 1).weights).toEqual({low: 1, mid: 1, high: 1});
    const k = lossPreset("korkmaz");
    expect(k.levels).toBe(1);
    expect(k.groups).toEqual({LL: ["LL1"], LH: ["LH1"], HL: ["HL1"], HH: ["HH1"]});
    expect(k.weights).toEqual({LL: 0.05, LH: 0.025, HL: 0.025, HH: 0.02});
    const p = lossPreset("pixel");
    expect([p.levels, p.distance]).toEqual([0, "l1"]);
    expect(p.groups).toEqual({pixel: ["pixel"]});
    expect(p.weights).toEqual({pixel: 1});
    expect(LOSS_PRESETS).toEqual(["uniform", "dtkd", "low", "high", "korkmaz", "pixel"]);
    expect(() => lossPreset("korkmaz", 2)).toThrow(/one level/);
    expect(() => lossPreset("pixel", 2)).toThrow(/levels 0/);
    expect(() => lossPreset("dtkd", 5)).toThrow(/levels 1 to 4/);
    expect(() => lossPreset("nope" as "dtkd")).toThrow(/Unknown loss preset/);
  });

  it("low and high presets: documented weights, same total as dtkd, any depth", () => {
    const lo = lossPreset("low");
    const hi = lossPreset("high");
    expect(lo.weights).toEqual({low: 2.0, mid: 1.0, high: 0.5});
    expect(hi.weights).toEqual({low: 0.5, mid: 1.0, high: 2.0});
    expect(GROUP_WEIGHTINGS.low).toEqual(lo.weights);
    expect(GROUP_WEIGHTINGS.high).toEqual(hi.weights);
    for (const c of [lo, hi]) {
      expect([c.levels, c.wavelet, c.distance]).toEqual([2, "haar", "l1"]);
      expect(c.groups).toEqual(defaultGroups(2));
    }
    const sum = (w: Record<string, number>) => Object.values(w).reduce((a, b) => a + b, 0);
    expect(sum(lo.weights)).toBe(sum(lossPreset("dtkd").weights));
    expect(sum(hi.weights)).toBe(sum(lossPreset("dtkd").weights));
    // The emphasis is where the name says: the largest weight sits on that group.
    const argmax = (w: Record<string, number>) => Object.entries(w).sort((a, b) => b[1] - a[1])[0][0];
    expect([argmax(lo.weights), argmax(lossPreset("dtkd").weights), argmax(hi.weights)]).toEqual(["low", "mid", "high"]);
    expect(lossPreset("high", 3, "db2").groups).toEqual(defaultGroups(3));
    expect(lossPreset("low", 1).groups).toEqual(defaultGroups(1));
    expect(() => lossPreset("low", 0)).toThrow(/levels 1 to 4/);
    // A returned config is the caller's to edit: changing it must not change the preset table.
    lo.weights.low = 9;
    expect(lossPreset("low").weights.low).toBe(2.0);
  });

  it("validation names the problem", () => {
    const base = (): BandLossConfig => lossPreset("dtkd");
    const bad: [string, (c: BandLossConfig) => void, RegExp][] = [
      ["unknown band", (c) => (c.groups.mid = ["LH2", "LH9"]), /unknown band "LH9"/],
      ["band of another depth", (c) => (c.groups.low = ["LL1"]), /unknown band "LL1".*LL2/],
      ["empty group", (c) => (c.groups.mid = []), /group "mid" is empty/],
      ["duplicate band", (c) => (c.groups.high = ["LH1", "LH1"]), /twice/],
      ["negative weight", (c) => (c.weights.mid = -1), /negative/],
      ["NaN weight", (c) => (c.weights.mid = NaN), /finite/],
      ["missing weight", (c) => delete c.weights.high, /"high" has no weight/],
      ["weight for unknown group", (c) => (c.weights.extra = 1), /unknown group "extra"/],
      ["all weights zero", (c) => (c.weights = {low: 0, mid: 0, high: 0}), /every weight is 0/],
      ["no groups", (c) => ((c.groups = {}), (c.weights = {})), /no groups/],
      ["bad distance", (c) => (c.distance = "l3" as Distance), /unknown distance/],
      ["eps zero", (c) => (c.charbonnierEps = 0), /charbonnierEps/],
      ["levels 5", (c) => (c.levels = 5), /levels/],
      ["unknown wavelet", (c) => (c.wavelet = "db9" as WaveletName), /unknown wavelet/]
    ];
    expect(() => validateLossConfig(base())).not.toThrow();
    for (const [label, mutate, msg] of bad) {
      const c = base();
      mutate(c);
      expect(() => validateLossConfig(c), label).toThrow(msg);
    }
    const px = lossPreset("pixel");
    px.groups.pixel = ["LL1"];
    expect(() => validateLossConfig(px)).toThrow(/unknown band "LL1"/);
  });
});

for (const backend of NODE_BACKENDS) {
  describe(`bandGroupLoss on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it("matches a float64 reference built from PyWavelets coefficients", async () => {
      const cases: {cfg: BandLossConfig; student: string; target: string | null}[] = [];
      for (const distance of DISTANCES) {
        const withD = (c: BandLossConfig): BandLossConfig => ({...c, distance});
        cases.push({cfg: withD(lossPreset("dtkd")), student: "sq16", target: null});
        cases.push({cfg: withD(lossPreset("korkmaz")), student: "sq16", target: null});
        cases.push({cfg: withD(lossPreset("uniform", 3, "db2")), student: "sq16", target: null});
        cases.push({cfg: withD(lossPreset("dtkd", 2, "sym4")), student: "sq16", target: "sq16b"});
        cases.push({cfg: withD(lossPreset("dtkd", 2, "haar")), student: "odd13x10", target: null});
      }
      for (const {cfg, student, target} of cases) {
        const s = inputTensor(student);
        const t = target ? inputTensor(target) : tf.zerosLike(s);
        const a = fixtureBands(student, cfg.wavelet, cfg.levels);
        const diff: Record<string, number[]> = {};
        if (target) {
          const b = fixtureBands(target, cfg.wavelet, cfg.levels);
          for (const k of Object.keys(a)) diff[k] = a[k].map((v, i) => v - b[k][i]);
        } else Object.assign(diff, a);
        const ref = referenceLoss(diff, cfg);
        const r = bandGroupLoss(s, t, cfg);
        const got = await readBandLoss(r);
        const label = `${student} ${target} ${cfg.wavelet} L${cfg.levels} ${cfg.distance}`;
        expect(Object.keys(got.perBand).sort(), label).toEqual(bandNames(cfg.levels).sort());
        for (const k of Object.keys(ref.perBand)) expect(close(got.perBand[k], ref.perBand[k]), `${label} ${k}`).toBe(true);
        for (const k of Object.keys(ref.perGroup)) expect(close(got.perGroup[k], ref.perGroup[k]), `${label} ${k}`).toBe(true);
        expect(close(got.total, ref.total), `${label}: ${got.total} vs ${ref.total}`).toBe(true);
        disposeBandLoss(r);
        tf.dispose([s, t]);
      }
    });

    it("pixel preset is the mean absolute pixel error", async () => {
      const s = tf.randomUniform([2, 5, 7, 3], 0, 1, "float32", 1) as tf.Tensor4D;
      const t = tf.randomUniform([2, 5, 7, 3], 0, 1, "float32", 2) as tf.Tensor4D;
      const sv = await s.data();
      const tv = await t.data();
      let ref = 0;
      for (let i = 0; i < sv.length; i++) ref += Math.abs(sv[i] - tv[i]);
      ref /= sv.length;
      const r = bandGroupLoss(s, t, lossPreset("pixel"));
      const got = await readBandLoss(r);
      disposeBandLoss(r);
      expect(close(got.total, ref)).toBe(true);
      expect(got.perBand).toEqual({pixel: got.total});
      expect(got.perGroup).toEqual({pixel: got.total});
      tf.dispose([s, t]);
    });

    it("is zero for identical inputs, for every preset and distance", async () => {
      const x = tf.randomUniform([2, 9, 11, 3], 0, 1, "float32", 5) as tf.Tensor4D;
      for (const preset of LOSS_PRESETS) {
        for (const distance of DISTANCES) {
          const r = bandGroupLoss(x, x.clone(), {...lossPreset(preset), distance});
          const v = await readBandLoss(r);
          expect(Math.abs(v.total), `${preset} ${distance}`).toBe(0);
          for (const b of Object.values(v.perBand)) expect(Math.abs(b)).toBe(0);
          disposeBandLoss(r);
        }
      }
      x.dispose();
    });

    it("gradient matches central finite differences (every preset and distance)", async () => {
      // The difference is built in the wavelet domain with every coefficient in 0.1..0.5 in magnitude,
      // so a step of 1e-2 on one pixel (which moves any coefficient by at most 1e-2) cannot carry a
      // coefficient across L1's kink at 0: the central difference is then exact for L1 and L2 and
      // exact to O(h^2 eps^2 / d^4) for Charbonnier, leaving float32 rounding of the loss as the error.
      const configs: BandLossConfig[] = [];
      for (const distance of DISTANCES) {
        for (const preset of LOSS_PRESETS) configs.push({...lossPreset(preset), distance});
        configs.push({...lossPreset("uniform", 3, "db2"), distance});
        configs.push({...lossPreset("dtkd", 2, "sym4"), distance});
      }
      const shape: [number, number, number, number] = [1, 8, 16, 2];
      const h = 1e-2;
      const coords: [number, number, number][] = [[0, 0, 0], [7, 15, 1], [3, 5, 0], [4, 10, 1], [1, 14, 0]];
      const target = tf.randomUniform(shape, 0, 1, "float32", 31) as tf.Tensor4D;
      for (const cfg of configs) {
        const student = tf.tidy(() => {
          const mag = tf.randomUniform(shape, 0.1, 0.5, "float32", 32);
          const sign = tf.sign(tf.randomUniform(shape, -1, 1, "float32", 33));
          const coeffs = tf.mul(mag, sign) as tf.Tensor4D;
          if (cfg.levels === 0) return tf.add(target, coeffs) as tf.Tensor4D;
          const layout = dwt(coeffs, {wavelet: cfg.wavelet, levels: cfg.levels});
          // Refill every band with well-separated values, then synthesise the pixel difference.
          let seed = 40;
          const bands: Record<string, tf.Tensor4D> = {};
          for (const [k, b] of Object.entries(layout.bands)) {
            bands[k] = tf.mul(
              tf.randomUniform(b.shape, 0.1, 0.5, "float32", seed++),
              tf.sign(tf.randomUniform(b.shape, -1, 1, "float32", seed++))
            ) as tf.Tensor4D;
          }
          return tf.add(target, idwt({...layout, bands})) as tf.Tensor4D;
        });
        const lossAt = async (x: tf.Tensor4D): Promise<number> => {
          const v = tf.tidy(() => bandGroupLoss(x, target, cfg).total);
          const out = (await v.data())[0];
          v.dispose();
          return out;
        };
        const grad = tf.tidy(() => tf.grad((x: tf.Tensor) => bandGroupLoss(x as tf.Tensor4D, target, cfg).total)(student));
        const g = await grad.data();
        const gt = tf.tidy(() => tf.grad((t: tf.Tensor) => bandGroupLoss(student, t as tf.Tensor4D, cfg).total)(target));
        // The loss depends on student - target only.
        const gtv = await gt.data();
        for (let i = 0; i < g.length; i++) expect(Math.abs(g[i] + gtv[i])).toBeLessThan(1e-6);
        const sv = await student.data();
        let scale = 0;
        for (const v of g) scale = Math.max(scale, Math.abs(v));
        expect(scale).toBeGreaterThan(0);
        for (const [r, c, ch] of coords) {
          const idx = (r * shape[2] + c) * shape[3] + ch;
          const plus = Float32Array.from(sv);
          const minus = Float32Array.from(sv);
          plus[idx] += h;
          minus[idx] -= h;
          const tp = tf.tensor4d(plus, shape);
          const tm = tf.tensor4d(minus, shape);
          const fd = ((await lossAt(tp)) - (await lossAt(tm))) / (2 * h);
          const label = `${cfg.levels ? cfg.wavelet : "pixel"} L${cfg.levels} ${cfg.distance} ${Object.keys(cfg.weights)} @${r},${c},${ch}`;
          expect(Math.abs(fd - g[idx]), `${label}: fd ${fd} analytic ${g[idx]}`).toBeLessThan(1e-3 * scale);
          tf.dispose([tp, tm]);
        }
        tf.dispose([student, grad, gt]);
      }
      target.dispose();
    });

    it("gradient through padding (odd size, sym4, L2) matches finite differences", async () => {
      // L2 makes the loss quadratic, so a large step is exact and kinks cannot interfere.
      const shape: [number, number, number, number] = [1, 7, 9, 2];
      const cfg: BandLossConfig = {...lossPreset("dtkd", 2, "sym4"), distance: "l2"};
      const s = tf.randomUniform(shape, 0, 1, "float32", 51) as tf.Tensor4D;
      const t = tf.randomUniform(shape, 0, 1, "float32", 52) as tf.Tensor4D;
      const grad = tf.tidy(() => tf.grad((x: tf.Tensor) => bandGroupLoss(x as tf.Tensor4D, t, cfg).total)(s));
      const g = await grad.data();
      const sv = await s.data();
      const h = 1e-2;
      let scale = 0;
      for (const v of g) scale = Math.max(scale, Math.abs(v));
      for (const [r, c, ch] of [[6, 8, 0], [6, 0, 1], [0, 8, 0], [5, 7, 1], [2, 3, 0]] as const) {
        const idx = (r * shape[2] + c) * shape[3] + ch;
        const vals = await Promise.all(
          [h, -h].map(async (d) => {
            const arr = Float32Array.from(sv);
            arr[idx] += d;
            const x = tf.tensor4d(arr, shape);
            const v = tf.tidy(() => bandGroupLoss(x, t, cfg).total);
            const out = (await v.data())[0];
            tf.dispose([x, v]);
            return out;
          })
        );
        const fd = (vals[0] - vals[1]) / (2 * h);
        expect(Math.abs(fd - g[idx]), `@${r},${c},${ch}: fd ${fd} analytic ${g[idx]}`).toBeLessThan(1e-3 * scale);
      }
      tf.dispose([s, t, grad]);
    });

    it("leaks no tensors in the forward result or the gradient", async () => {
      const s = tf.randomUniform([2, 9, 10, 3], 0, 1, "float32", 61) as tf.Tensor4D;
      const t = tf.randomUniform([2, 9, 10, 3], 0, 1, "float32", 62) as tf.Tensor4D;
      const cfg = lossPreset("dtkd", 2, "db2");
      const run = async () => {
        const r = bandGroupLoss(s, t, cfg);
        await readBandLoss(r);
        disposeBandLoss(r);
        const g = tf.tidy(() => tf.grad((x: tf.Tensor) => bandGroupLoss(x as tf.Tensor4D, t, cfg).total)(s));
        await g.data();
        g.dispose();
      };
      await run(); // warm the cached filter banks
      const before = tf.memory().numTensors;
      await run();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([s, t]);
    });

    it("rejects mismatched shapes and bad configs before computing", () => {
      const a = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
      const b = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
      expect(() => bandGroupLoss(a, b, lossPreset("dtkd"))).toThrow(/differ/);
      expect(() => bandGroupLoss(a, a, {...lossPreset("dtkd"), weights: {low: 1, mid: -2, high: 1}})).toThrow(/negative/);
      tf.dispose([a, b]);
    });
  });
}
