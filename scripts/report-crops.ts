/**
 * Side-by-side crops for the report: `npx tsx scripts/report-crops.ts [options]` writes
 * data/results/crops/<image>-<method>.png (64x64 RGB) and data/results/crops/index.json (the report page reads it).
 *
 * Every output is the evaluation's own (src/lib/eval: the same images, centre crop, degradation and seeds as
 * `npm run eval`, each model run on the whole 64x64 LR input), then cut to one region per image; the region
 * and the image set follow computed rules (src/lib/eval/crops.ts), never a hand pick. Methods whose artefact is
 * missing (e.g. the grid's runs before they finish) are left out of `methods` and `files`.
 *
 *   --images a,b,c,d      test image ids (default: 4 at evenly spaced ranks of detail energy, crops.ts)
 *   --out DIR             default data/results/crops
 *   --from-ablations PATH where the distilled (dtkd-default) and standalone (recon-only) seed-1 artefacts are
 *                         found (default data/results/ablations.json)
 *   --backend wasm|cpu    default wasm (as the evaluation)
 */
import {createHash} from "node:crypto";
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {join} from "node:path";
import {chooseBackend, describeBackend} from "../src/lib/backend.js";
import {loadSplit} from "../src/lib/dataset.js";
import {bestDetailRegion, REGION_DEFAULTS, spreadByDetail} from "../src/lib/eval/crops.js";
import {EVAL_DEFAULTS, prepareEvalImages} from "../src/lib/eval/evaluate.js";
import {bicubicModel, rrdnModel, SCALE, studentModel, teacherModel, type SrModel} from "../src/lib/eval/models.js";
import {loadRrdnFromPackage} from "../src/lib/eval/rrdn-files.js";
import {ABLATION_KEYS, runsFromAblations, trainingRunsModel, type AblationsLike, type RunsKey} from "../src/lib/eval/runs.js";
import {encodePng} from "../src/lib/image-io.js";
import {loadShippedStudent, loadShippedTeacher, SHIPPED_MODELS} from "../src/lib/models/shipped.js";
import {cropPatch} from "../src/lib/patches.js";
import type {ImageF32} from "../src/lib/resize.js";
import {gitCommit, parseFlags} from "../src/lib/train/distill-node.js";

/** The teacher's sampler seed (the first of the evaluation's seeds) and the grid runs' training seed. */
const SEED = EVAL_DEFAULTS.seeds[0];
const TRAINING_SEED = 1;

interface Method {
  id: string;
  label: string;
  /** Null for lr and truth (cut from the inputs, no model). */
  model: SrModel | null;
  artefact: string | null;
}

/** Nearest-neighbour upscaling by an integer factor (how the LR input is shown: its pixels, enlarged). */
function nearestUp(img: ImageF32, f: number): ImageF32 {
  const width = img.width * f;
  const height = img.height * f;
  const data = new Float32Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const src = (Math.floor(r / f) * img.width + Math.floor(c / f)) * 3;
      data.set(img.data.subarray(src, src + 3), (r * width + c) * 3);
    }
  }
  return {width, height, channels: 3, data};
}

/** The seed-1 run of a grid cell as a model, or null (with the reason on stderr) when it is not there. */
function gridRun(key: RunsKey, ablationsPath: string): {model: SrModel; artefact: string} | null {
  if (!existsSync(ablationsPath)) {
    console.error(`${key}: ${ablationsPath} not found; left out`);
    return null;
  }
  const a = JSON.parse(readFileSync(ablationsPath, "utf8")) as AblationsLike;
  const {runs} = runsFromAblations(a, ABLATION_KEYS[key], existsSync);
  const ref = runs.find((r) => r.seed === TRAINING_SEED);
  if (!ref) {
    console.error(`${key}: no finished run of cell ${ABLATION_KEYS[key]} seed ${TRAINING_SEED} with an artefact; left out`);
    return null;
  }
  const bytes = new Map([[ref.path, new Uint8Array(readFileSync(ref.path))]]);
  const {model} = trainingRunsModel(key, [ref], bytes, {cell: ABLATION_KEYS[key], ablations: ablationsPath, sha256: (b) => createHash("sha256").update(b).digest("hex")});
  return {model, artefact: ref.path};
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ["images", "out", "from-ablations", "backend"]);
  const str = (k: string) => (typeof flags.get(k) === "string" ? (flags.get(k) as string) : undefined);
  const outDir = str("out") ?? "data/results/crops";
  const ablationsPath = str("from-ablations") ?? "data/results/ablations.json";
  const backend = await chooseBackend({override: str("backend") ?? "wasm"});
  console.error(`backend: ${describeBackend(backend)}`);

  const {crop, preset, degradeSeed} = EVAL_DEFAULTS;
  const all = prepareEvalImages(
    (await loadSplit("test")).map((s) => ({id: s.id, image: s.image})),
    {crop, preset, degradeSeed},
  );
  const wanted = str("images")?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const id of wanted ?? []) if (!all.some((im) => im.id === id)) throw new Error(`--images: no test image "${id}"`);
  const picked = wanted ? wanted.map((id) => ({id, energyPerPixel: NaN})) : await spreadByDetail(all, 4);
  const images = picked.map((p) => all.find((im) => im.id === p.id)!);
  console.error(`images: ${picked.map((p) => `${p.id}${Number.isFinite(p.energyPerPixel) ? ` (detail energy ${p.energyPerPixel.toExponential(2)}/px)` : ""}`).join(", ")}`);

  const studentPath = `data/models/${SHIPPED_MODELS.student.file}`;
  const teacherPath = `data/models/${SHIPPED_MODELS.teacher.file}`;
  const methods: Method[] = [
    {id: "lr", label: "LR input (nearest x4)", model: null, artefact: null},
    {id: "bicubic", label: "Bicubic x4", model: bicubicModel(), artefact: null},
    {id: "student", label: "Student (shipped)", model: studentModel(loadShippedStudent(readFileSync(studentPath)).student), artefact: studentPath},
  ];
  const standalone = gridRun("standalone", ablationsPath);
  if (standalone) methods.push({id: "standalone", label: `Standalone (L1 only, training seed ${TRAINING_SEED})`, ...standalone});
  const distilled = gridRun("distilled", ablationsPath);
  if (distilled) methods.push({id: "distilled", label: `DTKD-distilled (training seed ${TRAINING_SEED})`, ...distilled});
  methods.push(
    {id: "teacher", label: `Teacher (stochastic sampler, seed ${SEED})`, model: teacherModel(loadShippedTeacher(readFileSync(teacherPath)).teacher, "stochastic"), artefact: teacherPath},
    {id: "rrdn", label: "RRDN (idealo GAN)", model: rrdnModel(await loadRrdnFromPackage()), artefact: "@upscalerjs/esrgan-legacy models/gans"},
    {id: "truth", label: "Ground truth", model: null, artefact: null},
  );

  // Only this script's files are replaced: stale crops of methods now left out must not linger.
  mkdirSync(outDir, {recursive: true});
  for (const f of readdirSync(outDir)) if (f.endsWith(".png") || f === "index.json") rmSync(join(outDir, f));

  const crops: {image: string; region: {x: number; y: number; size: number}; files: Record<string, string>}[] = [];
  for (const im of images) {
    const region = await bestDetailRegion(im.gt, REGION_DEFAULTS);
    const {x, y, size} = region;
    const files: Record<string, string> = {};
    for (const m of methods) {
      let out: ImageF32;
      if (m.id === "lr") out = nearestUp(cropPatch(im.lr, x / SCALE, y / SCALE, size / SCALE), SCALE);
      else if (m.id === "truth") out = cropPatch(im.gt, x, y, size);
      else out = cropPatch(await m.model!.upscale(im.lr, {seed: m.id === "teacher" ? SEED : TRAINING_SEED, imageId: im.id}), x, y, size);
      const file = `${im.id}-${m.id}.png`;
      writeFileSync(join(outDir, file), encodePng({...out, channels: 3}));
      files[m.id] = file;
    }
    crops.push({image: im.id, region: {x, y, size}, files});
    console.error(`${im.id}: region ${size}x${size} at x=${x}, y=${y} of the ${im.gt.width}x${im.gt.height} crop (detail energy ${region.energy.toFixed(3)})`);
  }
  for (const m of methods) m.model?.dispose();

  const ordinal = (n: number) => `${n}${n % 10 === 1 && n !== 11 ? "st" : n % 10 === 2 && n !== 12 ? "nd" : n % 10 === 3 && n !== 13 ? "rd" : "th"}`;
  const ranks = picked.map((_, i) => ordinal(Math.round((i * (all.length - 1)) / (picked.length - 1)) + 1));
  const rule = wanted
    ? `Images named with --images (${wanted.join(", ")})`
    : `Images: ${picked.length} at evenly spaced ranks (${ranks.join(", ")} of ${all.length}) of the test images sorted by ground-truth level-1 detail energy per pixel of their evaluation crop, highest first (${picked.map((p) => p.id).join(", ")})`;
  const artefacts = methods.filter((m) => m.artefact).map((m) => `${m.id}: ${m.artefact}`).join("; ");
  const protocol =
    `Test photographs (data/test), each cut to its centre ${crop}x${crop} evaluation crop and degraded with the "${preset}" preset, ` +
    `degradation base seed ${degradeSeed} (per-image seed createRng(${degradeSeed}).fork(imageId)), exactly as npm run eval; every model ` +
    `upscales the whole ${crop / SCALE}x${crop / SCALE} LR input and the output (clipped to [0,1]) is then cut. ${rule}. Region: in each, the ` +
    `${REGION_DEFAULTS.size}x${REGION_DEFAULTS.size} HR window (corner on a ${REGION_DEFAULTS.step}-px grid, at least ${REGION_DEFAULTS.margin} px from the edges) ` +
    `with the highest ground-truth luma energy in the level-1 Haar detail bands LH1+HL1+HH1, computed, not hand-picked; region x, y are ` +
    `its top-left corner in the ${crop}x${crop} evaluation crop (HR pixels). lr is the LR region shown with nearest-neighbour x${SCALE}. ` +
    `Teacher: stochastic ResShift sampler, seed ${SEED}, noise createRng(${SEED}).fork(imageId) (the evaluation's seed-${SEED} sample). ` +
    `Grid students: training seed ${TRAINING_SEED} of cells ${ABLATION_KEYS.distilled} (distilled) and ${ABLATION_KEYS.standalone} (standalone) from ${ablationsPath}, ` +
    `left out when missing. Artefacts: ${artefacts}. Backend ${backend.chosen}.`;
  const index = {
    schema: 1,
    commit: gitCommit(),
    createdAt: new Date().toISOString(),
    protocol,
    methods: methods.map((m) => ({id: m.id, label: m.label})),
    crops,
  };
  writeFileSync(join(outDir, "index.json"), JSON.stringify(index, null, 1) + "\n");
  console.error(`wrote ${crops.length} x ${methods.length} crops and ${join(outDir, "index.json")} (methods: ${methods.map((m) => m.id).join(", ")})`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
