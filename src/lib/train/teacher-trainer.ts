/**
 * Node training loop for the diffusion teacher: resumable, seeded, checkpointed atomically, logged as JSON lines.
 *
 * Resume restores weights, EMA weights, Adam moments and step count from one checkpoint file. All per-step
 * randomness (batch draw, diffusion steps, noise) comes from `createRng(seed).fork("step-<n>")`, so the RNG
 * state is the pair (seed, step) and needs no separate storage; the pair pool is rebuilt deterministically
 * (see pairs.ts). The data source may change between runs (e.g. when the fetched photographs appear): the
 * checkpoint records every source with the step it started at.
 */
import * as tf from "@tensorflow/tfjs";
import {existsSync, readdirSync} from "node:fs";
import {basename, join} from "node:path";
import {readImageFile} from "../image-files.js";
import {toRgb} from "../image-io.js";
import {psnrY} from "../metrics.js";
import {imresize} from "../resize.js";
import {createRng} from "../rng.js";
import {Teacher, TEACHER_CONFIGS, type TeacherConfig} from "../models/teacher.js";
export {teacherFromCheckpoint} from "../models/teacher.js";
import {Adam} from "./adam.js";
import {Ema} from "./ema.js";
import {learningRate, type LrSchedule} from "./lr-schedule.js";
import {JsonlLogger} from "./logger.js";
import {PairPool, fixedPairs, photoFromRgb, DEFAULT_PAIR_OPTIONS, type Photo, type PairPoolOptions} from "./pairs.js";
import {ProgressBar} from "./progress.js";
import {haarDetailStats} from "./texture-stats.js";
import {limitReached, progressToward, StopOnSignal, yieldToEventLoop} from "./run-control.js";
import {openTrainingState, recordPhotoSource, restoreTrainingState, saveTrainingState} from "./training-state.js";

export interface TeacherTrainOptions {
  config: keyof typeof TEACHER_CONFIGS;
  /** Stop after this many total steps (checkpoint step count), if given. */
  steps?: number;
  /** Stop after this many minutes of this run, if given. */
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
  pool: Omit<PairPoolOptions, "scale" | "hrSize" | "flatStd" | "maxTries"> & {hrSize: number};
  backend: string;
}

export const DEFAULT_TEACHER_TRAIN: TeacherTrainOptions = {
  config: "base",
  batch: 16,
  seed: 1,
  resume: false,
  ckptPath: "data/checkpoints/teacher/teacher.ckpt",
  logPath: "data/checkpoints/teacher/train.jsonl",
  ckptEveryMin: 10,
  valEvery: 500,
  valCount: 64,
  lr: {base: 2e-4, warmupSteps: 500, decaySteps: 0, minFactor: 0.1},
  emaDecay: 0.999,
  clipNorm: 1,
  pool: {poolSize: 768, refreshEvery: 2, preset: "mild", hrSize: 64},
  backend: "wasm",
};

/** Where the photographs come from: the fetched sets when present, else a documented bootstrap set. */
export interface PhotoSource {
  name: string;
  files: string[];
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;
const SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data";

function listImages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, {recursive: true})
    .map(String)
    .filter((f) => IMAGE_EXT.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Fetched photographs (`.cache/photos/{split}`, from `npm run data`) when present; otherwise a bootstrap set of
 * scikit-image sample photographs that are not in data/ (train: motorcycle_left, rocket; val: motorcycle_right,
 * the other view of the same scene, so bootstrap validation is optimistic). The source is re-checked at every
 * checkpoint, so a running job switches as soon as the fetched set appears.
 */
export function resolvePhotoSource(split: "train" | "val"): PhotoSource {
  const fetched = listImages(join(".cache", "photos", split));
  if (fetched.length > 0) return {name: `.cache/photos/${split}`, files: fetched};
  const boot = split === "train" ? ["motorcycle_left.png", "rocket.jpg"] : ["motorcycle_right.png"];
  const files = boot.map((f) => join(SKIMAGE, f)).filter((f) => existsSync(f));
  if (files.length === 0)
    throw new Error(`No ${split} photographs: run \`npm run data\` (fetches .cache/photos/${split}) or install python3-skimage`);
  return {name: `bootstrap:skimage(${boot.join(",")})`, files};
}

export async function loadPhotos(src: PhotoSource): Promise<Photo[]> {
  const out: Photo[] = [];
  for (const f of src.files) {
    const img = await readImageFile(f);
    out.push(photoFromRgb(basename(f), img.width, img.height, toRgb(img)));
  }
  return out;
}

export interface TeacherCheckpointMeta {
  kind: "teacher";
  configName: string;
  config: TeacherConfig;
  step: number;
  seed: number;
  adam: {t: number; beta1: number; beta2: number; eps: number; clipNorm: number};
  ema: {decay: number};
  lr: LrSchedule;
  batch: number;
  data: {preset: string; hrSize: number; scale: number; poolSize: number; refreshEvery: number; history: {fromStep: number; source: string; images: string[]}[]};
  rng: string;
  wallSeconds: number;
  backend: string;
  savedAt: string;
  lastVal?: Record<string, unknown>;
}

/** Runs (or resumes) teacher training until steps/minutes run out or a signal arrives. */
export async function trainTeacher(opts: TeacherTrainOptions, backendName: string): Promise<void> {
  const log = new JsonlLogger(opts.logPath);
  const check = (m: TeacherCheckpointMeta) => {
    if (m.batch !== opts.batch) console.error(`note: checkpoint was trained with batch ${m.batch}; continuing with ${opts.batch}`);
  };
  const {meta, ck} = openTrainingState<TeacherCheckpointMeta>({ckptPath: opts.ckptPath, resume: opts.resume, kind: "teacher", backend: backendName, check}, () => {
    const config = TEACHER_CONFIGS[opts.config];
    return {
      kind: "teacher",
      configName: opts.config,
      config,
      step: 0,
      seed: opts.seed,
      adam: {t: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: opts.clipNorm},
      ema: {decay: opts.emaDecay},
      lr: opts.lr,
      batch: opts.batch,
      data: {
        preset: opts.pool.preset,
        hrSize: opts.pool.hrSize,
        scale: config.scale,
        poolSize: opts.pool.poolSize,
        refreshEvery: opts.pool.refreshEvery,
        history: [],
      },
      rng: 'per-step: createRng(seed).fork("step-<step>"); pool slots: forks "pool-init-<slot>" / "pool-refresh-<n>"',
      wallSeconds: 0,
      backend: backendName,
      savedAt: "",
    };
  });
  const cfg = meta.config;
  const seed = meta.seed;

  const teacher = new Teacher(cfg, createRng(seed).fork("init"));
  const evalTeacher = new Teacher(cfg, createRng(seed).fork("init"));
  const vars = teacher.params.vars;
  const adam = new Adam(vars, {beta1: meta.adam.beta1, beta2: meta.adam.beta2, eps: meta.adam.eps, clipNorm: meta.adam.clipNorm});
  const ema = new Ema(vars, meta.ema.decay);
  if (ck) restoreTrainingState(ck, {vars, ema, adam});
  const counts = teacher.parameterCounts();
  console.error(`teacher "${meta.configName}": ${counts.total} parameters (predictor ${counts.predictor}, denoiser ${counts.denoiser}); backend ${backendName}`);

  // Data.
  const poolOpts: PairPoolOptions = {
    ...DEFAULT_PAIR_OPTIONS,
    hrSize: meta.data.hrSize,
    scale: cfg.scale,
    preset: meta.data.preset as PairPoolOptions["preset"],
    poolSize: meta.data.poolSize,
    refreshEvery: meta.data.refreshEvery,
  };
  let trainSrc = resolvePhotoSource("train");
  let pool: PairPool;
  const buildPool = async (step: number) => {
    const photos = await loadPhotos(trainSrc);
    recordPhotoSource(meta, step, trainSrc.name, photos.map((p) => p.name));
    const p = new PairPool(photos, seed, poolOpts);
    const t0 = Date.now();
    const bar = new ProgressBar(process.stderr, 15_000);
    p.build(step, (d, n) => bar.update(d / n, `building pair pool ${d}/${n} (${trainSrc.name})`, ((Date.now() - t0) / 1000 / d) * (n - d)));
    bar.done();
    console.error(`pair pool: ${poolOpts.poolSize} pairs from ${photos.length} photos in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return p;
  };
  pool = await buildPool(meta.step);

  let valSrc = resolvePhotoSource("val");
  const makeVal = async () => {
    const photos = await loadPhotos(valSrc);
    const v = fixedPairs(photos, opts.valCount, 20240601, {...poolOpts});
    // Bicubic baseline for the same patches (MATLAB-style imresize, x scale).
    const lrData = await v.lr.data();
    const ls = poolOpts.hrSize / cfg.scale;
    const up = new Float32Array(v.hr.size);
    for (let i = 0; i < opts.valCount; i++) {
      const one = {width: ls, height: ls, channels: 3, data: (lrData as Float32Array).slice(i * ls * ls * 3, (i + 1) * ls * ls * 3)};
      up.set(imresize(one, {scale: cfg.scale}).data, i * poolOpts.hrSize * poolOpts.hrSize * 3);
    }
    const bicubic = tf.tidy(() => tf.clipByValue(tf.tensor4d(up, v.hr.shape as [number, number, number, number]), 0, 1)) as tf.Tensor4D;
    const hrStats = haarDetailStats((await v.hr.data()) as Float32Array, opts.valCount, poolOpts.hrSize, poolOpts.hrSize);
    return {...v, bicubic, hrStats, source: valSrc.name};
  };
  let val = await makeVal();

  const validate = async (step: number): Promise<Record<string, unknown>> => {
    ema.copyTo(evalTeacher.params.vars);
    const crop = cfg.scale;
    const res: Record<string, unknown> = {kind: "val", step, valSource: val.source, n: opts.valCount};
    const mean = async (t: tf.Tensor) => {
      const v = (await t.data()) as Float32Array;
      t.dispose();
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    const ratioAndKurt = (s: ReturnType<typeof haarDetailStats>) => ({
      energyRatio: s.energy.map((e, k) => +(e / val.hrStats.energy[k]).toFixed(4)),
      kurtosis: s.kurtosis.map((k) => +k.toFixed(2)),
    });
    res.psnrY_bicubic = +(await mean(psnrY(val.bicubic, val.hr, {crop}))).toFixed(3);
    const reg = tf.tidy(() => tf.clipByValue(evalTeacher.regress(val.lr), 0, 1)) as tf.Tensor4D;
    res.psnrY_predictor = +(await mean(psnrY(reg, val.hr, {crop}))).toFixed(3);
    res.predictor = ratioAndKurt(haarDetailStats((await reg.data()) as Float32Array, opts.valCount, poolOpts.hrSize, poolOpts.hrSize));
    reg.dispose();
    for (const mode of ["stochastic", "ddim"] as const) {
      const out = evalTeacher.sample(val.lr, createRng(7).fork(`val-sample`), {mode});
      res[`psnrY_${mode}`] = +(await mean(psnrY(out.x0 as tf.Tensor4D, val.hr, {crop}))).toFixed(3);
      res[mode] = ratioAndKurt(haarDetailStats((await out.x0.data()) as Float32Array, opts.valCount, poolOpts.hrSize, poolOpts.hrSize));
      out.x0.dispose();
    }
    res.gt = {kurtosis: val.hrStats.kurtosis.map((k) => +k.toFixed(2))};
    // Diffusion loss per step with fixed noise (comparable across validations).
    const vrng = createRng(11).fork("val-noise");
    const perT: number[] = [];
    const {y, features} = evalTeacher.predictor(val.lr);
    for (let t = 1; t <= cfg.diffusion.T; t++) {
      const noise = tf.tensor4d(vrng.fillNormal(new Float32Array(y.size)) as Float32Array, y.shape as [number, number, number, number]);
      const l = evalTeacher.diffusionLoss(val.lr, val.hr, y, features, new Array(opts.valCount).fill(t), noise);
      perT.push(+(await l.loss.data())[0].toFixed(4));
      tf.dispose([noise, l.loss, l.perSample]);
    }
    tf.dispose([y, features]);
    res.valDiffLossPerT = perT;
    return res;
  };

  const predVars = teacher.params.list("pred.");
  const denVars = teacher.params.list("den.");
  const nameOf = new Map<tf.Variable, string>();
  for (const [k, v] of vars) nameOf.set(v, k);

  const save = (reason: string) => saveTrainingState(opts.ckptPath, meta, {vars, ema, adam}, log, reason);

  const stop = new StopOnSignal();
  const limits = {steps: opts.steps, minutes: opts.minutes};
  const startStep = meta.step;
  const runStart = Date.now();
  const wallAtStart = meta.wallSeconds;
  let lastCkpt = Date.now();
  const bar = new ProgressBar();
  const T = cfg.diffusion.T;
  const B = opts.batch;
  const acc = {n: 0, pred: 0, diff: 0, perT: new Array(T + 1).fill(0), perTn: new Array(T + 1).fill(0), gnorm: 0, t0: Date.now()};
  log.write({kind: "start", step: meta.step, config: meta.configName, params: counts, backend: backendName, batch: B, seed, trainSource: trainSrc.name, valSource: val.source, preset: meta.data.preset});
  if (meta.step === 0) {
    const v = await validate(0);
    log.write(v);
    meta.lastVal = v;
  }

  const LOG_EVERY = 50;
  while (!limitReached(limits, meta.step, (Date.now() - runStart) / 1000) && !stop.signal) {
    // Once per step: without it, signal handlers and timers would never run while training (run-control.ts).
    await yieldToEventLoop();
    if (stop.signal) break;

    const step = meta.step;
    pool.advance(step);
    const srng = createRng(seed).fork(`step-${step}`);
    const {lr: lrT, hr: hrT} = pool.batch(B, srng);
    const steps = Array.from({length: B}, (_, i) => (i % T) + 1);
    const ls = lrT.shape[1];
    const noise = tf.tensor4d(srng.fillNormal(new Float32Array(B * ls * ls * 3 * cfg.scale * cfg.scale)) as Float32Array, [B, ls, ls, 3 * cfg.scale * cfg.scale]);
    let y!: tf.Tensor4D;
    let f!: tf.Tensor4D;
    let perSample!: tf.Tensor1D;
    const g1 = tf.variableGrads(() => {
      const r = teacher.predictorLoss(lrT, hrT);
      y = tf.keep(r.y);
      f = tf.keep(r.features);
      return r.loss;
    }, predVars);
    const g2 = tf.variableGrads(() => {
      const r = teacher.diffusionLoss(lrT, hrT, y, f, steps, noise);
      perSample = tf.keep(r.perSample);
      return r.loss;
    }, denVars);
    const grads = teacher.params.byParamName({...g1.grads, ...g2.grads});
    const lrNow = learningRate(meta.lr, step);
    const gnorm = adam.apply(grads, lrNow);
    ema.update(adam.t);
    const [pl, dl] = [(await g1.value.data())[0], (await g2.value.data())[0]];
    const ps = (await perSample.data()) as Float32Array;
    tf.dispose([lrT, hrT, noise, y, f, perSample, g1.value, g2.value, ...Object.values(grads)]);
    if (!Number.isFinite(pl) || !Number.isFinite(dl)) {
      log.write({kind: "error", step, message: "non-finite loss", predictor: pl, diffusion: dl});
      throw new Error(`non-finite loss at step ${step} (predictor ${pl}, diffusion ${dl}); last checkpoint kept`);
    }
    meta.step += 1;
    acc.n++;
    acc.pred += pl;
    acc.diff += dl;
    acc.gnorm += gnorm;
    steps.forEach((t, i) => {
      acc.perT[t] += ps[i];
      acc.perTn[t]++;
    });

    const runSec = (Date.now() - runStart) / 1000;
    meta.wallSeconds = wallAtStart + runSec;
    if (meta.step % LOG_EVERY === 0) {
      const dt = (Date.now() - acc.t0) / 1000;
      log.write({
        kind: "train",
        step: meta.step,
        lossPredictorL1: +(acc.pred / acc.n).toFixed(5),
        lossDiffusion: +(acc.diff / acc.n).toFixed(5),
        lossDiffusionPerT: acc.perT.slice(1).map((s, i) => +(s / Math.max(1, acc.perTn[i + 1])).toFixed(4)),
        gradNorm: +(acc.gnorm / acc.n).toFixed(4),
        lr: lrNow,
        stepsPerSec: +(acc.n / dt).toFixed(3),
        samplesPerSec: +((acc.n * B) / dt).toFixed(2),
        wallSeconds: Math.round(meta.wallSeconds),
        // Leak watch: both should stay flat over a long run.
        tensors: tf.memory().numTensors,
        rssMB: Math.round(process.memoryUsage().rss / 1e6),
      });
      acc.n = 0;
      acc.pred = acc.diff = acc.gnorm = 0;
      acc.perT.fill(0);
      acc.perTn.fill(0);
      acc.t0 = Date.now();
    }
    // Progress: toward --steps or --minutes, whichever is given (the nearer one).
    const p = progressToward(limits, meta.step, startStep, runSec);
    const rate = (meta.step - startStep) / Math.max(1e-9, runSec);
    bar.update(p.fraction, `step ${meta.step} | L1 ${pl.toFixed(4)} diff ${dl.toFixed(3)} | ${rate.toFixed(2)} it/s`, p.eta);

    if (opts.valEvery > 0 && meta.step % opts.valEvery === 0) {
      const v = await validate(meta.step);
      log.write(v);
      meta.lastVal = v;
      console.error(`\nval @${meta.step}: ${JSON.stringify(v)}`);
    }
    if (Date.now() - lastCkpt >= opts.ckptEveryMin * 60000) {
      await save("interval");
      lastCkpt = Date.now();
      // Switch to the fetched photographs as soon as they appear (the checkpoint above keeps resume exact).
      const t2 = resolvePhotoSource("train");
      if (t2.name !== trainSrc.name || t2.files.join("|") !== trainSrc.files.join("|")) {
        console.error(`training photographs changed: ${trainSrc.name} -> ${t2.name}`);
        trainSrc = t2;
        pool = await buildPool(meta.step);
      }
      const v2 = resolvePhotoSource("val");
      if (v2.name !== valSrc.name || v2.files.join("|") !== valSrc.files.join("|")) {
        valSrc = v2;
        tf.dispose([val.lr, val.hr, val.bicubic]);
        val = await makeVal();
        log.write({kind: "val-source", step: meta.step, source: val.source});
      }
    }
  }
  bar.done();
  await save(stop.signal ? `signal ${stop.signal}` : "end");
  log.write({kind: "stop", step: meta.step, reason: stop.signal ?? "limit", wallSeconds: Math.round(meta.wallSeconds)});
  stop.dispose();
  teacher.dispose();
  evalTeacher.dispose();
  adam.dispose();
  ema.dispose();
}
