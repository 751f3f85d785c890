import * as tf from "@tensorflow/tfjs";
import {describe, expect, it} from "vitest";
import {useBackend} from "./helpers/backends";
import {
  bicubicUnshuffleFilter,
  bicubicUpsampleUnshuffled,
  conv2d,
  dense,
  film,
  groupNorm,
  Params,
  pixelShuffle,
  pixelUnshuffle,
  sinusoidalEmbedding,
  stopGradient,
} from "../src/lib/models/layers.js";
import {imresize} from "../src/lib/resize.js";
import {createRng} from "../src/lib/rng.js";

function randn(shape: number[], seed: number): tf.Tensor {
  const r = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({length: n}, () => r.normal()), shape);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Native TF.js gradients of sum(conv2d(x, w) * g) on the cpu backend: the reference. */
function nativeConvGrads(x: tf.Tensor4D, w: tf.Tensor4D, g: tf.Tensor4D): {dx: Float32Array; dw: Float32Array; y: Float32Array} {
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same"), g));
  const [dx, dw] = tf.grads(f)([x, w]);
  const y = tf.conv2d(x, w, 1, "same");
  return {dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array, y: y.dataSync() as Float32Array};
}

function fastConvGrads(x: tf.Tensor4D, w: tf.Tensor4D, g: tf.Tensor4D, inputGrad = true) {
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, undefined, {inputGrad}), g));
  const [dx, dw] = tf.grads(f)([x, w]);
  const y = conv2d(x, w);
  return {dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array, y: y.dataSync() as Float32Array};
}

const CASES: {x: [number, number, number, number]; k: number; co: number}[] = [
  {x: [2, 7, 5, 3], k: 3, co: 4},
  {x: [3, 6, 9, 5], k: 5, co: 2},
  {x: [1, 8, 8, 16], k: 3, co: 16},
  {x: [2, 5, 4, 3], k: 1, co: 6},
];

describe("conv2d with forward-conv gradients", () => {
  it("equals the cpu backend's native gradient within 1e-4 (odd sizes, K = 1, 3, 5), on cpu and on wasm", async () => {
    for (const backend of ["cpu", "wasm"] as const) {
      for (const [i, c] of CASES.entries()) {
        await useBackend("cpu");
        const mk = () => ({
          x: randn(c.x, 10 + i) as tf.Tensor4D,
          w: randn([c.k, c.k, c.x[3], c.co], 20 + i) as tf.Tensor4D,
          g: randn([c.x[0], c.x[1], c.x[2], c.co], 30 + i) as tf.Tensor4D,
        });
        const a = mk();
        const ref = nativeConvGrads(a.x, a.w, a.g);
        await useBackend(backend);
        const b = mk();
        const got = fastConvGrads(b.x, b.w, b.g);
        expect(maxAbsDiff(got.y, ref.y)).toBeLessThan(1e-4);
        expect(maxAbsDiff(got.dx, ref.dx)).toBeLessThan(1e-4);
        expect(maxAbsDiff(got.dw, ref.dw)).toBeLessThan(1e-4);
        // inputGrad: false keeps the filter gradient and returns a zero input gradient (KxK path, K > 1).
        if (c.k === 1) continue;
        const nog = fastConvGrads(b.x, b.w, b.g, false);
        expect(maxAbsDiff(nog.dw, ref.dw)).toBeLessThan(1e-4);
        expect(Math.max(...Array.from(nog.dx).map(Math.abs))).toBe(0);
      }
    }
  });

  it("adds the bias and trains through tf.variableGrads on wasm (no Conv2DBackpropFilter needed)", async () => {
    await useBackend("wasm");
    const p = new Params(createRng(1));
    const w = p.add("w", [3, 3, 2, 3], {kind: "he", fanIn: 18});
    const b = p.add("b", [3], {kind: "normal", std: 1});
    const x = randn([1, 4, 4, 2], 2) as tf.Tensor4D;
    const y = conv2d(x, w, b);
    const y0 = tf.conv2d(x, w as unknown as tf.Tensor4D, 1, "same");
    expect(maxAbsDiff(tf.sub(y, y0).dataSync(), tf.mul(tf.ones([1, 4, 4, 3]), b).dataSync())).toBeLessThan(1e-5);
    const {grads} = tf.variableGrads(() => tf.sum(conv2d(x, w, b)) as tf.Scalar);
    expect(Object.keys(p.byParamName(grads)).sort()).toEqual(["b", "w"]);
    expect(Array.from(p.byParamName(grads).b.dataSync())).toEqual([16, 16, 16]);
    p.dispose();
  });
});

describe("pixel (un)shuffle", () => {
  it("unshuffle puts pixel (y*r+dy, x*r+dx, c) at channel (dy*r+dx)*C + c, and shuffle inverts it", async () => {
    await useBackend("wasm");
    const [n, h, w, c, r] = [2, 8, 12, 3, 4];
    const data = Float32Array.from({length: n * h * w * c}, (_, i) => i);
    const x = tf.tensor4d(data, [n, h, w, c]);
    const u = pixelUnshuffle(x, r);
    expect(u.shape).toEqual([n, h / r, w / r, c * r * r]);
    const ud = u.dataSync();
    const C = c * r * r;
    for (let b = 0; b < n; b++)
      for (let yy = 0; yy < h; yy++)
        for (let xx = 0; xx < w; xx++)
          for (let k = 0; k < c; k++) {
            const src = ((b * h + yy) * w + xx) * c + k;
            const ch = ((yy % r) * r + (xx % r)) * c + k;
            const dst = ((b * (h / r) + Math.floor(yy / r)) * (w / r) + Math.floor(xx / r)) * C + ch;
            expect(ud[dst]).toBe(data[src]);
          }
    expect(Array.from(pixelShuffle(u, r).dataSync())).toEqual(Array.from(data));
  });

  it("has gradients on wasm (reshape/transpose only)", async () => {
    await useBackend("wasm");
    const x = randn([1, 4, 4, 3], 5) as tf.Tensor4D;
    const wts = randn([1, 2, 2, 12], 6);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pixelUnshuffle(a as tf.Tensor4D, 2), wts)))(x);
    // d/dx of <unshuffle(x), W> is shuffle(W).
    expect(maxAbsDiff(g.dataSync(), pixelShuffle(wts as tf.Tensor4D, 2).dataSync())).toBe(0);
  });
});

describe("normalisation, FiLM, dense, embeddings", () => {
  it("groupNorm standardises each (sample, group) and matches a plain JS reference", async () => {
    await useBackend("wasm");
    const [n, h, w, c, G] = [2, 3, 4, 8, 4];
    const x = randn([n, h, w, c], 9) as tf.Tensor4D;
    const xs = x.dataSync();
    const got = groupNorm(x, G).dataSync();
    const cg = c / G;
    for (let b = 0; b < n; b++)
      for (let g = 0; g < G; g++) {
        const idx: number[] = [];
        for (let p = 0; p < h * w; p++) for (let k = 0; k < cg; k++) idx.push((b * h * w + p) * c + g * cg + k);
        const m = idx.reduce((s, i) => s + xs[i], 0) / idx.length;
        const v = idx.reduce((s, i) => s + (xs[i] - m) ** 2, 0) / idx.length;
        for (const i of idx) expect(got[i]).toBeCloseTo((xs[i] - m) / Math.sqrt(v + 1e-5), 4);
      }
  });

  it("film is x * (1 + scale) + shift per sample and channel", async () => {
    await useBackend("wasm");
    const x = tf.ones([2, 2, 2, 3]) as tf.Tensor4D;
    const out = film(x, tf.tensor2d([[0, 1, 2], [3, 4, 5]]), tf.tensor2d([[1, 1, 1], [0, 0, -1]])).arraySync() as number[][][][];
    expect(out[0][1][1]).toEqual([2, 3, 4]);
    expect(out[1][0][1]).toEqual([4, 5, 5]);
  });

  it("dense has gradients on wasm and equals x W + b", async () => {
    await useBackend("wasm");
    const x = randn([5, 3], 1) as tf.Tensor2D;
    const w = randn([3, 4], 2);
    const b = randn([4], 3);
    const y = dense(x, w, b);
    expect(maxAbsDiff(y.dataSync(), tf.add(tf.matMul(x, w as tf.Tensor2D), b).dataSync())).toBeLessThan(1e-6);
    const [dw] = tf.grads((ww: tf.Tensor) => tf.sum(dense(x, ww, b)))([w]);
    expect(maxAbsDiff(dw.dataSync(), tf.matMul(x, tf.ones([5, 4]), true, false).dataSync())).toBeLessThan(1e-5);
  });

  it("stopGradient passes values and blocks gradients", async () => {
    await useBackend("wasm");
    const x = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.add(tf.mul(stopGradient(a), a), stopGradient(a))))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 2, 3]);
  });

  it("sinusoidal embedding: cos/sin halves, position 0 gives [1..1, 0..0]", async () => {
    await useBackend("wasm");
    const e = sinusoidalEmbedding([0, 3], 8).arraySync();
    expect(e[0]).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(e[1][0]).toBeCloseTo(Math.cos(3), 6);
    expect(e[1][4]).toBeCloseTo(Math.sin(3), 6);
    expect(e[1][5]).toBeCloseTo(Math.sin(3 * Math.exp(-Math.log(10000) / 4)), 6);
  });

  it("Params initialisation is seeded (same seed, same weights) and counts parameters", async () => {
    await useBackend("wasm");
    const a = new Params(createRng(4));
    const b = new Params(createRng(4));
    a.add("w", [3, 3, 4, 5], {kind: "he", fanIn: 36});
    b.add("w", [3, 3, 4, 5], {kind: "he", fanIn: 36});
    a.add("b", [5], {kind: "zeros"});
    expect(Array.from(a.get("w").dataSync())).toEqual(Array.from(b.get("w").dataSync()));
    expect(a.count()).toBe(185);
    expect(() => a.add("b", [5], {kind: "zeros"})).toThrow(/duplicate/);
    a.dispose();
    b.dispose();
  });
});

describe("bicubic base upsampling", () => {
  it("equals MATLAB-style imresize bicubic x4 (resize.ts) including borders", async () => {
    await useBackend("wasm");
    const [h, w] = [9, 7];
    const r = createRng(2);
    const data = Float32Array.from({length: h * w * 3}, () => r.uniform());
    const ref = imresize({width: w, height: h, channels: 3, data}, {scale: 4});
    const up = pixelShuffle(bicubicUpsampleUnshuffled(tf.tensor4d(data, [1, h, w, 3]), bicubicUnshuffleFilter(4, 3)), 4);
    expect(up.shape).toEqual([1, 4 * h, 4 * w, 3]);
    expect(maxAbsDiff(up.dataSync(), ref.data)).toBeLessThan(1e-5);
  });
});
