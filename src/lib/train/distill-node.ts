/**
 * Node side of DTKD distillation (distill.ts holds the platform-free part): the cached teacher targets on disk,
 * the validation patches and their evaluation, one complete logged run, and the distilled artefact.
 *
 * Target cache: `<cacheDir>/distill-targets/<key>.bin` where key = sha256 of {teacher file's sha256, the patch
 * description (photo source, image names, count, seed, size, degradation), samples per patch, sampler, noise seed,
 * teacher batch}. Any run with the same teacher and patch settings reuses the file, whatever its own seed, loss,
 * schedule or target mode (ablation runs differ only in those).
 *
 * Validation protocol (the trainers' own, so the numbers line up with their logs): `valCount` fixed pairs from the
 * val split, fixedPairs(photos, n, 20240601, mild, 64x64 HR, x4); the student's output (EMA weights) clipped to
 * [0, 1]; PSNR-Y and SSIM-Y with a 4-pixel border crop, HaarPSI with the same crop (metrics.ts protocols);
 * band statistics of the finest Haar level on BT.601 luma (texture-stats.ts): energy as a ratio to the ground
 * truth's, pooled kurtosis (truth's alongside); the L1 per band of a 2-level Haar DWT against the truth; and the
 * Fréchet Wavelet Distance (eval/fwd.ts, its defaults) between the output patches and the truth patches.
 */
import * as tf from "@tensorflow/tfjs";
import {execSync} from "node:child_process";
import {createHash} from "node:crypto";
import {existsSync, readdirSync, readFileSync} from "node:fs";
import {basename, join} from "node:path";
import {cpus} from "node:os";
import {decodeCheckpoint, encodeCheckpoint, type CheckpointTensor} from "../checkpoint.js";
import type {SamplerMode} from "../diffusion.js";
import {DEFAULT_DISTILL, Distiller, type DistillConfig, type StepResult} from "../distill.js";
import {buildTargets, decodeTargets, encodeTargets, patchSetFromPhotos, type PatchSet, type TargetSet} from "../distill-targets.js";
import {bandGroupLoss, disposeBandLoss, lossPreset, readBandLoss, type BandLossConfig} from "../loss.js";
import {FWD_DEFAULTS, frechetWaveletDistance, fwdProtocolText} from "../eval/fwd.js";
import {haarpsi, protocolText, psnrY, ssimY} from "../metrics.js";
import type {ImageF32} from "../resize.js";
import {loadShippedStudent, loadShippedTeacher, readShippedMeta, type ModelCard} from "../models/shipped.js";
import type {TeacherConfig} from "../models/teacher.js";
import {createStudent, paramMap, type Student, type StudentConfig} from "../models/student.js";
import {formatSchedule} from "../schedule.js";
import {PRESETS, type Preset} from "../degrade.js";
import {readFileIfExists, writeFileAtomic} from "./checkpoint-file.js";
import {JsonlLogger} from "./logger.js";
import {DEFAULT_PAIR_OPTIONS, fixedPairs, type PairOptions} from "./pairs.js";
import {formatDuration, ProgressBar} from "./progress.js";
import {loadPhotos, resolvePhotoSource, type PhotoSource} from "./teacher-trainer.js";
import {haarDetailStats, type BandStats} from "./texture-stats.js";

// ---------------------------------------------------------------------------------------------------------
// Settings

/** How the training patches, their teacher targets and the validation patches are made. */
export interface DistillDataOptions {
  /** Number of fixed training patches with teacher targets. */
  patches: number;
  hrSize: number;
  preset: Preset;
  /** Seed of the training patches: patch i comes from createRng(pairSeed).fork(`distill-pair-<i>`). */
  pairSeed: number;
  /** Teacher samples per patch stored in the cache (a run may use fewer: DistillConfig.targetSeeds). */
  targetSeeds: number;
  /** Seed of the teacher's sampling noise. */
  targetSeed: number;
  sampler: SamplerMode;
  /** Patches per teacher call. */
  teacherBatch: number;
  /** Photograph folders; default: resolvePhotoSource("train" / "val") (the fetched splits). */
  trainPhotos?: string;
  valPhotos?: string;
  valCount: number;
  cacheDir: string;
}

/**
 * Lab defaults. 512 fixed patches with 8 dihedral variants each: a 600-step run at batch 16 draws 9,600 inputs, each
 * patch about 19 times but each (patch, variant) pair only about 2.3 times;
 * 4 teacher samples per patch; ResShift's stochastic sampler (the teacher's texture, which "mean" or a regression
 * would lose). Validation: 64 patches as in the trainers.
 */
export const DEFAULT_DISTILL_DATA: DistillDataOptions = {
  patches: 512,
  hrSize: 64,
  preset: "mild",
  pairSeed: 20250101,
  targetSeeds: 4,
  targetSeed: 7,
  sampler: "stochastic",
  teacherBatch: 16,
  valCount: 64,
  cacheDir: ".cache",
};

/**
 * Step budget of one distillation run, the default of `npm run distill` and `npm run ablate`: sized so the
 * ablation grid (12 cells x 3 seeds) finishes in about two hours on 2 cores (arithmetic in scripts/ablate.ts).
 */
export const DEFAULT_DISTILL_STEPS = 600;

/** Validation pairs share the trainers' seed so the numbers are comparable with their logs. */
export const VAL_SEED = 20240601;

export const SHIPPED_STUDENT_PATH = "data/models/student-tiny.ckpt";
export const SHIPPED_TEACHER_PATH = "data/models/teacher-base.ckpt";

// ---------------------------------------------------------------------------------------------------------
// Small Node helpers

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export function sha256Text(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** Commit of the working tree ("<sha>" or "<sha>+dirty"), or "unknown" outside git. */
export function gitCommit(): string {
  try {
    const sha = execSync("git rev-parse HEAD", {encoding: "utf8", stdio: ["ignore", "pipe", "ignore"]}).trim();
    const dirty = execSync("git status --porcelain --untracked-files=no", {encoding: "utf8", stdio: ["ignore", "pipe", "ignore"]}).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return "unknown";
  }
}

export function machineDescription(): string {
  const c = cpus();
  return `${c.length}-core ${c[0]?.model ?? "CPU"}, Node ${process.version}`;
}

/** `--key value`, `--key=value` and bare `--flag` (true), as scripts/train.ts parses them. */
export function parseFlags(argv: string[], known: readonly string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument "${a}"`);
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) flags.set(a.slice(2), argv[++i]);
    else flags.set(a.slice(2), true);
  }
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k} (known: ${known.map((x) => "--" + x).join(" ")})`);
  return flags;
}

export function flagNumber(flags: Map<string, string | true>, key: string): number | undefined {
  const v = flags.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new Error(`--${key} needs a number`);
  return n;
}

export function flagString(flags: Map<string, string | true>, key: string): string | undefined {
  const v = flags.get(key);
  if (v === true) throw new Error(`--${key} needs a value`);
  return v;
}

/** Options shared by `npm run distill` and `npm run ablate` for the patches, targets and validation. */
export const DATA_FLAGS = [
  "patches", "hr-size", "degradation", "pair-seed", "target-seeds", "target-seed", "sampler", "teacher-batch",
  "train-photos", "val-photos", "val-count", "cache-dir",
] as const;

export function dataOptionsFromFlags(flags: Map<string, string | true>): DistillDataOptions {
  const d = DEFAULT_DISTILL_DATA;
  const preset = flagString(flags, "degradation") ?? d.preset;
  if (!(PRESETS as readonly string[]).includes(preset)) throw new Error(`--degradation must be one of ${PRESETS.join(", ")}`);
  const sampler = flagString(flags, "sampler") ?? d.sampler;
  if (!["stochastic", "ddim", "mean"].includes(sampler)) throw new Error("--sampler must be stochastic, ddim or mean");
  return {
    patches: flagNumber(flags, "patches") ?? d.patches,
    hrSize: flagNumber(flags, "hr-size") ?? d.hrSize,
    preset: preset as Preset,
    pairSeed: flagNumber(flags, "pair-seed") ?? d.pairSeed,
    targetSeeds: flagNumber(flags, "target-seeds") ?? d.targetSeeds,
    targetSeed: flagNumber(flags, "target-seed") ?? d.targetSeed,
    sampler: sampler as SamplerMode,
    teacherBatch: flagNumber(flags, "teacher-batch") ?? d.teacherBatch,
    trainPhotos: flagString(flags, "train-photos"),
    valPhotos: flagString(flags, "val-photos"),
    valCount: flagNumber(flags, "val-count") ?? d.valCount,
    cacheDir: flagString(flags, "cache-dir") ?? d.cacheDir,
  };
}

/** Optimiser options shared by both commands (the loss and schedule are set per command). */
export const TRAIN_FLAGS = ["steps", "lr", "warmup", "lr-min", "batch", "clip", "ema", "target-mode", "snapshot-every"] as const;

export function trainOptionsFromFlags(
  flags: Map<string, string | true>,
  defaultSteps: number,
): Omit<DistillConfig, "loss" | "schedule" | "seed" | "targetSeeds"> {
  const d = DEFAULT_DISTILL;
  const mode = flagString(flags, "target-mode") ?? d.targetMode;
  if (mode !== "sample" && mode !== "mean") throw new Error("--target-mode must be sample or mean");
  return {
    totalSteps: flagNumber(flags, "steps") ?? defaultSteps,
    lr: flagNumber(flags, "lr") ?? d.lr,
    warmupSteps: flagNumber(flags, "warmup") ?? d.warmupSteps,
    lrMinFactor: flagNumber(flags, "lr-min") ?? d.lrMinFactor,
    batch: flagNumber(flags, "batch") ?? d.batch,
    clipNorm: flagNumber(flags, "clip") ?? d.clipNorm,
    emaDecay: flagNumber(flags, "ema") ?? d.emaDecay,
    targetMode: mode,
    guard: {...d.guard, snapshotEvery: flagNumber(flags, "snapshot-every") ?? d.guard.snapshotEvery},
  };
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;

/** A folder of photographs as a PhotoSource (sorted, so the patch sets are reproducible). */
export function photoSourceFromDir(dir: string): PhotoSource {
  if (!existsSync(dir)) throw new Error(`photo folder ${dir} does not exist`);
  const files = readdirSync(dir)
    .filter((f) => IMAGE_EXT.test(f))
    .sort()
    .map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`photo folder ${dir} holds no PNG or JPEG`);
  return {name: dir, files};
}

function photoSource(split: "train" | "val", dir?: string): PhotoSource {
  return dir ? photoSourceFromDir(dir) : resolvePhotoSource(split);
}

// ---------------------------------------------------------------------------------------------------------
// Teacher targets on disk

export interface TargetCacheInfo {
  key: string;
  path: string;
  /** The description the key hashes (without the teacher's hash). */
  description: Record<string, unknown>;
}

function pairOptions(d: DistillDataOptions, scale: number): PairOptions {
  return {...DEFAULT_PAIR_OPTIONS, hrSize: d.hrSize, scale, preset: d.preset};
}

/** Where the target set for these settings lives (computed without loading photos or the teacher). */
export function targetCacheInfo(d: DistillDataOptions, teacherPath: string, scale = 4): TargetCacheInfo {
  const src = photoSource("train", d.trainPhotos);
  const description = {
    source: src.name,
    images: src.files.map((f) => basename(f)),
    n: d.patches,
    pairSeed: d.pairSeed,
    pairs: pairOptions(d, scale),
    fork: "distill-pair-<i>",
    targetSeeds: d.targetSeeds,
    targetSeed: d.targetSeed,
    sampler: d.sampler,
    teacherBatch: d.teacherBatch,
  };
  const key = sha256Text(JSON.stringify({v: 1, teacher: sha256File(teacherPath), description})).slice(0, 24);
  return {key, path: join(d.cacheDir, "distill-targets", `${key}.bin`), description};
}

/** The fixed training patches (plain arrays; degradation in JS, about 0.2-0.3 s per "mild" pair). */
export async function buildPatchSet(d: DistillDataOptions, scale: number, onProgress?: (done: number, total: number) => void): Promise<PatchSet> {
  const photos = await loadPhotos(photoSource("train", d.trainPhotos));
  return patchSetFromPhotos(photos, d.patches, pairOptions(d, scale), d.pairSeed, onProgress);
}

/**
 * Loads the cached target set, or builds it (patches, then K teacher samples per patch) and writes it atomically.
 * The teacher is loaded only when building. Needs a ready TF.js backend.
 */
export async function ensureTargets(
  d: DistillDataOptions,
  teacherPath: string,
  log: (msg: string) => void = (m) => console.error(m),
): Promise<{set: TargetSet; info: TargetCacheInfo; built: boolean}> {
  const tBytes = new Uint8Array(readFileSync(teacherPath));
  const tMeta = readShippedMeta(tBytes) as ReturnType<typeof readShippedMeta> & {config: TeacherConfig};
  const info = targetCacheInfo(d, teacherPath, tMeta.config.scale);
  const cached = readFileIfExists(info.path);
  if (cached) {
    const set = decodeTargets(cached);
    if (set.meta.key !== info.key) throw new Error(`${info.path}: holds key ${set.meta.key}, expected ${info.key}`);
    log(`teacher targets: cached ${info.path} (${set.n} patches x ${set.seeds} samples)`);
    return {set, info, built: false};
  }
  const {teacher, meta} = loadShippedTeacher(tBytes);
  try {
    const t0 = Date.now();
    const bar = new ProgressBar(process.stderr, 15_000);
    const patches = await buildPatchSet(d, teacher.config.scale, (i, n) =>
      bar.update(i / n, `training patches ${i}/${n}`, ((Date.now() - t0) / 1000 / i) * (n - i)),
    );
    bar.done();
    const t1 = Date.now();
    const teacherId = meta.card?.id ?? basename(teacherPath);
    const set = await buildTargets(
      teacher,
      patches,
      {
        seeds: d.targetSeeds,
        seed: d.targetSeed,
        sampler: d.sampler,
        batch: d.teacherBatch,
        teacherId,
        teacherStep: meta.step,
        key: info.key,
        patchDescription: info.description,
      },
      (i, n) => bar.update(i / n, `teacher targets ${i}/${n} calls`, ((Date.now() - t1) / 1000 / i) * (n - i)),
    );
    bar.done();
    set.meta.teacher.sha256 = sha256File(teacherPath);
    writeFileAtomic(info.path, encodeTargets(set));
    log(
      `teacher targets: built ${info.path} (${set.n} patches x ${set.seeds} samples; patches ${formatDuration((t1 - t0) / 1000)}, ` +
        `teacher ${formatDuration((Date.now() - t1) / 1000)})`,
    );
    return {set, info, built: true};
  } finally {
    teacher.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Validation

export interface ValSet {
  lr: tf.Tensor4D;
  hr: tf.Tensor4D;
  n: number;
  hrSize: number;
  scale: number;
  source: string;
  hrStats: BandStats;
}

export async function makeValSet(d: DistillDataOptions, scale: number): Promise<ValSet> {
  const src = photoSource("val", d.valPhotos);
  const v = fixedPairs(await loadPhotos(src), d.valCount, VAL_SEED, pairOptions(d, scale));
  const hrStats = haarDetailStats((await v.hr.data()) as Float32Array, d.valCount, d.hrSize, d.hrSize);
  return {...v, n: d.valCount, hrSize: d.hrSize, scale, source: src.name, hrStats};
}

export function disposeValSet(v: ValSet): void {
  tf.dispose([v.lr, v.hr]);
}

export interface EvalMetrics {
  /** Means over the validation patches. */
  psnrY: number;
  ssimY: number;
  haarpsi: number;
  /** Finest Haar level (LH1, HL1, HH1) of luma: energy / truth's energy, and pooled kurtosis. */
  energyRatio: [number, number, number];
  kurtosis: [number, number, number];
  /** Mean |coefficient difference| per band of a 2-level Haar DWT (RGB) against the truth. */
  bandL1: Record<string, number>;
  /** Fréchet Wavelet Distance of the output patches' distribution to the truth patches' (eval/fwd.ts defaults). */
  fwd: number;
}

/** The protocol of EvalMetrics, to store beside the numbers. */
export function evalProtocol(v: Pick<ValSet, "n" | "hrSize" | "scale" | "source">, preset: string): Record<string, string> {
  const crop = v.scale;
  return {
    data: `${v.n} fixed validation pairs from ${v.source}: fixedPairs(seed ${VAL_SEED}), ${v.hrSize}x${v.hrSize} HR, x${v.scale}, degradation "${preset}"`,
    output: "student with its EMA weights (raw weights when EMA is off), output clipped to [0, 1]",
    psnrY: protocolText("psnrY", {crop}) + "; mean over patches",
    ssimY: protocolText("ssimY", {crop}) + "; mean over patches",
    haarpsi: protocolText("haarpsi", {crop}) + "; mean over patches",
    energyRatio: "finest Haar level (LH1, HL1, HH1) of BT.601 luma (0.299, 0.587, 0.114) in [0,1]: sum of squares over all patches / the truth's",
    kurtosis: "pooled kurtosis m4 / m2^2 (not excess; Gaussian 3) of the same coefficients",
    bandL1: "mean |difference| of orthonormal 2-level Haar DWT coefficients (RGB, no crop) against the truth, per band",
    fwd: `${fwdProtocolText()}; reference set: the ${v.n} truth patches, compared set: the ${v.n} outputs (${v.n * Math.floor(v.hrSize / FWD_DEFAULTS.patch) ** 2} samples each; no crop)`,
  };
}

const meanOf = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0) / a.length;
const r4 = (x: number) => +x.toFixed(4);

/** Metrics of an SR batch (clipped to [0,1] by the caller) against the validation truth. */
export async function evaluateOutputs(sr: tf.Tensor4D, v: ValSet): Promise<EvalMetrics> {
  const crop = v.scale;
  const ts = [psnrY(sr, v.hr, {crop}), ssimY(sr, v.hr, {crop}), haarpsi(sr, v.hr, {crop})];
  const [p, s, h] = await Promise.all(ts.map((t) => t.data()));
  tf.dispose(ts);
  const st = haarDetailStats((await sr.data()) as Float32Array, v.n, v.hrSize, v.hrSize);
  const bands = bandGroupLoss(sr, v.hr, lossPreset("uniform", 2, "haar"));
  const bv = await readBandLoss(bands);
  disposeBandLoss(bands);
  const bandL1: Record<string, number> = {};
  for (const [k, x] of Object.entries(bv.perBand)) bandL1[k] = +x.toPrecision(5);
  const fwd = frechetWaveletDistance(await patchImages(v.hr), await patchImages(sr)).fwd;
  return {
    psnrY: +meanOf(p).toFixed(4),
    ssimY: +meanOf(s).toFixed(5),
    haarpsi: +meanOf(h).toFixed(5),
    energyRatio: st.energy.map((e, k) => r4(e / v.hrStats.energy[k])) as [number, number, number],
    kurtosis: st.kurtosis.map((k) => +k.toFixed(3)) as [number, number, number],
    bandL1,
    fwd: +fwd.toPrecision(5),
  };
}

async function patchImages(t: tf.Tensor4D): Promise<ImageF32[]> {
  const [n, h, w, c] = t.shape;
  const d = (await t.data()) as Float32Array;
  return Array.from({length: n}, (_, i) => ({width: w, height: h, channels: c, data: d.slice(i * h * w * c, (i + 1) * h * w * c)}));
}

/** Evaluates `weights` (e.g. a distiller's EMA) in a student of `config`, without touching the caller's student. */
export async function evaluateWeights(config: StudentConfig, weights: Map<string, tf.Variable>, v: ValSet): Promise<EvalMetrics> {
  const s = createStudent(config, 0);
  try {
    const vars = paramMap(s);
    tf.tidy(() => {
      for (const [k, w] of weights) vars.get(k)!.assign(w);
    });
    return await evaluateStudent(s, v);
  } finally {
    s.dispose();
  }
}

export async function evaluateStudent(s: Student, v: ValSet): Promise<EvalMetrics> {
  const sr = tf.tidy(() => tf.clipByValue(s.apply(v.lr), 0, 1)) as tf.Tensor4D;
  try {
    return await evaluateOutputs(sr, v);
  } finally {
    sr.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// One complete run

export interface DistillRunOptions {
  studentPath: string;
  teacherPath: string;
  config: DistillConfig;
  data: DistillDataOptions;
  logPath: string;
  /** Where to write the distilled artefact (null: not written). */
  outPath: string | null;
  /** Also evaluate the starting student. */
  evalBefore: boolean;
  /** Shown in the progress line and the log. */
  label: string;
  backend: string;
  /** Test hook passed to Distiller.injectFault. */
  faults?: {step: number; kind: "loss" | "weight"}[];
  /** Progress-line interval when stderr is not a terminal (ms). */
  progressEveryMs?: number;
}

export interface DistillRunResult {
  label: string;
  steps: number;
  startedAt: string;
  finishedAt: string;
  /** Training loop only (not loading, targets or evaluation). */
  trainSeconds: number;
  wallSeconds: number;
  stepsPerSec: number;
  /** Process CPU time per training step (steadier than wall time on a shared machine). */
  cpuSecondsPerStep: number;
  backend: string;
  targetsKey: string;
  guardEvents: StepResult["guard"][];
  /** Mean of the step values over the last 10% of steps. */
  finalTrain: {total: number; recon: number; bandWeighted: number; band: Record<string, number>};
  before?: EvalMetrics;
  after: EvalMetrics;
  /** How `before` and `after` were measured (evalProtocol). */
  protocol: Record<string, string>;
  outPath: string | null;
}

/** A JSON-able description of a distillation config (the schedule in its URL form). */
export function describeConfig(c: DistillConfig): Record<string, unknown> {
  return {...c, schedule: formatSchedule(c.schedule)};
}

/** One-line description of a loss config, e.g. "haar 2 levels, l1, low 0.5 / mid 2 / high 1". */
export function describeLoss(l: BandLossConfig): string {
  const w = Object.entries(l.weights).map(([g, x]) => `${g} ${x}`).join(" / ");
  return l.levels === 0 ? `pixel space (no DWT), ${l.distance}, ${w}` : `${l.wavelet} ${l.levels} level(s), ${l.distance}, ${w}`;
}

/**
 * Loads the student and the (cached or built) targets, distils for config.totalSteps steps with a JSON-lines log
 * (one "step" record per step, lambda included), evaluates on the validation patches and writes the artefact.
 * The TF.js backend must be ready (chooseBackend) before this is called.
 */
export async function runDistillation(o: DistillRunOptions): Promise<DistillRunResult> {
  const startedAt = new Date().toISOString();
  const tStart = Date.now();
  const log = new JsonlLogger(o.logPath);
  const sBytes = new Uint8Array(readFileSync(o.studentPath));
  const {student, meta: sMeta} = loadShippedStudent(sBytes);
  const {set, info} = await ensureTargets(o.data, o.teacherPath);
  const val = await makeValSet(o.data, student.config.scale);
  const d = new Distiller(student, set, o.config);
  try {
    for (const f of o.faults ?? []) d.injectFault(f.step, f.kind);
    log.write({
      kind: "start",
      label: o.label,
      commit: gitCommit(),
      machine: machineDescription(),
      backend: o.backend,
      student: {path: o.studentPath, sha256: sha256File(o.studentPath), step: sMeta.step, params: student.paramCount()},
      teacher: {path: o.teacherPath, sha256: set.meta.teacher.sha256 ?? sha256File(o.teacherPath), id: set.meta.teacher.id, step: set.meta.teacher.step},
      targets: {key: info.key, path: info.path, n: set.n, seeds: set.seeds, sampler: set.meta.sampler},
      config: describeConfig(o.config),
      loss: describeLoss(o.config.loss),
      data: o.data,
      protocol: evalProtocol(val, o.data.preset),
    });
    let before: EvalMetrics | undefined;
    if (o.evalBefore) {
      before = await evaluateStudent(student, val);
      log.write({kind: "eval", when: "before", step: 0, ...before});
    }
    const N = o.config.totalSteps;
    const bar = new ProgressBar(process.stderr, o.progressEveryMs ?? 30_000);
    const tailFrom = N - Math.max(1, Math.round(N / 10));
    const tail = {n: 0, total: 0, recon: 0, bandWeighted: 0, band: {} as Record<string, number>};
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    while (!d.done) {
      const r = await d.step();
      log.write({kind: "step", ...r});
      if (r.guard) {
        log.write({kind: "guard", ...r.guard});
        console.error(`\nguard: step ${r.guard.step} non-finite ${r.guard.nonFinite.join(", ")}; restored step ${r.guard.restoredFrom}, lr now x${r.guard.lrFactor}`);
      }
      if (r.step >= tailFrom && r.applied) {
        tail.n++;
        tail.total += r.total;
        tail.recon += r.recon;
        tail.bandWeighted += r.bandWeighted;
        for (const [k, x] of Object.entries(r.band)) tail.band[k] = (tail.band[k] ?? 0) + x;
      }
      const sec = (Date.now() - t0) / 1000;
      const rate = d.stepIndex / sec;
      bar.update(
        d.stepIndex / N,
        `${o.label} step ${d.stepIndex}/${N} | loss ${r.total.toFixed(4)} (L1 ${r.recon.toFixed(4)}, band ${r.bandWeighted.toFixed(4)}) | lambda ${r.lambda.toFixed(3)} | ${rate.toFixed(2)} it/s`,
        (N - d.stepIndex) / rate,
        d.stepIndex === N,
      );
    }
    bar.done();
    const trainSeconds = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const after = await evaluateWeights(student.config, d.evalWeights(), val);
    log.write({kind: "eval", when: "after", step: N, ...after});
    const div = Math.max(1, tail.n);
    const finalTrain = {
      total: tail.total / div,
      recon: tail.recon / div,
      bandWeighted: tail.bandWeighted / div,
      band: Object.fromEntries(Object.entries(tail.band).map(([k, x]) => [k, x / div])),
    };
    if (o.outPath) {
      await writeDistilledArtefact(o.outPath, sBytes, d, {
        steps: N,
        trainSeconds,
        backend: o.backend,
        config: o.config,
        teacher: {path: o.teacherPath, id: set.meta.teacher.id, step: set.meta.teacher.step, sha256: set.meta.teacher.sha256},
        targetsKey: info.key,
        eval: {protocol: evalProtocol(val, o.data.preset), before, after},
        studentPath: o.studentPath,
      });
      log.write({kind: "artefact", path: o.outPath});
    }
    const res: DistillRunResult = {
      label: o.label,
      steps: N,
      startedAt,
      finishedAt: new Date().toISOString(),
      trainSeconds: +trainSeconds.toFixed(2),
      wallSeconds: +((Date.now() - tStart) / 1000).toFixed(2),
      stepsPerSec: +(N / trainSeconds).toFixed(4),
      cpuSecondsPerStep: +((cpu.user + cpu.system) / 1e6 / N).toFixed(4),
      backend: o.backend,
      targetsKey: info.key,
      guardEvents: d.guardEvents,
      finalTrain,
      before,
      after,
      protocol: evalProtocol(val, o.data.preset),
      outPath: o.outPath,
    };
    log.write({kind: "end", ...res});
    return res;
  } finally {
    d.dispose();
    student.dispose();
    disposeValSet(val);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The distilled artefact

interface ArtefactInfo {
  steps: number;
  trainSeconds: number;
  backend: string;
  config: DistillConfig;
  teacher: {path: string; id: string; step: number; sha256?: string};
  targetsKey: string;
  eval: Record<string, unknown>;
  studentPath: string;
}

/**
 * Writes the distilled student in the shipped format (DTKDCKPT, fp32 "ema/<name>" tensors, the source's
 * metadata with `step` advanced, its card updated, and a `distill` record), so loadShippedStudent reads it.
 */
export async function writeDistilledArtefact(path: string, sourceBytes: Uint8Array, d: Distiller, a: ArtefactInfo): Promise<void> {
  const src = decodeCheckpoint<Record<string, unknown> & {step: number; card?: ModelCard}>(sourceBytes).meta;
  const tensors: CheckpointTensor[] = [];
  for (const [name, v] of d.evalWeights()) tensors.push({name: `ema/${name}`, shape: [...v.shape], data: (await v.data()) as Float32Array, dtype: "float32"});
  const lossText = `L1 + lambda(t) x band-group loss (${describeLoss(a.config.loss)}; schedule ${formatSchedule(a.config.schedule)})`;
  const card: ModelCard | undefined = src.card
    ? {
        ...src.card,
        id: basename(path).replace(/\.ckpt$/, ""),
        training: {
          ...src.card.training,
          steps: src.card.training.steps + a.steps,
          wallSeconds: Math.round(src.card.training.wallSeconds + a.trainSeconds),
          loss: `${src.card.training.loss}, then ${a.steps} steps of ${lossText}`,
        },
        exportedAt: new Date().toISOString(),
        commit: gitCommit(),
      }
    : undefined;
  const meta = {
    ...src,
    kind: "student",
    step: src.step + a.steps,
    ...(card ? {card} : {}),
    distill: {
      from: {path: a.studentPath, sha256: sha256File(a.studentPath), step: src.step, id: src.card?.id},
      teacher: a.teacher,
      steps: a.steps,
      trainSeconds: Math.round(a.trainSeconds),
      backend: a.backend,
      machine: machineDescription(),
      config: describeConfig(a.config),
      loss: lossText,
      targetsKey: a.targetsKey,
      guardEvents: d.guardEvents,
      eval: a.eval,
    },
  };
  writeFileAtomic(path, encodeCheckpoint(meta, tensors));
}
