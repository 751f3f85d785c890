/**
 * Node training loop for the standalone student: reconstruction (L1) loss only, the baseline that distillation
 * must beat. Resumable, seeded, checkpointed atomically, logged as JSON lines; the same data pipeline and RNG
 * discipline as the teacher (per-step randomness from `createRng(seed).fork("step-<n>")`, deterministic pool).
 */
import * as tf from "@tensorflow/tfjs";
import {psnrY} from "../metrics.js";
import {createStudent, paramMap, STUDENT_CONFIGS, studentFlopsPerOutputPixel, type Student, type StudentConfig} from "../models/student.js";
export {studentFromCheckpoint} from "../models/student.js";
import {imresize} from "../resize.js";
import {createRng} from "../rng.js";
import {Adam} from "./adam.js";
import {Ema} from "./ema.js";
import {JsonlLogger} from "./logger.js";
import {learningRate, type LrSchedule} from "./lr-schedule.js";
import {DEFAULT_PAIR_OPTIONS, fixedPairs, PairPool, type PairPoolOptions} from "./pairs.js";
import {ProgressBar} from "./progress.js";
import {limitReached, progressToward, StopOnSignal, yieldToEventLoop} from "./run-control.js";
import {loadPhotos, resolvePhotoSource} from "./teacher-trainer.js";
import {haarDetailStats} from "./texture-stats.js";
import {openTrainingState, recordPhotoSource, restoreTrainingState, saveTrainingState} from "./training-state.js";

export interface StudentTrainOptions {
  config: keyof typeof STUDENT_CONFIGS;
  steps?: number;
  minutes?: number;
  batch: number;
  seed: number;
  resume: boolean;
  ckptPath: string;
  logPath: string;
  ckptEveryMin: number;
  valEvery: number;
  valCount: number;
  lr: LrSchedule;
  emaDecay: number;
  clipNorm: number;
  pool: {poolSize: number; refreshEvery: number; preset: PairPoolOptions["preset"]; hrSize: number};
  backend: string;
}

/**
 * Lab defaults (SwinIR trains with 2e-4 at batch 64 for 500k iterations; an hour on one core is ~1% of that,
 * so a higher rate with a cosine decay over the planned run converges much further in the budget).
 */
export const DEFAULT_STUDENT_TRAIN: StudentTrainOptions = {
  config: "tiny",
  batch: 16,
  seed: 1,
  resume: false,
  ckptPath: "data/checkpoints/student/student-tiny.ckpt",
  logPath: "data/checkpoints/student/train.jsonl",
  ckptEveryMin: 10,
  valEvery: 500,
  valCount: 64,
  lr: {base: 1e-3, warmupSteps: 300, decaySteps: 4_700, minFactor: 0.02},
  emaDecay: 0.999,
  clipNorm: 1,
  pool: {poolSize: 768, refreshEvery: 2, preset: "mild", hrSize: 64},
  backend: "wasm",
};

export interface StudentCheckpointMeta {
  kind: "student";
  configName: string;
  config: StudentConfig;
  step: number;
  seed: number;
  adam: {t: number; beta1: number; beta2: number; eps: number; clipNorm: number};
  ema: {decay: number};
  lr: LrSchedule;
  batch: number;
  loss: "L1";
  data: {preset: string; hrSize: number; scale: number; poolSize: number; refreshEvery: number; history: {fromStep: number; source: string; images: string[]}[]};
  rng: string;
  wallSeconds: number;
  backend: string;
  savedAt: string;
  lastVal?: Record<string, unknown>;
}

/** Mean L1 between the student's output on `lr` and `hr` (the standalone reconstruction loss). */
export function reconstructionLoss(student: Student, lr: tf.Tensor4D, hr: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(student.apply(lr, {training: true}), hr))) as tf.Scalar);
}

export async function trainStudent(opts: StudentTrainOptions, backendName: string): Promise<void> {
  const log = new JsonlLogger(opts.logPath);
  const {meta, ck} = openTrainingState<StudentCheckpointMeta>({ckptPath: opts.ckptPath, resume: opts.resume, kind: "student", backend: backendName}, () => {
    const config = STUDENT_CONFIGS[opts.config];
    return {
      kind: "student",
      configName: opts.config,
      config,
      step: 0,
      seed: opts.seed,
      adam: {t: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: opts.clipNorm},
      ema: {decay: opts.emaDecay},
      lr: opts.lr,
      batch: opts.batch,
      loss: "L1",
      data: {preset: opts.pool.preset, hrSize: opts.pool.hrSize, scale: config.scale, poolSize: opts.pool.poolSize, refreshEvery: opts.pool.refreshEvery, history: []},
      rng: 'init: createRng(seed).fork("student-init"); per-step: createRng(seed).fork("step-<step>"); pool slots: forks "pool-init-<slot>" / "pool-refresh-<n>"',
      wallSeconds: 0,
      backend: backendName,
      savedAt: "",
    };
  });
  const cfg = meta.config;
  const seed = meta.seed;
  const student = createStudent(cfg, seed);
  const evalStudent = createStudent(cfg, seed);
  const vars = paramMap(student);
  const adam = new Adam(vars, {beta1: meta.adam.beta1, beta2: meta.adam.beta2, eps: meta.adam.eps, clipNorm: meta.adam.clipNorm});
  const ema = new Ema(vars, meta.ema.decay);
  if (ck) restoreTrainingState(ck, {vars, ema, adam});
  const hr = meta.data.hrSize;
  const flops = studentFlopsPerOutputPixel(cfg, hr / cfg.scale, hr / cfg.scale);
  console.error(`student "${meta.configName}": ${student.paramCount()} parameters, ${Math.round(flops)} FLOPs per output pixel; backend ${backendName}`);

  const poolOpts: PairPoolOptions = {
    ...DEFAULT_PAIR_OPTIONS,
    hrSize: hr,
    scale: cfg.scale,
    preset: meta.data.preset as PairPoolOptions["preset"],
    poolSize: meta.data.poolSize,
    refreshEvery: meta.data.refreshEvery,
  };
  const trainSrc = resolvePhotoSource("train");
  const photos = await loadPhotos(trainSrc);
  recordPhotoSource(meta, meta.step, trainSrc.name, photos.map((p) => p.name));
  const pool = new PairPool(photos, seed, poolOpts);
  {
    const t0 = Date.now();
    const bar = new ProgressBar(process.stderr, 15_000);
    pool.build(meta.step, (d, n) => bar.update(d / n, `building pair pool ${d}/${n} (${trainSrc.name})`, ((Date.now() - t0) / 1000 / d) * (n - d)));
    bar.done();
  }

  // Validation: the teacher's fixed patches (same seed and options), so the two logs are comparable.
  const valSrc = resolvePhotoSource("val");
  const v = fixedPairs(await loadPhotos(valSrc), opts.valCount, 20240601, poolOpts);
  const ls = hr / cfg.scale;
  const lrData = (await v.lr.data()) as Float32Array;
  const up = new Float32Array(v.hr.size);
  for (let i = 0; i < opts.valCount; i++) {
    const one = {width: ls, height: ls, channels: 3, data: lrData.slice(i * ls * ls * 3, (i + 1) * ls * ls * 3)};
    up.set(imresize(one, {scale: cfg.scale}).data, i * hr * hr * 3);
  }
  const bicubic = tf.tidy(() => tf.clipByValue(tf.tensor4d(up, v.hr.shape as [number, number, number, number]), 0, 1)) as tf.Tensor4D;
  const hrStats = haarDetailStats((await v.hr.data()) as Float32Array, opts.valCount, hr, hr);
  const meanOf = async (t: tf.Tensor) => {
    const d = (await t.data()) as Float32Array;
    t.dispose();
    return d.reduce((a, b) => a + b, 0) / d.length;
  };
  const psnrBicubic = +(await meanOf(psnrY(bicubic, v.hr, {crop: cfg.scale}))).toFixed(3);

  const validate = async (step: number): Promise<Record<string, unknown>> => {
    ema.copyTo(paramMap(evalStudent));
    const out = tf.tidy(() => tf.clipByValue(evalStudent.apply(v.lr), 0, 1)) as tf.Tensor4D;
    const s = haarDetailStats((await out.data()) as Float32Array, opts.valCount, hr, hr);
    const res = {
      kind: "val",
      step,
      valSource: valSrc.name,
      n: opts.valCount,
      psnrY_bicubic: psnrBicubic,
      psnrY_student: +(await meanOf(psnrY(out, v.hr, {crop: cfg.scale}))).toFixed(3),
      student: {energyRatio: s.energy.map((e, k) => +(e / hrStats.energy[k]).toFixed(4)), kurtosis: s.kurtosis.map((k) => +k.toFixed(2))},
      gt: {kurtosis: hrStats.kurtosis.map((k) => +k.toFixed(2))},
    };
    out.dispose();
    return res;
  };

  const save = (reason: string) => saveTrainingState(opts.ckptPath, meta, {vars, ema, adam}, log, reason);

  const stop = new StopOnSignal();
  const limits = {steps: opts.steps, minutes: opts.minutes};
  const startStep = meta.step;
  const runStart = Date.now();
  const wallAtStart = meta.wallSeconds;
  let lastCkpt = Date.now();
  const bar = new ProgressBar();
  const B = opts.batch;
  const acc = {n: 0, loss: 0, gnorm: 0, t0: Date.now()};
  log.write({kind: "start", step: meta.step, config: meta.configName, params: student.paramCount(), flopsPerOutputPixel: flops, backend: backendName, batch: B, seed, trainSource: trainSrc.name, valSource: valSrc.name, preset: meta.data.preset});
  if (meta.step === 0) {
    const r = await validate(0);
    log.write(r);
    meta.lastVal = r;
  }
  const LOG_EVERY = 50;
  while (!limitReached(limits, meta.step, (Date.now() - runStart) / 1000) && !stop.signal) {
    await yieldToEventLoop();
    if (stop.signal) break;
    const step = meta.step;
    pool.advance(step);
    const {lr: lrT, hr: hrT} = pool.batch(B, createRng(seed).fork(`step-${step}`));
    const g = tf.variableGrads(() => reconstructionLoss(student, lrT, hrT));
    const grads: Record<string, tf.Tensor> = {};
    for (const [k, p] of vars) if (g.grads[p.name]) grads[k] = g.grads[p.name];
    const lrNow = learningRate(meta.lr, step);
    const gnorm = adam.apply(grads, lrNow);
    ema.update(adam.t);
    const loss = (await g.value.data())[0];
    tf.dispose([lrT, hrT, g.value, ...Object.values(g.grads)]);
    if (!Number.isFinite(loss)) {
      log.write({kind: "error", step, message: "non-finite loss", loss});
      throw new Error(`non-finite loss at step ${step}; last checkpoint kept`);
    }
    meta.step += 1;
    acc.n++;
    acc.loss += loss;
    acc.gnorm += gnorm;
    const runSec = (Date.now() - runStart) / 1000;
    meta.wallSeconds = wallAtStart + runSec;
    if (meta.step % LOG_EVERY === 0) {
      const dt = (Date.now() - acc.t0) / 1000;
      log.write({
        kind: "train",
        step: meta.step,
        lossL1: +(acc.loss / acc.n).toFixed(5),
        gradNorm: +(acc.gnorm / acc.n).toFixed(4),
        lr: lrNow,
        stepsPerSec: +(acc.n / dt).toFixed(3),
        samplesPerSec: +((acc.n * B) / dt).toFixed(2),
        wallSeconds: Math.round(meta.wallSeconds),
        tensors: tf.memory().numTensors,
        rssMB: Math.round(process.memoryUsage().rss / 1e6),
      });
      acc.n = 0;
      acc.loss = acc.gnorm = 0;
      acc.t0 = Date.now();
    }
    const p = progressToward(limits, meta.step, startStep, runSec);
    bar.update(p.fraction, `step ${meta.step} | L1 ${loss.toFixed(4)} | ${((meta.step - startStep) / runSec).toFixed(2)} it/s`, p.eta);
    if (opts.valEvery > 0 && meta.step % opts.valEvery === 0) {
      const r = await validate(meta.step);
      log.write(r);
      meta.lastVal = r;
      console.error(`\nval @${meta.step}: PSNR-Y student ${r.psnrY_student} dB, bicubic ${r.psnrY_bicubic} dB`);
    }
    if (Date.now() - lastCkpt >= opts.ckptEveryMin * 60000) {
      await save("interval");
      lastCkpt = Date.now();
    }
  }
  bar.done();
  if (opts.valEvery > 0 && meta.step % opts.valEvery !== 0) {
    const r = await validate(meta.step);
    log.write(r);
    meta.lastVal = r;
  }
  await save(stop.signal ? `signal ${stop.signal}` : "end");
  log.write({kind: "stop", step: meta.step, reason: stop.signal ?? "limit", wallSeconds: Math.round(meta.wallSeconds)});
  stop.dispose();
  tf.dispose([v.lr, v.hr, bicubic]);
  student.dispose();
  evalStudent.dispose();
  adam.dispose();
  ema.dispose();
}
