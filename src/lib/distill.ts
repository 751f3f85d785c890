/**
 * DTKD distillation of a trained student: fine-tuning with
 *
 *   loss = L1(student(LR), HR) + lambda(t) x bandGroupLoss(student(LR), teacher target)
 *
 * where bandGroupLoss (loss.ts) compares wavelet sub-bands gathered into weighted frequency groups and lambda(t)
 * follows a schedule (schedule.ts) of training progress t = step / totalSteps. Teacher targets are precomputed
 * per training patch (distill-targets.ts); each step draws a batch of patches, a dihedral transform per patch and
 * (targetMode "sample") one of the patch's K teacher samples, or uses their mean (targetMode "mean").
 *
 * DOM-free and Node-free: it runs in Node (train/distill-node.ts, the scripts) and in a Web Worker alike. Every
 * random draw comes from createRng(seed).fork(`step-<n>`), so a run is a pure function of (weights, targets,
 * config) on a given backend.
 *
 * Non-finite guard (lab default; the paper says nothing about it; NOTES 4 warns that SwinIR-style activations can
 * overflow): a copy of the weights, the Adam moments and the EMA is kept every `guard.snapshotEvery` good steps.
 * When a step's loss or gradient norm is NaN or Inf, no update is applied; the last copy is restored, the
 * learning rate is multiplied by `guard.lrFactor`, and training goes on with the next step (the step counter,
 * and with it the schedule, does not rewind: replaying the same batches would likely fail the same way). A
 * snapshot is only taken of weights checked to be finite. After `guard.maxEvents` events the run stops with an
 * error instead of shrinking the learning rate forever.
 */
import * as tf from "@tensorflow/tfjs";
import {dihedralInto, meanTargets, type TargetSet} from "./distill-targets.js";
import {bandGroupLoss, type BandLossConfig, validateLossConfig} from "./loss.js";
import {paramMap, type Student} from "./models/student.js";
import {createRng} from "./rng.js";
import {lambdaAt, type Schedule, validateSchedule} from "./schedule.js";
import {Adam, globalNorm} from "./train/adam.js";
import {Ema} from "./train/ema.js";
import {learningRate} from "./train/lr-schedule.js";

export type TargetMode = "sample" | "mean";

export interface GuardConfig {
  /** Keep a copy of the state every this many good steps (and at step 0). */
  snapshotEvery: number;
  /** Multiplies the learning rate at every guard event. */
  lrFactor: number;
  /** Throw after this many events. */
  maxEvents: number;
}

export interface DistillConfig {
  loss: BandLossConfig;
  schedule: Schedule;
  totalSteps: number;
  /** Peak learning rate (Adam). */
  lr: number;
  /** Linear warm-up steps, then cosine decay to lr x lrMinFactor at totalSteps. */
  warmupSteps: number;
  lrMinFactor: number;
  batch: number;
  seed: number;
  /** Global gradient-norm clip (0: none). */
  clipNorm: number;
  targetMode: TargetMode;
  /** How many of the target set's samples per patch to use (the first K); 1..set.seeds. */
  targetSeeds: number;
  /** EMA of the weights (0: none; evaluation then uses the raw weights). */
  emaDecay: number;
  guard: GuardConfig;
}

/**
 * Lab defaults for fine-tuning a trained student (none is the paper's):
 * - lr 2e-4 (SwinIR's base rate; the student's own training peaked at 1e-3 and decayed to 2e-5): large enough
 *   to move a converged student in a few hundred steps, small enough not to undo its training. Warm-up of 20
 *   steps because a fresh Adam's first updates are full-size sign steps; cosine decay to 0.1x.
 * - batch 16, 64x64 HR patches: the student's own training batch.
 * - clip 1: as the student's training.
 * - targetMode "sample", 4 seeds: distil the teacher's stochastic texture, not its blurred mean.
 * - EMA 0.995: an averaging horizon of about 200 steps suits budgets of a few hundred to a few thousand steps
 *   (the student's 0.999 would still remember the starting weights at the end of a short fine-tune).
 * - guard: snapshot every 25 steps, halve the learning rate per event, give up after 8 events (lr / 256).
 */
export const DEFAULT_DISTILL: Omit<DistillConfig, "loss" | "schedule" | "totalSteps"> = Object.freeze({
  lr: 2e-4,
  warmupSteps: 20,
  lrMinFactor: 0.1,
  batch: 16,
  seed: 1,
  clipNorm: 1,
  targetMode: "sample",
  targetSeeds: 4,
  emaDecay: 0.995,
  guard: Object.freeze({snapshotEvery: 25, lrFactor: 0.5, maxEvents: 8}),
}) as Omit<DistillConfig, "loss" | "schedule" | "totalSteps">;

export type NonFiniteWhat = "loss" | "recon" | "band" | "gradNorm" | "weights";

export interface GuardEvent {
  /** The step (0-based) whose update was refused. */
  step: number;
  nonFinite: NonFiniteWhat[];
  /** Step count at which the restored copy was taken. */
  restoredFrom: number;
  /** Learning-rate multiplier after this event (product of all events so far). */
  lrFactor: number;
  /** The learning rate the next step will use. */
  nextLr: number;
}

export interface StepResult {
  /** 0-based index of the step just taken (steps done = step + 1). */
  step: number;
  /** Progress t = step / totalSteps at which lambda was read. */
  t: number;
  lambda: number;
  /** recon + lambda x bandWeighted. */
  total: number;
  /** L1 against HR. */
  recon: number;
  /** Weighted band-group loss (before lambda). */
  bandWeighted: number;
  /** Unweighted value of each band group. */
  band: Record<string, number>;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Learning rate used by this step. */
  lr: number;
  /** False when the guard refused the update. */
  applied: boolean;
  guard?: GuardEvent;
}

/** A fault to inject into one step, so tests can prove that the guard works (see injectFault). */
export type FaultKind = "loss" | "weight";

interface Snapshot {
  step: number;
  params: Map<string, tf.Tensor>;
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
  ema: Map<string, tf.Tensor> | null;
  adamT: number;
}

function cloneMap(src: Map<string, tf.Variable>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [k, v] of src) out.set(k, tf.clone(v));
  return out;
}

function assignMap(dst: Map<string, tf.Variable>, src: Map<string, tf.Tensor>): void {
  for (const [k, v] of dst) v.assign(src.get(k)!);
}

/** One reduction: the sum of |x| over every tensor is finite iff every element is. */
function sumAbs(vars: Iterable<tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.addN([...vars].map((v) => tf.sum(tf.abs(v)))) as tf.Scalar);
}

/** Always an async read: on WebGPU in a worker a synchronous read (dataSync) warns, and a later mapAsync then
 *  failed with "A valid external Instance reference no longer exists" (measured in headless Chromium). */
async function allFinite(vars: Iterable<tf.Tensor>): Promise<boolean> {
  const s = sumAbs(vars);
  const ok = Number.isFinite((await s.data())[0]);
  s.dispose();
  return ok;
}

export function validateDistillConfig(c: DistillConfig, targets?: TargetSet): void {
  validateLossConfig(c.loss);
  validateSchedule(c.schedule);
  const posInt = (x: number, name: string) => {
    if (!Number.isInteger(x) || x < 1) throw new Error(`distill config: ${name} must be a positive integer, got ${x}`);
  };
  posInt(c.totalSteps, "totalSteps");
  posInt(c.batch, "batch");
  posInt(c.targetSeeds, "targetSeeds");
  posInt(c.guard.snapshotEvery, "guard.snapshotEvery");
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new Error(`distill config: lr must be > 0, got ${c.lr}`);
  if (!(c.lrMinFactor >= 0 && c.lrMinFactor <= 1)) throw new Error(`distill config: lrMinFactor must be in [0, 1], got ${c.lrMinFactor}`);
  if (!(c.warmupSteps >= 0 && Number.isInteger(c.warmupSteps))) throw new Error(`distill config: warmupSteps must be an integer >= 0`);
  if (!(c.clipNorm >= 0)) throw new Error(`distill config: clipNorm must be >= 0, got ${c.clipNorm}`);
  if (!(c.emaDecay >= 0 && c.emaDecay < 1)) throw new Error(`distill config: emaDecay must be in [0, 1), got ${c.emaDecay}`);
  if (!(c.guard.lrFactor > 0 && c.guard.lrFactor < 1)) throw new Error(`distill config: guard.lrFactor must be in (0, 1)`);
  if (!(Number.isInteger(c.guard.maxEvents) && c.guard.maxEvents >= 0)) throw new Error(`distill config: guard.maxEvents must be an integer >= 0`);
  if (c.targetMode !== "sample" && c.targetMode !== "mean") throw new Error(`distill config: unknown targetMode "${String(c.targetMode)}"`);
  if (targets && c.targetSeeds > targets.seeds) {
    throw new Error(`distill config: targetSeeds ${c.targetSeeds} > the ${targets.seeds} samples per patch in the target set`);
  }
}

/**
 * Holds the student being distilled, its optimiser, EMA and guard state. The caller owns the student (and
 * disposes it); dispose() releases everything else.
 */
export class Distiller {
  readonly vars: Map<string, tf.Variable>;
  readonly adam: Adam;
  readonly ema: Ema | null;
  /** Steps taken so far (including refused ones). */
  stepIndex = 0;
  /** Product of the guard's learning-rate factors. */
  lrFactor = 1;
  private startChecked = false;
  readonly guardEvents: GuardEvent[] = [];
  private snapshot: Snapshot | null = null;
  private readonly groupNames: string[];
  private readonly means: Float32Array | null;
  private faults = new Map<number, FaultKind>();

  constructor(
    readonly student: Student,
    readonly targets: TargetSet,
    readonly config: DistillConfig,
  ) {
    validateDistillConfig(config, targets);
    if (student.config.scale !== targets.scale) throw new Error(`distill: student is x${student.config.scale}, targets are x${targets.scale}`);
    this.vars = paramMap(student);
    this.adam = new Adam(this.vars, {clipNorm: config.clipNorm});
    this.ema = config.emaDecay > 0 ? new Ema(this.vars, config.emaDecay) : null;
    this.groupNames = Object.keys(config.loss.groups);
    this.means = config.targetMode === "mean" ? meanTargets(targets, config.targetSeeds) : null;
    this.takeSnapshot();
  }

  /** Learning rate of step `step` before guard events. */
  scheduledLr(step: number): number {
    const c = this.config;
    return learningRate({base: c.lr, warmupSteps: c.warmupSteps, decaySteps: Math.max(1, c.totalSteps - c.warmupSteps), minFactor: c.lrMinFactor}, step);
  }

  /** lambda used at step `step` (t = step / totalSteps). */
  lambdaAtStep(step: number): number {
    return lambdaAt(this.config.schedule, step / this.config.totalSteps);
  }

  get done(): boolean {
    return this.stepIndex >= this.config.totalSteps;
  }

  /** Weights to evaluate and ship: the EMA when enabled, else the raw weights. */
  evalWeights(): Map<string, tf.Variable> {
    return this.ema ? this.ema.shadow : this.vars;
  }

  /**
   * Test hook: at step `step`, "loss" multiplies the loss by NaN (every gradient becomes NaN); "weight" sets
   * one weight tensor to NaN before the forward pass. Both must trip the guard.
   */
  injectFault(step: number, kind: FaultKind): void {
    this.faults.set(step, kind);
  }

  /** The batch of step `step`: LR, HR and target tensors (the caller disposes them). */
  batchAt(step: number): {lr: tf.Tensor4D; hr: tf.Tensor4D; target: tf.Tensor4D} {
    const {batch: B, targetSeeds: K, targetMode} = this.config;
    const set = this.targets;
    const hs = set.hrSize;
    const ls = hs / set.scale;
    const hrLen = hs * hs * 3;
    const lrLen = ls * ls * 3;
    const rng = createRng(this.config.seed).fork(`step-${step}`);
    const lr = new Float32Array(B * lrLen);
    const hr = new Float32Array(B * hrLen);
    const tg = new Float32Array(B * hrLen);
    for (let b = 0; b < B; b++) {
      const i = rng.int(0, set.n - 1);
      const k = rng.int(0, 7);
      dihedralInto(set.lr, i * lrLen, ls, 3, k, lr, b * lrLen);
      dihedralInto(set.hr, i * hrLen, hs, 3, k, hr, b * hrLen);
      if (targetMode === "mean") dihedralInto(this.means!, i * hrLen, hs, 3, k, tg, b * hrLen);
      else {
        const s = rng.int(0, K - 1);
        dihedralInto(set.samples, (i * set.seeds + s) * hrLen, hs, 3, k, tg, b * hrLen, 1 / 65535);
      }
    }
    return {
      lr: tf.tensor4d(lr, [B, ls, ls, 3]),
      hr: tf.tensor4d(hr, [B, hs, hs, 3]),
      target: tf.tensor4d(tg, [B, hs, hs, 3]),
    };
  }

  /** One training step (see the module comment for what happens on a non-finite loss or gradient). */
  async step(): Promise<StepResult> {
    if (this.done) throw new Error(`distill: all ${this.config.totalSteps} steps are done`);
    // The starting weights are checked once, here rather than in the constructor, because the read is async.
    if (!this.startChecked) {
      if (!(await allFinite(this.vars.values()))) throw new Error("distill: the starting weights hold NaN or Inf");
      this.startChecked = true;
    }
    const step = this.stepIndex;
    const t = step / this.config.totalSteps;
    const lambda = lambdaAt(this.config.schedule, t);
    const lrNow = this.scheduledLr(step) * this.lrFactor;
    const fault = this.faults.get(step);
    if (fault === "weight") {
      const first = this.vars.values().next().value as tf.Variable;
      tf.tidy(() => first.assign(tf.fill(first.shape, NaN)));
    }
    const {lr: lrT, hr: hrT, target} = this.batchAt(step);
    const kept: {parts?: tf.Tensor1D} = {};
    const g = tf.variableGrads(() => {
      const out = this.student.apply(lrT, {training: true});
      const recon = tf.mean(tf.abs(tf.sub(out, hrT))) as tf.Scalar;
      const band = bandGroupLoss(out, target, this.config.loss);
      kept.parts = tf.keep(tf.stack([recon, band.total, ...this.groupNames.map((n) => band.perGroup[n])]) as tf.Tensor1D);
      let total = tf.add(recon, tf.mul(band.total, lambda)) as tf.Scalar;
      if (fault === "loss") total = tf.mul(total, NaN) as tf.Scalar;
      return total;
    }, [...this.vars.values()]);
    const grads: Record<string, tf.Tensor> = {};
    for (const [k, p] of this.vars) if (g.grads[p.name]) grads[k] = g.grads[p.name];
    const normT = globalNorm(grads);
    const parts = kept.parts!;
    const [vals, totalV, normV] = await Promise.all([parts.data(), g.value.data(), normT.data()]);
    const total = totalV[0];
    const gradNorm = normV[0];
    tf.dispose([lrT, hrT, target, parts, normT, g.value]);
    const band: Record<string, number> = {};
    this.groupNames.forEach((n, i) => (band[n] = vals[2 + i]));
    const res: StepResult = {step, t, lambda, total, recon: vals[0], bandWeighted: vals[1], band, gradNorm, lr: lrNow, applied: false};
    const bad: NonFiniteWhat[] = [];
    if (!Number.isFinite(total)) bad.push("loss");
    if (!Number.isFinite(vals[0])) bad.push("recon");
    if (!Number.isFinite(vals[1])) bad.push("band");
    if (!Number.isFinite(gradNorm)) bad.push("gradNorm");
    if (bad.length === 0) {
      this.adam.apply(grads, lrNow, gradNorm);
      this.ema?.update(this.adam.t);
      res.applied = true;
    }
    tf.dispose(Object.values(g.grads));
    this.stepIndex = step + 1;
    if (bad.length > 0) res.guard = this.trip(step, bad);
    else if (this.stepIndex % this.config.guard.snapshotEvery === 0) {
      // Only finite weights become a restore point; an update with finite gradients can still overflow.
      if (await allFinite(this.vars.values())) this.takeSnapshot();
      else {
        res.applied = false;
        res.guard = this.trip(step, ["weights"]);
      }
    }
    return res;
  }

  private trip(step: number, what: NonFiniteWhat[]): GuardEvent {
    const snap = this.snapshot!;
    tf.tidy(() => {
      assignMap(this.vars, snap.params);
      assignMap(this.adam.m, snap.m);
      assignMap(this.adam.v, snap.v);
      if (this.ema && snap.ema) assignMap(this.ema.shadow, snap.ema);
    });
    this.adam.t = snap.adamT;
    this.lrFactor *= this.config.guard.lrFactor;
    const ev: GuardEvent = {
      step,
      nonFinite: what,
      restoredFrom: snap.step,
      lrFactor: this.lrFactor,
      nextLr: this.stepIndex < this.config.totalSteps ? this.scheduledLr(this.stepIndex) * this.lrFactor : 0,
    };
    this.guardEvents.push(ev);
    if (this.guardEvents.length > this.config.guard.maxEvents) {
      throw new Error(
        `distill: ${this.guardEvents.length} non-finite steps (last at step ${step}: ${what.join(", ")}); ` +
          `learning rate already cut to ${this.lrFactor} x; giving up`,
      );
    }
    return ev;
  }

  private takeSnapshot(): void {
    this.disposeSnapshot();
    this.snapshot = {
      step: this.stepIndex,
      params: cloneMap(this.vars),
      m: cloneMap(this.adam.m),
      v: cloneMap(this.adam.v),
      ema: this.ema ? cloneMap(this.ema.shadow) : null,
      adamT: this.adam.t,
    };
  }

  /** Step count of the current restore point. */
  get snapshotStep(): number {
    return this.snapshot?.step ?? -1;
  }

  private disposeSnapshot(): void {
    const s = this.snapshot;
    if (!s) return;
    for (const m of [s.params, s.m, s.v, s.ema]) if (m) tf.dispose([...m.values()]);
    this.snapshot = null;
  }

  /** Releases the optimiser, EMA and snapshot (not the student). */
  dispose(): void {
    this.disposeSnapshot();
    this.adam.dispose();
    this.ema?.dispose();
  }
}
