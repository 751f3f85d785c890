// The models page's inference, DOM-free: start a TF.js backend, load the shipped student and teacher, and for one
// ground-truth crop make the LR, the bicubic baseline, the student's and the teacher's outputs, each timed and
// measured against the crop. infer-worker.ts runs it in a web worker; infer-runner.ts falls back to running it on
// the main thread where no module worker starts. It only wires library code (degrade, imresize, the shipped
// models, metrics): the maths lives in src/lib/.
import * as tf from "@tensorflow/tfjs";
import {BackendError, chooseBackend, type BackendReport} from "../backend.js";
import {degrade, toUint8, type ImageF32, type Preset} from "../degrade.js";
import {psnrY, ssimY} from "../metrics.js";
import {loadShippedStudent, loadShippedTeacher, type ShippedKind} from "../models/shipped.js";
import type {Student} from "../models/student.js";
import type {Teacher} from "../models/teacher.js";
import type {SampleOptions} from "../diffusion.js";
import {imresize} from "../resize.js";
import {createRng} from "../rng.js";
import {fingerprint} from "./data-format.js";

/** The super-resolution factor of both shipped models. */
export const SCALE = 4;
/** Border pixels removed on every side before PSNR-Y and SSIM-Y: the scale factor, as SR papers do. */
export const METRIC_CROP = SCALE;

/** The teacher's samplers the page offers ("mean", the noise-free path, is left to the library). */
export type TeacherMode = "stochastic" | "ddim";
export const TEACHER_MODES: readonly TeacherMode[] = ["stochastic", "ddim"];

export interface InferJob {
  /** The ground-truth crop: RGB in [0,1], both sides a multiple of SCALE. */
  hr: ImageF32;
  /** How the LR is made from the crop (src/lib/degrade.ts). */
  degradation: {preset: Preset; seed: number};
  /** The teacher's sampler; its noise comes from createRng(seed) (src/lib/rng.ts), as in Node. */
  teacher: {seed: number; mode: TeacherMode};
}

export type PanelName = "lr" | "bicubic" | "student" | "teacher";

export interface PanelMetrics {
  psnrY: number;
  ssimY: number;
  /** Time to compute both metrics (not part of the panel's own time). */
  ms: number;
}

export interface PanelResult {
  panel: PanelName;
  /** RGB in [0,1]: the LR as degrade() made it; model and bicubic outputs clipped to [0,1]. */
  image: ImageF32;
  /** Wall time of this panel's computation, from its input to its output read back into JavaScript. */
  ms: number;
  /** Where it ran: a TF.js backend name, or "JavaScript" for the plain-JS stages. */
  ranOn: string;
  /** First run of this model at this input size here: the time includes shader compilation or warm-up. */
  cold: boolean;
  /** Taken over from an earlier run with the same crop and degradation (its time is that run's). */
  reused: boolean;
  /** Against the ground-truth crop (null for the LR, which has another size). */
  metrics: PanelMetrics | null;
  /** Why the metrics could not be computed (the image is still shown). */
  metricsError?: string;
  /** FNV-1a of the 8-bit RGB bytes (data-format.ts fingerprint), for checking against Node. */
  fingerprint: string;
}

export type InferEvent =
  | {type: "progress"; panel: PanelName; text: string; step?: number; of?: number}
  | {type: "panel"; result: PanelResult}
  | {type: "panel-error"; panel: PanelName; error: string};

export interface InitOptions {
  /** A backend name from the URL hash; an unknown name is refused with a note and the default order is used. */
  override: string | null;
  /** Where the wasm backend's .wasm files are (absolute URLs in a worker; see vendor.ts). */
  wasmPaths?: Record<string, string>;
}

export interface InitResult {
  report: BackendReport;
  /** Lines for the backend badge: a refused or failed override. */
  notes: string[];
}

export interface LoadResult {
  kind: ShippedKind;
  params: number;
  /** Decoding the file and creating the variables on the backend. */
  ms: number;
}

export interface RunSummary {
  /** Panels computed or reused, in order. */
  panels: PanelName[];
  /** Panels that failed, with the reason. */
  errors: Partial<Record<PanelName, string>>;
  totalMs: number;
}

/** A run stopped because a newer one replaced it. */
export class CancelledError extends Error {
  constructor() {
    super("cancelled by a newer run");
    this.name = "CancelledError";
  }
}

export const GPU_BACKENDS: ReadonlySet<string> = new Set(["webgpu", "webgl"]);

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Said while a model runs for the first time at a size: why it takes longer than the next run will. */
export function firstRunNote(backend: string, what = "first run at this size"): string {
  return ` (${what}: ${GPU_BACKENDS.has(backend) ? "compiling shaders" : "warming up"})`;
}

export function clip01(img: ImageF32): ImageF32 {
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = img.data[i];
    data[i] = v > 0 ? (v < 1 ? v : 1) : 0;
  }
  return {...img, data};
}

export function nonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}

function copyImage(img: ImageF32): ImageF32 {
  return {...img, data: img.data.slice()};
}

/** What a run may reuse from the previous one: the panels that depend only on the crop and the degradation. */
interface Cache {
  key: string;
  lr: ImageF32;
  panels: Map<PanelName, PanelResult>;
}

export class InferEngine {
  private backend: BackendReport | null = null;
  private student: Student | null = null;
  private teacher: Teacher | null = null;
  private readonly warm = new Set<string>();
  private cache: Cache | null = null;

  /**
   * Starts the backend: the override first, then webgpu, webgl, wasm, cpu. Same rules as page-backend.ts (which
   * reads the page's own hash and FileAttachments, neither of which a worker has).
   */
  async init(opts: InitOptions): Promise<InitResult> {
    const notes: string[] = [];
    let override = opts.override;
    let report: BackendReport;
    try {
      report = await chooseBackend({override, wasmPaths: opts.wasmPaths});
    } catch (e) {
      if (!(e instanceof BackendError) || override === null) throw e;
      notes.push(`${e.message} Using the default order.`);
      override = null;
      report = await chooseBackend({override, wasmPaths: opts.wasmPaths});
    }
    if (report.override !== null && report.override !== report.chosen) {
      notes.push(`#backend=${report.override} could not start; fell back to ${report.chosen}`);
    }
    this.backend = report;
    return {report, notes};
  }

  /** The chosen backend's name; throws before init. */
  get backendName(): string {
    if (!this.backend) throw new Error("InferEngine: call init first");
    return this.backend.chosen;
  }

  /** A loaded model, for the jobs of the other pages (teacher-engine.ts, discrepancy-engine.ts). */
  model(kind: "student"): Student;
  model(kind: "teacher"): Teacher;
  model(kind: ShippedKind): Student | Teacher {
    const m = kind === "student" ? this.student : this.teacher;
    if (!m) throw new Error(`the ${kind} is not loaded`);
    return m;
  }

  /** True the first time `key` (model, size, sampler, backend...) is seen: its run then includes warm-up. */
  firstRun(key: string): boolean {
    const cold = !this.warm.has(key);
    this.warm.add(key);
    return cold;
  }

  /** Loads a shipped model from its DTKDCKPT bytes (after init: variables live on the chosen backend). */
  load(kind: ShippedKind, bytes: ArrayBuffer | Uint8Array): LoadResult {
    if (!this.backend) throw new Error("InferEngine.load: call init first (weights must be created on the chosen backend)");
    const t0 = performance.now();
    let params: number;
    if (kind === "student") {
      this.student?.dispose();
      this.student = loadShippedStudent(bytes).student;
      params = this.student.paramCount();
    } else {
      this.teacher?.dispose();
      this.teacher = loadShippedTeacher(bytes).teacher;
      params = this.teacher.parameterCounts().total;
    }
    this.cache = null;
    return {kind, params, ms: performance.now() - t0};
  }

  /**
   * Runs one job, reporting every finished panel (and progress during long waits) through `emit` as soon as it
   * is known. `stop` is polled between stages; when it says so, the run ends with CancelledError (finished
   * panels stay cached for a run with the same crop and degradation). A failing model is reported as a
   * panel-error and the other panels still run.
   */
  async run(job: InferJob, emit: (e: InferEvent) => void, stop: () => boolean = () => false): Promise<RunSummary> {
    const backend = this.backend?.chosen;
    if (!backend) throw new Error("InferEngine.run: call init first");
    const t0 = performance.now();
    const {hr} = job;
    if (hr.channels !== 3) throw new Error(`the crop must be RGB, got ${hr.channels} channels`);
    if (hr.width % SCALE !== 0 || hr.height % SCALE !== 0)
      throw new Error(`the crop is ${hr.width} × ${hr.height}; both sides must be multiples of ${SCALE}`);
    const checkStop = () => {
      if (stop()) throw new CancelledError();
    };
    const summary: RunSummary = {panels: [], errors: {}, totalMs: 0};
    const done = (r: PanelResult) => {
      summary.panels.push(r.panel);
      emit({type: "panel", result: {...r, image: copyImage(r.image)}});
    };
    const failed = (panel: PanelName, e: unknown) => {
      if (e instanceof CancelledError) throw e;
      summary.errors[panel] = errorText(e);
      emit({type: "panel-error", panel, error: errorText(e)});
    };

    const key = `${fingerprint(toUint8(hr))}|${hr.width}x${hr.height}|${job.degradation.preset}|${job.degradation.seed}`;
    let cache: Cache;
    const reuse = (panel: PanelName): boolean => {
      const r = cache.panels.get(panel);
      if (!r) return false;
      done({...r, reused: true});
      return true;
    };
    if (this.cache?.key === key) {
      cache = this.cache;
      reuse("lr");
    } else {
      const t = performance.now();
      const d = degrade(hr, {preset: job.degradation.preset, seed: job.degradation.seed, scale: SCALE});
      const lrResult: PanelResult = {
        panel: "lr",
        image: d.lr,
        ms: performance.now() - t,
        ranOn: "JavaScript",
        cold: false,
        reused: false,
        metrics: null,
        fingerprint: fingerprint(toUint8(d.lr))
      };
      cache = this.cache = {key, lr: d.lr, panels: new Map([["lr", lrResult]])};
      done(lrResult);
    }
    const lr = cache.lr;
    checkStop();

    const gt = tf.tensor4d(hr.data, [1, hr.height, hr.width, 3]);
    const lrT = tf.tensor4d(lr.data, [1, lr.height, lr.width, 3]);
    const measure = async (out: ImageF32): Promise<PanelMetrics> => {
      const t = performance.now();
      const o = tf.tensor4d(out.data, [1, out.height, out.width, 3]);
      const m = tf.tidy(() => tf.concat([psnrY(o, gt, {crop: METRIC_CROP}), ssimY(o, gt, {crop: METRIC_CROP})]));
      const [p, s] = await m.data();
      o.dispose();
      m.dispose();
      return {psnrY: p, ssimY: s, ms: performance.now() - t};
    };
    // Keyed by model, sampler and size: each new combination runs some kernels (and shapes) for the first time.
    const coldFor = (panel: PanelName) => {
      const k = `${panel}|${panel === "teacher" ? job.teacher.mode : ""}|${backend}|${lr.height}x${lr.width}`;
      const cold = !this.warm.has(k);
      this.warm.add(k);
      return cold;
    };
    const finish = async (panel: PanelName, data: Float32Array, ms: number, ranOn: string, cold: boolean, cacheIt: boolean) => {
      const bad = nonFinite(data);
      if (bad > 0) throw new Error(`${bad} of ${data.length} output values are NaN or infinite`);
      const image: ImageF32 = {width: hr.width, height: hr.height, channels: 3, data};
      let metrics: PanelMetrics | null = null;
      let metricsError: string | undefined;
      emit({type: "progress", panel, text: `${panel}: measuring PSNR-Y and SSIM-Y on ${backend}`});
      try {
        metrics = await measure(image);
      } catch (e) {
        metricsError = errorText(e);
      }
      const r: PanelResult = {panel, image, ms, ranOn, cold, reused: false, metrics, fingerprint: fingerprint(toUint8(image))};
      if (metricsError !== undefined) r.metricsError = metricsError;
      if (cacheIt) cache.panels.set(panel, r);
      done(r);
    };

    try {
      if (!reuse("bicubic")) {
        try {
          const t = performance.now();
          const up = clip01(imresize(lr, {scale: SCALE}));
          await finish("bicubic", up.data, performance.now() - t, "JavaScript", false, true);
        } catch (e) {
          failed("bicubic", e);
        }
      }
      checkStop();

      if (!reuse("student")) {
        try {
          const student = this.student;
          if (!student) throw new Error("the student is not loaded");
          const cold = coldFor("student");
          emit({type: "progress", panel: "student", text: `student: running on ${backend}${cold ? firstRunNote(backend) : ""}`});
          const t = performance.now();
          const out = tf.tidy(() => tf.clipByValue(student.apply(lrT), 0, 1));
          const data = (await out.data()) as Float32Array;
          const ms = performance.now() - t;
          out.dispose();
          await finish("student", data, ms, backend, cold, true);
        } catch (e) {
          failed("student", e);
        }
      }
      checkStop();

      try {
        const teacher = this.teacher;
        if (!teacher) throw new Error("the teacher is not loaded");
        const T = teacher.schedule.T;
        const gpu = GPU_BACKENDS.has(backend);
        const cold = coldFor("teacher");
        const note = cold ? firstRunNote(backend, "first run at this size with this sampler") : "";
        emit({type: "progress", panel: "teacher", text: `teacher: predictor on ${backend}${note}`, step: 0, of: T});
        const t = performance.now();
        // The sampler's onStep hook reports each step as it is done. On wasm and cpu a step's work is finished
        // when the hook runs, so the count is real progress; on webgpu and webgl the steps only queue GPU work,
        // which the read-back below waits for, and the messages say so.
        const opts: SampleOptions = {
          mode: job.teacher.mode,
          onStep: ({step}) =>
            emit({
              type: "progress",
              panel: "teacher",
              text: gpu ? `teacher: step ${step} of ${T} queued on ${backend}${note}` : `teacher: step ${step} of ${T} on ${backend}${note}`,
              step: gpu ? 0 : step,
              of: T
            })
        };
        const x0 = teacher.sample(lrT, createRng(job.teacher.seed), opts).x0;
        if (gpu) emit({type: "progress", panel: "teacher", text: `teacher: ${T} steps queued; waiting for ${backend} to finish them${note}`, step: 0, of: T});
        const data = (await x0.data()) as Float32Array;
        const ms = performance.now() - t;
        x0.dispose();
        await finish("teacher", data, ms, backend, cold, false);
      } catch (e) {
        failed("teacher", e);
      }
    } finally {
      gt.dispose();
      lrT.dispose();
    }
    summary.totalMs = performance.now() - t0;
    return summary;
  }

  dispose(): void {
    this.student?.dispose();
    this.teacher?.dispose();
    this.student = this.teacher = null;
    this.cache = null;
  }
}
