// The teacher page's job, DOM-free: on one ground-truth crop, make the LR (degrade()), then sample the shipped
// teacher with several seeds, keeping the whole trajectory x_T..x_0 of the first, measure the per-pixel spread
// between the seeds, and time full samples at several step counts. Runs inside the inference worker
// (infer-worker.ts) on the worker's InferEngine, so the models are loaded once for the page.
import * as tf from "@tensorflow/tfjs";
import {degrade, type ImageF32, type Preset} from "../degrade.js";
import {makeSchedule, type ResShiftConfig, type SampleOptions, type Schedule} from "../diffusion.js";
import type {Teacher} from "../models/teacher.js";
import {createRng} from "../rng.js";
import {CancelledError, firstRunNote, GPU_BACKENDS, nonFinite, SCALE, type InferEngine, type TeacherMode} from "./infer-engine.js";

export interface TeacherJob {
  /** Ground-truth crop, RGB in [0,1], sides multiples of SCALE. */
  hr: ImageF32;
  degradation: {preset: Preset; seed: number};
  mode: TeacherMode;
  /** One sample per seed; the first seed's trajectory is returned. */
  seeds: number[];
  /** null: the model's own (trained) schedule. Otherwise kappa, p and T replace the trained values. */
  edited: Pick<ResShiftConfig, "T" | "kappa" | "p"> | null;
  /** Step counts to time a full sample at (the trained schedule with T replaced); empty: no timing. */
  timingSteps: number[];
}

export type TeacherEvent =
  | {type: "progress"; text: string; step?: number; of?: number}
  | {type: "lr"; image: ImageF32}
  /** The first seed's states x_T (t = T) down to x_0 (t = 0), not clipped. */
  | {type: "trajectory"; seed: number; states: {t: number; image: ImageF32}[]}
  | {type: "sample"; seed: number; image: ImageF32; ms: number; cold: boolean}
  | {type: "spread"; spread: SeedSpread}
  /** `reused`: measured in an earlier run at this LR size, sampler and backend (the crop's content does not matter). */
  | {type: "timing"; rows: TimingRow[]; reused: boolean};

export interface TimingRow {
  steps: number;
  /** Wall time of one full sample (predictor + steps), from the LR tensor to the image read back. */
  ms: number;
  /** Denoiser evaluations per second of this run (steps / time). */
  stepsPerSecond: number;
}

export interface TeacherSummary {
  backend: string;
  /** The schedule the samples used. */
  schedule: Schedule;
  /** The model's own schedule (from its config). */
  trained: Schedule;
  totalMs: number;
}

export interface SeedSpread {
  width: number;
  height: number;
  /** Per pixel: the standard deviation over seeds (population, n in the denominator), averaged over R, G, B. */
  std: Float32Array;
  mean: number;
  max: number;
  seeds: number;
}

/** `n` consecutive seeds from `seed` (wrapping at 2^32, as rng.ts reduces seeds to 32 bits). */
export function seedList(seed: number, n: number): number[] {
  return Array.from({length: n}, (_, i) => (seed + i) % 2 ** 32);
}

const timings = new WeakMap<InferEngine, Map<string, TimingRow[]>>();

/** Per-pixel spread of n >= 2 images of one size: population std over the images, mean over channels. */
export function seedSpread(images: readonly ImageF32[]): SeedSpread {
  if (images.length < 2) throw new Error(`seedSpread needs at least two images, got ${images.length}`);
  const {width, height, channels} = images[0];
  for (const im of images) {
    if (im.width !== width || im.height !== height || im.channels !== channels) throw new Error("seedSpread: images differ in size");
  }
  const n = images.length;
  const std = new Float32Array(width * height);
  let sum = 0;
  let max = 0;
  for (let p = 0; p < width * height; p++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) {
      const i = p * channels + c;
      let m = 0;
      for (const im of images) m += im.data[i];
      m /= n;
      let v = 0;
      for (const im of images) v += (im.data[i] - m) ** 2;
      acc += Math.sqrt(v / n);
    }
    const s = acc / channels;
    std[p] = s;
    sum += s;
    if (s > max) max = s;
  }
  return {width, height, std, mean: sum / std.length, max, seeds: n};
}

/**
 * The teacher with another schedule: same weights, but its sampler, preconditioning and step embedding read
 * `schedule` (Teacher reads `this.schedule` everywhere). With values other than the trained ones the network
 * sees noise levels and step positions it was not trained on: the page labels such samples.
 */
export function withSchedule(teacher: Teacher, schedule: Schedule): Teacher {
  return Object.create(teacher, {schedule: {value: schedule, enumerable: true}}) as Teacher;
}

export async function runTeacherJob(
  engine: InferEngine,
  job: TeacherJob,
  emit: (e: TeacherEvent) => void,
  stop: () => boolean = () => false
): Promise<TeacherSummary> {
  const t0 = performance.now();
  const backend = engine.backendName;
  const teacher = engine.model("teacher");
  const {hr} = job;
  if (hr.width % SCALE !== 0 || hr.height % SCALE !== 0) throw new Error(`the crop is ${hr.width} × ${hr.height}; both sides must be multiples of ${SCALE}`);
  if (job.seeds.length < 1) throw new Error("the teacher job needs at least one seed");
  const checkStop = () => {
    if (stop()) throw new CancelledError();
  };
  const trained = teacher.schedule;
  const schedule = job.edited ? makeSchedule({...trained, ...job.edited}) : trained;
  const model = job.edited ? withSchedule(teacher, schedule) : teacher;
  const gpu = GPU_BACKENDS.has(backend);

  const lr = degrade(hr, {preset: job.degradation.preset, seed: job.degradation.seed, scale: SCALE}).lr;
  emit({type: "lr", image: lr});
  const lrT = tf.tensor4d(lr.data, [1, lr.height, lr.width, 3]);
  const image = (data: Float32Array): ImageF32 => ({width: hr.width, height: hr.height, channels: 3, data});
  try {
    const samples: ImageF32[] = [];
    for (const [i, seed] of job.seeds.entries()) {
      checkStop();
      const T = schedule.T;
      const cold = engine.firstRun(`teacher-page|${job.mode}|T${T}|${backend}|${lr.height}x${lr.width}`);
      const note = cold ? firstRunNote(backend, "first run at this size and step count") : "";
      const who = `seed ${seed} (${i + 1} of ${job.seeds.length})`;
      emit({type: "progress", text: `teacher, ${who}: predictor on ${backend}${note}`, step: 0, of: T});
      const t = performance.now();
      const opts: SampleOptions = {
        mode: job.mode,
        trajectory: i === 0,
        // Real progress on wasm and cpu (a step's work is done when the hook runs); on webgpu and webgl the
        // steps are only queued here and the read-back below waits for them, which the text says.
        onStep: ({step, of}) =>
          emit({
            type: "progress",
            text: gpu ? `teacher, ${who}: step ${step} of ${of} queued on ${backend}${note}` : `teacher, ${who}: step ${step} of ${of} done on ${backend}${note}`,
            step: gpu ? 0 : step,
            of
          })
      };
      const res = model.sample(lrT, createRng(seed), opts);
      if (gpu) emit({type: "progress", text: `teacher, ${who}: ${T} steps queued; waiting for ${backend}${note}`, step: 0, of: T});
      let data: Float32Array;
      try {
        data = (await res.x0.data()) as Float32Array;
        const ms = performance.now() - t;
        const bad = nonFinite(data);
        if (bad > 0) throw new Error(`${bad} of ${data.length} output values are NaN or infinite`);
        if (res.trajectory) {
          const states: {t: number; image: ImageF32}[] = [];
          for (const [k, x] of res.trajectory.entries()) states.push({t: T - k, image: image((await x.data()) as Float32Array)});
          emit({type: "trajectory", seed, states});
        }
        emit({type: "sample", seed, image: image(data), ms, cold});
      } finally {
        res.x0.dispose();
        if (res.trajectory) tf.dispose(res.trajectory);
      }
      samples.push(image(data));
    }
    if (samples.length >= 2) emit({type: "spread", spread: seedSpread(samples)});

    const timingKey = `${lr.height}x${lr.width}|${job.mode}|${backend}|${job.timingSteps.join(",")}`;
    const known = timings.get(engine)?.get(timingKey);
    if (known) emit({type: "timing", rows: known, reused: true});
    else if (job.timingSteps.length > 0) {
      const rows: TimingRow[] = [];
      for (const steps of job.timingSteps) {
        checkStop();
        emit({type: "progress", text: `timing: a full sample with ${steps} step${steps === 1 ? "" : "s"} on ${backend}`, step: rows.length, of: job.timingSteps.length});
        // No untimed run is needed: the seeds' samples above already ran every kernel at this size and sampler
        // (a step count changes how often they run, not which).
        const timed = withSchedule(teacher, makeSchedule({...trained, T: steps}));
        const t = performance.now();
        const x0 = timed.sample(lrT, createRng(job.seeds[0]), {mode: job.mode}).x0;
        await x0.data();
        const ms = performance.now() - t;
        x0.dispose();
        rows.push({steps, ms, stepsPerSecond: (1000 * steps) / ms});
        emit({type: "timing", rows: rows.slice(), reused: false});
      }
      if (!timings.has(engine)) timings.set(engine, new Map());
      timings.get(engine)!.set(timingKey, rows);
    }
  } finally {
    lrT.dispose();
  }
  return {backend, schedule, trained, totalMs: performance.now() - t0};
}

