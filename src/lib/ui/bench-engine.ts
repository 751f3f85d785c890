// The benchmark page's measurement on one TF.js backend, DOM-free (bench-worker.ts runs it in a fresh worker per
// backend, so backends never share state). Latency uses the lab's own Node protocol unchanged (timeModel and
// latencyInput in src/lib/eval/latency.ts: uniform-noise LR of a fixed size, warm-up runs, then mean and median
// of the timed runs, upload and read-back included); training speed times plain student L1 steps with Adam.
import * as tf from "@tensorflow/tfjs";
import {chooseBackend, type BackendName} from "../backend.js";
import {timeModel, type LatencyPlan, type LatencyRecord} from "../eval/latency.js";
import {studentModel, teacherModel, type SrModel} from "../eval/models.js";
import {loadShippedStudent, loadShippedTeacher} from "../models/shipped.js";
import {createRng} from "../rng.js";
import {Adam, globalNorm} from "../train/adam.js";
import {paramMap} from "../models/student.js";

export interface TrainPlan {
  /** Patches per step. */
  batch: number;
  /** LR patch side (the HR target is 4x). */
  lrSize: number;
  warmup: number;
  steps: number;
}

export interface BenchPlan {
  latency: LatencyPlan;
  train: TrainPlan;
  models: ("student" | "teacher")[];
  /** Time student training steps. */
  trainStudent: boolean;
}

/**
 * Lab defaults of the browser benchmark. GPU backends and wasm: 32x32 LR, 1 warm-up, 5 timed runs (median);
 * the cpu backend, 40-60x slower, gets the Node evaluation's cpu plan (16x16 LR, 1 warm-up, 2 runs).
 * Training: batch 4 of 16x16 LR / 64x64 HR patches, 1 warm-up step, 5 timed steps (cpu: 2).
 */
export function defaultBenchPlan(backend: BackendName): BenchPlan {
  const cpu = backend === "cpu";
  return {
    latency: cpu ? {lrSize: 16, warmup: 1, runs: 2} : {lrSize: 32, warmup: 1, runs: 5},
    train: {batch: 4, lrSize: 16, warmup: 1, steps: cpu ? 2 : 5},
    models: ["student", "teacher"],
    trainStudent: true
  };
}

export interface TrainRecord {
  stepsPerSecond: number;
  /** Median wall time of one step, ms. */
  medianMs: number;
  stepsMs: number[];
  warmup: number;
  size: string;
  /** What one step is. */
  what: string;
}

export type BenchEvent = {type: "progress"; text: string; done: number; of: number};

export interface BenchResult {
  backend: BackendName;
  available: boolean;
  /** Why the backend could not start (available false). */
  reason?: string;
  latency: Partial<Record<"student" | "teacher", LatencyRecord>>;
  train: TrainRecord | null;
  /** Why timing the training failed (the latency figures stand). */
  trainError?: string;
  plan: BenchPlan;
}

export class BenchCancelledError extends Error {
  constructor() {
    super("benchmark cancelled");
    this.name = "BenchCancelledError";
  }
}

const yieldNow = () => new Promise<void>((r) => setTimeout(r, 0));

export async function runBench(
  req: {backend: BackendName; wasmPaths?: Record<string, string>; models: {student: ArrayBuffer; teacher: ArrayBuffer}; plan: BenchPlan},
  emit: (e: BenchEvent) => void,
  signal: AbortSignal
): Promise<BenchResult> {
  const {backend, plan} = req;
  const result: BenchResult = {backend, available: false, latency: {}, train: null, plan};
  // Only this backend: no fallback, so a failure is reported as "unavailable" with its reason.
  try {
    const report = await chooseBackend({override: backend, order: [backend], wasmPaths: req.wasmPaths});
    if (report.chosen !== backend) throw new Error(`started ${report.chosen} instead`);
  } catch (e) {
    result.reason = e instanceof Error ? e.message : String(e);
    return result;
  }
  result.available = true;
  const total = plan.models.length * (plan.latency.warmup + plan.latency.runs) + (plan.trainStudent ? plan.train.warmup + plan.train.steps : 0);
  let done = 0;
  const tick = async (text: string) => {
    done++;
    emit({type: "progress", text, done, of: total});
    await yieldNow();
    if (signal.aborted) throw new BenchCancelledError();
  };

  for (const kind of plan.models) {
    await yieldNow();
    if (signal.aborted) throw new BenchCancelledError();
    emit({type: "progress", text: `${backend}: loading the ${kind}`, done, of: total});
    const model: SrModel =
      kind === "student" ? studentModel(loadShippedStudent(req.models.student).student) : teacherModel(loadShippedTeacher(req.models.teacher).teacher, "stochastic");
    try {
      let run = 0;
      const n = plan.latency.warmup + plan.latency.runs;
      emit({type: "progress", text: `${backend}: ${kind}, run 1 of ${n} (warm-up${backend === "webgpu" || backend === "webgl" ? ": compiling shaders" : ""})`, done, of: total});
      // timeModel (the Node evaluation's own) runs back to back without yielding, so a cancel message may only
      // arrive after it; the page therefore cancels by terminating this worker, and this check is the fallback.
      result.latency[kind] = await timeModel(model, plan.latency, () => {
        run++;
        done++;
        emit({type: "progress", text: `${backend}: ${kind}, ${run} of ${n} runs done`, done, of: total});
        if (signal.aborted) throw new BenchCancelledError();
      });
    } finally {
      model.dispose();
    }
  }

  if (plan.trainStudent) {
    try {
      result.train = await timeTraining(req.models.student, plan.train, tick);
    } catch (e) {
      if (e instanceof BenchCancelledError) throw e;
      result.trainError = e instanceof Error ? e.message : String(e);
    }
  }
  return result;
}

/** Times student L1 training steps on a fresh copy of the shipped student (its weights change). */
async function timeTraining(bytes: ArrayBuffer, train: TrainPlan, tick: (text: string) => Promise<void>): Promise<TrainRecord> {
  const backend = tf.getBackend();
  const {student} = loadShippedStudent(bytes);
  const vars = paramMap(student);
  const adam = new Adam(vars);
  const {batch, lrSize} = train;
  const hrSize = lrSize * student.config.scale;
  // Fixed seeded data: the work of a step does not depend on the content.
  const rng = createRng(1);
  const fill = (n: number) => Float32Array.from({length: n}, () => rng.uniform());
  const lr = tf.tensor4d(fill(batch * lrSize * lrSize * 3), [batch, lrSize, lrSize, 3]);
  const hr = tf.tensor4d(fill(batch * hrSize * hrSize * 3), [batch, hrSize, hrSize, 3]);
  const times: number[] = [];
  const n = train.warmup + train.steps;
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const g = tf.variableGrads(() => tf.tidy(() => tf.mean(tf.abs(tf.sub(student.apply(lr, {training: true}), hr))) as tf.Scalar));
      // variableGrads keys gradients by the variables' TF names; Adam by the student's parameter names.
      const grads: Record<string, tf.Tensor> = {};
      for (const [k, p] of vars) if (g.grads[p.name]) grads[k] = g.grads[p.name];
      // The norm is read asynchronously and handed to Adam: a synchronous read breaks WebGPU in a worker (adam.ts).
      const normT = globalNorm(grads);
      const [norm] = await normT.data();
      adam.apply(grads, 1e-4, norm);
      await g.value.data();
      tf.dispose([g.value, normT, ...Object.values(g.grads)]);
      const dt = performance.now() - t0;
      if (i >= train.warmup) times.push(Math.round(dt * 100) / 100);
      await tick(`${backend}: student training step ${i + 1} of ${n}${i < train.warmup ? " (warm-up)" : ""}`);
    }
  } finally {
    tf.dispose([lr, hr, ...adam.m.values(), ...adam.v.values()]);
    student.dispose();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    stepsPerSecond: (1000 * times.length) / times.reduce((a, b) => a + b, 0),
    medianMs: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    stepsMs: times,
    warmup: train.warmup,
    size: `batch ${batch}, ${lrSize}x${lrSize} LR -> ${hrSize}x${hrSize}`,
    what: "one student L1 step: forward (training attention path), gradients of all parameters (tf.variableGrads), Adam update, loss read back"
  };
}
