/**
 * `npm run ablate -- [--workers N] [--seeds 3] [--steps S] [--resume] [options]`: the DTKD ablation grid.
 *
 * Every cell fine-tunes the shipped student from the same weights with the same step budget, data, teacher
 * targets and optimiser; cells differ only in the distillation loss and lambda(t). Axes (the paper's ablations:
 * decomposition depth, band weighting, schedule), each cell computed once even where axes share it:
 *
 *   cell            depth   weighting          schedule          axes
 *   dtkd-default    2       dtkd (mid)         linear_0_1_0.5    depth, weighting, schedule (shared)
 *   depth-pixel     pixel   - (L1 in pixels)   linear_0_1_0.5    depth
 *   depth-1         1       dtkd               linear_0_1_0.5    depth
 *   depth-3         3       dtkd               linear_0_1_0.5    depth
 *   weight-uniform  2       uniform            linear_0_1_0.5    weighting
 *   weight-low      2       low                linear_0_1_0.5    weighting
 *   weight-high     2       high               linear_0_1_0.5    weighting
 *   weight-korkmaz  1 sym4  korkmaz            linear_0_1_0.5    weighting (Korkmaz's preset is defined at one
 *                                                                 level; its weights sum to 0.12, not 3.5)
 *   sched-const     2       dtkd               const_1           schedule
 *   sched-cosine    2       dtkd               cosine_0_1_0.5    schedule
 *   sched-step      2       dtkd               step_0_1_0.5      schedule
 *   recon-only      2       dtkd               const_0           baseline: lambda = 0, i.e. the standalone student
 *                                                                 trained on with the reconstruction L1 only (the
 *                                                                 band loss is logged, it carries no gradient)
 *
 * Runs: every cell x seeds 1..S (default 3); a run's seed sets its batch draws and teacher-sample choice; the
 * teacher targets (one cached set, built first by this process) and the validation patches are shared. Each
 * run is a separate process (scripts/ablate-run.ts), at most --workers at a time (default 1: one core is
 * reserved for the teacher's training; --workers 2 uses the whole 2-core machine). Results go to
 * data/results/ablations.json, rewritten atomically after every finished run; --resume skips runs already
 * there (and refuses a file made with other settings). Without --resume an existing file is not overwritten.
 *
 * Step budget: DEFAULT_DISTILL_STEPS = 600 steps per run (the default of --steps). Arithmetic, from measurements
 * of 2026-11-27 on this machine (2-core AMD EPYC, Node 20, TF.js 4.22 wasm, one thread per process; process CPU
 * time, which equals wall time on an idle core for this single-threaded work):
 *   - one distillation step (tiny student, batch 16, 64x64 HR, dtkd 2-level Haar, Adam, EMA, guard):
 *     0.56 CPU-s in bench/distill.bench.ts (1.77 steps per CPU-second; pixel, 3-level and korkmaz/sym4 losses
 *     within 2% of it: the DWT of a 64x64 batch is small next to the student), 0.63 CPU-s over a whole short run
 *     of `npm run distill` (first steps included); take 0.6 s;
 *   - per run besides the steps (process start and module loading about 2 s, reading the cached targets,
 *     decoding the val photographs and degrading the 64 "mild" validation pairs at 0.22 s each, evaluation,
 *     artefact): about 25 s;
 *   - so one run = 600 x 0.6 + 25 = 385 s; the grid is 12 cells x 3 seeds = 36 runs, 18 per worker with
 *     --workers 2: 18 x 385 s = 1.93 h;
 *   - once, before the workers start: 512 "mild" training patches (0.22 s each, 1.9 min) and 512 x 4 teacher
 *     samples (128 calls of the base teacher at 1.5 s, 3.2 min), plus reference metrics (seconds): 5 min.
 *   Total about 2.0 h with 2 workers on an otherwise idle machine (4 h with 1 worker). Measured with other jobs
 *   on the machine, so two workers sharing memory bandwidth may run a few percent slower.
 *
 * Options (besides DATA_FLAGS and TRAIN_FLAGS of src/lib/train/distill-node.ts, as in scripts/distill.ts):
 *   --workers N  --seeds S  --steps N  --resume  --cells a,b,c (a subset, e.g. for smoke runs)
 *   --out PATH (default data/results/ablations.json)   --work-dir DIR (per-run logs, artefacts; .cache/ablate)
 *   --student PATH  --teacher PATH  --backend wasm|cpu
 */
import * as tf from "@tensorflow/tfjs";
import {spawn} from "node:child_process";
import {closeSync, existsSync, mkdirSync, openSync, readFileSync} from "node:fs";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {chooseBackend, describeBackend} from "../src/lib/backend.js";
import type {DistillConfig} from "../src/lib/distill.js";
import {lossPreset, type BandLossConfig} from "../src/lib/loss.js";
import {loadShippedStudent, loadShippedTeacher} from "../src/lib/models/shipped.js";
import {imresize} from "../src/lib/resize.js";
import {createRng} from "../src/lib/rng.js";
import {parseSchedule} from "../src/lib/schedule.js";
import {writeFileAtomic} from "../src/lib/train/checkpoint-file.js";
import {
  DATA_FLAGS,
  dataOptionsFromFlags,
  DEFAULT_DISTILL_STEPS,
  describeLoss,
  disposeValSet,
  ensureTargets,
  evalProtocol,
  evaluateOutputs,
  evaluateStudent,
  flagNumber,
  flagString,
  gitCommit,
  machineDescription,
  makeValSet,
  parseFlags,
  sha256File,
  SHIPPED_STUDENT_PATH,
  SHIPPED_TEACHER_PATH,
  TRAIN_FLAGS,
  trainOptionsFromFlags,
  type DistillDataOptions,
  type DistillRunResult,
  type EvalMetrics,
} from "../src/lib/train/distill-node.js";
import {formatDuration} from "../src/lib/train/progress.js";
import type {RunSpec} from "./ablate-run.js";

interface Cell {
  id: string;
  /** Axis name -> this cell's level on it. */
  axes: Record<string, string>;
  loss: () => BandLossConfig;
  schedule: string;
}

const RAMP = "linear_0_1_0.5";
const CELLS: readonly Cell[] = [
  {id: "dtkd-default", axes: {depth: "2", weighting: "dtkd", schedule: "linear"}, loss: () => lossPreset("dtkd", 2), schedule: RAMP},
  {id: "depth-pixel", axes: {depth: "pixel"}, loss: () => lossPreset("pixel"), schedule: RAMP},
  {id: "depth-1", axes: {depth: "1"}, loss: () => lossPreset("dtkd", 1), schedule: RAMP},
  {id: "depth-3", axes: {depth: "3"}, loss: () => lossPreset("dtkd", 3), schedule: RAMP},
  {id: "weight-uniform", axes: {weighting: "uniform"}, loss: () => lossPreset("uniform", 2), schedule: RAMP},
  {id: "weight-low", axes: {weighting: "low"}, loss: () => lossPreset("low", 2), schedule: RAMP},
  {id: "weight-high", axes: {weighting: "high"}, loss: () => lossPreset("high", 2), schedule: RAMP},
  {id: "weight-korkmaz", axes: {weighting: "korkmaz"}, loss: () => lossPreset("korkmaz"), schedule: RAMP},
  {id: "sched-const", axes: {schedule: "constant"}, loss: () => lossPreset("dtkd", 2), schedule: "const_1"},
  {id: "sched-cosine", axes: {schedule: "cosine"}, loss: () => lossPreset("dtkd", 2), schedule: "cosine_0_1_0.5"},
  {id: "sched-step", axes: {schedule: "step"}, loss: () => lossPreset("dtkd", 2), schedule: "step_0_1_0.5"},
  {id: "recon-only", axes: {baseline: "recon-only"}, loss: () => lossPreset("dtkd", 2), schedule: "const_0"},
];

interface RunRecord extends DistillRunResult {
  id: string;
  cell: string;
  seed: number;
  commit: string;
}

interface Stat {
  mean: number;
  std: number;
}

interface ResultsFile {
  version: 1;
  about: string;
  commit: string;
  machine: string;
  createdAt: string;
  updatedAt: string;
  settings: Record<string, unknown>;
  protocol: Record<string, string>;
  grid: {cell: string; axes: Record<string, string>; loss: string; lossConfig: BandLossConfig; schedule: string}[];
  reference: Record<string, EvalMetrics>;
  runs: RunRecord[];
  cells: Record<string, {n: number; seeds: number[]; metrics: Record<string, Stat | Stat[] | Record<string, Stat>>}>;
}

function stat(xs: number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  // Sample standard deviation (n - 1); 0 for a single run.
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return {mean: +mean.toPrecision(6), std: +std.toPrecision(4)};
}

function cellStats(runs: RunRecord[]): ResultsFile["cells"] {
  const out: ResultsFile["cells"] = {};
  for (const cell of CELLS) {
    const rs = runs.filter((r) => r.cell === cell.id).sort((a, b) => a.seed - b.seed);
    if (rs.length === 0) continue;
    const m = rs.map((r) => r.after);
    const metrics: ResultsFile["cells"][string]["metrics"] = {
      psnrY: stat(m.map((x) => x.psnrY)),
      ssimY: stat(m.map((x) => x.ssimY)),
      haarpsi: stat(m.map((x) => x.haarpsi)),
      fwd: stat(m.map((x) => x.fwd)),
      energyRatio: [0, 1, 2].map((k) => stat(m.map((x) => x.energyRatio[k]))),
      kurtosis: [0, 1, 2].map((k) => stat(m.map((x) => x.kurtosis[k]))),
      bandL1: Object.fromEntries(Object.keys(m[0].bandL1).map((b) => [b, stat(m.map((x) => x.bandL1[b]))])),
      finalTrainBand: stat(rs.map((r) => r.finalTrain.bandWeighted)),
      stepsPerSec: stat(rs.map((r) => r.stepsPerSec)),
    };
    out[cell.id] = {n: rs.length, seeds: rs.map((r) => r.seed), metrics};
  }
  return out;
}

/** Reference rows on the same validation patches: bicubic, the starting student, the teacher. */
async function referenceMetrics(
  data: DistillDataOptions,
  studentPath: string,
  teacherPath: string,
): Promise<{metrics: Record<string, EvalMetrics>; protocol: Record<string, string>}> {
  const {student} = loadShippedStudent(new Uint8Array(readFileSync(studentPath)));
  const {teacher} = loadShippedTeacher(new Uint8Array(readFileSync(teacherPath)));
  const v = await makeValSet(data, student.config.scale);
  try {
    const ls = v.hrSize / v.scale;
    const lrData = (await v.lr.data()) as Float32Array;
    const up = new Float32Array(v.hr.size);
    for (let i = 0; i < v.n; i++) {
      const one = {width: ls, height: ls, channels: 3, data: lrData.slice(i * ls * ls * 3, (i + 1) * ls * ls * 3)};
      up.set(imresize(one, {scale: v.scale}).data, i * v.hrSize * v.hrSize * 3);
    }
    const out: Record<string, EvalMetrics> = {};
    const bic = tf.tidy(() => tf.clipByValue(tf.tensor4d(up, v.hr.shape as [number, number, number, number]), 0, 1)) as tf.Tensor4D;
    out.bicubic = await evaluateOutputs(bic, v);
    bic.dispose();
    out.start = await evaluateStudent(student, v);
    const reg = tf.tidy(() => tf.clipByValue(teacher.regress(v.lr), 0, 1)) as tf.Tensor4D;
    out.teacherPredictor = await evaluateOutputs(reg, v);
    reg.dispose();
    const smp = teacher.sample(v.lr, createRng(data.targetSeed).fork("val-reference"), {mode: data.sampler});
    out.teacherSample = await evaluateOutputs(smp.x0 as tf.Tensor4D, v);
    smp.x0.dispose();
    return {metrics: out, protocol: evalProtocol(v, data.preset)};
  } finally {
    disposeValSet(v);
    student.dispose();
    teacher.dispose();
  }
}

const RUNNER = fileURLToPath(new URL("./ablate-run.ts", import.meta.url));

function runProcess(specPath: string, outFile: string): Promise<number> {
  return new Promise((resolve) => {
    const fd = openSync(outFile, "a");
    const child = spawn(process.execPath, ["--import", "tsx", RUNNER, specPath], {stdio: ["ignore", fd, fd]});
    child.on("exit", (code, signal) => {
      closeSync(fd);
      resolve(code ?? (signal ? 128 : 1));
    });
    child.on("error", () => {
      closeSync(fd);
      resolve(127);
    });
  });
}

/** Keys whose values differ between two settings objects (compared as JSON). */
function differingKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

async function main(): Promise<void> {
  const own = ["workers", "seeds", "resume", "cells", "out", "work-dir", "student", "teacher", "backend"];
  const flags = parseFlags(process.argv.slice(2), [...own, ...DATA_FLAGS, ...TRAIN_FLAGS]);
  const workers = flagNumber(flags, "workers") ?? 1;
  const nSeeds = flagNumber(flags, "seeds") ?? 3;
  if (!Number.isInteger(workers) || workers < 1) throw new Error("--workers must be a positive integer");
  if (!Number.isInteger(nSeeds) || nSeeds < 1) throw new Error("--seeds must be a positive integer");
  const resume = flags.get("resume") === true || flags.get("resume") === "true";
  const outPath = flagString(flags, "out") ?? "data/results/ablations.json";
  const work = flagString(flags, "work-dir") ?? ".cache/ablate";
  const studentPath = flagString(flags, "student") ?? SHIPPED_STUDENT_PATH;
  const teacherPath = flagString(flags, "teacher") ?? SHIPPED_TEACHER_PATH;
  const backend = flagString(flags, "backend") ?? "wasm";
  const data = dataOptionsFromFlags(flags);
  const train = trainOptionsFromFlags(flags, DEFAULT_DISTILL_STEPS);
  const only = flagString(flags, "cells")?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const c of only ?? []) if (!CELLS.some((x) => x.id === c)) throw new Error(`unknown cell "${c}"; cells: ${CELLS.map((x) => x.id).join(", ")}`);
  const cells = CELLS.filter((c) => !only || only.includes(c.id));
  const seeds = Array.from({length: nSeeds}, (_, i) => i + 1);

  if (existsSync(outPath) && !resume) throw new Error(`${outPath} exists: pass --resume to continue it, or choose another --out`);
  const report = await chooseBackend({override: backend});
  console.error(`backend: ${describeBackend(report)}`);
  // Teacher targets once, before any worker starts (the workers then find them cached).
  const {info} = await ensureTargets(data, teacherPath);

  const settings: Record<string, unknown> = {
    steps: train.totalSteps,
    train: {...train, targetSeeds: data.targetSeeds},
    data,
    student: {path: studentPath, sha256: sha256File(studentPath)},
    teacher: {path: teacherPath, sha256: sha256File(teacherPath)},
    targetsKey: info.key,
    backend: report.chosen,
  };
  let results: ResultsFile;
  if (existsSync(outPath)) {
    results = JSON.parse(readFileSync(outPath, "utf8")) as ResultsFile;
    const diff = differingKeys(results.settings, settings);
    if (diff.length) throw new Error(`${outPath} was made with other settings (${diff.join(", ")} differ); choose another --out`);
  } else {
    console.error("reference metrics (bicubic, starting student, teacher) on the validation patches...");
    const reference = await referenceMetrics(data, studentPath, teacherPath);
    const now = new Date().toISOString();
    results = {
      version: 1,
      about:
        "DTKD ablation grid (scripts/ablate.ts): the shipped student fine-tuned with L1 + lambda(t) x band-group loss against cached " +
        "teacher samples; one row per run, per-cell mean and sample std over seeds. Metrics of the EMA weights on fixed validation patches.",
      commit: gitCommit(),
      machine: machineDescription(),
      createdAt: now,
      updatedAt: now,
      settings,
      protocol: {
        ...reference.protocol,
        training: `${train.totalSteps} steps of batch ${train.batch} (${data.hrSize}x${data.hrSize} HR) from the same starting weights; Adam lr ${train.lr} ` +
          `(${train.warmupSteps} warm-up steps, cosine to ${train.lrMinFactor}x), clip ${train.clipNorm}, EMA ${train.emaDecay}; teacher targets: ` +
          `${data.patches} fixed training patches x ${data.targetSeeds} ${data.sampler} teacher samples (targetMode ${train.targetMode}), dihedral augmentation`,
        reference: "bicubic: MATLAB-style imresize x4 of the LR; start: the student before fine-tuning; teacherPredictor: the teacher's regression output; " +
          `teacherSample: one ${data.sampler} teacher sample (seed fork "val-reference" of ${data.targetSeed})`,
      },
      grid: CELLS.map((c) => ({cell: c.id, axes: c.axes, loss: describeLoss(c.loss()), lossConfig: c.loss(), schedule: c.schedule})),
      reference: reference.metrics,
      runs: [],
      cells: {},
    };
    writeFileAtomic(outPath, new TextEncoder().encode(JSON.stringify(results, null, 1) + "\n"));
  }

  const doneIds = new Set(results.runs.map((r) => r.id));
  const plan = cells.flatMap((c) => seeds.map((s) => ({cell: c, seed: s, id: `${c.id}#${s}`})));
  const todo = plan.filter((p) => !doneIds.has(p.id));
  console.error(`${plan.length} runs in the plan (${cells.length} cells x ${seeds.length} seeds): ${plan.length - todo.length} finished, ${todo.length} to run, ${workers} worker(s)`);
  mkdirSync(join(work, "logs"), {recursive: true});
  mkdirSync(join(work, "specs"), {recursive: true});
  mkdirSync(join(work, "ckpt"), {recursive: true});

  const t0 = Date.now();
  let finished = 0;
  let failed = 0;
  const queue = [...todo];
  const one = async (p: (typeof todo)[number]): Promise<void> => {
    const base = `${p.cell.id}-s${p.seed}`;
    const config: DistillConfig = {...train, loss: p.cell.loss(), schedule: parseSchedule(p.cell.schedule), seed: p.seed, targetSeeds: data.targetSeeds};
    const spec: RunSpec = {
      id: p.id,
      backend: report.chosen,
      resultPath: join(work, "specs", `${base}.result.json`),
      options: {
        studentPath,
        teacherPath,
        config,
        data,
        logPath: join(work, "logs", `${base}.jsonl`),
        outPath: join(work, "ckpt", `${base}.ckpt`),
        evalBefore: false,
        label: p.id,
        progressEveryMs: 60_000,
      },
    };
    const specPath = join(work, "specs", `${base}.json`);
    writeFileAtomic(specPath, new TextEncoder().encode(JSON.stringify(spec, null, 1)));
    const code = await runProcess(specPath, join(work, "logs", `${base}.out`));
    if (code !== 0 || !existsSync(spec.resultPath)) {
      failed++;
      console.error(`${p.id}: FAILED (exit ${code}); see ${join(work, "logs", `${base}.out`)}`);
      return;
    }
    const res = JSON.parse(readFileSync(spec.resultPath, "utf8")) as DistillRunResult;
    results.runs.push({id: p.id, cell: p.cell.id, seed: p.seed, commit: gitCommit(), ...res});
    results.runs.sort((a, b) => (a.cell === b.cell ? a.seed - b.seed : a.cell < b.cell ? -1 : 1));
    results.cells = cellStats(results.runs);
    results.updatedAt = new Date().toISOString();
    writeFileAtomic(outPath, new TextEncoder().encode(JSON.stringify(results, null, 1) + "\n"));
    finished++;
    const el = (Date.now() - t0) / 1000;
    const eta = (el / finished) * (todo.length - finished - failed);
    console.error(
      `[${finished + failed}/${todo.length}] ${p.id}: PSNR-Y ${res.after.psnrY} dB, SSIM-Y ${res.after.ssimY}, HaarPSI ${res.after.haarpsi}, FWD ${res.after.fwd}, ` +
        `${res.stepsPerSec} steps/s, ${formatDuration(res.wallSeconds)}; ETA ${formatDuration(eta)}`,
    );
  };
  await Promise.all(
    Array.from({length: Math.min(workers, queue.length)}, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) await one(p);
    }),
  );
  console.error(`done: ${finished} finished, ${failed} failed in ${formatDuration((Date.now() - t0) / 1000)}; results ${outPath}`);
  if (failed > 0) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
