// The student's training loop and its artefacts: trainStudent end to end on a tiny budget (JSON-lines log,
// checkpoint, exact resume), checkpoint round trips of the weights, and the shipped models in data/models/.
// The student's overfit test (wasm and cpu, L1 down 10x) lives in test/student.test.ts and is not repeated here.
import * as tf from "@tensorflow/tfjs";
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {NODE_BACKENDS, useBackend, type NodeBackend} from "./helpers/backends";
import {decodeCheckpoint, encodeCheckpoint, variablesToTensors} from "../src/lib/checkpoint.js";
import {readImageFile} from "../src/lib/image-files.js";
import {toRgb} from "../src/lib/image-io.js";
import {psnrY} from "../src/lib/metrics.js";
import {loadShippedStudent, loadShippedTeacher, readShippedMeta, SHIPPED_DISTILLED, SHIPPED_MODELS} from "../src/lib/models/shipped.js";
import {createStudent, paramMap, STUDENT_CONFIGS, studentFromCheckpoint, studentParamCount, type Student} from "../src/lib/models/student.js";
import {TEACHER_CONFIGS} from "../src/lib/models/teacher.js";
import {imresize} from "../src/lib/resize.js";
import {createRng} from "../src/lib/rng.js";
import {DEFAULT_STUDENT_TRAIN, trainStudent, type StudentCheckpointMeta, type StudentTrainOptions} from "../src/lib/train/student-trainer.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const TEST_PHOTOS = join(REPO, "data", "test");
const MODELS = join(REPO, "data", "models");

let dir: string;
beforeAll(async () => {
  await useBackend("wasm");
  dir = mkdtempSync(join(tmpdir(), "dtkd-student-train-"));
  // trainStudent reads photographs from ./.cache/photos/{train,val} (else the python3-skimage bootstrap set, which
  // a fresh machine may lack). The test runs it in a scratch directory holding two committed photographs for
  // training and a third for validation, so it depends on neither and never sees a developer's fetched set.
  // (Test-set photographs as training data are fine here: this checks the machinery, not a model.)
  const splits: Record<string, string[]> = {train: ["astronaut.png", "coffee.png"], val: ["chelsea.png"]};
  for (const [split, files] of Object.entries(splits)) {
    const d = join(dir, ".cache", "photos", split);
    mkdirSync(d, {recursive: true});
    for (const f of files) copyFileSync(join(TEST_PHOTOS, f), join(d, f));
  }
});
afterAll(() => {
  rmSync(dir, {recursive: true, force: true});
  tf.disposeVariables();
});

/** Runs trainStudent with the scratch directory as working directory (it resolves its photographs from there). */
async function trainIn(opts: StudentTrainOptions): Promise<void> {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    await trainStudent(opts, "wasm");
  } finally {
    process.chdir(cwd);
  }
}

function readLog(path: string): Array<Record<string, unknown> & {kind: string; step: number}> {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A 64x64 crop of a committed photograph and its x4 MATLAB-bicubic LR, as [1,h,w,3] tensors. */
async function photoPatch(file: string, x: number, y: number, s = 64): Promise<{hr: tf.Tensor4D; lr: tf.Tensor4D}> {
  const img = await readImageFile(join(TEST_PHOTOS, file));
  const rgb = toRgb(img);
  const crop = new Float32Array(s * s * 3);
  for (let r = 0; r < s; r++) crop.set(rgb.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + s) * 3), r * s * 3);
  const lr = imresize({width: s, height: s, channels: 3, data: crop}, {scale: 1 / 4});
  return {hr: tf.tensor4d(crop, [1, s, s, 3]), lr: tf.tensor4d(lr.data, [1, lr.height, lr.width, 3])};
}

describe("trainStudent end to end (wasm, tiny budget)", () => {
  // 50 steps (the loop logs a "train" record every 50) of batch 2 at 32x32 HR / 8x8 LR (one window); a pool of
  // 6 pairs refreshed every 2 steps, so a resume at step 25 must rebuild a pool whose slots were all refreshed.
  const N = 50;
  const options = (name: string, steps: number, resume: boolean): StudentTrainOptions => ({
    ...DEFAULT_STUDENT_TRAIN,
    steps,
    batch: 2,
    seed: 5,
    resume,
    ckptPath: join(dir, name, "student.ckpt"),
    logPath: join(dir, name, "train.jsonl"),
    ckptEveryMin: 60,
    valEvery: 25,
    valCount: 4,
    lr: {base: 2e-3, warmupSteps: 5, decaySteps: 40, minFactor: 0.1},
    pool: {poolSize: 6, refreshEvery: 2, preset: "mild", hrSize: 32},
  });

  const straightPath = () => join(dir, "straight", "student.ckpt");
  const resumedPath = () => join(dir, "resumed", "student.ckpt");
  beforeAll(async () => {
    await trainIn(options("straight", N, false));
    await trainIn(options("resumed", N / 2, false));
    await trainIn(options("resumed", N, true));
  }, 300_000);

  it("writes start, val, train, checkpoint and stop records and a checkpoint with the run's metadata", () => {
    const log = readLog(join(dir, "straight", "train.jsonl"));
    expect(log.map((r) => r.kind)).toEqual(["start", "val", "val", "train", "val", "checkpoint", "stop"]);
    const [start, val0, val25, train, val50, ckpt, stop] = log;
    expect(start).toMatchObject({step: 0, config: "tiny", params: studentParamCount(STUDENT_CONFIGS.tiny), backend: "wasm", batch: 2, seed: 5});
    expect(start.trainSource).toBe(".cache/photos/train");
    expect(start.valSource).toBe(".cache/photos/val");
    expect([val0.step, val25.step, val50.step]).toEqual([0, 25, 50]);
    for (const v of [val0, val25, val50]) {
      expect(v.n).toBe(4);
      expect(Number.isFinite(v.psnrY_student)).toBe(true);
      expect(v.psnrY_bicubic).toBe(val0.psnrY_bicubic);
    }
    // 50 steps at lr 2e-3 take the student well away from its random upsampler's noise (measured: +10 dB).
    expect(val50.psnrY_student as number).toBeGreaterThan((val0.psnrY_student as number) + 1);
    expect(train.step).toBe(N);
    expect(train.lossL1 as number).toBeGreaterThan(0);
    expect(train.lossL1 as number).toBeLessThan(0.5);
    expect(train.samplesPerSec as number).toBeGreaterThan(0);
    expect(ckpt).toMatchObject({step: N, reason: "end", path: straightPath()});
    expect(ckpt.bytes as number).toBeGreaterThan(4 * 2 * studentParamCount(STUDENT_CONFIGS.tiny));
    expect(stop).toMatchObject({step: N, reason: "limit"});

    const straight = decodeCheckpoint<StudentCheckpointMeta>(readFileSync(straightPath()));
    expect(straight.meta).toMatchObject({kind: "student", configName: "tiny", step: N, seed: 5, batch: 2, loss: "L1"});
    expect(straight.meta.adam.t).toBe(N);
    expect(straight.meta.data.history).toEqual([{fromStep: 0, source: ".cache/photos/train", images: ["astronaut.png", "coffee.png"]}]);
    expect(val50).toMatchObject(straight.meta.lastVal!);

    const rlog = readLog(join(dir, "resumed", "train.jsonl"));
    expect(rlog.filter((r) => r.kind === "start").map((r) => r.step)).toEqual([0, N / 2]);
    expect(rlog.filter((r) => r.kind === "checkpoint").map((r) => r.step)).toEqual([N / 2, N]);
    expect(rlog.filter((r) => r.kind === "stop").map((r) => r.step)).toEqual([N / 2, N]);
  });

  it("resume is exact: N/2 steps, stop, resume, N/2 steps give bit-identical weights to N steps straight", () => {
    const straight = decodeCheckpoint(readFileSync(straightPath()));
    const resumed = decodeCheckpoint<StudentCheckpointMeta>(readFileSync(resumedPath()));
    expect(resumed.meta.step).toBe(N);
    expect(resumed.meta.adam.t).toBe(N);
    const worst = {params: 0, ema: 0};
    let moved = 0;
    const init = createStudent(STUDENT_CONFIGS.tiny, 5);
    for (const [name, t] of straight.tensors) {
      const group = name.split("/")[0];
      if (group !== "params" && group !== "ema") continue;
      const r = resumed.tensors.get(name);
      expect(r, name).toBeDefined();
      worst[group] = Math.max(worst[group], maxAbsDiff(t.data, r!.data));
      if (group === "params") moved = Math.max(moved, maxAbsDiff(t.data, init.params[name.slice("params/".length)].dataSync()));
    }
    init.dispose();
    // The comparison means something only if training moved the weights.
    expect(moved).toBeGreaterThan(1e-3);
    // Bit for bit: same backend, ops and data, so any difference is state the checkpoint did not restore exactly.
    expect(worst.params, "max |params difference|, straight vs resumed").toBe(0);
    expect(worst.ema, "max |ema difference|, straight vs resumed").toBe(0);
  });

  it("studentFromCheckpoint on a trainer's checkpoint loads exactly its 'params' or 'ema' tensors", () => {
    const bytes = readFileSync(straightPath());
    const ck = decodeCheckpoint(bytes);
    for (const which of ["params", "ema"] as const) {
      const {student, meta} = studentFromCheckpoint(bytes, which);
      expect(meta.step).toBe(N);
      for (const [k, v] of paramMap(student)) expect(Array.from(v.dataSync()), `${which}/${k}`).toEqual(Array.from(ck.tensors.get(`${which}/${k}`)!.data));
      student.dispose();
    }
  });
});

describe("student weights saved and reloaded", () => {
  it("give bit-identical outputs, for both the 'params' and the 'ema' group", async () => {
    const perturbed = (seed: number): Student => {
      const s = createStudent(STUDENT_CONFIGS.tiny, seed);
      // Off their initial values, so a fresh createStudent cannot match by accident.
      const r = createRng(seed + 100);
      tf.tidy(() => {
        for (const v of Object.values(s.params)) v.assign(tf.add(v, tf.tensor(Float32Array.from({length: v.size}, () => 0.02 * r.normal()), v.shape)));
      });
      return s;
    };
    const a = perturbed(1);
    const b = perturbed(2);
    const bytes = encodeCheckpoint({config: STUDENT_CONFIGS.tiny, step: 3}, [
      ...(await variablesToTensors(paramMap(a), "params")),
      ...(await variablesToTensors(paramMap(b), "ema")),
    ]);
    const {lr} = await photoPatch("astronaut.png", 200, 180, 48);
    const out = (s: Student) => Array.from(s.apply(lr).dataSync());
    const p = studentFromCheckpoint(bytes, "params");
    const e = studentFromCheckpoint(bytes.buffer as ArrayBuffer, "ema");
    const dflt = studentFromCheckpoint(bytes);
    expect(out(p.student)).toEqual(out(a));
    expect(out(e.student)).toEqual(out(b));
    expect(out(dflt.student)).toEqual(out(b));
    expect(maxAbsDiff(out(a), out(b))).toBeGreaterThan(1e-3);
    [a, b, p.student, e.student, dflt.student].forEach((s) => s.dispose());
    lr.dispose();
  });
});

describe("shipped models (data/models/)", () => {
  const read = (file: string) => new Uint8Array(readFileSync(join(MODELS, file)));

  it("student-tiny loads, matches the tiny config and its card, and gives finite, image-like output", async () => {
    await useBackend("wasm");
    const bytes = read(SHIPPED_MODELS.student.file);
    const {student, meta} = loadShippedStudent(bytes);
    expect(readShippedMeta(bytes).card).toEqual(meta.card);
    expect(meta.card).toMatchObject({id: SHIPPED_MODELS.student.id, kind: "student"});
    expect(meta.config).toEqual(STUDENT_CONFIGS.tiny);
    expect(student.paramCount()).toBe(studentParamCount(STUDENT_CONFIGS.tiny));
    expect(meta.card.params).toBe(student.paramCount());
    // The artefact holds only EMA weights.
    expect([...decodeCheckpoint(bytes).tensors.keys()].every((k) => k.startsWith("ema/"))).toBe(true);

    const {hr, lr} = await photoPatch("astronaut.png", 200, 180);
    const sr = student.apply(lr);
    expect(sr.shape).toEqual([1, 64, 64, 3]);
    const v = sr.dataSync();
    expect(v.every(Number.isFinite)).toBe(true);
    const [lo, hi] = [Math.min(...v), Math.max(...v)];
    expect(lo).toBeGreaterThan(-0.5);
    expect(hi).toBeLessThan(1.5);
    // Image-like: near the truth, as any x4 upscaler of a natural patch is (bilinear gives 28 dB here, the tiny
    // student freshly initialised about 15 dB: its random upsampler adds noise).
    const p = tf.tidy(() => psnrY(tf.clipByValue(sr, 0, 1) as tf.Tensor4D, hr, {crop: 4}).dataSync()[0]);
    expect(p).toBeGreaterThan(18);
    tf.dispose([hr, lr, sr]);
    student.dispose();
  });

  it("student-distilled is student-tiny fine-tuned by distillation: same config, its distill record, a different output", async () => {
    await useBackend("wasm");
    const bytes = read(SHIPPED_DISTILLED.file);
    const {student, meta} = loadShippedStudent(bytes);
    const base = loadShippedStudent(read(SHIPPED_MODELS.student.file));
    expect(meta.config).toEqual(base.meta.config);
    expect(meta.card.id).toBe(SHIPPED_DISTILLED.cardId);
    expect(meta.step).toBeGreaterThan(base.meta.step);
    expect(meta).toHaveProperty("distill.from.step", base.meta.step);
    const {hr, lr} = await photoPatch("astronaut.png", 200, 180);
    const [a, b] = [student.apply(lr), base.student.apply(lr)];
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    expect(d).toBeGreaterThan(1e-3);
    const p = tf.tidy(() => psnrY(tf.clipByValue(a, 0, 1) as tf.Tensor4D, hr, {crop: 4}).dataSync()[0]);
    expect(p).toBeGreaterThan(18);
    tf.dispose([hr, lr, a, b]);
    student.dispose();
    base.student.dispose();
  });

  it("teacher-base loads, matches the base config and its card, and gives finite, image-like output", async () => {
    await useBackend("wasm");
    const bytes = read(SHIPPED_MODELS.teacher.file);
    const {teacher, meta} = loadShippedTeacher(bytes);
    expect(meta.card).toMatchObject({id: SHIPPED_MODELS.teacher.id, kind: "teacher"});
    expect(meta.config).toEqual(TEACHER_CONFIGS.base);
    expect(teacher.parameterCounts().total).toBe(702_912); // the base count test/teacher.test.ts derives by formula
    expect(meta.card.params).toBe(teacher.parameterCounts().total);
    expect([...decodeCheckpoint(bytes).tensors.keys()].every((k) => k.startsWith("ema/"))).toBe(true);

    const {hr, lr} = await photoPatch("astronaut.png", 200, 180);
    const up = imresize({width: 16, height: 16, channels: 3, data: lr.dataSync() as Float32Array}, {scale: 4});
    const pBicubic = tf.tidy(() => psnrY(tf.clipByValue(tf.tensor4d(up.data, [1, 64, 64, 3]), 0, 1) as tf.Tensor4D, hr, {crop: 4}).dataSync()[0]);
    const reg = teacher.regress(lr);
    const x0 = teacher.sample(lr, createRng(1)).x0 as tf.Tensor4D;
    for (const [name, t] of [["predictor", reg], ["sample", x0]] as const) {
      expect(t.shape, name).toEqual([1, 64, 64, 3]);
      const v = t.dataSync();
      expect(v.every(Number.isFinite), name).toBe(true);
      expect(Math.min(...v), name).toBeGreaterThan(-0.5);
      expect(Math.max(...v), name).toBeLessThan(1.5);
      const p = tf.tidy(() => psnrY(tf.clipByValue(t, 0, 1) as tf.Tensor4D, hr, {crop: 4}).dataSync()[0]);
      expect(p, name).toBeGreaterThan(18);
      // An untrained teacher's predictor is exactly MATLAB bicubic (zero-initialised output conv); the shipped one
      // has learned something beyond it.
      expect(p, `${name} vs bicubic ${pBicubic.toFixed(2)} dB`).toBeGreaterThan(pBicubic + 0.5);
    }
    tf.dispose([hr, lr, reg, x0]);
    teacher.dispose();
  }, 60_000);

  it("student-tiny gives the same output on wasm and cpu within 1e-4", async () => {
    const bytes = read(SHIPPED_MODELS.student.file);
    const outs: Partial<Record<NodeBackend, Float32Array>> = {};
    for (const backend of NODE_BACKENDS) {
      await useBackend(backend);
      const {student} = loadShippedStudent(bytes);
      const {lr, hr} = await photoPatch("coffee.png", 300, 100);
      const sr = student.apply(lr);
      outs[backend] = sr.dataSync() as Float32Array;
      tf.dispose([lr, hr, sr]);
      student.dispose();
    }
    expect(maxAbsDiff(outs.wasm!, outs.cpu!)).toBeLessThan(1e-4);
    await useBackend("wasm");
  }, 60_000);
});
