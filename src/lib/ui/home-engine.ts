// The home page's inference, DOM-free (home-worker.ts runs it in a web worker): the LR input (made from a
// ground-truth crop by degrade(), or the visitor's own image as it is), the bicubic baseline, and the shipped
// student, distilled student (SHIPPED_DISTILLED) and teacher run tile by tile through src/lib/tiling.ts, so an image of any size fits in memory and
// reports progress and can be cancelled between tiles. The backend choice is the models page's engine's
// (InferEngine.init, reused as is); the maths lives in src/lib/.
import * as tf from "@tensorflow/tfjs";
import {degrade, type ImageF32, type Preset} from "../degrade.js";
import {loadShippedStudent, loadShippedTeacher} from "../models/shipped.js";
import type {Student} from "../models/student.js";
import type {Teacher} from "../models/teacher.js";
import {imresize} from "../resize.js";
import {createRng} from "../rng.js";
import {planTiles, runTiled, TilingAbortedError, type TileOptions} from "../tiling.js";
import {InferEngine, SCALE, type InitOptions, type InitResult, type TeacherMode} from "./infer-engine.js";

export type HomePanel = "lr" | "bicubic" | "student" | "teacher" | "distilled";
/** "distilled" is the shipped DTKD-distilled student: the student's architecture, run the same way. */
export type HomeModel = "student" | "teacher" | "distilled";

export interface HomeJob {
  /** A ground-truth crop (both sides multiples of 4) to degrade, or an LR image to use as it is. */
  input: {kind: "hr"; hr: ImageF32; preset: Preset; seed: number} | {kind: "lr"; lr: ImageF32};
  /** Which models to run, in this order. */
  models: HomeModel[];
  teacher: {seed: number; mode: TeacherMode};
  tiling?: TileOptions;
}

export interface HomePanelResult {
  panel: HomePanel;
  /** RGB in [0,1]; the LR at its own size, the others ×4. */
  image: ImageF32;
  /** Wall time from the LR in to the blended output back in JavaScript (tiling and blending included). */
  ms: number;
  ranOn: string;
  tiles: number;
  /** First run at this tile size on this backend: includes shader compilation or warm-up. */
  cold: boolean;
}

export type HomeEvent =
  | {type: "progress"; panel: HomePanel; done: number; of: number; text: string}
  | {type: "panel"; result: HomePanelResult};

export interface HomeLoad {
  kind: HomeModel;
  params: number;
  ms: number;
}

/** How progress lines name each model. */
const MODEL_NAMES: Readonly<Record<HomeModel, string>> = {student: "student", distilled: "distilled student", teacher: "teacher"};

const GPU = new Set(["webgpu", "webgl"]);

/** Lets queued messages (a cancel) in between tiles: a model call on wasm or cpu runs synchronously. */
const yieldNow = () => new Promise<void>((r) => setTimeout(r, 0));

export class HomeEngine {
  private backend: string | null = null;
  private student: Student | null = null;
  private distilled: Student | null = null;
  private teacher: Teacher | null = null;
  private readonly warm = new Set<string>();

  async init(opts: InitOptions): Promise<InitResult> {
    // InferEngine.init only chooses and starts the backend (override, fallback notes); nothing else is kept.
    const r = await new InferEngine().init(opts);
    this.backend = r.report.chosen;
    return r;
  }

  load(kind: HomeModel, bytes: ArrayBuffer): HomeLoad {
    if (!this.backend) throw new Error("HomeEngine.load: call init first");
    const t0 = performance.now();
    let params: number;
    if (kind === "student" || kind === "distilled") {
      const slot = kind === "student" ? "student" : "distilled";
      this[slot]?.dispose();
      const s = loadShippedStudent(bytes).student;
      this[slot] = s;
      params = s.paramCount();
    } else {
      this.teacher?.dispose();
      this.teacher = loadShippedTeacher(bytes).teacher;
      params = this.teacher.parameterCounts().total;
    }
    return {kind, params, ms: performance.now() - t0};
  }

  async run(job: HomeJob, emit: (e: HomeEvent) => void, signal: AbortSignal): Promise<{totalMs: number}> {
    const backend = this.backend;
    if (!backend) throw new Error("HomeEngine.run: call init first");
    const t0 = performance.now();
    let lr: ImageF32;
    if (job.input.kind === "hr") {
      const t = performance.now();
      lr = degrade(job.input.hr, {preset: job.input.preset, seed: job.input.seed, scale: SCALE}).lr;
      emit({type: "panel", result: {panel: "lr", image: copy(lr), ms: performance.now() - t, ranOn: "JavaScript (degrade)", tiles: 1, cold: false}});
    } else {
      lr = job.input.lr;
      emit({type: "panel", result: {panel: "lr", image: copy(lr), ms: 0, ranOn: "your file", tiles: 1, cold: false}});
    }
    const plan = planTiles(lr.width, lr.height, job.tiling);
    const of = plan.tiles.length;

    {
      const t = performance.now();
      const up = clip01(imresize(lr, {scale: SCALE}));
      emit({type: "panel", result: {panel: "bicubic", image: up, ms: performance.now() - t, ranOn: "JavaScript (imresize)", tiles: 1, cold: false}});
    }

    for (const model of job.models) {
      await yieldNow();
      if (signal.aborted) throw new TilingAbortedError();
      const key = `${model}|${job.teacher.mode}|${backend}|${plan.tiles.map((t) => `${t.width}x${t.height}`).join(",")}`;
      const cold = !this.warm.has(key);
      const note = cold ? ` (first run at these tile sizes: ${GPU.has(backend) ? "compiling shaders" : "warming up"})` : "";
      const rng = createRng(job.teacher.seed);
      const apply = (x: tf.Tensor4D): tf.Tensor => {
        if (model === "student" || model === "distilled") {
          const s = model === "student" ? this.student : this.distilled;
          if (!s) throw new Error(`the ${model === "student" ? "student" : "distilled student"} is not loaded`);
          return tf.tidy(() => tf.clipByValue(s.apply(x), 0, 1));
        }
        if (!this.teacher) throw new Error("the teacher is not loaded");
        // One generator for the whole image, drawn tile after tile: the same seed gives the same picture.
        return this.teacher.sample(x, rng, {mode: job.teacher.mode}).x0;
      };
      const t = performance.now();
      const {image} = await runTiled(
        lr,
        async (tile) => {
          await yieldNow();
          if (signal.aborted) throw new TilingAbortedError();
          const x = tf.tensor4d(tile.data, [1, tile.height, tile.width, 3]);
          try {
            const y = apply(x);
            const data = (await y.data()) as Float32Array;
            y.dispose();
            return {width: tile.width * SCALE, height: tile.height * SCALE, channels: 3, data};
          } finally {
            x.dispose();
          }
        },
        {
          ...job.tiling,
          scale: SCALE,
          signal,
          onProgress: (p) =>
            emit({
              type: "progress",
              panel: model,
              done: p.done,
              of: p.of,
              text: `${MODEL_NAMES[model]}: ${p.done} of ${p.of} tile${p.of === 1 ? "" : "s"} done on ${backend}${note}`
            })
        }
      );
      this.warm.add(key);
      emit({type: "panel", result: {panel: model, image, ms: performance.now() - t, ranOn: backend, tiles: of, cold}});
    }
    return {totalMs: performance.now() - t0};
  }
}

function copy(img: ImageF32): ImageF32 {
  return {...img, data: img.data.slice()};
}

function clip01(img: ImageF32): ImageF32 {
  const data = img.data;
  for (let i = 0; i < data.length; i++) data[i] = data[i] > 0 ? (data[i] < 1 ? data[i] : 1) : 0;
  return img;
}
