/**
 * `npm run export-models -- --distilled-from PATH` ships a DTKD-distilled student: PATH (an ablation run's artefact,
 * e.g. .cache/ablate/ckpt/dtkd-default-s1.ckpt) is copied byte for byte to data/models/student-distilled.ckpt
 * (SHIPPED_DISTILLED) and its card data/models/student-distilled.md is written; `--cards-only` re-renders that card
 * too when the file exists.
 *
 * `npm run export-models [-- student|teacher [--from CKPT]]`: turns the training checkpoints into the shipped artefacts
 * data/models/<id>.ckpt (EMA weights only, fp32, plus a `card` in the header) and writes each model card
 * data/models/<id>.md, with the test-set figures from data/results/eval.json when that file exists.
 * `npm run export-models -- teacher --from CKPT --to PATH` writes the artefact to PATH instead (a scratch export: no card,
 * data/models/ untouched; scripts/teacher-trend.ts reads old checkpoints this way).
 * After `npm run eval`, `npm run export-models -- --cards-only` refreshes the cards' metrics from the shipped
 * files without re-exporting weights (the teacher's checkpoint moves on while it trains).
 */
import {execSync} from "node:child_process";
import {createHash} from "node:crypto";
import {copyFileSync, existsSync, readFileSync, writeFileSync} from "node:fs";
import {cpus} from "node:os";
import {decodeCheckpoint, encodeCheckpoint, type CheckpointTensor} from "../src/lib/checkpoint.js";
import {loadShippedStudent, SHIPPED_DISTILLED, SHIPPED_MODELS, type ModelCard, type ShippedKind} from "../src/lib/models/shipped.js";
import {studentFlopsPerOutputPixel, studentParamCount, type StudentConfig} from "../src/lib/models/student.js";
import {teacherFlopsPerOutputPixel, type TeacherConfig} from "../src/lib/models/teacher.js";
import {writeFileAtomic} from "../src/lib/train/checkpoint-file.js";
import type {TrendFile} from "../src/lib/eval/teacher-trend.js";
import {renderDistilledCard, renderModelCard, type DistillRecord} from "./model-card.js";

const SOURCES: Record<ShippedKind, string> = {
  student: "data/checkpoints/student/student-tiny.ckpt",
  teacher: "data/checkpoints/teacher/teacher.ckpt",
};

type TrainMeta = {
  configName: string;
  step: number;
  seed: number;
  batch: number;
  lr: unknown;
  ema: {decay: number};
  wallSeconds: number;
  backend: string;
  loss?: string;
  data: {preset: string; hrSize: number; history: {fromStep: number; source: string; images: string[]}[]};
  config: unknown;
} & Record<string, unknown>;

function machine(): string {
  const c = cpus();
  return `${c.length}-core ${c[0]?.model ?? "CPU"} (Node ${process.version}; training used one core)`;
}

function commit(): string {
  try {
    return execSync("git rev-parse --short HEAD", {encoding: "utf8"}).trim();
  } catch {
    return "unknown";
  }
}

const TREND_PATH = "data/results/teacher-trend.json";

/** The teacher's trend file (scripts/teacher-trend.ts), for the teacher's card only. */
function readTrend(kind: ShippedKind): TrendFile | null {
  return kind === "teacher" && existsSync(TREND_PATH) ? (JSON.parse(readFileSync(TREND_PATH, "utf8")) as TrendFile) : null;
}

function exportOne(kind: ShippedKind, from?: string, to?: string): void {
  const info = SHIPPED_MODELS[kind];
  const src = from ?? SOURCES[kind];
  if (!existsSync(src)) throw new Error(`${src} not found: train it first (npm run train -- ${kind})`);
  const ck = decodeCheckpoint<TrainMeta>(new Uint8Array(readFileSync(src)));
  const m = ck.meta;
  const ema: CheckpointTensor[] = [];
  for (const [name, t] of ck.tensors) if (name.startsWith("ema/")) ema.push({name, shape: t.shape, data: t.data, dtype: "float32"});
  if (ema.length === 0) throw new Error(`${src} holds no EMA weights`);
  const params = ema.reduce((a, t) => a + t.data.length, 0);
  let architecture: string;
  let flops: number;
  let flopsNote: string;
  if (kind === "student") {
    const c = m.config as StudentConfig;
    if (studentParamCount(c) !== params) throw new Error(`parameter count mismatch: config says ${studentParamCount(c)}, weights hold ${params}`);
    architecture = `SwinIR-style transformer ("${m.configName}"): embed ${c.embedDim}, groups [${c.depths}], ${c.heads} heads, window ${c.window}, MLP ratio ${c.mlpRatio}, x${c.scale}, image residual ${c.imageResidual}`;
    flops = studentFlopsPerOutputPixel(c, 128, 128);
    flopsNote = "per output pixel for a 128x128 input; 2 FLOPs per multiply-add of convolutions, linear layers and attention products";
  } else {
    const c = m.config as TeacherConfig;
    architecture =
      `Conv predictor (${c.predictor.blocks} residual blocks, ${c.predictor.channels} ch) + ResShift refiner ` +
      `(${c.denoiser.blocks} FiLM residual blocks, ${c.denoiser.channels} ch), pixel-unshuffled x${c.scale}; ` +
      `T=${c.diffusion.T}, kappa=${c.diffusion.kappa}, p=${c.diffusion.p}, sqrt(eta_1)=${c.diffusion.sqrtEta1}, sqrt(eta_T)=${c.diffusion.sqrtEtaT}; predicts x0`;
    flops = teacherFlopsPerOutputPixel(c);
    flopsNote = `per output pixel for a full ${c.diffusion.T}-step sample (predictor once, denoiser ${c.diffusion.T} times); 2 FLOPs per multiply-add of convolutions and dense layers`;
  }
  const card: ModelCard = {
    id: info.id,
    kind,
    architecture,
    params,
    flopsPerOutputPixel: Math.round(flops),
    flopsNote,
    training: {
      steps: m.step,
      wallSeconds: Math.round(m.wallSeconds),
      machine: machine(),
      backend: m.backend,
      seed: m.seed,
      batch: m.batch,
      loss: kind === "student" ? "L1 (reconstruction only)" : "predictor L1 + EDM-weighted x0 loss of the refiner",
      data: {
        preset: m.data.preset,
        hrPatch: m.data.hrSize,
        sources: m.data.history.map((h) => ({fromStep: h.fromStep, source: h.source, images: h.images.length})),
      },
      lr: m.lr,
      emaDecay: m.ema.decay,
    },
    exportedAt: new Date().toISOString(),
    commit: commit(),
  };
  const {adam: _adam, ...kept} = m as TrainMeta & {adam?: unknown};
  const out = to ?? `data/models/${info.file}`;
  writeFileAtomic(out, encodeCheckpoint({...kept, kind, card}, ema));
  if (to) {
    console.error(`${to}: ${params} parameters, step ${m.step} (scratch export, no card)`);
    return;
  }
  const evalPath = "data/results/eval.json";
  const evalJson = existsSync(evalPath) ? JSON.parse(readFileSync(evalPath, "utf8")) : null;
  writeFileSync(`data/models/${info.id}.md`, renderModelCard(card, m.lastVal as Record<string, unknown> | undefined, evalJson, readTrend(kind)));
  console.error(`${out}: ${params} parameters, step ${m.step}; card data/models/${info.id}.md${evalJson ? " (with eval.json)" : " (no eval.json yet)"}`);
}

/** Re-renders a card from the shipped artefact itself (its header keeps the card and last validation). */
function cardOnly(kind: ShippedKind): void {
  const info = SHIPPED_MODELS[kind];
  const meta = decodeCheckpoint<{card: ModelCard; lastVal?: Record<string, unknown>}>(new Uint8Array(readFileSync(`data/models/${info.file}`))).meta;
  const evalPath = "data/results/eval.json";
  const evalJson = existsSync(evalPath) ? JSON.parse(readFileSync(evalPath, "utf8")) : null;
  writeFileSync(`data/models/${info.id}.md`, renderModelCard(meta.card, meta.lastVal, evalJson, readTrend(kind)));
  console.error(`card data/models/${info.id}.md re-rendered from data/models/${info.file}`);
}

const EVAL_PATH = "data/results/eval.json";
const DISTILLED_PATH = `data/models/${SHIPPED_DISTILLED.file}`;
/** eval.json's entry for the distilled student: its `source.runs` name each run's file and sha256. */
const DISTILLED_EVAL_KEY = "distilled";

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes data/models/student-distilled.md from the shipped file's header and eval.json's row for this very file. */
function distilledCard(): void {
  const bytes = new Uint8Array(readFileSync(DISTILLED_PATH));
  const meta = decodeCheckpoint<{card?: ModelCard; distill?: DistillRecord}>(bytes).meta;
  if (!meta.card || !meta.distill) throw new Error(`${DISTILLED_PATH} has no card or distill record in its header: not a distilled artefact`);
  const evalJson = existsSync(EVAL_PATH) ? JSON.parse(readFileSync(EVAL_PATH, "utf8")) : null;
  const hash = sha256(bytes);
  // The run this file is, by content: eval.json's per-seed rows are attributed by sha256, never by name.
  const runs = (evalJson?.models?.[DISTILLED_EVAL_KEY]?.source?.runs ?? []) as {seed: number; path: string; sha256: string}[];
  const run = runs.find((r) => r.sha256 === hash);
  const text = renderDistilledCard({...meta.card, id: SHIPPED_DISTILLED.id}, meta.distill, evalJson, {
    evalKey: DISTILLED_EVAL_KEY,
    seed: run?.seed ?? null,
    sha256: hash,
    headerId: meta.card.id,
    source: run ? `${run.path}, training seed ${run.seed}` : "(not found among eval.json's runs)",
  });
  writeFileSync(`data/models/${SHIPPED_DISTILLED.id}.md`, text);
  console.error(`card data/models/${SHIPPED_DISTILLED.id}.md from ${DISTILLED_PATH}${run ? ` (eval.json row: seed ${run.seed})` : " (no eval.json row for its sha256)"}`);
}

/** Copies a distilled artefact byte for byte to the shipped name, after checking it is one and that it loads. */
function exportDistilled(src: string): void {
  if (!existsSync(src)) throw new Error(`${src} not found: run the ablation grid first (npm run ablate)`);
  const bytes = new Uint8Array(readFileSync(src));
  const meta = decodeCheckpoint<{kind?: string; card?: ModelCard; distill?: unknown}>(bytes).meta;
  if (meta.kind !== "student" || !meta.card || !meta.distill) throw new Error(`${src} is not a distilled student artefact (kind "${meta.kind}", card ${!!meta.card}, distill ${!!meta.distill})`);
  if (meta.card.id !== SHIPPED_DISTILLED.cardId) throw new Error(`${src} holds card "${meta.card.id}"; SHIPPED_DISTILLED.cardId says "${SHIPPED_DISTILLED.cardId}" (update it with the source)`);
  loadShippedStudent(bytes).student.dispose();
  const evalJson = existsSync(EVAL_PATH) ? JSON.parse(readFileSync(EVAL_PATH, "utf8")) : null;
  const recorded = ((evalJson?.models?.[DISTILLED_EVAL_KEY]?.source?.runs ?? []) as {path: string; sha256: string}[]).find((r) => r.path === src);
  const hash = sha256(bytes);
  if (recorded && recorded.sha256 !== hash) throw new Error(`${src} has sha256 ${hash}, but eval.json measured ${recorded.sha256}: re-run npm run eval first`);
  copyFileSync(src, DISTILLED_PATH);
  if (sha256(new Uint8Array(readFileSync(DISTILLED_PATH))) !== hash) throw new Error(`${DISTILLED_PATH} is not a byte copy of ${src}`);
  console.error(`${DISTILLED_PATH}: byte copy of ${src}, sha256 ${hash}${recorded ? " (as measured in eval.json)" : " (not in eval.json)"}`);
  distilledCard();
}

const args = process.argv.slice(2);
if (args.includes("--cards-only")) {
  for (const k of Object.keys(SHIPPED_MODELS) as ShippedKind[]) cardOnly(k);
  if (existsSync(DISTILLED_PATH)) distilledCard();
  process.exit(0);
}
const distAt = args.indexOf("--distilled-from");
if (distAt >= 0) {
  const src = args[distAt + 1];
  if (!src || args.length !== 2) throw new Error("usage: npm run export-models -- --distilled-from PATH (alone)");
  exportDistilled(src);
  process.exit(0);
}
const fromAt = args.indexOf("--from");
const from = fromAt >= 0 ? args.splice(fromAt, 2)[1] : undefined;
const toAt = args.indexOf("--to");
const to = toAt >= 0 ? args.splice(toAt, 2)[1] : undefined;
for (const k of args) if (!(k in SHIPPED_MODELS)) throw new Error(`unknown model "${k}" (student or teacher)`);
if (from && args.length !== 1) throw new Error("--from PATH needs exactly one model (student or teacher)");
if (to !== undefined && (!to || args.length !== 1)) throw new Error("--to PATH needs a path and exactly one model (student or teacher)");
for (const k of (args.length ? args : Object.keys(SHIPPED_MODELS)) as ShippedKind[]) exportOne(k, from, to);
