// The shapes of the committed result files the report page reads (data/results/*.json), and their checks.
// DOM-free: the page, the data loaders, the unit tests and the end-to-end check all parse through here, so they
// agree on what a file means. The checks are structural (what the page needs to draw), not a full schema: the
// writers (scripts/eval.ts, scripts/ablate.ts, the crops script) own their schemas (docs/eval-schema.md).
import {TREND_SCHEMA, type TrendFile} from "../eval/teacher-trend.js";

/** A mean and its sample standard deviation over seeds; std null (or absent) for a deterministic model. */
export interface Stat {
  mean: number | null;
  std: number | null;
}

export const EVAL_METRICS = ["psnrY", "ssimY", "haarpsi", "fwd"] as const;
export type EvalMetric = (typeof EVAL_METRICS)[number];

export interface LatencyRecord {
  mean: number;
  median: number;
  cpuMean: number;
  cpuMedian: number;
  size: string;
  runsMs?: number[];
  cpuRunsMs?: number[];
  warmup?: number;
}

export interface EvalModel {
  label: string;
  params: number | null;
  seeds: number[] | null;
  /** "training" for the distilled and standalone rows (seeds of the fine-tuning runs); absent: sampler seeds. */
  seedKind?: string | null;
  metrics: Record<EvalMetric, Stat>;
  kurtosis: Record<string, number | null>;
  energyRatio?: Record<string, number | null>;
  correlation?: Record<string, number | null>;
  bandStd: null | {kurtosis?: Record<string, number | null>};
  flopsPerOutputPixel: number | null;
  flopsNote?: string;
  latencyMs?: Partial<Record<string, LatencyRecord>>;
}

export interface EvalJson {
  schema: 1;
  commit: string;
  workingTreeDirty?: boolean;
  createdAt: string;
  machine: string;
  backend: string;
  protocol: {
    colour: string;
    crop: number;
    images: {source: string; count: number; names: string[]};
    degradation: {preset: string; seed: number; scale: number};
    evalCrop: {size: number; rule: string};
    teacherSeeds?: number[];
    aggregation: string;
    metrics: Record<string, string>;
    bandStats: {wavelet: string; levels: number; crop: number; bands: string[]};
    latency?: {plans?: Record<string, {lrSize: number; warmup: number; runs: number}>; note?: string};
    [k: string]: unknown;
  };
  gt: {kurtosis: Record<string, number>; energy?: Record<string, number>; fwdSamples?: number};
  models: Record<string, EvalModel>;
}

/** One evaluation of a set of outputs on the validation patches (src/lib/train/distill-node.ts EvalMetrics). */
export interface ValMetrics {
  psnrY: number;
  ssimY: number;
  haarpsi: number;
  /** Finest Haar level LH1, HL1, HH1. */
  energyRatio: number[];
  kurtosis: number[];
  bandL1: Record<string, number>;
  fwd: number;
}

export interface CellStats {
  n: number;
  seeds: number[];
  metrics: {
    psnrY: Stat;
    ssimY: Stat;
    haarpsi: Stat;
    fwd: Stat;
    energyRatio: Stat[];
    kurtosis: Stat[];
    bandL1?: Record<string, Stat>;
    finalTrainBand?: Stat;
    stepsPerSec?: Stat;
  };
}

export interface GridCell {
  cell: string;
  axes: Record<string, string>;
  loss: string;
  lossConfig?: {wavelet: string; levels: number; distance: string; groups: Record<string, string[]>; weights: Record<string, number>};
  schedule: string;
}

export interface AblationsJson {
  version: 1;
  about?: string;
  commit: string;
  machine?: string;
  createdAt: string;
  updatedAt: string;
  settings: {
    steps: number;
    train?: {lr?: number; batch?: number; emaDecay?: number; warmupSteps?: number; lrMinFactor?: number; targetMode?: string; targetSeeds?: number};
    data?: {patches?: number; hrSize?: number; preset?: string; valCount?: number; targetSeeds?: number; sampler?: string};
    backend?: string;
    [k: string]: unknown;
  };
  protocol: Record<string, string>;
  grid: GridCell[];
  reference: Record<string, ValMetrics>;
  runs: {id: string; cell: string; seed: number}[];
  cells: Record<string, CellStats>;
}

export const CROP_METHOD_IDS = ["lr", "bicubic", "student", "standalone", "distilled", "teacher", "rrdn", "truth"] as const;

export interface CropsIndex {
  schema: 1;
  commit: string;
  createdAt: string;
  protocol: string;
  methods: {id: string; label: string}[];
  crops: {image: string; region: {x: number; y: number; size: number}; files: Record<string, string>}[];
}

/**
 * What a data loader in src/data/results/ emits for one input file: its repository path and, when the file
 * exists, its parsed content. An absent file is a normal state (the grid not run yet), not an error.
 */
export type ResultFile<T> = {source: string; present: false} | {source: string; present: true; data: T};

export class ResultFileError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = "ResultFileError";
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

function need(cond: unknown, source: string, problem: string): asserts cond {
  if (!cond) throw new ResultFileError(source, problem);
}

/** Checks the parts of eval.json the report draws; throws ResultFileError naming the first problem. */
export function checkEvalJson(x: unknown, source = "data/results/eval.json"): EvalJson {
  need(isObject(x), source, "not a JSON object");
  need(x.schema === 1, source, `schema ${JSON.stringify(x.schema)}, expected 1`);
  need(isObject(x.protocol), source, "no protocol");
  need(isObject(x.gt) && isObject(x.gt.kurtosis), source, "no gt.kurtosis");
  need(isObject(x.models), source, "no models");
  const bands = (x.protocol as Record<string, unknown>).bandStats;
  need(isObject(bands) && Array.isArray(bands.bands), source, "no protocol.bandStats.bands");
  for (const [key, m] of Object.entries(x.models)) {
    need(isObject(m) && isObject(m.metrics), source, `models.${key} has no metrics`);
    for (const k of EVAL_METRICS) {
      const s = (m.metrics as Record<string, unknown>)[k];
      need(isObject(s) && "mean" in s, source, `models.${key}.metrics.${k} missing`);
    }
    need(isObject(m.kurtosis), source, `models.${key}.kurtosis missing`);
  }
  return x as unknown as EvalJson;
}

/** Checks the parts of teacher-trend.json (scripts/teacher-trend.ts) the report draws. */
export function checkTeacherTrendJson(x: unknown, source = "data/results/teacher-trend.json"): TrendFile {
  need(isObject(x), source, "not a JSON object");
  need(x.schema === TREND_SCHEMA, source, `schema ${JSON.stringify(x.schema)}, expected ${TREND_SCHEMA}`);
  need(isObject(x.truthKurtosis), source, "no truthKurtosis");
  need(Array.isArray(x.reads), source, "no reads");
  for (const r of x.reads as unknown[]) {
    need(isObject(r) && typeof r.step === "number" && typeof r.trainingHours === "number", source, "a read lacks step or trainingHours");
    for (const who of ["teacher", "predictor", "student"]) {
      const f = r[who];
      need(isObject(f) && typeof f.psnrY === "number" && typeof f.haarpsi === "number" && typeof f.fwd === "number" && isObject(f.kurtosis), source, `step ${r.step}: ${who} figures missing`);
    }
    need(isObject(r.verdict) && typeof r.verdict.kurtosisBandsWon === "number" && typeof r.verdict.met === "boolean", source, `step ${r.step}: no verdict`);
  }
  return x as unknown as TrendFile;
}

/** Checks the parts of ablations.json the report draws. */
export function checkAblationsJson(x: unknown, source = "data/results/ablations.json"): AblationsJson {
  need(isObject(x), source, "not a JSON object");
  need(x.version === 1, source, `version ${JSON.stringify(x.version)}, expected 1`);
  need(Array.isArray(x.grid), source, "no grid");
  need(isObject(x.cells), source, "no cells");
  need(isObject(x.reference), source, "no reference");
  need(isObject(x.settings) && typeof x.settings.steps === "number", source, "no settings.steps");
  for (const g of x.grid as unknown[]) need(isObject(g) && typeof g.cell === "string" && isObject(g.axes), source, "a grid entry lacks cell or axes");
  for (const [id, c] of Object.entries(x.cells)) {
    need(isObject(c) && typeof c.n === "number" && Array.isArray(c.seeds) && isObject(c.metrics), source, `cells.${id} malformed`);
    const m = c.metrics as Record<string, unknown>;
    for (const k of ["psnrY", "ssimY", "haarpsi", "fwd"]) need(isObject(m[k]), source, `cells.${id}.metrics.${k} missing`);
    need(Array.isArray(m.kurtosis) && m.kurtosis.length === 3, source, `cells.${id}.metrics.kurtosis is not [LH1, HL1, HH1]`);
  }
  return x as unknown as AblationsJson;
}

/** Checks data/results/crops/index.json. */
export function checkCropsIndex(x: unknown, source = "data/results/crops/index.json"): CropsIndex {
  need(isObject(x), source, "not a JSON object");
  need(x.schema === 1, source, `schema ${JSON.stringify(x.schema)}, expected 1`);
  need(Array.isArray(x.methods) && x.methods.length > 0, source, "no methods");
  need(Array.isArray(x.crops), source, "no crops");
  const ids = new Set<string>();
  for (const m of x.methods as unknown[]) {
    need(isObject(m) && typeof m.id === "string" && typeof m.label === "string", source, "a method lacks id or label");
    ids.add(m.id);
  }
  for (const c of x.crops as unknown[]) {
    need(isObject(c) && typeof c.image === "string" && isObject(c.region) && isObject(c.files), source, "a crop lacks image, region or files");
    for (const [id, f] of Object.entries(c.files)) {
      need(ids.has(id), source, `crop ${c.image} names method "${id}", which methods does not list`);
      need(typeof f === "string" && /^[A-Za-z0-9_.-]+\.png$/.test(f), source, `crop ${c.image}: file ${JSON.stringify(f)} is not a plain .png name`);
    }
  }
  return x as unknown as CropsIndex;
}
