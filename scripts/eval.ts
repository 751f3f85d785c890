/**
 * Evaluation CLI: `npm run eval -- [options]`. Runs bicubic, the shipped student and teacher and idealo's GAN
 * RRDN on the committed test set (or a folder), prints a table and writes eval.json (docs/eval-schema.md).
 *
 *   --images DIR          evaluate the PNG/JPEG files in DIR instead of data/test/ (ground truth = the files)
 *   --json PATH           where to write the JSON (default data/results/eval.json; with --images
 *                         data/results/eval-<dirname>.json)
 *   --out DIR             also write every output as PNG, with the LR input and the ground truth (DIR/<image>/)
 *   --seeds 1,2,3         seeds of the teacher's samplers (default 1,2,3)
 *   --crop N              centre crop of the ground truth in pixels (default 256; 0 = whole images)
 *   --backend wasm|cpu    backend of the evaluation (default wasm)
 *   --models LIST         any of bicubic,student,teacher,teacher-ddim,rrdn,distilled,standalone (default: all;
 *                         distilled and standalone only where finished runs exist); diagnostics, only
 *                         when named: teacher-mean (the sampler's noise-free mean path) and
 *                         teacher-predictor (the teacher's regression predictor alone)
 *   --from-ablations PATH where distilled (cell dtkd-default) and standalone (cell recon-only) find their
 *                         training runs: every run of the cell whose artefact exists (default
 *                         data/results/ablations.json); each becomes one seeded entry, seedKind "training"
 *   --runs KEY=P1,P2,...  the artefacts of KEY (distilled or standalone) named by hand instead (repeatable;
 *                         seeds are read from each artefact's header)
 *   --merge               keep the other entries of the --json file and replace or add only the evaluated
 *                         models; refused when the file's protocol (backend, images, crops, preset,
 *                         degradation seeds, border crop, FWD and band settings) differs from this run's
 *   --latency LIST        backends to time the models on: wasm,cpu (default) or none
 *   --preset NAME         degradation preset (default mild, the models' training degradation)
 *   --degrade-seed S      base seed of the per-image degradation seeds (default 1)
 *   --limit N             only the first N images (development)
 *   --student PATH        student checkpoint (default data/models/student-tiny.ckpt)
 *   --teacher PATH        teacher checkpoint (default data/models/teacher-base.ckpt)
 */
import * as tf from "@tensorflow/tfjs";
import {execSync} from "node:child_process";
import {createHash} from "node:crypto";
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from "node:fs";
import {cpus, loadavg} from "node:os";
import {basename, dirname, join, resolve} from "node:path";
import {chooseBackend, describeBackend} from "../src/lib/backend.js";
import {loadSplit} from "../src/lib/dataset.js";
import {PRESETS, type Preset} from "../src/lib/degrade.js";
import {EVAL_DEFAULTS, evaluate, modelSeedList, prepareEvalImages, runWeight, type EvalImage} from "../src/lib/eval/evaluate.js";
import {LATENCY_DEFAULTS, timeModel, type LatencyBackend, type LatencyRecord} from "../src/lib/eval/latency.js";
import {bicubicModel, rrdnModel, studentModel, teacherModel, teacherPredictorModel, type SrModel} from "../src/lib/eval/models.js";
import {buildEvalJson, buildEvalProtocol, formatEvalTables, mergeEvalJson, protocolMismatches, stringifyEvalJson, type EvalJson} from "../src/lib/eval/report.js";
import {ABLATION_KEYS, artefactRunInfo, RUNS_KEYS, runsFromAblations, trainingRunsModel, type AblationsLike, type RunRef, type RunsKey, type RunsSource} from "../src/lib/eval/runs.js";
import {loadRrdnFromPackage} from "../src/lib/eval/rrdn-files.js";
import {decodeImage, encodePng, toRgb} from "../src/lib/image-io.js";
import {loadShippedStudent, loadShippedTeacher, readShippedMeta, SHIPPED_MODELS, type ShippedKind} from "../src/lib/models/shipped.js";
import type {ImageF32} from "../src/lib/resize.js";
import {formatDuration, ProgressBar} from "../src/lib/train/progress.js";

const MODEL_NAMES = ["bicubic", "student", "teacher", "teacher-ddim", "rrdn", ...RUNS_KEYS, "teacher-mean", "teacher-predictor"] as const;
type ModelName = (typeof MODEL_NAMES)[number];
/** Diagnostics of the teacher's parts: run only when named, never part of the default evaluation. */
const DIAGNOSTIC_NAMES: readonly ModelName[] = ["teacher-mean", "teacher-predictor"];
const KNOWN = new Set(["images", "json", "out", "seeds", "crop", "backend", "models", "latency", "preset", "degrade-seed", "limit", "student", "teacher", "from-ablations", "runs", "merge"]);
/** Options without a value. */
const SWITCHES = new Set(["merge"]);
/** Options that may be given more than once (values joined with ";"). */
const REPEATABLE = new Set(["runs"]);

function parseArgs(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument "${a}"`);
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!KNOWN.has(name)) throw new Error(`unknown option --${name} (see scripts/eval.ts)`);
    if (SWITCHES.has(name)) {
      if (eq > 0) throw new Error(`--${name} takes no value`);
      flags.set(name, "true");
      continue;
    }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
    flags.set(name, REPEATABLE.has(name) && flags.has(name) ? `${flags.get(name)};${v}` : v);
  }
  return flags;
}

/** Training runs of one runs-key and where they were found. */
interface RunsPlan {
  refs: RunRef[];
  cell: string | null;
  ablations: string | null;
}

/** --runs KEY=P1,P2 (by hand) or the cells of --from-ablations; keys without a finished run are absent. */
function planRuns(flags: Map<string, string>, wanted: readonly RunsKey[]): Map<RunsKey, RunsPlan> {
  const plans = new Map<RunsKey, RunsPlan>();
  for (const item of (flags.get("runs") ?? "").split(";").filter(Boolean)) {
    const eq = item.indexOf("=");
    const key = item.slice(0, eq) as RunsKey;
    if (eq < 0 || !RUNS_KEYS.includes(key)) throw new Error(`--runs needs KEY=PATH1,PATH2 with KEY one of ${RUNS_KEYS.join(", ")}, got "${item}"`);
    const paths = item.slice(eq + 1).split(",").map((x) => x.trim()).filter(Boolean);
    for (const p of paths) if (!existsSync(p)) throw new Error(`--runs ${key}: ${p} not found`);
    // Seeds come from the artefacts' headers (checked again when the model is built).
    const refs = paths.map((path) => ({seed: readRunSeed(path), path, steps: null}));
    plans.set(key, {refs, cell: null, ablations: null});
  }
  const ablations = flags.get("from-ablations") ?? "data/results/ablations.json";
  const fromFile = wanted.filter((k) => !plans.has(k));
  if (fromFile.length === 0) return plans;
  if (!existsSync(ablations)) {
    console.error(`${ablations} not found: no ${fromFile.join(", ")} runs`);
    return plans;
  }
  const a = JSON.parse(readFileSync(ablations, "utf8")) as AblationsLike;
  for (const key of fromFile) {
    const cell = ABLATION_KEYS[key];
    const {runs, missing} = runsFromAblations(a, cell, existsSync);
    for (const m of missing) console.error(`${key}: skipped ${m}`);
    console.error(`${key}: ${runs.length} finished run(s) of cell ${cell} with an artefact (seeds ${runs.map((r) => r.seed).join(",") || "none"})`);
    if (runs.length) plans.set(key, {refs: runs, cell, ablations});
  }
  return plans;
}

function readRunSeed(path: string): number {
  return artefactSeed(new Uint8Array(readFileSync(path)), path);
}

function artefactSeed(bytes: Uint8Array, path: string): number {
  try {
    return artefactRunInfo(bytes).seed;
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function intFlag(flags: Map<string, string>, key: string, def: number): number {
  const v = flags.get(key);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${key} needs a non-negative integer, got "${v}"`);
  return n;
}

function listFlag<T extends string>(flags: Map<string, string>, key: string, allowed: readonly T[], def: readonly T[]): T[] {
  const v = flags.get(key);
  if (v === undefined) return [...def];
  const items = v.split(",").map((s) => s.trim()).filter(Boolean);
  for (const it of items) if (!allowed.includes(it as T)) throw new Error(`--${key}: "${it}" is not one of ${allowed.join(", ")}`);
  return [...new Set(items)] as T[];
}

function git(cmd: string): string | null {
  try {
    return execSync(cmd, {encoding: "utf8", stdio: ["ignore", "pipe", "ignore"]}).trim();
  } catch {
    return null;
  }
}

function machine(): string {
  const c = cpus();
  return `${c.length}-core ${c[0]?.model?.trim() ?? "CPU"} (Node ${process.version}; the evaluation uses one core)`;
}

async function loadImages(dir: string | undefined): Promise<{source: string; images: {id: string; image: ImageF32}[]}> {
  if (!dir) {
    const split = await loadSplit("test");
    return {source: "data/test (committed test split, data/manifest.json; wallpapers downscaled by 2 as the manifest says)", images: split.map((s) => ({id: s.id, image: s.image}))};
  }
  const files = readdirSync(dir)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort();
  if (files.length === 0) throw new Error(`--images ${dir}: no PNG or JPEG files`);
  // Ids are the file names without extension, unless two files share one (a.png, a.jpg): then the full names.
  const stem = (f: string) => f.replace(/\.[^.]+$/, "");
  const clash = new Set(files.map(stem).filter((s, i, all) => all.indexOf(s) !== i));
  const images = files.map((f) => {
    const raster = decodeImage(readFileSync(join(dir, f)), join(dir, f));
    return {id: clash.has(stem(f)) ? f : stem(f), image: {width: raster.width, height: raster.height, channels: 3, data: toRgb(raster)}};
  });
  return {source: `${dir} (${files.length} files, as decoded, alpha over white)`, images};
}

/** Builds the requested models on the current backend (`sources`: filled for the models made of training runs). */
async function buildModels(
  names: readonly ModelName[],
  paths: {student: string; teacher: string},
  runs: ReadonlyMap<RunsKey, RunsPlan> = new Map(),
  sources: Record<string, RunsSource> = {},
): Promise<SrModel[]> {
  const models: SrModel[] = [];
  for (const n of names) {
    if ((RUNS_KEYS as readonly string[]).includes(n)) {
      const plan = runs.get(n as RunsKey);
      if (!plan) throw new Error(`${n}: no finished training runs (see --from-ablations / --runs)`);
      const bytes = new Map(plan.refs.map((r) => [r.path, new Uint8Array(readFileSync(r.path))]));
      const built = trainingRunsModel(n as RunsKey, plan.refs, bytes, {cell: plan.cell, ablations: plan.ablations, sha256});
      models.push(built.model);
      sources[n] = built.source;
    }
    if (n === "bicubic") models.push(bicubicModel());
    if (n === "student") {
      const {student, meta} = loadShippedStudent(readFileSync(paths.student));
      // Label by configuration: --student may name a variant that is not the shipped tiny.
      models.push(studentModel(student, meta.configName ? `Student (SwinIR-style, ${meta.configName})` : undefined));
    }
    if (n === "teacher" || n === "teacher-ddim") {
      // Each sampler gets its own teacher so that disposing one leaves the other intact.
      models.push(teacherModel(loadShippedTeacher(readFileSync(paths.teacher)).teacher, n === "teacher" ? "stochastic" : "ddim"));
    }
    if (n === "teacher-mean") models.push(teacherModel(loadShippedTeacher(readFileSync(paths.teacher)).teacher, "mean"));
    if (n === "teacher-predictor") models.push(teacherPredictorModel(loadShippedTeacher(readFileSync(paths.teacher)).teacher));
    if (n === "rrdn") models.push(rrdnModel(await loadRrdnFromPackage()));
  }
  return models;
}

async function switchBackend(name: LatencyBackend): Promise<void> {
  if (tf.getBackend() === name) return;
  if (tf.findBackend(name)) {
    if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to start`);
    await tf.ready();
    return;
  }
  const r = await chooseBackend({override: name, order: [name]});
  if (r.chosen !== name) throw new Error(`backend ${name} could not start: ${describeBackend(r)}`);
}

async function main(): Promise<void> {
  const flags = parseArgs(process.argv.slice(2));
  const imagesDir = flags.get("images");
  const jsonPath = flags.get("json") ?? (imagesDir ? `data/results/eval-${basename(resolve(imagesDir))}.json` : "data/results/eval.json");
  const outDir = flags.get("out");
  const seeds = flags.has("seeds") ? flags.get("seeds")!.split(",").map((s) => Number(s.trim())) : [...EVAL_DEFAULTS.seeds];
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds needs integers, e.g. 1,2,3`);
  const crop = intFlag(flags, "crop", EVAL_DEFAULTS.crop);
  const backend = (flags.get("backend") ?? "wasm") as LatencyBackend;
  if (backend !== "wasm" && backend !== "cpu") throw new Error("--backend must be wasm or cpu");
  const requested = flags.has("models");
  let modelNames = listFlag(flags, "models", MODEL_NAMES, MODEL_NAMES.filter((n) => !DIAGNOSTIC_NAMES.includes(n)));
  const runsPlans = planRuns(flags, RUNS_KEYS.filter((k) => modelNames.includes(k)));
  // By default distilled/standalone join only when their runs exist; named explicitly, a missing one is an error.
  if (!requested) modelNames = modelNames.filter((n) => !(RUNS_KEYS as readonly string[]).includes(n) || runsPlans.has(n as RunsKey));
  const merge = flags.get("merge") === "true";
  const latencyBackends = flags.get("latency") === "none" ? [] : listFlag<LatencyBackend>(flags, "latency", ["wasm", "cpu"], ["wasm", "cpu"]);
  const preset = (flags.get("preset") ?? EVAL_DEFAULTS.preset) as Preset;
  if (!PRESETS.includes(preset)) throw new Error(`--preset must be one of ${PRESETS.join(", ")}`);
  const degradeSeed = intFlag(flags, "degrade-seed", EVAL_DEFAULTS.degradeSeed);
  const limit = intFlag(flags, "limit", 0);
  const paths = {student: flags.get("student") ?? `data/models/${SHIPPED_MODELS.student.file}`, teacher: flags.get("teacher") ?? `data/models/${SHIPPED_MODELS.teacher.file}`};

  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const load0 = loadavg()[0];
  // The backend must be ready before any tf.variable exists (NOTES 7).
  await switchBackend(backend);
  console.error(`backend: ${tf.getBackend()}`);

  const loaded = await loadImages(imagesDir);
  const sources = limit > 0 ? loaded.images.slice(0, limit) : loaded.images;
  const images: EvalImage[] = prepareEvalImages(sources, {crop, preset, degradeSeed});
  const px = images.reduce((a, im) => a + im.gt.width * im.gt.height, 0);
  console.error(`${images.length} images (${(px / 1e6).toFixed(2)} MP of ground truth), crop ${crop || "none"}, preset ${preset}, degradation seed ${degradeSeed}`);

  // --merge: read the file and refuse a protocol mismatch before any model runs.
  let base: EvalJson | null = null;
  if (merge) {
    if (!existsSync(jsonPath)) throw new Error(`--merge: ${jsonPath} does not exist (run without --merge first)`);
    base = JSON.parse(readFileSync(jsonPath, "utf8")) as EvalJson;
    const probe = {backend: tf.getBackend(), protocol: buildEvalProtocol({images, imageSource: loaded.source, crop, metricCrop: EVAL_DEFAULTS.metricCrop, preset, degradeSeed, seeds, latencyPlans: {}}, NaN)};
    const bad = protocolMismatches(base, probe);
    if (bad.length) throw new Error(`--merge refused: ${jsonPath} was made with another protocol (${bad.join(", ")} differ); run the full evaluation instead`);
  }

  const runSources: Record<string, RunsSource> = {};
  const models = await buildModels(modelNames, paths, runsPlans, runSources);
  // Progress: estimated work units of every run (evaluate.runWeight), plus the latency runs (cpu ~45x wasm).
  const evalUnits = models.reduce((a, m) => a + (modelSeedList(m, seeds)?.length ?? 1) * images.reduce((s, im) => s + runWeight(m, im), 0), 0);
  const latUnit = (m: SrModel, b: LatencyBackend) => {
    const p = LATENCY_DEFAULTS[b];
    const side = p.lrSize * 4;
    const fl = m.flopsPerOutputPixel(p.lrSize, p.lrSize) ?? 0;
    return side * side * (3 + fl / 1e4) * (b === "cpu" ? 45 : 1);
  };
  // Not timed: the ddim sampler (the same network evaluations as the stochastic one) and models made of training
  // runs (the student's architecture: its latency is student-tiny's; see `source.latency` in eval.json).
  const timed = (n: ModelName) => n !== "teacher-ddim" && !(RUNS_KEYS as readonly string[]).includes(n);
  const latModels = models.filter((m) => m.key !== "teacher-base-ddim" && !(RUNS_KEYS as readonly string[]).includes(m.key));
  const latencyNeeded = latModels.length > 0 ? latencyBackends : [];
  const latUnits = latencyNeeded.reduce((a, b) => a + latModels.reduce((s, m) => s + latUnit(m, b), 0), 0);
  const total = evalUnits + latUnits;
  let done = 0;
  const bar = new ProgressBar(process.stderr);
  const tick = (units: number, label: string) => {
    done += units;
    const frac = done / total;
    const elapsed = (performance.now() - wall0) / 1000;
    bar.update(frac, label, frac > 0 ? (elapsed * (1 - frac)) / frac : NaN);
  };

  if (outDir) {
    for (const im of images) {
      mkdirSync(join(outDir, im.id), {recursive: true});
      writeFileSync(join(outDir, im.id, "gt.png"), encodePng({...im.gt, channels: 3}));
      writeFileSync(join(outDir, im.id, "lr.png"), encodePng({...im.lr, channels: 3}));
    }
  }
  const evaluation = await evaluate(images, models, {
    seeds,
    metricCrop: EVAL_DEFAULTS.metricCrop,
    onProgress: (p) => tick(p.units, `${p.model}${p.seed === null ? "" : ` seed ${p.seed}`} image ${p.imageIndex + 1}/${p.images}`),
    onOutput: outDir
      ? (o) => writeFileSync(join(outDir, o.imageId, `${o.model}${o.seed === null ? "" : `-seed${o.seed}`}.png`), encodePng({...o.image, channels: 3}))
      : undefined,
  });
  for (const m of models) m.dispose();

  // Latency: fresh models on each backend (tensors made on one backend must not be used on another).
  const latency: Record<string, Partial<Record<LatencyBackend, LatencyRecord>>> = {};
  for (const b of latencyNeeded) {
    try {
      await switchBackend(b);
    } catch (e) {
      console.error(`\nlatency on ${b} skipped: ${(e as Error).message}`);
      continue;
    }
    const fresh = await buildModels(modelNames.filter(timed), paths);
    for (const m of fresh) {
      const unit = latUnit(m, b) / (LATENCY_DEFAULTS[b].warmup + LATENCY_DEFAULTS[b].runs);
      (latency[m.key] ??= {})[b] = await timeModel(m, LATENCY_DEFAULTS[b], () => tick(unit, `latency ${b} ${m.key}`));
      m.dispose();
    }
  }
  await switchBackend(backend);
  bar.update(1, "done", 0, true);
  bar.done();

  const cpu = process.cpuUsage(cpu0);
  const runtime = {wallSeconds: (performance.now() - wall0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, loadAverage1mAtStart: load0};
  const json = buildEvalJson({
    evaluation,
    images,
    imageSource: loaded.source,
    crop,
    metricCrop: EVAL_DEFAULTS.metricCrop,
    preset,
    degradeSeed,
    seeds,
    flops: Object.fromEntries(models.map((m) => [m.key, m.flopsPerOutputPixel(64, 64)])),
    latency,
    latencyPlans: Object.fromEntries(latencyNeeded.map((b) => [b, LATENCY_DEFAULTS[b]])),
    sources: runSources,
    meta: {
      commit: git("git rev-parse --short HEAD") ?? "unknown",
      workingTreeDirty: (git("git status --porcelain --untracked-files=no") ?? "") !== "",
      createdAt: new Date().toISOString(),
      machine: machine(),
      backend: tf.getBackend(),
      runtime,
    },
  });
  // Which artefact each of the lab's own rows ran (--student / --teacher may name scratch files).
  for (const [kind, path] of Object.entries(paths) as [ShippedKind, string][]) {
    const keys = Object.keys(json.models).filter((k) => k === SHIPPED_MODELS[kind].id || k.startsWith(`${SHIPPED_MODELS[kind].id}-`));
    if (keys.length === 0) continue;
    const bytes = new Uint8Array(readFileSync(path));
    const meta = readShippedMeta(bytes) as {step?: number; configName?: string};
    for (const k of keys) json.models[k].weights = {path, sha256: sha256(bytes), step: meta.step ?? null, config: meta.configName ?? null};
  }
  const written = base ? mergeEvalJson(base, json, models.map((m) => m.key)) : json;
  mkdirSync(dirname(resolve(jsonPath)), {recursive: true});
  writeFileSync(jsonPath, stringifyEvalJson(written));
  console.log("\n" + formatEvalTables(written));
  console.log(
    `\n${base ? `merged ${models.map((m) => m.key).join(", ")} into` : "wrote"} ${jsonPath}${outDir ? ` and images under ${outDir}/` : ""}; ${formatDuration(runtime.wallSeconds)} wall, ` +
      `${runtime.cpuSeconds.toFixed(0)} s CPU (1-minute load average ${load0.toFixed(1)} at start)`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
