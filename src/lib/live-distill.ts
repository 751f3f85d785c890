/**
 * Live distillation, DOM-free: the engine behind the "Live distillation" page (src/pages/distill.md), which
 * fine-tunes the shipped student against the shipped teacher in a Web Worker (ui/distill-worker.ts), and which
 * test/live-distill.test.ts drives from Node on the wasm or cpu backend.
 *
 * It only wires library code: training patches from photographs (train/pairs.ts makePair, the degradation of
 * degrade.ts), teacher targets (distill-targets.ts buildTargets, kept in memory for the session, keyed by every
 * setting they depend on), the DTKD trainer itself (distill.ts Distiller: L1 + lambda(t) x band-group loss,
 * clipping, the non-finite guard), the metrics (metrics.ts psnrY, train/texture-stats.ts HH1 kurtosis), and the
 * checkpoint format (checkpoint.ts; the export has the layout of data/models/*.ckpt, so loadShippedStudent reads it).
 *
 * Run control (pause, single step, reset) lives here, not in the worker, so that its semantics are testable:
 * - start(): runs steps until pause() or the last step; before each step it awaits `yieldFn` (in the worker a
 *   macrotask, so pause and slider messages are handled between steps, never in the middle of one).
 * - pause(): the loop stops after the step in progress; the returned promise settles when it has.
 * - step(): exactly one step, only while not running.
 * - reset(): stops, restores the starting weights (shipped or imported), a fresh optimiser, step 0.
 * - Group weights and the schedule change live (they take effect at the next step: Distiller reads them from its
 *   config every step); everything else (loss preset, sizes, step budget, learning rate, seed) needs a reset.
 */
import * as tf from "@tensorflow/tfjs";
import {decodeCheckpoint, encodeCheckpoint, type CheckpointTensor} from "./checkpoint.js";
import {degrade, toUint8, type ImageF32, type Preset} from "./degrade.js";
import {DEFAULT_DISTILL, Distiller, type DistillConfig, type StepResult} from "./distill.js";
import {buildTargets, patchSetFromPhotos, type PatchSet, type TargetSet} from "./distill-targets.js";
import {decodeImage, toRgb} from "./image-io.js";
import {bandGroupLoss, lossPreset, validateLossConfig, type BandLossConfig, type LossPresetName} from "./loss.js";
import {psnrY} from "./metrics.js";
import {loadShippedStudent, loadShippedTeacher, type ModelCard} from "./models/shipped.js";
import {studentFromCheckpoint, type Student, type StudentConfig} from "./models/student.js";
import type {Teacher} from "./models/teacher.js";
import {createRng} from "./rng.js";
import {formatSchedule, validateSchedule, type Schedule, DEFAULT_SCHEDULE} from "./schedule.js";
import {DEFAULT_PAIR_OPTIONS, photoFromRgb, type Photo} from "./train/pairs.js";
import {haarDetailStats} from "./train/texture-stats.js";
import {fingerprint as bytesFingerprint} from "./ui/data-format.js";

/** Everything a live run depends on; the page keeps it in the URL hash. */
export interface LiveSettings {
  /** Loss preset (loss.ts): its groups, wavelet and levels. */
  preset: LossPresetName;
  /** Group weights, one per group of the preset (live). */
  weights: Record<string, number>;
  /** lambda(t) (live). */
  schedule: Schedule;
  /** Step budget: t = step / steps for the schedule and the learning-rate decay. */
  steps: number;
  batch: number;
  /** HR side of the training patches (LR is a quarter); a multiple of 32 keeps the LR a whole student window. */
  hrSize: number;
  /** Number of fixed training patches with teacher targets. */
  patches: number;
  /** Teacher samples per patch. */
  targetSeeds: number;
  /** Peak learning rate (Adam). */
  lr: number;
  /** Root seed: patches, teacher noise and batch draws. */
  seed: number;
  /** Degradation preset of the training patches and the validation crop (degrade.ts). */
  degradation: Preset;
  /** Validation and chart refresh every this many steps (GAN Lab style: not every step). */
  evalEvery: number;
}

/**
 * Browser lab defaults, none of them the paper's, sized so that a run is usable on a slow GPU or SwiftShader:
 * - batch 4 of 32x32 HR patches (8x8 LR: one student window): a training step is about 1/16 of the Node
 *   trainer's batch of 16 at 64x64.
 * - 32 training patches with 2 teacher samples each: 16 teacher calls of 4 patches, a few seconds to prepare
 *   on a GPU; with 8 dihedral variants a 300-step run sees each (patch, variant) about 5 times.
 * - 300 steps; learning rate 3e-4 with 10 warm-up steps: a little above the Node default 2e-4, so the student
 *   visibly moves within a few hundred steps; in Node (wasm) 1e-3 and 2e-3 made the band loss on a fixed batch
 *   jump about, 3e-4 lowered it steadily. Degradation "mild", as the Node trainers.
 * - loss preset dtkd, schedule: the lab's linear ramp (schedule.ts DEFAULT_SCHEDULE).
 * - validation every 10 steps.
 */
export const LIVE_DEFAULTS: Readonly<LiveSettings> = Object.freeze({
  preset: "dtkd",
  weights: lossPreset("dtkd").weights,
  schedule: DEFAULT_SCHEDULE,
  steps: 300,
  batch: 4,
  hrSize: 32,
  patches: 32,
  targetSeeds: 2,
  lr: 3e-4,
  seed: 1,
  degradation: "mild",
  evalEvery: 10
}) as Readonly<LiveSettings>;

/**
 * Fixed parts of the live trainer's config (lab defaults). EMA off: a live run is a few hundred steps, and an
 * average over ~200 steps would hide what the sliders just did; the charts show the raw weights. Warm-up 10 steps.
 */
export const LIVE_TRAINER = Object.freeze({warmupSteps: 10, emaDecay: 0, lrMinFactor: 0.1, clipNorm: 1});

/** Teacher sampler and teacher batch used for the targets. */
export const LIVE_TARGETS = Object.freeze({sampler: "stochastic" as const, batch: 4});

/** Border crop of PSNR-Y on the validation crop: the scale factor, as SR papers do. */
export const LIVE_METRIC_CROP = 4;

/** The loss config of settings `s` (the preset's groups with the chosen weights). */
export function liveLossConfig(s: Pick<LiveSettings, "preset" | "weights">): BandLossConfig {
  const base = lossPreset(s.preset);
  const weights: Record<string, number> = {};
  for (const g of Object.keys(base.groups)) {
    const w = s.weights[g];
    if (w === undefined) throw new Error(`live distill: no weight for group "${g}" of preset ${s.preset}`);
    weights[g] = w;
  }
  const cfg = {...base, weights};
  validateLossConfig(cfg);
  return cfg;
}

/** Throws a message naming the first unusable setting. */
export function validateLiveSettings(s: LiveSettings): void {
  liveLossConfig(s);
  validateSchedule(s.schedule);
  const int = (x: number, name: string, lo: number, hi: number) => {
    if (!Number.isInteger(x) || x < lo || x > hi) throw new Error(`live distill: ${name} must be an integer from ${lo} to ${hi}, got ${x}`);
  };
  int(s.steps, "steps", 1, 100000);
  int(s.batch, "batch", 1, 64);
  int(s.hrSize, "hrSize", 8, 256);
  if (s.hrSize % 32 !== 0) throw new Error(`live distill: hrSize must be a multiple of 32 (LR a multiple of the student's 8-pixel window), got ${s.hrSize}`);
  int(s.patches, "patches", 1, 4096);
  int(s.targetSeeds, "targetSeeds", 1, 16);
  int(s.seed, "seed", 0, 2 ** 31 - 1);
  int(s.evalEvery, "evalEvery", 1, 100000);
  if (!(s.lr > 0 && s.lr <= 0.1)) throw new Error(`live distill: lr must be in (0, 0.1], got ${s.lr}`);
}

/** The Distiller config of settings `s`. */
export function liveDistillConfig(s: LiveSettings): DistillConfig {
  validateLiveSettings(s);
  return {
    ...DEFAULT_DISTILL,
    ...LIVE_TRAINER,
    loss: liveLossConfig(s),
    schedule: s.schedule,
    totalSteps: s.steps,
    lr: s.lr,
    batch: s.batch,
    seed: s.seed,
    targetMode: "sample",
    targetSeeds: s.targetSeeds,
    guard: {...DEFAULT_DISTILL.guard}
  };
}

/** Decodes a PNG or JPEG into the 8-bit RGB form the pair maker samples from. */
export function photoFromBytes(name: string, bytes: Uint8Array | ArrayBuffer): Photo {
  const r = decodeImage(bytes, name);
  return photoFromRgb(name, r.width, r.height, toRgb(r));
}

/**
 * The fixed training patches: patch i from makePair with createRng(seed).fork(`distill-pair-<i>`), as the Node
 * side's buildPatchSet does with the training split.
 */
export function livePatchSet(photos: Photo[], n: number, hrSize: number, preset: Preset, seed: number, scale = 4): PatchSet {
  return patchSetFromPhotos(photos, n, {...DEFAULT_PAIR_OPTIONS, hrSize, scale, preset}, seed);
}

export type LiveState = "idle" | "running" | "paused" | "done";

export interface ValImage {
  image: ImageF32;
  /** PSNR-Y against the validation ground truth (border crop LIVE_METRIC_CROP); null for the ground truth. */
  psnrY: number | null;
  /** Pooled kurtosis of the finest Haar HH band of the luma (texture-stats.ts): Gaussian grain is 3. */
  kurtosisHH1: number;
  fingerprint: string;
}

export interface ValReference {
  gt: ValImage;
  lr: ImageF32;
  teacher: ValImage;
  /** The starting student (shipped or imported weights) before any step. */
  start: ValImage;
  /** How the numbers are measured. */
  protocol: string;
}

export interface EvalResult extends ValImage {
  /** Steps done when measured. */
  step: number;
  /** Weighted band-group loss (before lambda) of the current weights on the fixed probe batch (batchAt(0)). */
  probeBand: number;
  /** Live TF.js tensors on this engine's backend once the measurement is done: flat from one validation to the
   *  next while training, unless something leaks. */
  tensors: number;
}

export interface PrepareProgress {
  phase: "patches" | "targets";
  done: number;
  total: number;
}

export interface PrepareResult {
  /** True when the targets came from this session's memory. */
  cached: boolean;
  ms: number;
  n: number;
  seeds: number;
}

/** Why a run stopped early. */
export class LiveDistillError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LiveDistillError";
  }
}

interface StartWeights {
  bytes: Uint8Array;
  /** Where they came from: "shipped" or the imported file's description. */
  source: string;
}

export interface ImportResult {
  source: string;
  step: number;
  params: number;
  /** The `liveDistill` record of a file this page exported, if any. */
  liveDistill: unknown;
}

export class LiveDistillEngine {
  private teacher: Teacher | null = null;
  private teacherMeta: {id: string; step: number} | null = null;
  private shippedStudent: Uint8Array | null = null;
  private startWeights: StartWeights | null = null;
  private student: Student | null = null;
  private distiller: Distiller | null = null;
  private photos: Photo[] = [];
  private val: {gt: ImageF32; lr: ImageF32; gtT: tf.Tensor4D; lrT: tf.Tensor4D} | null = null;
  private readonly targetCache = new Map<string, TargetSet>();
  private targets: TargetSet | null = null;
  private loop: Promise<void> | null = null;
  private stopRequested = false;
  settings: LiveSettings = {...LIVE_DEFAULTS, weights: {...LIVE_DEFAULTS.weights}};
  state: LiveState = "idle";
  /** Wall time of the steps taken since the last reset (ms). */
  trainMs = 0;

  /** Loads the shipped student and teacher (DTKDCKPT bytes); the TF.js backend must be ready. */
  loadModels(studentBytes: Uint8Array | ArrayBuffer, teacherBytes: Uint8Array | ArrayBuffer): {studentParams: number; teacherParams: number} {
    this.teacher?.dispose();
    const t = loadShippedTeacher(teacherBytes);
    this.teacher = t.teacher;
    this.teacherMeta = {id: t.meta.card?.id ?? "teacher", step: t.meta.step};
    this.shippedStudent = new Uint8Array(studentBytes instanceof Uint8Array ? studentBytes : new Uint8Array(studentBytes)).slice();
    this.startWeights = {bytes: this.shippedStudent, source: "shipped"};
    this.loadStudent();
    this.targetCache.clear();
    return {studentParams: this.student!.paramCount(), teacherParams: this.teacher.parameterCounts().total};
  }

  /** Photographs the training patches are cut from. */
  setPhotos(photos: Photo[]): void {
    if (photos.length === 0) throw new LiveDistillError("no training photographs");
    this.photos = photos;
    this.targetCache.clear();
    this.targets = null;
    this.disposeDistiller();
  }

  /**
   * The fixed validation crop (RGB in [0,1], sides multiples of 4): its LR is made with the settings'
   * degradation and seed; returns the ground truth, the teacher's sample and the starting student on it.
   */
  async setValidation(gt: ImageF32): Promise<ValReference> {
    if (gt.width % 4 || gt.height % 4) throw new LiveDistillError(`the validation crop is ${gt.width} x ${gt.height}; sides must be multiples of 4`);
    this.disposeVal();
    const lr = degrade(gt, {preset: this.settings.degradation, seed: this.settings.seed, scale: 4}).lr;
    this.val = {
      gt,
      lr,
      gtT: tf.tensor4d(gt.data, [1, gt.height, gt.width, 3]),
      lrT: tf.tensor4d(lr.data, [1, lr.height, lr.width, 3])
    };
    return this.reference();
  }

  /** The reference panels of the current validation crop (teacher noise from createRng(seed).fork("val")). */
  async reference(): Promise<ValReference> {
    const v = this.requireVal();
    const teacher = this.requireTeacher();
    const x0 = teacher.sample(v.lrT, createRng(this.settings.seed).fork("val"), {mode: LIVE_TARGETS.sampler}).x0;
    const tData = (await x0.data()) as Float32Array;
    x0.dispose();
    const teacherImg = await this.measure(tData);
    const start = await this.measure(await this.studentOutput());
    return {
      gt: {image: v.gt, psnrY: null, kurtosisHH1: haarDetailStats(v.gt.data, 1, v.gt.height, v.gt.width).kurtosis[2], fingerprint: bytesFingerprint(toUint8(v.gt))},
      lr: v.lr,
      teacher: teacherImg,
      start,
      protocol:
        `validation crop ${v.gt.width} x ${v.gt.height} px, LR by degrade() preset ${this.settings.degradation}, seed ${this.settings.seed}; ` +
        `outputs clipped to [0, 1]; PSNR-Y: BT.601 luma, border crop ${LIVE_METRIC_CROP} px, peak 1; HH1 kurtosis: pooled m4/m2^2 of the ` +
        `finest Haar HH band of the BT.601 luma (3 for Gaussian grain); teacher: ${LIVE_TARGETS.sampler} sampler, noise createRng(${this.settings.seed}).fork("val")`
    };
  }

  /**
   * Makes the training patches and their teacher targets (or takes them from this session's memory), then a
   * fresh trainer from the starting weights. Settings that the targets do not depend on are applied too.
   */
  async prepare(settings: LiveSettings, onProgress?: (p: PrepareProgress) => void): Promise<PrepareResult> {
    validateLiveSettings(settings);
    await this.stop();
    const t0 = Date.now();
    const teacher = this.requireTeacher();
    if (this.photos.length === 0) throw new LiveDistillError("no training photographs (setPhotos first)");
    const key = JSON.stringify({
      photos: this.photos.map((p) => `${p.name}:${p.width}x${p.height}`),
      n: settings.patches,
      hr: settings.hrSize,
      degradation: settings.degradation,
      seed: settings.seed,
      seeds: settings.targetSeeds,
      teacher: this.teacherMeta
    });
    let set = this.targetCache.get(key);
    const cached = set !== undefined;
    if (!set) {
      const patches = livePatchSet(this.photos, settings.patches, settings.hrSize, settings.degradation, settings.seed);
      onProgress?.({phase: "patches", done: settings.patches, total: settings.patches});
      set = await buildTargets(
        teacher,
        patches,
        {
          seeds: settings.targetSeeds,
          seed: settings.seed,
          sampler: LIVE_TARGETS.sampler,
          batch: LIVE_TARGETS.batch,
          teacherId: this.teacherMeta!.id,
          teacherStep: this.teacherMeta!.step,
          key,
          patchDescription: {photos: this.photos.map((p) => p.name), n: settings.patches, hrSize: settings.hrSize, degradation: settings.degradation, seed: settings.seed}
        },
        (done, total) => onProgress?.({phase: "targets", done, total})
      );
      this.targetCache.set(key, set);
    }
    this.targets = set;
    this.settings = {...settings, weights: {...settings.weights}};
    this.resetTrainer();
    return {cached, ms: Date.now() - t0, n: set.n, seeds: set.seeds};
  }

  /** True when a trainer is ready (prepare() done since the last change of photographs or models). */
  get prepared(): boolean {
    return this.distiller !== null;
  }

  get stepIndex(): number {
    return this.distiller?.stepIndex ?? 0;
  }

  /** Changes the group weights and the schedule; they take effect at the next step (also while running). */
  setLive(weights: Record<string, number>, schedule: Schedule): void {
    const loss = liveLossConfig({preset: this.settings.preset, weights});
    validateSchedule(schedule);
    this.settings = {...this.settings, weights: {...loss.weights}, schedule};
    if (this.distiller) {
      // Distiller reads config.loss.weights and config.schedule at every step; its group names stay the same.
      Object.assign(this.distiller.config.loss.weights, loss.weights);
      this.distiller.config.schedule = schedule;
    }
  }

  /** Exactly one step (not while running). */
  async step(): Promise<StepResult> {
    if (this.state === "running") throw new LiveDistillError("step: the run is going; pause it first");
    const d = this.requireDistiller();
    if (d.done) throw new LiveDistillError(`all ${d.config.totalSteps} steps are done; reset to train again`);
    const r = await this.timedStep(d);
    this.state = d.done ? "done" : "paused";
    return r;
  }

  /**
   * Runs steps until pause() or the last step. `onStep` sees every step; `yieldFn` is awaited between steps (a
   * worker passes a macrotask so messages are handled). Resolves when the loop has stopped.
   */
  start(onStep: (r: StepResult) => void | Promise<void>, yieldFn: () => Promise<void> = () => Promise.resolve()): Promise<void> {
    if (this.loop) return this.loop;
    const d = this.requireDistiller();
    if (d.done) {
      this.state = "done";
      return Promise.resolve();
    }
    this.stopRequested = false;
    this.state = "running";
    const loop = (async () => {
      try {
        // Yield first: a step's synchronous part (on webgpu the first one compiles every kernel) must not delay the
        // caller's "running" report, and a pause that arrives meanwhile is seen before the next step begins.
        for (;;) {
          await yieldFn();
          if (this.stopRequested || d.done) break;
          await onStep(await this.timedStep(d));
        }
      } finally {
        this.state = d.done ? "done" : "paused";
        this.loop = null;
      }
    })();
    this.loop = loop;
    return loop;
  }

  /** Stops the loop after the step in progress; resolves once it has stopped. */
  async pause(): Promise<void> {
    await this.stop();
  }

  /** Stops, then restores the starting weights with a fresh optimiser at step 0 (the targets are kept). */
  async reset(): Promise<void> {
    await this.stop();
    this.loadStudent();
    if (this.targets) this.resetTrainer();
  }

  /** Validation: the current weights on the validation crop, and the band-group loss on the fixed probe batch. */
  async evaluate(): Promise<EvalResult> {
    const d = this.requireDistiller();
    const img = await this.measure(await this.studentOutput());
    const probeBand = await this.probeBand();
    return {...img, step: d.stepIndex, probeBand, tensors: tf.memory().numTensors};
  }

  /** Weighted band-group loss (lambda not applied) of the current weights on batchAt(0), a fixed batch. */
  async probeBand(): Promise<number> {
    const d = this.requireDistiller();
    const {lr, hr, target} = d.batchAt(0);
    const v = tf.tidy(() => bandGroupLoss(this.student!.apply(lr), target, d.config.loss).total);
    const x = (await v.data())[0];
    tf.dispose([v, lr, hr, target]);
    return x;
  }

  /** The student's output on the validation crop, clipped to [0, 1]. */
  async studentOutput(): Promise<Float32Array> {
    const v = this.requireVal();
    const s = this.requireStudent();
    const out = tf.tidy(() => tf.clipByValue(s.apply(v.lrT), 0, 1));
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  }

  /**
   * The current weights as a DTKDCKPT file in the shipped layout ("ema/<name>" fp32 tensors; EMA is off here, so
   * these are the trained weights): the starting file's metadata with `step` advanced, its card renamed and a
   * `liveDistill` record of the settings, so loadShippedStudent and this engine's importWeights read it.
   */
  async exportWeights(info: {backend: string; exportedAt?: string} = {backend: tf.getBackend()}): Promise<Uint8Array> {
    const s = this.requireStudent();
    const start = this.startWeights!;
    const src = decodeCheckpoint<Record<string, unknown> & {step: number; card?: ModelCard; config: StudentConfig}>(start.bytes).meta;
    const steps = this.stepIndex;
    const tensors: CheckpointTensor[] = [];
    for (const [name, v] of Object.entries(s.params)) tensors.push({name: `ema/${name}`, shape: [...v.shape], data: (await v.data()) as Float32Array, dtype: "float32"});
    const exportedAt = info.exportedAt ?? new Date().toISOString();
    const c = this.settings;
    const lossText = `L1 + lambda(t) x band-group loss (preset ${c.preset}, weights ${JSON.stringify(c.weights)}, schedule ${formatSchedule(c.schedule)})`;
    const card: ModelCard | undefined = src.card
      ? {
          ...src.card,
          id: `${src.card.id.replace(/-live$/, "")}-live`,
          training: {
            ...src.card.training,
            steps: src.card.training.steps + steps,
            wallSeconds: Math.round(src.card.training.wallSeconds + this.trainMs / 1000),
            loss: `${src.card.training.loss}, then ${steps} steps in the browser of ${lossText}`
          },
          exportedAt
        }
      : undefined;
    const meta = {
      ...src,
      kind: "student",
      step: src.step + steps,
      ...(card ? {card} : {}),
      liveDistill: {
        from: {source: start.source, step: src.step, id: src.card?.id},
        teacher: this.teacherMeta,
        steps,
        trainSeconds: Math.round(this.trainMs / 1000),
        backend: info.backend,
        settings: {...c, schedule: formatSchedule(c.schedule)},
        trainer: LIVE_TRAINER,
        guardEvents: this.distiller?.guardEvents ?? []
      }
    };
    return encodeCheckpoint(meta, tensors);
  }

  /**
   * Makes a DTKDCKPT student file (an export of this page, or any student checkpoint with "ema" weights) the
   * starting weights, and resets to them. Throws (naming the problem) on a file that is not such a checkpoint,
   * or whose student is not x4.
   */
  async importWeights(bytes: Uint8Array | ArrayBuffer, source: string): Promise<ImportResult> {
    const b = new Uint8Array(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).slice();
    const kind = decodeCheckpoint<{kind?: unknown}>(b).meta.kind;
    if (kind !== undefined && kind !== "student") throw new LiveDistillError(`${source}: a ${String(kind)} checkpoint, not a student`);
    const {student, meta} = studentFromCheckpoint(b, "ema");
    const params = student.paramCount();
    const scale = student.config.scale;
    student.dispose();
    if (scale !== 4) throw new LiveDistillError(`${source}: the student is x${scale}; this page distils x4 models`);
    await this.stop();
    this.startWeights = {bytes: b, source};
    await this.reset();
    return {source, step: meta.step, params, liveDistill: (meta as Record<string, unknown>).liveDistill ?? null};
  }

  /** Goes back to the shipped student as the starting weights. */
  async useShipped(): Promise<void> {
    await this.stop();
    this.startWeights = {bytes: this.shippedStudent!, source: "shipped"};
    await this.reset();
  }

  get startSource(): string {
    return this.startWeights?.source ?? "none";
  }

  dispose(): void {
    this.stopRequested = true;
    this.disposeDistiller();
    this.student?.dispose();
    this.teacher?.dispose();
    this.student = null;
    this.teacher = null;
    this.disposeVal();
    this.targetCache.clear();
  }

  // -------------------------------------------------------------------------------------------------------

  private async stop(): Promise<void> {
    this.stopRequested = true;
    if (this.loop) await this.loop;
  }

  private async timedStep(d: Distiller): Promise<StepResult> {
    const t = Date.now();
    const r = await d.step();
    this.trainMs += Date.now() - t;
    return r;
  }

  private loadStudent(): void {
    this.disposeDistiller();
    this.student?.dispose();
    this.student = loadShippedStudent(this.startWeights!.bytes).student;
    this.state = "idle";
  }

  private resetTrainer(): void {
    this.disposeDistiller();
    this.distiller = new Distiller(this.requireStudent(), this.targets!, liveDistillConfig(this.settings));
    this.trainMs = 0;
    this.state = "idle";
  }

  private disposeDistiller(): void {
    this.distiller?.dispose();
    this.distiller = null;
  }

  private disposeVal(): void {
    if (this.val) tf.dispose([this.val.gtT, this.val.lrT]);
    this.val = null;
  }

  private async measure(data: Float32Array): Promise<ValImage> {
    const v = this.requireVal();
    const {width, height} = v.gt;
    const o = tf.tensor4d(data, [1, height, width, 3]);
    const p = psnrY(o, v.gtT, {crop: LIVE_METRIC_CROP});
    const value = (await p.data())[0];
    tf.dispose([o, p]);
    const image: ImageF32 = {width, height, channels: 3, data};
    return {image, psnrY: value, kurtosisHH1: haarDetailStats(data, 1, height, width).kurtosis[2], fingerprint: bytesFingerprint(toUint8(image))};
  }

  private requireTeacher(): Teacher {
    if (!this.teacher) throw new LiveDistillError("the models are not loaded");
    return this.teacher;
  }

  private requireStudent(): Student {
    if (!this.student) throw new LiveDistillError("the models are not loaded");
    return this.student;
  }

  private requireVal(): NonNullable<LiveDistillEngine["val"]> {
    if (!this.val) throw new LiveDistillError("no validation crop (setValidation first)");
    return this.val;
  }

  private requireDistiller(): Distiller {
    if (!this.distiller) throw new LiveDistillError("not prepared: make the training patches and teacher targets first");
    return this.distiller;
  }
}
