import * as tf from "@tensorflow/tfjs";
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {NODE_BACKENDS, useBackend} from "./helpers/backends";
import {encodeCheckpoint, decodeCheckpoint, assignVariables, variablesToTensors} from "../src/lib/checkpoint.js";
import {makeSchedule} from "../src/lib/diffusion.js";
import {preconditioning, Teacher, TEACHER_CONFIGS, teacherFromCheckpoint, type TeacherConfig} from "../src/lib/models/teacher.js";
import {createRng} from "../src/lib/rng.js";
import {imresize} from "../src/lib/resize.js";
import {Adam} from "../src/lib/train/adam.js";
import {DEFAULT_TEACHER_TRAIN, trainTeacher, type TeacherCheckpointMeta, type TeacherTrainOptions} from "../src/lib/train/teacher-trainer.js";

const TINY = TEACHER_CONFIGS.tiny;

/** A smooth but textured HR patch [1,s,s,3] and its 4x box-downsampled LR. */
function patch(s: number, seed: number): {hr: tf.Tensor4D; lr: tf.Tensor4D} {
  const r = createRng(seed);
  const f = [r.uniform(0.3, 1.2), r.uniform(0.3, 1.2), r.uniform(0, 6)];
  const hr = new Float32Array(s * s * 3);
  for (let y = 0; y < s; y++)
    for (let x = 0; x < s; x++)
      for (let c = 0; c < 3; c++)
        hr[(y * s + x) * 3 + c] = 0.5 + 0.3 * Math.sin(f[0] * x + f[2] + c) * Math.cos(f[1] * y) + 0.05 * r.normal();
  return tf.tidy(() => {
    const h = tf.clipByValue(tf.tensor4d(hr, [1, s, s, 3]), 0, 1) as tf.Tensor4D;
    return {hr: h, lr: tf.avgPool(h, 4, 4, "valid") as tf.Tensor4D};
  });
}

/** Parameter count written out from the architecture (independent of Params bookkeeping). */
function expectedParams(c: TeacherConfig): number {
  const conv = (k: number, ci: number, co: number) => k * k * ci * co + co;
  const out = 3 * c.scale * c.scale;
  const {channels: pc, blocks: pb} = c.predictor;
  const {channels: dc, blocks: db, embedDim: e} = c.denoiser;
  const pred = conv(3, 3, pc) + pb * 2 * conv(3, pc, pc) + conv(3, pc, out);
  const den =
    conv(3, 2 * out + pc, dc) +
    (e * 4 * e + 4 * e) +
    (4 * e * e + e) +
    db * (2 * dc + conv(3, dc, dc) + (e * 2 * dc + 2 * dc) + 2 * dc + conv(3, dc, dc)) +
    2 * dc +
    conv(3, dc, out);
  return pred + den;
}

describe("teacher architecture", () => {
  it("parameter counts follow the configuration (base: about 0.7 M)", async () => {
    await useBackend("wasm");
    for (const cfg of [TINY, TEACHER_CONFIGS.base]) {
      const t = new Teacher(cfg, createRng(1));
      const n = t.parameterCounts();
      expect(n.total).toBe(expectedParams(cfg));
      expect(n.predictor + n.denoiser).toBe(n.total);
      t.dispose();
    }
    const base = new Teacher(TEACHER_CONFIGS.base, createRng(1));
    expect(base.parameterCounts().total).toBe(702912);
    base.dispose();
  });

  it("shapes: regress and sample map [N,h,w,3] to [N,4h,4w,3]; trajectory has T+1 images; output in [0,1]", async () => {
    await useBackend("wasm");
    const t = new Teacher(TINY, createRng(2));
    const lr = tf.randomUniform([2, 5, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    expect(t.regress(lr).shape).toEqual([2, 20, 24, 3]);
    const res = t.sample(lr, createRng(3), {trajectory: true});
    expect(res.x0.shape).toEqual([2, 20, 24, 3]);
    expect(res.trajectory).toHaveLength(TINY.diffusion.T + 1);
    for (const s of res.trajectory!) expect(s.shape).toEqual([2, 20, 24, 3]);
    expect(tf.min(res.x0).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(tf.max(res.x0).dataSync()[0]).toBeLessThanOrEqual(1);
    t.dispose();
  });

  it("an untrained teacher's predictor is exactly MATLAB bicubic upsampling (zero-initialised output conv)", async () => {
    await useBackend("wasm");
    const t = new Teacher(TINY, createRng(2));
    const r = createRng(6);
    const data = Float32Array.from({length: 5 * 7 * 3}, () => r.uniform());
    const reg = t.regress(tf.tensor4d(data, [1, 5, 7, 3])).dataSync();
    const ref = imresize({width: 7, height: 5, channels: 3, data}, {scale: 4}).data;
    let m = 0;
    for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(reg[i] - ref[i]));
    expect(m).toBeLessThan(1e-5);
    t.dispose();
  });

  it("preconditioning is the Wiener estimate: c_skip e_t has error variance c_out^2 when e0 is Gaussian", () => {
    const s = makeSchedule(TINY.diffusion);
    const sd = TINY.sigmaData;
    for (let t = 1; t <= s.T; t++) {
      const {cIn, cSkip, cOut} = preconditioning(s, sd, t);
      const a = 1 - s.eta[t];
      const n2 = TINY.diffusion.kappa ** 2 * s.eta[t];
      expect(cIn).toBeCloseTo(1 / Math.sqrt(a * a * sd * sd + n2), 10);
      // E[(e0 - cSkip (a e0 + n eps))^2] = (1 - cSkip a)^2 sd^2 + cSkip^2 n^2 = cOut^2.
      expect((1 - cSkip * a) ** 2 * sd * sd + cSkip ** 2 * n2).toBeCloseTo(cOut * cOut, 12);
    }
  });
});

describe("teacher training", () => {
  for (const backend of NODE_BACKENDS) {
    it(`overfits a single small patch on ${backend}: both losses fall by 10x`, async () => {
      await useBackend(backend);
      const cfg: TeacherConfig = {...TINY, predictor: {channels: 16, blocks: 1}, denoiser: {...TINY.denoiser, channels: 16}};
      const t = new Teacher(cfg, createRng(7));
      const {hr, lr} = patch(16, 1);
      const T = cfg.diffusion.T;
      // One copy of the patch per diffusion step, fresh seeded noise every iteration.
      const lrB = tf.tile(lr, [T, 1, 1, 1]) as tf.Tensor4D;
      const hrB = tf.tile(hr, [T, 1, 1, 1]) as tf.Tensor4D;
      const steps = Array.from({length: T}, (_, i) => i + 1);
      const adam = new Adam(t.params.vars);
      const rng = createRng(11);
      const hist: {p: number; d: number}[] = [];
      const avg = (xs: {p: number; d: number}[], k: "p" | "d") => xs.reduce((s, x) => s + x[k], 0) / xs.length;
      const fell = (k: "p" | "d") => hist.length >= 15 && avg(hist.slice(-10), k) < avg(hist.slice(0, 5), k) / 10;
      // Stops as soon as both losses (mean of the last 10 iterations) are below a tenth of the first 5's
      // mean; about 50 iterations at this learning rate.
      for (let i = 0; i < 200 && !(fell("p") && fell("d")); i++) {
        const noise = tf.tensor4d(rng.fillNormal(new Float32Array(T * 4 * 4 * 48)) as Float32Array, [T, 4, 4, 48]);
        let pl = 0;
        let dl = 0;
        const {grads} = tf.variableGrads(() => {
          const l = t.losses(lrB, hrB, steps, noise);
          pl = l.predictor.dataSync()[0];
          dl = l.diffusion.dataSync()[0];
          return tf.add(l.predictor, l.diffusion) as tf.Scalar;
        });
        adam.apply(t.params.byParamName(grads), i < 20 ? 1e-2 * ((i + 1) / 20) : 1e-2);
        tf.dispose([noise, ...Object.values(grads)]);
        hist.push({p: pl, d: dl});
      }
      expect(fell("p")).toBe(true);
      expect(fell("d")).toBe(true);
      adam.dispose();
      t.dispose();
    }, 180_000);
  }
});

describe("teacher persistence and backends", () => {
  it("saved and reloaded weights give identical outputs", async () => {
    await useBackend("wasm");
    const a = new Teacher(TINY, createRng(21));
    // Move the weights off their initial values so a fresh init cannot pass by accident.
    tf.tidy(() => {
      for (const v of a.params.vars.values()) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, "float32", 3)));
    });
    const bytes = encodeCheckpoint({config: TINY}, await variablesToTensors(a.params.vars, "params"));
    const b = new Teacher(TINY, createRng(999));
    assignVariables(b.params.vars, decodeCheckpoint(bytes), "params");
    const lr = tf.randomUniform([2, 4, 4, 3], 0, 1, "float32", 4) as tf.Tensor4D;
    const sa = a.sample(lr, createRng(5));
    const sb = b.sample(lr, createRng(5));
    expect(Array.from(sb.x0.dataSync())).toEqual(Array.from(sa.x0.dataSync()));
    expect(Array.from(b.regress(lr).dataSync())).toEqual(Array.from(a.regress(lr).dataSync()));
    a.dispose();
    b.dispose();
  });

  it("teacherFromCheckpoint loads the EMA (default) or raw weights of a training checkpoint", async () => {
    await useBackend("wasm");
    const a = new Teacher(TINY, createRng(51));
    const b = new Teacher(TINY, createRng(52));
    const bytes = encodeCheckpoint({config: TINY, step: 7}, [
      ...(await variablesToTensors(a.params.vars, "params")),
      ...(await variablesToTensors(b.params.vars, "ema")),
    ]);
    const lr = tf.randomUniform([1, 4, 4, 3], 0, 1, "float32", 4) as tf.Tensor4D;
    const e = teacherFromCheckpoint(bytes);
    const p = teacherFromCheckpoint(bytes.buffer as ArrayBuffer, "params");
    expect(e.meta.step).toBe(7);
    const same = (x: Teacher, y: Teacher) =>
      Array.from(x.sample(lr, createRng(1), {mode: "ddim"}).x0.dataSync()).join() === Array.from(y.sample(lr, createRng(1), {mode: "ddim"}).x0.dataSync()).join();
    for (const [k, v] of e.teacher.params.vars) expect(Array.from(v.dataSync())).toEqual(Array.from(b.params.get(k).dataSync()));
    for (const [k, v] of p.teacher.params.vars) expect(Array.from(v.dataSync())).toEqual(Array.from(a.params.get(k).dataSync()));
    expect(same(e.teacher, b)).toBe(true);
    [a, b, e.teacher, p.teacher].forEach((t) => t.dispose());
  });

  it("gives the same outputs on wasm and cpu within 1e-4 (predictor, x0 prediction, seeded samples)", async () => {
    const outputs: Record<string, Float32Array[]> = {};
    for (const backend of NODE_BACKENDS) {
      await useBackend(backend);
      const t = new Teacher(TINY, createRng(31));
      tf.tidy(() => {
        // Non-zero output convs so the denoiser contributes (the init zeroes them).
        const r = createRng(32);
        for (const [k, v] of t.params.vars)
          if (k.endsWith("out.w") || k.includes("film"))
            v.assign(tf.tensor(Float32Array.from({length: v.size}, () => 0.05 * r.normal()), v.shape));
      });
      const r = createRng(33);
      const lr = tf.tensor4d(Float32Array.from({length: 2 * 6 * 5 * 3}, () => r.uniform()), [2, 6, 5, 3]);
      const o: Float32Array[] = [];
      o.push(t.regress(lr).dataSync() as Float32Array);
      for (const mode of ["stochastic", "ddim"] as const) o.push(t.sample(lr, createRng(34), {mode}).x0.dataSync() as Float32Array);
      outputs[backend] = o;
      t.dispose();
    }
    const [w, c] = [outputs.wasm, outputs.cpu];
    for (let k = 0; k < w.length; k++) {
      let m = 0;
      for (let i = 0; i < w[k].length; i++) m = Math.max(m, Math.abs(w[k][i] - c[k][i]));
      expect(m).toBeLessThan(1e-4);
    }
  });

  it("samples are deterministic per seed and differ across seeds", async () => {
    await useBackend("wasm");
    const t = new Teacher(TINY, createRng(41));
    tf.tidy(() => {
      for (const [k, v] of t.params.vars) if (k.endsWith("out.w")) v.assign(tf.randomNormal(v.shape, 0, 0.05, "float32", 1));
    });
    const lr = tf.randomUniform([1, 4, 4, 3], 0, 1, "float32", 2) as tf.Tensor4D;
    const a = t.sample(lr, createRng(1)).x0.dataSync();
    const b = t.sample(lr, createRng(1)).x0.dataSync();
    const c = t.sample(lr, createRng(2)).x0.dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - c[i]));
    expect(m).toBeGreaterThan(1e-3);
    t.dispose();
  });
});

describe("trainTeacher end to end (wasm, tiny config)", () => {
  // 10 steps of batch 2 at 32x32 HR; a pool of 6 pairs refreshed every 2 steps, so the resume at step 5 must
  // rebuild a pool whose slots were refreshed. Photographs: a scratch ./.cache/photos with committed test
  // photographs (as test/student-train.test.ts does), so neither a fetched set nor python3-skimage is needed.
  const N = 10;
  let dir: string;
  const options = (name: string, steps: number, resume: boolean): TeacherTrainOptions => ({
    ...DEFAULT_TEACHER_TRAIN,
    config: "tiny",
    steps,
    batch: 2,
    seed: 3,
    resume,
    ckptPath: join(dir, name, "teacher.ckpt"),
    logPath: join(dir, name, "train.jsonl"),
    ckptEveryMin: 60,
    valEvery: 0,
    valCount: 2,
    lr: {base: 1e-3, warmupSteps: 2, decaySteps: 0, minFactor: 0.1},
    pool: {...DEFAULT_TEACHER_TRAIN.pool, poolSize: 6, refreshEvery: 2, hrSize: 32},
  });
  const trainIn = async (o: TeacherTrainOptions) => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await trainTeacher(o, "wasm");
    } finally {
      process.chdir(cwd);
    }
  };

  beforeAll(async () => {
    await useBackend("wasm");
    dir = mkdtempSync(join(tmpdir(), "dtkd-teacher-train-"));
    const photos = fileURLToPath(new URL("../data/test", import.meta.url));
    const splits: Record<string, string[]> = {train: ["astronaut.png", "coffee.png"], val: ["chelsea.png"]};
    for (const [split, files] of Object.entries(splits)) {
      mkdirSync(join(dir, ".cache", "photos", split), {recursive: true});
      for (const f of files) copyFileSync(join(photos, f), join(dir, ".cache", "photos", split, f));
    }
    await trainIn(options("straight", N, false));
    await trainIn(options("resumed", N / 2, false));
    await trainIn(options("resumed", N, true));
  }, 300_000);
  afterAll(() => rmSync(dir, {recursive: true, force: true}));

  it("resume is exact: N/2 steps, stop, resume, N/2 steps give bit-identical params, EMA and Adam moments to N straight", () => {
    const straight = decodeCheckpoint<TeacherCheckpointMeta>(readFileSync(join(dir, "straight", "teacher.ckpt")));
    const resumed = decodeCheckpoint<TeacherCheckpointMeta>(readFileSync(join(dir, "resumed", "teacher.ckpt")));
    expect(resumed.meta.kind).toBe("teacher");
    expect(resumed.meta.step).toBe(N);
    expect(resumed.meta.adam.t).toBe(N);
    // One data source for the whole run: the resume found the same photographs and added no history entry.
    expect(resumed.meta.data.history).toEqual([{fromStep: 0, source: ".cache/photos/train", images: ["astronaut.png", "coffee.png"]}]);
    // The same meta fields in the same order, and the same tensors (names, order, fp32) in both files.
    expect(Object.keys(resumed.meta)).toEqual(Object.keys(straight.meta));
    expect([...resumed.tensors.keys()]).toEqual([...straight.tensors.keys()]);
    const groups = new Set([...straight.tensors.keys()].map((k) => k.split("/")[0]));
    expect([...groups]).toEqual(["params", "ema", "adam.m", "adam.v"]);
    let worst = 0;
    for (const [name, t] of straight.tensors) {
      const r = resumed.tensors.get(name)!;
      expect(t.dtype).toBe("float32");
      for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - r.data[i]));
    }
    expect(worst, "max |difference| over every tensor, straight vs resumed").toBe(0);
    // And the run did train: the weights moved from their initialisation.
    const fresh = new Teacher(TINY, createRng(3).fork("init"));
    let moved = 0;
    for (const [k, v] of fresh.params.vars) {
      const d = v.dataSync();
      const s = straight.tensors.get(`params/${k}`)!.data;
      for (let i = 0; i < d.length; i++) moved = Math.max(moved, Math.abs(d[i] - s[i]));
    }
    fresh.dispose();
    expect(moved).toBeGreaterThan(1e-5);
  });
});
