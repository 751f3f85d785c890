import * as tf from "@tensorflow/tfjs";
import {beforeAll, describe, expect, it} from "vitest";
import {useBackend} from "./helpers/backends";
import {
  makeSchedule,
  marginalCoefs,
  normalTensor,
  posteriorCoefs,
  posteriorMean,
  qSample,
  qStep,
  sample,
  type ResShiftConfig,
} from "../src/lib/diffusion.js";
import {createRng} from "../src/lib/rng.js";

const CFG: ResShiftConfig = {T: 4, kappa: 0.04, p: 0.3, sqrtEta1: 0.1, sqrtEtaT: 0.99};
const CFG15: ResShiftConfig = {T: 15, kappa: 2, p: 0.3, sqrtEta1: 0.02, sqrtEtaT: 0.99};

beforeAll(async () => {
  await useBackend("wasm");
});

function meanVar(a: Float32Array | number[]): {mean: number; variance: number} {
  let s = 0;
  for (const v of a) s += v;
  const mean = s / a.length;
  let s2 = 0;
  for (const v of a) s2 += (v - mean) ** 2;
  return {mean, variance: s2 / (a.length - 1)};
}

describe("ResShift schedule", () => {
  it("matches the published formula (T=15, ResShift's own settings) at every step", () => {
    const s = makeSchedule(CFG15);
    // Written out independently: sqrt(eta_t) = sqrt(eta_1) * b^(((t-1)/(T-1))^p * (T-1)).
    const b = Math.pow(0.99 / 0.02, 1 / 14);
    for (let t = 1; t <= 15; t++) {
      const expected = (0.02 * Math.pow(b, Math.pow((t - 1) / 14, 0.3) * 14)) ** 2;
      expect(s.eta[t]).toBeCloseTo(expected, 12);
    }
    expect(s.eta[0]).toBe(0);
    expect(s.eta[1]).toBeCloseTo(0.02 ** 2, 14);
    expect(s.eta[15]).toBeCloseTo(0.99 ** 2, 14);
    for (let t = 1; t <= 15; t++) {
      expect(s.eta[t]).toBeGreaterThan(s.eta[t - 1]);
      expect(s.alpha[t]).toBeCloseTo(s.eta[t] - s.eta[t - 1], 14);
    }
  });

  it("rejects invalid settings", () => {
    expect(() => makeSchedule({...CFG, T: 0})).toThrow(/T must be/);
    expect(() => makeSchedule({...CFG, kappa: 0})).toThrow(/kappa/);
    expect(() => makeSchedule({...CFG, sqrtEta1: 0.5, sqrtEtaT: 0.4})).toThrow(/sqrt\(eta_1\)/);
    expect(() => marginalCoefs(makeSchedule(CFG), 5)).toThrow(/outside 1..4/);
  });
});

describe("forward process", () => {
  const s = makeSchedule(CFG);

  it("qSample is exactly x0 + eta (y - x0) + kappa sqrt(eta) noise, per-sample steps", () => {
    const x0 = tf.tensor2d([0.2, 0.9, 0.5, 0.1, 0.3, 0.7, 0.6, 0.4], [4, 2]);
    const y = tf.tensor2d([0.4, 0.5, 0.5, 0.3, 0.1, 0.2, 0.9, 0.8], [4, 2]);
    const noise = tf.tensor2d([1, -2, 0.5, 0, -1, 3, 2, -0.5], [4, 2]);
    const steps = [1, 2, 3, 4];
    const got = qSample(s, x0, y, steps, noise).arraySync() as number[][];
    const X = x0.arraySync() as number[][];
    const Y = y.arraySync() as number[][];
    const N = noise.arraySync() as number[][];
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 2; j++) {
        const e = s.eta[steps[i]];
        expect(got[i][j]).toBeCloseTo(X[i][j] + e * (Y[i][j] - X[i][j]) + 0.04 * Math.sqrt(e) * N[i][j], 6);
      }
    tf.dispose([x0, y, noise]);
  });

  it("Monte Carlo mean and variance of x_t match the closed form", () => {
    const n = 40000;
    const rng = createRng(3);
    for (const t of [1, 2, 4]) {
      const x0 = tf.fill([n], 0.3);
      const y = tf.fill([n], 0.8);
      const xt = qSample(s, x0, y, t, normalTensor([n], rng));
      const {mean, variance} = meanVar((xt as tf.Tensor).dataSync() as Float32Array);
      const c = marginalCoefs(s, t);
      // Within 4 standard errors of the mean.
      expect(Math.abs(mean - (0.3 + s.eta[t] * 0.5))).toBeLessThan((4 * c.std) / Math.sqrt(n));
      // Standard error of a variance estimate: var * sqrt(2/n) ~ 0.7%.
      expect(variance / (c.std * c.std)).toBeGreaterThan(0.97);
      expect(variance / (c.std * c.std)).toBeLessThan(1.03);
      tf.dispose([x0, y, xt]);
    }
  });

  it("chaining the one-step transitions from x0 reproduces the marginal q(x_t | x0, y)", () => {
    const n = 40000;
    const rng = createRng(4);
    const x0 = tf.fill([n], 0.25);
    const y = tf.fill([n], 0.75);
    let x = tf.clone(x0);
    for (let t = 1; t <= s.T; t++) {
      const next = qStep(s, x, x0, y, t, normalTensor([n], rng));
      x.dispose();
      x = next;
      const {mean, variance} = meanVar(x.dataSync() as Float32Array);
      const want = CFG.kappa ** 2 * s.eta[t];
      expect(Math.abs(mean - (0.25 + s.eta[t] * 0.5))).toBeLessThan(4 * Math.sqrt(want / n));
      expect(variance / want).toBeGreaterThan(0.97);
      expect(variance / want).toBeLessThan(1.03);
    }
    tf.dispose([x, x0, y]);
  });
});

describe("posterior q(x_{t-1} | x_t, x0)", () => {
  it("equals Gaussian conditioning of the joint (x_{t-1}, x_t) given x0", () => {
    for (const cfg of [CFG, CFG15]) {
      const s = makeSchedule(cfg);
      const k2 = cfg.kappa ** 2;
      const x0 = 0.3;
      const y = 0.7;
      for (let t = 2; t <= cfg.T; t++) {
        // Joint: x_{t-1} ~ N(mu1, k2 eta_{t-1}), x_t = x_{t-1} + alpha_t (y - x0) + N(0, k2 alpha_t).
        const mu1 = x0 + s.eta[t - 1] * (y - x0);
        const mu2 = x0 + s.eta[t] * (y - x0);
        const v1 = k2 * s.eta[t - 1];
        const v2 = k2 * s.eta[t];
        const c12 = v1;
        for (const xt of [0.1, 0.65, 1.2]) {
          const condMean = mu1 + (c12 / v2) * (xt - mu2);
          const condVar = v1 - (c12 * c12) / v2;
          const p = posteriorCoefs(s, t);
          expect(p.cXt * xt + p.cX0 * x0).toBeCloseTo(condMean, 12);
          expect(p.variance).toBeCloseTo(condVar, 12);
        }
      }
      // At t = 1 the posterior collapses onto x0 (eta_0 = 0).
      const p1 = posteriorCoefs(s, 1);
      expect(p1.cXt).toBe(0);
      expect(p1.cX0).toBeCloseTo(1, 14);
      expect(p1.variance).toBe(0);
    }
  });

  it("posteriorMean applies the coefficients to tensors", () => {
    const s = makeSchedule(CFG);
    const xt = tf.tensor1d([0.2, 0.4]);
    const x0 = tf.tensor1d([0.5, 0.1]);
    const got = posteriorMean(s, xt, x0, 3).dataSync();
    const p = posteriorCoefs(s, 3);
    expect(got[0]).toBeCloseTo(p.cXt * 0.2 + p.cX0 * 0.5, 6);
    expect(got[1]).toBeCloseTo(p.cXt * 0.4 + p.cX0 * 0.1, 6);
    tf.dispose([xt, x0]);
  });
});

describe("sampler", () => {
  const s = makeSchedule(CFG);
  let y: tf.Tensor;
  beforeAll(() => {
    y = tf.tidy(() => tf.linspace(0, 1, 48).reshape([2, 4, 2, 3]));
  });
  // A stand-in network: x0 estimate depends on x_t and t, so noise propagates through the chain.
  const predict = (xt: tf.Tensor, t: number) => tf.add(tf.mul(xt, 0.9), 0.01 * t);

  const run = (seed: number, mode: "stochastic" | "ddim" | "mean", trajectory = false) =>
    sample(s, predict, y, createRng(seed), {mode, trajectory});

  it("is deterministic for a fixed seed and differs across seeds (stochastic)", () => {
    const a = run(1, "stochastic");
    const b = run(1, "stochastic");
    const c = run(2, "stochastic");
    expect(Array.from(a.x0.dataSync())).toEqual(Array.from(b.x0.dataSync()));
    expect(tf.max(tf.abs(tf.sub(a.x0, c.x0))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([a.x0, b.x0, c.x0]);
  });

  it("ddim repeats for a seed, varies with the seed only through x_T; mean mode ignores the seed", () => {
    const a = run(5, "ddim");
    const b = run(5, "ddim");
    const c = run(6, "ddim");
    expect(Array.from(a.x0.dataSync())).toEqual(Array.from(b.x0.dataSync()));
    expect(tf.max(tf.abs(tf.sub(a.x0, c.x0))).dataSync()[0]).toBeGreaterThan(1e-4);
    const m1 = run(1, "mean");
    const m2 = run(99, "mean");
    expect(Array.from(m1.x0.dataSync())).toEqual(Array.from(m2.x0.dataSync()));
    tf.dispose([a.x0, b.x0, c.x0, m1.x0, m2.x0]);
  });

  it("ddim draws no noise after x_T: it consumes exactly one tensor of normals", () => {
    const n = y.size;
    const r1 = createRng(8);
    const r2 = createRng(8);
    sample(s, predict, y, r1, {mode: "ddim"}).x0.dispose();
    for (let i = 0; i < n; i++) r2.normal();
    expect(r1.normal()).toBe(r2.normal());
  });

  it("returns the trajectory x_T..x_0 (T+1 states) with x_T = y + kappa sqrt(eta_T) eps and x_0 last", () => {
    const res = run(3, "stochastic", true);
    expect(res.trajectory).toHaveLength(s.T + 1);
    const eps = normalTensor(y.shape, createRng(3));
    const xT = tf.add(y, tf.mul(CFG.kappa * Math.sqrt(s.eta[s.T]), eps));
    expect(tf.max(tf.abs(tf.sub(res.trajectory![0], xT))).dataSync()[0]).toBeLessThan(1e-6);
    expect(Array.from(res.trajectory![s.T].dataSync())).toEqual(Array.from(res.x0.dataSync()));
    // The last step is the network's x0 prediction from x_1.
    const last = predict(res.trajectory![s.T - 1], 1);
    expect(tf.max(tf.abs(tf.sub(last, res.x0))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([res.x0, ...res.trajectory!, eps, xT, last]);
  });

  it("with an oracle x0 the ddim chain stays on the forward process's mean path plus scaled prior noise", () => {
    // If the predictor returns the true x0, x_{t-1} = x0 + eta_{t-1}(y - x0) + kappa sqrt(eta_{t-1}) eps_hat, with
    // eps_hat the prior's noise rescaled: x_{t-1} - x0 - eta_{t-1}(y - x0) = sqrt(eta_{t-1}/eta_t) (same at t).
    const x0 = tf.tidy(() => tf.mul(y, 0.5));
    const res = sample(s, () => tf.clone(x0), y, createRng(12), {mode: "ddim", trajectory: true});
    const tr = res.trajectory!;
    for (let k = 1; k < s.T; k++) {
      const t = s.T - k;
      const tp = t + 1;
      const rPrev = tf.sub(tf.sub(tr[k - 1], x0), tf.mul(s.eta[tp], tf.sub(y, x0)));
      const rNow = tf.sub(tf.sub(tr[k], x0), tf.mul(s.eta[t], tf.sub(y, x0)));
      const expected = tf.mul(rPrev, Math.sqrt(s.eta[t] / s.eta[tp]));
      expect(tf.max(tf.abs(tf.sub(rNow, expected))).dataSync()[0]).toBeLessThan(1e-6);
      tf.dispose([rPrev, rNow, expected]);
    }
    tf.dispose([x0, res.x0, ...tr]);
  });

  it("onStep is called once per step, in order, and does not change the sample", () => {
    for (const mode of ["stochastic", "ddim", "mean"] as const) {
      const calls: {step: number; t: number; of: number; sum: number}[] = [];
      const withHook = sample(s, predict, y, createRng(21), {
        mode,
        trajectory: true,
        onStep: ({step, t, of, xt}) => calls.push({step, t, of, sum: tf.sum(xt).dataSync()[0]}),
      });
      const plain = sample(s, predict, y, createRng(21), {mode, trajectory: true});
      expect(calls.map((c) => c.step)).toEqual([1, 2, 3, 4]);
      expect(calls.map((c) => c.t)).toEqual([4, 3, 2, 1]);
      expect(calls.every((c) => c.of === s.T)).toBe(true);
      // The state handed to the hook is the trajectory's state after that step.
      calls.forEach((c, i) => expect(c.sum).toBeCloseTo(tf.sum(plain.trajectory![i + 1]).dataSync()[0], 4));
      expect(Array.from(withHook.x0.dataSync())).toEqual(Array.from(plain.x0.dataSync()));
      tf.dispose([withHook.x0, plain.x0, ...withHook.trajectory!, ...plain.trajectory!]);
    }
  });
});
