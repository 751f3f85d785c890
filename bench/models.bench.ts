// Benchmark: the lab's two models in Node, on the wasm and cpu backends.
//
//   Training throughput: the tiny student (src/lib/models/student.ts) and the base teacher
//   (src/lib/models/teacher.ts), batch 16 of 64x64 HR / 16x16 LR patches, one optimizer step each as the
//   trainers take it: student-trainer.ts (L1 reconstruction loss, gradients, Adam with clipping, EMA update,
//   loss read back) and teacher-trainer.ts (predictor L1 and preconditioned diffusion loss, one random step
//   per sample, each differentiated for its own parameters; Adam, EMA, both losses and the per-sample losses
//   read back). The step is reproduced here from the trainers' exported pieces.
//   Inference latency: a 128x128 LR image (astronaut.png from data/test, MATLAB-bicubic /4) to 512x512:
//   the student, the teacher's full T-step stochastic sample, and the teacher's predictor alone (on cpu the
//   full sample runs on a 32x32 crop: see SAMPLE_LR).
//
// Run: npx tsx bench/models.bench.ts [--quick] [--backends wasm,cpu] [--sections train,infer]
// (pin it to a core for steadier figures: taskset -c 0 npx tsx bench/models.bench.ts)
//
// Method: warm-up runs, then the median of timed runs; the counts are printed in the tables ("1 after 1
// small": one timed run after one warm-up on a small input, see REPS). --quick: wasm only, fewer runs.
// Two figures per cell: wall-clock ms and process CPU ms (user + system). wasm and cpu run on the main
// thread, so CPU time is the work done and stays meaningful when other jobs share the core; wall time on a
// loaded core includes time spent waiting for it. Any tensors a timed run leaves behind are reported.
// - Training data: a fixed pool of 64 pairs cut from the 14 data/test photographs with the "bicubic"
//   degradation (refreshEvery 0). Drawing a batch from the pool (with the trainers' dihedral transforms) is
//   timed; refreshing pool slots with the "mild" degradation, which the trainers do every 2 steps, is not
//   (see bench/pairs.bench.ts). Timing starts before the batch is drawn and ends when the losses are read back.
// - FLOPs: the models' own analytic counts (studentFlopsPerOutputPixel, teacherFlopsPerOutputPixel): 2 FLOPs
//   per multiply-add of convolutions, linear layers and attention products; norms, activations and
//   element-wise work are not counted. A training step is counted as 3x its forward pass (forward, plus
//   input and weight gradients of the same size), the usual convention; the teacher's forward pass in
//   training is the predictor plus ONE denoiser evaluation per sample. The optimizer and EMA updates are not
//   counted. "Effective GFLOP/s" = those FLOPs / time.
// - Inference: timed from an LR tensor on the backend until the output is read back (`await data()`). The
//   student and teacher are freshly initialised from their configs (speed does not depend on the weights).
import * as tf from "@tensorflow/tfjs";
import {setWasmPaths} from "@tensorflow/tfjs-backend-wasm";
import {readdirSync} from "node:fs";
import {createRequire} from "node:module";
import os from "node:os";
import {dirname, join} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";
import {readImageFile} from "../src/lib/image-files.js";
import {toRgb} from "../src/lib/image-io.js";
import {createStudent, paramMap, STUDENT_CONFIGS, studentFlopsPerOutputPixel} from "../src/lib/models/student.js";
import {Teacher, TEACHER_CONFIGS, teacherFlopsPerOutputPixel} from "../src/lib/models/teacher.js";
import {imresize} from "../src/lib/resize.js";
import {createRng} from "../src/lib/rng.js";
import {Adam} from "../src/lib/train/adam.js";
import {Ema} from "../src/lib/train/ema.js";
import {learningRate} from "../src/lib/train/lr-schedule.js";
import {DEFAULT_PAIR_OPTIONS, PairPool, photoFromRgb, type Photo} from "../src/lib/train/pairs.js";
import {DEFAULT_STUDENT_TRAIN, reconstructionLoss} from "../src/lib/train/student-trainer.js";
import {DEFAULT_TEACHER_TRAIN} from "../src/lib/train/teacher-trainer.js";

type Backend = "wasm" | "cpu";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const QUICK = process.argv.includes("--quick");
const BACKENDS = arg("backends", QUICK ? "wasm" : "wasm,cpu").split(",").filter(Boolean) as Backend[];
const SECTIONS = arg("sections", "train,infer").split(",");
const BATCH = 16;
const HR = 64;
const LR_INFER = 128;
/**
 * LR side for the teacher's full sample. On cpu a 128x128 sample is about 68 GFLOP at under 0.1 GFLOP/s
 * (measured: the student's 3 GFLOP forward took 45 CPU-s), i.e. a quarter of an hour per run; cpu times it on a
 * 32x32 LR image (128x128 out), which the table states. The work is convolutions at the LR grid, linear in
 * the pixel count.
 */
const SAMPLE_LR: Record<Backend, number> = {wasm: LR_INFER, cpu: 32};
const SMALL_LR = 16;
const STUDENT_CFG = STUDENT_CONFIGS.tiny;
const TEACHER_CFG = TEACHER_CONFIGS.base;

interface Reps {
  warmup: number;
  runs: number;
  /** Warm up on a small input (batch 2 / a 16x16 LR image) instead of the timed size: on cpu a full-size run
   * costs up to minutes, and its first run measured no slower than later ones (the warm-up only has to load
   * the kernels and JIT the JavaScript). */
  smallWarmup?: boolean;
}
/**
 * Warm-up and timed runs per (section, backend). The cpu backend is 25-100x slower than wasm (a training step
 * of the teacher about 100 CPU-s, a full 128x128 sample about as long), so it gets one timed run per cell to
 * keep the default under ~10 minutes of CPU time; --quick benches wasm only, with fewer runs, unless
 * --backends names cpu.
 */
const CPU_REPS: Reps = {warmup: 1, runs: 1, smallWarmup: true};
const REPS: Record<"train" | "infer" | "sample", Record<Backend, Reps>> = QUICK
  ? {
      train: {wasm: {warmup: 1, runs: 3}, cpu: CPU_REPS},
      infer: {wasm: {warmup: 1, runs: 3}, cpu: CPU_REPS},
      sample: {wasm: {warmup: 1, runs: 1}, cpu: CPU_REPS},
    }
  : {
      train: {wasm: {warmup: 1, runs: 5}, cpu: CPU_REPS},
      infer: {wasm: {warmup: 1, runs: 5}, cpu: CPU_REPS},
      sample: {wasm: {warmup: 1, runs: 3}, cpu: CPU_REPS},
    };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Timing {
  /** median wall-clock ms */
  wall: number;
  /** median process CPU ms (user + system) */
  cpu: number;
}

/** Tensors left behind per timed run, by label (reported under the tables: a leak is a bug to fix, not a cost). */
const LEAKS = new Map<string, number>();
/** Labels whose runs could not be checked for leaks (a single run at the timed size). */
const UNCHECKED: string[] = [];

/** Runs `fn(i)` warm-up + timed times and records any tensors the timed runs leave behind. */
async function timeIt(reps: Reps, label: string, fn: (i: number, small: boolean) => Promise<void>): Promise<Timing> {
  const walls: number[] = [];
  const cpus: number[] = [];
  let tensors = -1;
  // The first run at a given input size fills per-size caches (shift masks, constants), which are kept on purpose;
  // count from the end of that run.
  const checkFrom = reps.smallWarmup ? reps.warmup + 1 : reps.warmup;
  for (let i = 0; i < reps.warmup + reps.runs; i++) {
    if (i === checkFrom) tensors = tf.memory().numTensors;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(i, i < reps.warmup && !!reps.smallWarmup);
    const dt = performance.now() - t0;
    const dc = process.cpuUsage(c0);
    if (i >= reps.warmup) {
      walls.push(dt);
      cpus.push((dc.user + dc.system) / 1000);
    }
    console.error(`  ${label} run ${i + 1}/${reps.warmup + reps.runs}${i < reps.warmup ? (reps.smallWarmup ? " (warm-up, small input)" : " (warm-up)") : ""}: ${dt.toFixed(0)} ms wall, ${((dc.user + dc.system) / 1000).toFixed(0)} ms CPU`);
    // Let timers and signals run between runs (TF.js work on wasm/cpu is synchronous).
    await new Promise<void>((r) => setImmediate(r));
  }
  if (tensors < 0) UNCHECKED.push(label);
  else {
    const leaked = tf.memory().numTensors - tensors;
    if (leaked !== 0) LEAKS.set(label, leaked / (reps.warmup + reps.runs - checkFrom));
  }
  return {wall: median(walls), cpu: median(cpus)};
}

async function startBackend(name: Backend): Promise<void> {
  if (name === "wasm") {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
    setWasmPaths(pathToFileURL(dir).href + "/");
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to start`);
  await tf.ready();
}

const TEST_DIR = fileURLToPath(new URL("../data/test/", import.meta.url));

async function testPhotos(): Promise<Photo[]> {
  const files = readdirSync(TEST_DIR)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort();
  const out: Photo[] = [];
  for (const f of files) {
    const img = await readImageFile(join(TEST_DIR, f));
    out.push(photoFromRgb(f, img.width, img.height, toRgb(img)));
  }
  return out;
}

// ---- training steps ---------------------------------------------------------------------------------
interface TrainRow {
  model: string;
  params: number;
  backend: Backend;
  flopsPerStep: number;
  t: Timing;
  reps: Reps;
}

async function benchStudentTrain(backend: Backend, pool: PairPool): Promise<TrainRow> {
  const student = createStudent(STUDENT_CFG, 1);
  const vars = paramMap(student);
  const adam = new Adam(vars, {clipNorm: DEFAULT_STUDENT_TRAIN.clipNorm});
  const ema = new Ema(vars, DEFAULT_STUDENT_TRAIN.emaDecay);
  const reps = REPS.train[backend];
  const t = await timeIt(reps, `student train ${backend}`, async (step, small) => {
    const {lr, hr} = pool.batch(small ? 2 : BATCH, createRng(1).fork(`step-${step}`));
    const g = tf.variableGrads(() => reconstructionLoss(student, lr, hr));
    const grads: Record<string, tf.Tensor> = {};
    for (const [k, p] of vars) if (g.grads[p.name]) grads[k] = g.grads[p.name];
    adam.apply(grads, learningRate(DEFAULT_STUDENT_TRAIN.lr, step));
    ema.update(adam.t);
    const loss = (await g.value.data())[0];
    tf.dispose([lr, hr, g.value, ...Object.values(g.grads)]);
    if (!Number.isFinite(loss)) throw new Error(`student: non-finite loss at step ${step}`);
  });
  const ls = HR / STUDENT_CFG.scale;
  const flopsPerStep = 3 * studentFlopsPerOutputPixel(STUDENT_CFG, ls, ls) * HR * HR * BATCH;
  const row = {model: "student tiny", params: student.paramCount(), backend, flopsPerStep, t, reps};
  student.dispose();
  adam.dispose();
  ema.dispose();
  return row;
}

async function benchTeacherTrain(backend: Backend, pool: PairPool): Promise<TrainRow> {
  const cfg = TEACHER_CFG;
  const teacher = new Teacher(cfg, createRng(1).fork("init"));
  const vars = teacher.params.vars;
  const adam = new Adam(vars, {clipNorm: DEFAULT_TEACHER_TRAIN.clipNorm});
  const ema = new Ema(vars, DEFAULT_TEACHER_TRAIN.emaDecay);
  const predVars = teacher.params.list("pred.");
  const denVars = teacher.params.list("den.");
  const T = cfg.diffusion.T;
  const reps = REPS.train[backend];
  const t = await timeIt(reps, `teacher train ${backend}`, async (step, small) => {
    const srng = createRng(1).fork(`step-${step}`);
    const B = small ? 2 : BATCH;
    const {lr: lrT, hr: hrT} = pool.batch(B, srng);
    const steps = Array.from({length: B}, (_, i) => (i % T) + 1);
    const ls = lrT.shape[1];
    const c = 3 * cfg.scale * cfg.scale;
    const noise = tf.tensor4d(srng.fillNormal(new Float32Array(B * ls * ls * c)) as Float32Array, [B, ls, ls, c]);
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
    adam.apply(grads, learningRate(DEFAULT_TEACHER_TRAIN.lr, step));
    ema.update(adam.t);
    const [pl, dl] = [(await g1.value.data())[0], (await g2.value.data())[0]];
    await perSample.data();
    tf.dispose([lrT, hrT, noise, y, f, perSample, g1.value, g2.value, ...Object.values(grads)]);
    if (!Number.isFinite(pl) || !Number.isFinite(dl)) throw new Error(`teacher: non-finite loss at step ${step}`);
  });
  // Forward FLOPs in training: the predictor once and the denoiser once per sample.
  const flopsPerStep = 3 * teacherFlopsPerOutputPixel(cfg, 1) * HR * HR * BATCH;
  const row = {model: "teacher base", params: teacher.parameterCounts().total, backend, flopsPerStep, t, reps};
  teacher.dispose();
  adam.dispose();
  ema.dispose();
  return row;
}

// ---- inference --------------------------------------------------------------------------------------
interface InferRow {
  model: string;
  backend: Backend;
  /** LR input side (output 4x). */
  lrSide: number;
  flops: number;
  t: Timing;
  reps: Reps;
}

async function lrImage(): Promise<Float32Array> {
  const img = await readImageFile(join(TEST_DIR, "astronaut.png"));
  const s = LR_INFER * 4;
  if (img.width !== s || img.height !== s) throw new Error(`astronaut.png: expected ${s}x${s}, got ${img.width}x${img.height}`);
  return imresize({width: s, height: s, channels: 3, data: toRgb(img)}, {scale: 1 / 4}).data;
}

async function benchInference(backend: Backend, lrData: Float32Array): Promise<InferRow[]> {
  const lr = tf.tensor4d(lrData, [1, LR_INFER, LR_INFER, 3]);
  const lrSmall = tf.slice(lr, [0, 0, 0, 0], [1, SMALL_LR, SMALL_LR, 3]) as tf.Tensor4D;
  const pick = (small: boolean) => (small ? lrSmall : lr);
  const ss = SAMPLE_LR[backend];
  // A centred crop when the sample runs on a smaller image (cpu).
  const lrSample = ss === LR_INFER ? lr : (tf.slice(lr, [0, (LR_INFER - ss) >> 1, (LR_INFER - ss) >> 1, 0], [1, ss, ss, 3]) as tf.Tensor4D);
  const out = LR_INFER * 4 * LR_INFER * 4;
  const rows: InferRow[] = [];
  const student = createStudent(STUDENT_CFG, 1);
  const rs = REPS.infer[backend];
  rows.push({
    model: "student tiny",
    backend,
    lrSide: LR_INFER,
    flops: studentFlopsPerOutputPixel(STUDENT_CFG, LR_INFER, LR_INFER) * out,
    reps: rs,
    t: await timeIt(rs, `student infer ${backend}`, async (_, small) => {
      const y = student.apply(pick(small));
      await y.data();
      y.dispose();
    }),
  });
  student.dispose();
  const teacher = new Teacher(TEACHER_CFG, createRng(1).fork("init"));
  rows.push({
    model: "teacher base, predictor only",
    backend,
    lrSide: LR_INFER,
    flops: teacherFlopsPerOutputPixel(TEACHER_CFG, 0) * out,
    reps: rs,
    t: await timeIt(rs, `teacher predictor ${backend}`, async (_, small) => {
      const y = teacher.regress(pick(small));
      await y.data();
      y.dispose();
    }),
  });
  const rt = REPS.sample[backend];
  rows.push({
    model: `teacher base, full sample (T = ${TEACHER_CFG.diffusion.T}, stochastic)`,
    backend,
    lrSide: ss,
    flops: teacherFlopsPerOutputPixel(TEACHER_CFG) * ss * 4 * ss * 4,
    reps: rt,
    t: await timeIt(rt, `teacher sample ${backend}`, async (i, small) => {
      const r = teacher.sample(small ? lrSmall : lrSample, createRng(7).fork(`sample-${i}`), {mode: "stochastic"});
      await r.x0.data();
      r.x0.dispose();
    }),
  });
  teacher.dispose();
  tf.dispose(lrSample === lr ? [lr, lrSmall] : [lr, lrSmall, lrSample]);
  return rows;
}

// ---- report -----------------------------------------------------------------------------------------
const f0 = (v: number) => v.toFixed(0);
const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);
const repsText = (r: Reps) => `${r.runs} after ${r.warmup}${r.smallWarmup ? " small" : ""}`;
const loadText = () => os.loadavg().map((v) => v.toFixed(1)).join(", ");

async function main() {
  const cpus = os.cpus();
  const loadStart = loadText();
  const t0 = Date.now();
  const trainRows: TrainRow[] = [];
  const inferRows: InferRow[] = [];
  let pool: PairPool | null = null;
  if (SECTIONS.includes("train")) {
    pool = new PairPool(await testPhotos(), 1, {...DEFAULT_PAIR_OPTIONS, hrSize: HR, scale: 4, preset: "bicubic", poolSize: 64, refreshEvery: 0});
    pool.build(0);
  }
  const lrData = SECTIONS.includes("infer") ? await lrImage() : null;
  for (const backend of BACKENDS) {
    await startBackend(backend);
    if (pool) {
      trainRows.push(await benchStudentTrain(backend, pool));
      trainRows.push(await benchTeacherTrain(backend, pool));
    }
    if (lrData) inferRows.push(...(await benchInference(backend, lrData)));
  }

  console.log(`\n## Models in Node (bench/models.bench.ts${QUICK ? " --quick" : ""})\n`);
  console.log(
    `${os.type()} ${os.arch()}, ${cpus.length} x ${cpus[0]?.model ?? "?"}; Node ${process.version}, TF.js ${tf.version.tfjs}, ` +
      `backends ${BACKENDS.join(", ")} (wasm single-threaded, main thread). ` +
      `Load average (1, 5, 15 min) at start ${loadStart}, at end ${loadText()}; ${((Date.now() - t0) / 60000).toFixed(1)} min in all. ` +
      `Medians of timed runs after warm-up runs (counts in the tables); CPU ms = process user + system time.`,
  );
  if (trainRows.length) {
    console.log(`\n### Training step, batch ${BATCH} of ${HR}x${HR} HR / ${HR / 4}x${HR / 4} LR patches\n`);
    console.log(
      "Effective GFLOP/s = 3 x forward FLOPs of the batch (teacher: predictor + one denoiser evaluation per sample) / time; " +
        "the wall figure includes waiting for a shared core, the CPU figure does not.\n",
    );
    console.log("| model | params | backend | step ms | step CPU ms | samples/s | samples per CPU-s | GFLOP per step | GFLOP/s (wall) | GFLOP/s (CPU) | steps timed |");
    console.log("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for (const r of trainRows) {
      const g = r.flopsPerStep / 1e9;
      console.log(
        `| ${r.model} | ${r.params.toLocaleString("en")} | ${r.backend} | ${f0(r.t.wall)} | ${f0(r.t.cpu)} | ${f2((BATCH * 1000) / r.t.wall)} | ${f2((BATCH * 1000) / r.t.cpu)} | ${f2(g)} | ${f2(g / (r.t.wall / 1000))} | ${f2(g / (r.t.cpu / 1000))} | ${repsText(r.reps)} |`,
      );
    }
  }
  if (inferRows.length) {
    console.log(`\n### Inference, one LR image to 4x its size (a crop of astronaut.png, MATLAB-bicubic /4)\n`);
    console.log("| model | backend | LR -> SR | GFLOP | ms | CPU ms | GFLOP/s (CPU) | runs timed |");
    console.log("|---|---|---|---:|---:|---:|---:|---|");
    for (const r of inferRows) {
      const size = `${r.lrSide}x${r.lrSide} -> ${4 * r.lrSide}x${4 * r.lrSide}`;
      console.log(`| ${r.model} | ${r.backend} | ${size} | ${f1(r.flops / 1e9)} | ${f0(r.t.wall)} | ${f0(r.t.cpu)} | ${f2(r.flops / 1e9 / (r.t.cpu / 1000))} | ${repsText(r.reps)} |`);
    }
  }
  console.log("");
  for (const [label, n] of LEAKS) console.log(`Warning: ${label} leaves ${n} tensor(s) per run undisposed.`);
  if (UNCHECKED.length) console.log(`Not checked for leaked tensors (one run at the timed size): ${UNCHECKED.join("; ")}.`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
