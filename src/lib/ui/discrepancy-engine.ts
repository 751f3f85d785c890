// The discrepancy page's job, DOM-free: on one ground-truth crop, the shipped teacher's sample and the shipped
// student's output, then the band-by-band analysis of teacher - student (src/lib/band-discrepancy.ts) for the
// chosen wavelet and depth, and the terms the distillation loss would see under a loss preset (bandGroupLoss).
// Runs in the inference worker. The two outputs are kept, so a change of wavelet, depth or preset only redoes
// the analysis.
import * as tf from "@tensorflow/tfjs";
import {analyseDiscrepancy, distillationTerms, groupEnergies, type DiscrepancyAnalysis, type DistillationTerms, type GroupEnergy} from "../band-discrepancy.js";
import {degrade, toUint8, type ImageF32, type Preset} from "../degrade.js";
import {defaultGroups, lossPreset, type LossPresetName} from "../loss.js";
import type {SampleOptions} from "../diffusion.js";
import {createRng} from "../rng.js";
import type {WaveletName} from "../wavelets.js";
import {fingerprint} from "./data-format.js";
import {CancelledError, firstRunNote, GPU_BACKENDS, nonFinite, SCALE, type InferEngine, type TeacherMode} from "./infer-engine.js";

/** The presets the page offers ("pixel" has no bands to show). */
export const DISCREPANCY_PRESETS = ["uniform", "dtkd", "low", "high", "korkmaz"] as const satisfies readonly LossPresetName[];
export type DiscrepancyPreset = (typeof DISCREPANCY_PRESETS)[number];

export interface DiscrepancyJob {
  hr: ImageF32;
  degradation: {preset: Preset; seed: number};
  teacher: {seed: number; mode: TeacherMode};
  wavelet: WaveletName;
  levels: number;
  preset: DiscrepancyPreset;
}

export interface Outputs {
  lr: ImageF32;
  teacher: ImageF32;
  student: ImageF32;
  teacherMs: number;
  studentMs: number;
  /** Taken over from the previous run (same crop, degradation and teacher seed): the times are that run's. */
  reused: boolean;
}

export type DiscrepancyEvent =
  | {type: "progress"; text: string}
  | {type: "outputs"; outputs: Outputs}
  | {type: "analysis"; analysis: DiscrepancyAnalysis; groups: GroupEnergy[]; loss: DistillationTerms; lossLevels: number};

export interface DiscrepancySummary {
  backend: string;
  totalMs: number;
}

interface Kept {
  key: string;
  outputs: Outputs;
}
const kept = new WeakMap<InferEngine, Kept>();

/** The loss configuration of a preset at the page's wavelet and depth (korkmaz is defined at one level only). */
export function presetConfig(preset: DiscrepancyPreset, levels: number, wavelet: WaveletName) {
  return preset === "korkmaz" ? lossPreset("korkmaz", undefined, wavelet) : lossPreset(preset, levels, wavelet);
}

export async function runDiscrepancyJob(
  engine: InferEngine,
  job: DiscrepancyJob,
  emit: (e: DiscrepancyEvent) => void,
  stop: () => boolean = () => false
): Promise<DiscrepancySummary> {
  const t0 = performance.now();
  const backend = engine.backendName;
  const {hr} = job;
  if (hr.width % SCALE !== 0 || hr.height % SCALE !== 0) throw new Error(`the crop is ${hr.width} × ${hr.height}; both sides must be multiples of ${SCALE}`);
  const checkStop = () => {
    if (stop()) throw new CancelledError();
  };
  const key = `${fingerprint(toUint8(hr))}|${hr.width}x${hr.height}|${job.degradation.preset}|${job.degradation.seed}|${job.teacher.mode}|${job.teacher.seed}`;
  let outputs: Outputs;
  const prev = kept.get(engine);
  if (prev?.key === key) outputs = {...prev.outputs, reused: true};
  else {
    const lr = degrade(hr, {preset: job.degradation.preset, seed: job.degradation.seed, scale: SCALE}).lr;
    const lrT = tf.tensor4d(lr.data, [1, lr.height, lr.width, 3]);
    const image = (data: Float32Array): ImageF32 => {
      const bad = nonFinite(data);
      if (bad > 0) throw new Error(`${bad} of ${data.length} output values are NaN or infinite`);
      return {width: hr.width, height: hr.height, channels: 3, data};
    };
    try {
      const student = engine.model("student");
      const teacher = engine.model("teacher");
      const size = `${lr.height}x${lr.width}`;
      const sNote = engine.firstRun(`student|${backend}|${size}`) ? firstRunNote(backend) : "";
      emit({type: "progress", text: `student: running on ${backend}${sNote}`});
      let t = performance.now();
      const s = tf.tidy(() => tf.clipByValue(student.apply(lrT), 0, 1));
      const sData = (await s.data()) as Float32Array;
      const studentMs = performance.now() - t;
      s.dispose();
      checkStop();
      const T = teacher.schedule.T;
      const tNote = engine.firstRun(`teacher|${job.teacher.mode}|${backend}|${size}`) ? firstRunNote(backend, "first run at this size with this sampler") : "";
      emit({type: "progress", text: `teacher: predictor and ${T} steps on ${backend}${tNote}`});
      t = performance.now();
      const opts: SampleOptions = {
        mode: job.teacher.mode,
        // Real progress on wasm and cpu; on webgpu and webgl the steps are only queued until the read-back.
        onStep: ({step, of}) => emit({type: "progress", text: `teacher: step ${step} of ${of} ${GPU_BACKENDS.has(backend) ? "queued" : "done"} on ${backend}${tNote}`})
      };
      const x0 = teacher.sample(lrT, createRng(job.teacher.seed), opts).x0;
      const tData = (await x0.data()) as Float32Array;
      const teacherMs = performance.now() - t;
      x0.dispose();
      outputs = {lr, teacher: image(tData), student: image(sData), teacherMs, studentMs, reused: false};
      kept.set(engine, {key, outputs});
    } finally {
      lrT.dispose();
    }
  }
  emit({type: "outputs", outputs: {...outputs, teacher: {...outputs.teacher, data: outputs.teacher.data.slice()}, student: {...outputs.student, data: outputs.student.data.slice()}}});
  checkStop();

  emit({type: "progress", text: `DWT (${job.wavelet}, ${job.levels} level${job.levels === 1 ? "" : "s"}) of teacher − student and the loss terms on ${backend}`});
  const shape: [number, number, number, number] = [1, hr.height, hr.width, 3];
  const tT = tf.tensor4d(outputs.teacher.data, shape);
  const sT = tf.tensor4d(outputs.student.data, shape);
  try {
    const analysis = await analyseDiscrepancy(tT, sT, {wavelet: job.wavelet, levels: job.levels});
    const cfg = presetConfig(job.preset, job.levels, job.wavelet);
    const loss = await distillationTerms(sT, tT, cfg);
    emit({type: "analysis", analysis, groups: groupEnergies(analysis.bands, defaultGroups(job.levels)), loss, lossLevels: cfg.levels});
  } finally {
    tT.dispose();
    sT.dispose();
  }
  return {backend, totalMs: performance.now() - t0};
}
