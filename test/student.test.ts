// The Swin student (src/lib/models/student.ts): shapes for any input size, parameter counts against formulas
// written out here and against the official SwinIR code's count, FLOPs, padding semantics, finiteness, equal
// outputs across attention implementations and across backends, and that it can overfit one patch.
import * as tf from "@tensorflow/tfjs";
import {afterAll, describe, expect, it} from "vitest";
import {NODE_BACKENDS, useBackend, type NodeBackend} from "./helpers/backends";
import {
  STUDENT_CONFIGS,
  checkFinite,
  createStudent,
  nonFiniteCount,
  studentFlopsPerOutputPixel,
  studentParamCount,
  type StudentConfig,
} from "../src/lib/models/student";
import {ATTENTION_IMPLS} from "../src/lib/models/swin";
import {imresize} from "../src/lib/resize";

const tiny = STUDENT_CONFIGS.tiny;

/** Deterministic values in [0, 1). */
function image(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 2147483648;
  }
  return tf.tensor4d(data, shape);
}

/** Parameter count written out layer by layer (PyTorch SwinIR module by module). */
function countByHand(c: StudentConfig): number {
  const e = c.embedDim;
  const hidden = Math.round(c.mlpRatio * e);
  const conv = (cin: number, cout: number) => 3 * 3 * cin * cout + cout;
  const lin = (cin: number, cout: number) => cin * cout + cout;
  const ln = 2 * e;
  const block = ln + lin(e, 3 * e) + (2 * c.window - 1) ** 2 * c.heads + lin(e, e) + ln + lin(e, hidden) + lin(hidden, e);
  let n = conv(3, e) + (c.patchNorm ? ln : 0);
  for (const d of c.depths) n += d * block + conv(e, e);
  return n + ln + conv(e, e) + conv(e, 3 * c.scale ** 2);
}

/** Long synchronous TF.js work starves vitest's worker RPC ("Timeout calling onTaskUpdate"); let it breathe. */
const yieldToEventLoop = () => new Promise<void>((r) => setTimeout(r, 0));

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

afterAll(() => tf.disposeVariables());

describe("student configuration arithmetic (no backend work)", () => {
  it("parameter counts match the layer-by-layer formula and the official SwinIR-light count", () => {
    for (const c of Object.values(STUDENT_CONFIGS)) expect(studentParamCount(c)).toBe(countByHand(c));
    // Official SwinIR code (network_swinir.py, upsampler 'pixelshuffledirect'): 929,628 at x4 and 910,152 at
    // x2 (the 910.2K users report in JingyunLiang/SwinIR#45); the paper's table says 897K / 878K.
    expect(studentParamCount(STUDENT_CONFIGS["swinir-light"])).toBe(929_628);
    expect(studentParamCount({...STUDENT_CONFIGS["swinir-light"], scale: 2})).toBe(910_152);
    expect(studentParamCount(tiny)).toBeGreaterThan(50_000);
    expect(studentParamCount(tiny)).toBeLessThan(150_000);
  });

  it("FLOPs per output pixel match a count by hand and charge padding to the real pixels", () => {
    // tiny on 64x64 LR: per LR pixel, convs 9*(3*32 + 2*32*32 + 32*32 + 32*48) MACs; each of 4 blocks
    // 4*32*32 (qkv + proj) + 2*32*64 (MLP) + 2*64*32 (q k^T, a v over 64 keys) MACs.
    const convMacs = 9 * (3 * 32 + 2 * 32 * 32 + 32 * 32 + 32 * 48);
    const blockMacs = 4 * 32 * 32 + 2 * 32 * 64 + 2 * 64 * 32;
    const perLr = 2 * (convMacs + 4 * blockMacs);
    expect(studentFlopsPerOutputPixel(tiny, 64, 64)).toBeCloseTo(perLr / 16, 6);
    expect(studentFlopsPerOutputPixel(tiny, 60, 60)).toBeCloseTo((perLr / 16) * (64 * 64) / (60 * 60), 6);
  });
});

for (const backend of NODE_BACKENDS) {
  describe(`student on ${backend}`, () => {
    it("starts the backend", async () => {
      await useBackend(backend);
      expect(tf.getBackend()).toBe(backend);
    });

    it("maps [N, h, w, 3] to [N, 4h, 4w, 3] for odd and tiny sizes, finite, without leaking tensors", async () => {
      const s = createStudent(tiny, 1);
      expect(s.paramCount()).toBe(studentParamCount(tiny));
      for (const shape of [
        [1, 8, 8, 3],
        [2, 13, 11, 3],
        [1, 5, 3, 3],
        [1, 1, 2, 3],
      ] as Array<[number, number, number, number]>) {
        const x = image(shape, 3);
        const y = s.apply(x);
        expect(y.shape).toEqual([shape[0], 4 * shape[1], 4 * shape[2], 3]);
        checkFinite(y, `output for ${shape}`);
        if (backend === "wasm") {
          const before = tf.memory().numTensors;
          const y2 = s.apply(x);
          expect(tf.memory().numTensors).toBe(before + 1);
          y2.dispose();
        }
        tf.dispose([x, y]);
        await yieldToEventLoop();
      }
      s.dispose();
    });

    it("pads with reflection to a window multiple and crops back (checked against padding by hand)", () => {
      const s = createStudent({...tiny, imageResidual: "none"}, 2);
      const x = image([1, 13, 10, 3], 5);
      const data = x.arraySync()[0];
      // Reflect (no edge repeat) at bottom/right to 16x16: index i >= n maps to 2(n-1) - i.
      const refl = (i: number, n: number) => (i < n ? i : 2 * (n - 1) - i);
      const padded: number[][][] = [];
      for (let i = 0; i < 16; i++) {
        padded.push([]);
        for (let j = 0; j < 16; j++) padded[i].push(data[refl(i, 13)][refl(j, 10)]);
      }
      const full = s.apply(tf.tensor4d([padded]));
      const want = tf.slice(full, [0, 0, 0, 0], [1, 52, 40, 3]);
      expect(maxAbsDiff(s.apply(x), want)).toBeLessThan(1e-5);
      s.dispose();
    });

    it("with a zeroed upsampler, the tiny student returns exactly the bilinear (half-pixel) upsampling", () => {
      const s = createStudent(tiny, 4);
      s.params["upsample.0.weight"].assign(tf.zerosLike(s.params["upsample.0.weight"]));
      s.params["upsample.0.bias"].assign(tf.zerosLike(s.params["upsample.0.bias"]));
      const x = image([1, 9, 11, 3], 6);
      expect(maxAbsDiff(s.apply(x), tf.image.resizeBilinear(x, [36, 44], false, true))).toBeLessThan(1e-6);
      s.dispose();
    });

    it("tiny-bicubic with a zeroed upsampler returns MATLAB imresize bicubic (independent implementation), any size", () => {
      const s = createStudent(STUDENT_CONFIGS["tiny-bicubic"], 4);
      s.params["upsample.0.weight"].assign(tf.zerosLike(s.params["upsample.0.weight"]));
      s.params["upsample.0.bias"].assign(tf.zerosLike(s.params["upsample.0.bias"]));
      for (const [h, w] of [[16, 16], [9, 11]]) {
        const x = image([1, h, w, 3], 7);
        const ref = imresize({width: w, height: h, channels: 3, data: x.dataSync() as Float32Array}, {scale: 4});
        const y = s.apply(x);
        expect(y.shape).toEqual([1, 4 * h, 4 * w, 3]);
        expect(maxAbsDiff(y, tf.tensor4d(ref.data, [1, 4 * h, 4 * w, 3])), `${h}x${w}`).toBeLessThan(1e-5);
      }
      expect(studentParamCount(STUDENT_CONFIGS["tiny-bicubic"])).toBe(studentParamCount(tiny));
      expect(() => s.apply(image([1, 1, 5, 3], 1))).toThrow(/at least 2 x 2/);
      s.dispose();
    });

    it("tiny-bicubic-zero starts as exact bicubic and still learns: its first gradient reaches the upsampler only", () => {
      const s = createStudent(STUDENT_CONFIGS["tiny-bicubic-zero"], 4);
      expect(studentParamCount(STUDENT_CONFIGS["tiny-bicubic-zero"])).toBe(studentParamCount(tiny));
      const x = image([1, 8, 8, 3], 9);
      const ref = imresize({width: 8, height: 8, channels: 3, data: x.dataSync() as Float32Array}, {scale: 4});
      expect(maxAbsDiff(s.apply(x), tf.tensor4d(ref.data, [1, 32, 32, 3]))).toBeLessThan(1e-5);
      const target = image([1, 32, 32, 3], 10);
      const {grads} = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(s.apply(x, {training: true}), target))) as tf.Scalar);
      const norm = (k: string) => tf.norm(grads[s.params[k].name]).dataSync()[0];
      expect(norm("upsample.0.weight")).toBeGreaterThan(1e-4);
      expect(norm("conv_first.weight")).toBe(0);
      Object.values(grads).forEach((g) => g.dispose());
      s.dispose();
    });

    it("every attention implementation gives the same student output within 1e-5", async () => {
      const s = createStudent(tiny, 5);
      const x = image([1, 16, 8, 3], 8);
      const ref = s.apply(x, {attention: "batched"});
      for (const impl of ATTENTION_IMPLS) {
        expect(maxAbsDiff(s.apply(x, {attention: impl}), ref), impl).toBeLessThan(1e-5);
        await yieldToEventLoop();
      }
      expect(maxAbsDiff(s.apply(x, {training: true}), ref)).toBeLessThan(1e-5);
      s.dispose();
    });

    it("checkFinite / nonFiniteCount catch NaN and Inf", () => {
      expect(nonFiniteCount(tf.tensor1d([0, 1, 2]))).toBe(0);
      expect(nonFiniteCount(tf.tensor1d([0, NaN, Infinity, -Infinity]))).toBe(3);
      expect(() => checkFinite(tf.tensor1d([1, NaN]), "x")).toThrow(/1 of 2/);
    });

    it(
      "overfits one 8x8 -> 32x32 patch: L1 falls by 10x (Adam 2e-3, at most 80 steps)",
      async () => {
        // A structured target (gratings of two contrasts, a step edge); LR = 4x4 box average of it.
        const hw = 32;
        const hrData = new Float32Array(hw * hw * 3);
        for (let y = 0; y < hw; y++)
          for (let x = 0; x < hw; x++)
            for (let c = 0; c < 3; c++)
              hrData[(y * hw + x) * 3 + c] = 0.5 + 0.3 * Math.sin(0.9 * x + 0.5 * y + c) * (x > hw / 2 ? 1 : 0.4) + (y > 0.6 * hw ? 0.15 : 0);
        const hr = tf.tensor4d(hrData, [1, hw, hw, 3]);
        const lr = tf.avgPool(hr, 4, 4, "valid") as tf.Tensor4D;
        const s = createStudent(tiny, 7);
        const l1 = (training: boolean) => tf.mean(tf.abs(tf.sub(s.apply(lr, {training}), hr))) as tf.Scalar;
        const initial = tf.tidy(() => l1(false).dataSync()[0]);
        const opt = tf.train.adam(2e-3);
        const vars = Object.values(s.params);
        let last = initial;
        let steps = 0;
        while (steps < 80 && last > initial / 10) {
          for (let i = 0; i < 5; i++, steps++) tf.dispose(opt.minimize(() => l1(true), false, vars) ?? []);
          last = tf.tidy(() => l1(false).dataSync()[0]);
          await yieldToEventLoop();
          expect(Number.isFinite(last)).toBe(true);
        }
        expect(last, `L1 ${initial} -> ${last} after ${steps} steps`).toBeLessThan(initial / 10);
        opt.dispose();
        s.dispose();
      },
      180_000,
    );
  });
}

describe("student across backends", () => {
  it("same seed -> same weights and the same output on wasm and cpu within 1e-4", async () => {
    const outs: Partial<Record<NodeBackend, {y: Float32Array; w: Float32Array}>> = {};
    for (const backend of NODE_BACKENDS) {
      await useBackend(backend);
      const s = createStudent(tiny, 11);
      const y = s.apply(image([2, 16, 24, 3], 9), {training: true});
      checkFinite(y);
      outs[backend] = {y: y.dataSync() as Float32Array, w: s.params["layers.1.residual_group.blocks.1.attn.qkv.weight"].dataSync() as Float32Array};
      y.dispose();
      s.dispose();
    }
    const a = outs.wasm!;
    const b = outs.cpu!;
    expect(a.w).toEqual(b.w);
    let m = 0;
    for (let i = 0; i < a.y.length; i++) m = Math.max(m, Math.abs(a.y[i] - b.y[i]));
    expect(m).toBeLessThan(1e-4);
  }, 120_000);
});
