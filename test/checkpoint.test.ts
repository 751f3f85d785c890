import * as tf from "@tensorflow/tfjs";
import {existsSync, mkdtempSync, readdirSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {useBackend} from "./helpers/backends";
import {
  assignVariables,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  variablesToTensors,
} from "../src/lib/checkpoint.js";
import {Params} from "../src/lib/models/layers.js";
import {createRng} from "../src/lib/rng.js";
import {Adam, globalNorm} from "../src/lib/train/adam.js";
import {readFileIfExists, writeFileAtomic} from "../src/lib/train/checkpoint-file.js";
import {learningRate} from "../src/lib/train/lr-schedule.js";

let dir: string;
beforeAll(async () => {
  await useBackend("wasm");
  dir = mkdtempSync(join(tmpdir(), "dtkd-ckpt-"));
});
afterAll(() => rmSync(dir, {recursive: true, force: true}));

describe("checkpoint format", () => {
  it("round-trips metadata and float32 tensors exactly, bfloat16 within 2^-8 relative", () => {
    const r = createRng(1);
    const a = Float32Array.from({length: 1000}, () => r.normal() * 10 ** r.int(-12, 6));
    const b = Float32Array.from({length: 6}, (_, i) => i - 2.5);
    const meta = {step: 1234, config: {T: 4, kappa: 0.04}, note: "héllo"};
    const bytes = encodeCheckpoint(meta, [
      {name: "params/w", shape: [10, 100], data: a},
      {name: "adam.v/w", shape: [10, 100], data: a, dtype: "bfloat16"},
      {name: "params/b", shape: [2, 3], data: b},
    ]);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe("DTKDCKPT");
    const d = decodeCheckpoint(bytes);
    expect(d.meta).toEqual(meta);
    expect(Array.from(d.tensors.get("params/w")!.data)).toEqual(Array.from(a));
    expect(d.tensors.get("params/b")!.shape).toEqual([2, 3]);
    const v = d.tensors.get("adam.v/w")!.data;
    for (let i = 0; i < a.length; i++) expect(Math.abs(v[i] - a[i])).toBeLessThanOrEqual(Math.abs(a[i]) * 2 ** -8);
    // bf16 halves the storage of that tensor.
    const f32Only = encodeCheckpoint(meta, [{name: "x", shape: [1000], data: a}]).length;
    const bf16Only = encodeCheckpoint(meta, [{name: "x", shape: [1000], data: a, dtype: "bfloat16"}]).length;
    expect(f32Only - bf16Only).toBe(2000);
  });

  it("rejects foreign, truncated and inconsistent input with CheckpointError", () => {
    const good = encodeCheckpoint({}, [{name: "t", shape: [4], data: new Float32Array(4)}]);
    const bad = good.slice();
    bad[0] = 0x58;
    expect(() => decodeCheckpoint(bad)).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(good.subarray(0, good.length - 4))).toThrow(/truncated/);
    const v2 = good.slice();
    new DataView(v2.buffer).setUint32(8, 2, true);
    expect(() => decodeCheckpoint(v2)).toThrow(/version 2/);
    expect(() => encodeCheckpoint({}, [{name: "t", shape: [5], data: new Float32Array(4)}])).toThrow(/needs 5 values/);
    expect(() =>
      encodeCheckpoint({}, [
        {name: "t", shape: [1], data: new Float32Array(1)},
        {name: "t", shape: [1], data: new Float32Array(1)},
      ]),
    ).toThrow(/duplicate/);
  });

  it("restores variables by name and refuses missing or mis-shaped ones", async () => {
    const p = new Params(createRng(3));
    p.add("a.w", [3, 4], {kind: "he", fanIn: 3});
    p.add("a.b", [4], {kind: "normal", std: 1});
    const bytes = encodeCheckpoint({}, await variablesToTensors(p.vars, "params"));
    const q = new Params(createRng(99));
    q.add("a.w", [3, 4], {kind: "he", fanIn: 3});
    q.add("a.b", [4], {kind: "zeros"});
    assignVariables(q.vars, decodeCheckpoint(bytes), "params");
    expect(Array.from(q.get("a.w").dataSync())).toEqual(Array.from(p.get("a.w").dataSync()));
    expect(Array.from(q.get("a.b").dataSync())).toEqual(Array.from(p.get("a.b").dataSync()));
    const r = new Params(createRng(1));
    r.add("a.w", [4, 3], {kind: "zeros"});
    expect(() => assignVariables(r.vars, decodeCheckpoint(bytes), "params")).toThrow(/shape \[3,4\].*expects \[4,3\]/);
    const s = new Params(createRng(1));
    s.add("c", [1], {kind: "zeros"});
    expect(() => assignVariables(s.vars, decodeCheckpoint(bytes), "params")).toThrow(/no tensor "params\/c"/);
    [p, q, r, s].forEach((x) => x.dispose());
  });

  it("writes atomically: no temporary file is left and the file reads back", () => {
    const path = join(dir, "sub", "x.ckpt");
    const bytes = encodeCheckpoint({k: 1}, [{name: "t", shape: [2], data: new Float32Array([1, 2])}]);
    writeFileAtomic(path, bytes);
    writeFileAtomic(path, bytes);
    expect(readdirSync(join(dir, "sub"))).toEqual(["x.ckpt"]);
    expect(Array.from(readFileIfExists(path)!)).toEqual(Array.from(bytes));
    expect(readFileIfExists(join(dir, "missing.ckpt"))).toBeNull();
    expect(existsSync(path)).toBe(true);
  });
});

describe("training state", () => {
  it("Adam matches tf.train.adam step for step", () => {
    const p = new Params(createRng(5));
    const w = p.add("w", [6], {kind: "normal", std: 1});
    const w2 = tf.variable(tf.clone(w));
    const target = tf.tensor1d([1, -2, 3, 0.5, 0, -1]);
    const mine = new Adam(p.vars);
    const ref = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
    for (let i = 0; i < 25; i++) {
      const {grads} = tf.variableGrads(() => tf.sum(tf.square(tf.sub(w, target))) as tf.Scalar, [w]);
      mine.apply(p.byParamName(grads), 0.01);
      ref.minimize(() => tf.sum(tf.square(tf.sub(w2, target))) as tf.Scalar, false, [w2]);
    }
    const a = w.dataSync();
    const b = w2.dataSync();
    for (let i = 0; i < 6; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    mine.dispose();
    p.dispose();
  });

  it("Adam given the norm read elsewhere (globalNorm, async) makes exactly the update it makes alone", async () => {
    const run = async (known: boolean) => {
      const p = new Params(createRng(5));
      p.add("w", [3], {kind: "zeros"});
      const before = tf.memory().numTensors;
      const adam = new Adam(p.vars, {clipNorm: 1});
      const grads = {w: tf.tensor1d([3, -4, 12])};
      const n = globalNorm(grads);
      const norm = adam.apply(grads, 0.1, known ? (await n.data())[0] : undefined);
      const w = Array.from(await p.vars.get("w")!.data());
      tf.dispose([n, grads.w]);
      adam.dispose();
      const leaked = tf.memory().numTensors - before;
      p.dispose();
      return {norm, w, leaked};
    };
    const start = tf.memory().numTensors;
    const alone = await run(false);
    const given = await run(true);
    expect(alone.norm).toBeCloseTo(13, 5);
    expect(given).toEqual(alone);
    expect(alone.leaked).toBe(0);
    // Params releases the temporary each parameter is copied from (it once leaked one tensor per parameter).
    expect(tf.memory().numTensors).toBe(start);
  });

  it("Adam clips the global gradient norm and reports it", () => {
    const p = new Params(createRng(5));
    p.add("w", [2], {kind: "zeros"});
    const adam = new Adam(p.vars, {clipNorm: 1});
    const norm = adam.apply({w: tf.tensor1d([3, 4])}, 0.1);
    expect(norm).toBeCloseTo(5, 5);
    // m after one step = (1 - beta1) * clipped gradient = 0.1 * [0.6, 0.8].
    const m = adam.m.get("w")!.dataSync();
    expect(m[0]).toBeCloseTo(0.06, 6);
    expect(m[1]).toBeCloseTo(0.08, 6);
    adam.dispose();
    p.dispose();
  });

  it("restoring Adam's moments and step count continues the same trajectory", async () => {
    const run = (p: Params, adam: Adam, steps: number) => {
      const w = p.get("w");
      for (let i = 0; i < steps; i++) {
        const {grads} = tf.variableGrads(() => tf.sum(tf.pow(tf.sub(w, 0.3), 4)) as tf.Scalar, [w]);
        adam.apply(p.byParamName(grads), 0.05);
      }
    };
    const mk = () => {
      const p = new Params(createRng(8));
      p.add("w", [5], {kind: "normal", std: 1});
      return p;
    };
    const full = mk();
    const fullAdam = new Adam(full.vars);
    run(full, fullAdam, 20);

    const first = mk();
    const firstAdam = new Adam(first.vars);
    run(first, firstAdam, 10);
    const bytes = encodeCheckpoint({t: firstAdam.t}, [
      ...(await variablesToTensors(first.vars, "params")),
      ...(await variablesToTensors(firstAdam.m, "adam.m")),
      ...(await variablesToTensors(firstAdam.v, "adam.v")),
    ]);
    const ck = decodeCheckpoint<{t: number}>(bytes);
    const resumed = new Params(createRng(1234));
    resumed.add("w", [5], {kind: "zeros"});
    const resumedAdam = new Adam(resumed.vars);
    assignVariables(resumed.vars, ck, "params");
    assignVariables(resumedAdam.m, ck, "adam.m");
    assignVariables(resumedAdam.v, ck, "adam.v");
    resumedAdam.t = ck.meta.t;
    run(resumed, resumedAdam, 10);
    expect(Array.from(resumed.get("w").dataSync())).toEqual(Array.from(full.get("w").dataSync()));
  });

  it("learning rate: linear warm-up, then constant or cosine to minFactor", () => {
    const s = {base: 1e-3, warmupSteps: 10, decaySteps: 0, minFactor: 0.1};
    expect(learningRate(s, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 9)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 5000)).toBe(1e-3);
    const c = {...s, decaySteps: 100};
    expect(learningRate(c, 60)).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5), 12);
    expect(learningRate(c, 110)).toBeCloseTo(1e-4, 12);
    expect(learningRate(c, 1e6)).toBeCloseTo(1e-4, 12);
  });
});
