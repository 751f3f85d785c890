// Rows of the report's test-set tables (main metrics, per-band kurtosis, efficiency) from eval.json, and the
// distilled-versus-standalone comparison. Pure data shaping; the page turns rows into elements.
import {formatSeeds} from "./format.js";
import {difference, METRIC_DIRECTION, type Difference} from "./stats.js";
import {EVAL_METRICS, type EvalJson, type EvalMetric, type EvalModel, type Stat} from "./types.js";

/** The main table's rows in order: what each model key of eval.json is in the DTKD story. */
export const MAIN_ROWS: readonly {key: string; short: string; role: string}[] = Object.freeze([
  {key: "bicubic", short: "bicubic", role: "Bicubic (no model)"},
  {key: "standalone", short: "standalone", role: "Standalone student (reconstruction L1 only, same fine-tuning budget)"},
  {key: "distilled", short: "distilled", role: "Distilled student (DTKD, lab-default loss and schedule)"},
  {key: "teacher-base", short: "teacher (stochastic)", role: "Teacher, stochastic sampler"},
  {key: "teacher-base-ddim", short: "teacher (ddim)", role: "Teacher, DDIM-like sampler"},
  {key: "rrdn", short: "RRDN (GAN)", role: "GAN reference (RRDN)"},
  {key: "student-tiny", short: "shipped student", role: "Shipped student (the starting point of both fine-tunings)"},
]);

export type SeedKind = "sampler" | "training" | "none";

export interface MainRow {
  key: string;
  /** A short name for chart labels. */
  short: string;
  role: string;
  label: string;
  seedKind: SeedKind;
  seeds: number[];
  /** "sampler seeds 1, 2, 3", "training seeds 1, 2, 3" or "deterministic". */
  seedsText: string;
  metrics: Record<EvalMetric, Stat>;
  /** Per band (protocol.bandStats.bands): mean over seeds and std over seeds (null for deterministic rows). */
  kurtosis: Record<string, Stat>;
}

export interface MainTable {
  rows: MainRow[];
  /** Keys of MAIN_ROWS that eval.json does not hold, with their roles. */
  missing: {key: string; short: string; role: string}[];
  bands: string[];
  truthKurtosis: Record<string, number>;
}

function seedKindOf(m: EvalModel): SeedKind {
  if (!m.seeds || m.seeds.length === 0) return "none";
  return m.seedKind === "training" ? "training" : "sampler";
}

export function seedsText(kind: SeedKind, seeds: readonly number[]): string {
  if (kind === "none") return "deterministic";
  return `${kind} seed${seeds.length === 1 ? "" : "s"} ${formatSeeds(seeds)}`;
}

function rowOf(key: string, short: string, role: string, m: EvalModel, bands: string[]): MainRow {
  const kind = seedKindOf(m);
  const seeds = m.seeds ?? [];
  const kStd = m.bandStd?.kurtosis ?? null;
  const metrics = Object.fromEntries(
    EVAL_METRICS.map((k) => [k, {mean: m.metrics[k].mean ?? null, std: m.metrics[k].std ?? null}]),
  ) as Record<EvalMetric, Stat>;
  const kurtosis = Object.fromEntries(bands.map((b) => [b, {mean: m.kurtosis[b] ?? null, std: kStd ? (kStd[b] ?? null) : null}]));
  return {key, short, role, label: m.label, seedKind: kind, seeds, seedsText: seedsText(kind, seeds), metrics, kurtosis};
}

/** The rows eval.json holds, in MAIN_ROWS order, then any other model keys it has (so nothing is dropped). */
export function mainTable(e: EvalJson): MainTable {
  const bands = [...e.protocol.bandStats.bands];
  const known = new Set(MAIN_ROWS.map((r) => r.key));
  const rows = MAIN_ROWS.filter((r) => r.key in e.models).map((r) => rowOf(r.key, r.short, r.role, e.models[r.key], bands));
  for (const [key, m] of Object.entries(e.models)) if (!known.has(key)) rows.push(rowOf(key, key, m.label, m, bands));
  const missing = MAIN_ROWS.filter((r) => !(r.key in e.models)).map((r) => ({...r}));
  return {rows, missing, bands, truthKurtosis: {...e.gt.kurtosis}};
}

export interface EfficiencyRow {
  key: string;
  short: string;
  role: string;
  params: number | null;
  flopsPerOutputPixel: number | null;
  /** Per backend: median process CPU ms and median wall ms of one image, and the input size. */
  latency: Record<string, {cpuMedian: number; wallMedian: number; size: string} | null>;
}

export interface Efficiency {
  backends: string[];
  rows: EfficiencyRow[];
  /** Teacher (stochastic) over the shipped student: FLOPs and, per backend, median CPU time. Null where a side is missing. */
  teacherOverStudent: {flops: number | null; cpu: Record<string, number | null>} | null;
}

/** Parameters, FLOPs per output pixel and latency per backend of every model that has any of them. */
export function efficiency(e: EvalJson): Efficiency {
  const table = mainTable(e);
  const plans = Object.keys(e.protocol.latency?.plans ?? {});
  const seen = new Set(plans);
  for (const m of Object.values(e.models)) for (const b of Object.keys(m.latencyMs ?? {})) if (!seen.has(b)) (seen.add(b), plans.push(b));
  const rows: EfficiencyRow[] = table.rows.map((r) => {
    const m = e.models[r.key];
    const latency: EfficiencyRow["latency"] = {};
    for (const b of plans) {
      const l = m.latencyMs?.[b];
      latency[b] = l ? {cpuMedian: l.cpuMedian, wallMedian: l.median, size: l.size} : null;
    }
    return {key: r.key, short: r.short, role: r.role, params: m.params, flopsPerOutputPixel: m.flopsPerOutputPixel, latency};
  });
  const t = rows.find((r) => r.key === "teacher-base");
  const s = rows.find((r) => r.key === "student-tiny");
  let teacherOverStudent: Efficiency["teacherOverStudent"] = null;
  if (t && s) {
    const flops = t.flopsPerOutputPixel && s.flopsPerOutputPixel ? t.flopsPerOutputPixel / s.flopsPerOutputPixel : null;
    const cpu = Object.fromEntries(
      plans.map((b) => {
        const lt = t.latency[b];
        const ls = s.latency[b];
        return [b, lt && ls && ls.cpuMedian > 0 ? lt.cpuMedian / ls.cpuMedian : null];
      }),
    );
    teacherOverStudent = {flops, cpu};
  }
  return {backends: plans, rows, teacherOverStudent};
}

export interface ComparisonRow {
  metric: string;
  label: string;
  a: Stat;
  b: Stat;
  d: Difference | null;
}

export const METRIC_LABELS: Readonly<Record<string, string>> = Object.freeze({
  psnrY: "PSNR-Y (dB)",
  ssimY: "SSIM-Y",
  haarpsi: "HaarPSI",
  fwd: "FWD (lower is closer)",
  kurtosisHH1: "HH1 kurtosis",
});

/** Row a minus row b on each test-set metric, plus HH1 kurtosis (no direction: compare with the truth). */
export function compareRows(a: MainRow, b: MainRow): ComparisonRow[] {
  const nA = Math.max(1, a.seeds.length);
  const nB = Math.max(1, b.seeds.length);
  const rows: ComparisonRow[] = EVAL_METRICS.map((k) => ({
    metric: k,
    label: METRIC_LABELS[k],
    a: a.metrics[k],
    b: b.metrics[k],
    d: difference(a.metrics[k], nA, b.metrics[k], nB, METRIC_DIRECTION[k]),
  }));
  if (a.kurtosis.HH1 && b.kurtosis.HH1) {
    rows.push({metric: "kurtosisHH1", label: METRIC_LABELS.kurtosisHH1, a: a.kurtosis.HH1, b: b.kurtosis.HH1, d: difference(a.kurtosis.HH1, nA, b.kurtosis.HH1, nB, "none")});
  }
  return rows;
}
