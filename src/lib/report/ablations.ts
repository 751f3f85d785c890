// The ablation grid (data/results/ablations.json) as chart series: per axis, one point per level with the mean
// and sample std over the seeds that have finished, plus the reconstruction-only baseline and the reference rows
// (starting student, bicubic) of the same validation patches.
import {METRIC_LABELS, type ComparisonRow} from "./main-table.js";
import {difference, METRIC_DIRECTION} from "./stats.js";
import type {AblationsJson, CellStats, Stat} from "./types.js";

/** Metrics the ablation charts plot: PSNR-Y (distortion) and two texture measures. */
export const ABLATION_METRICS = ["psnrY", "fwd", "kurtosisHH1"] as const;
export type AblationMetric = (typeof ABLATION_METRICS)[number];

export const ABLATION_METRIC_TITLES: Readonly<Record<AblationMetric, string>> = Object.freeze({
  psnrY: "PSNR-Y (dB, higher = closer)",
  fwd: "FWD (lower = closer distribution)",
  kurtosisHH1: "HH1 kurtosis (Gaussian grain = 3)",
});

/** The paper's three ablation axes, with the level order the charts use (levels found in the grid but not
 *  listed here are appended in grid order). */
export const ABLATION_AXES: readonly {axis: string; title: string; order: readonly string[]}[] = Object.freeze([
  {axis: "depth", title: "Decomposition depth", order: ["pixel", "1", "2", "3"]},
  {axis: "weighting", title: "Band-group weighting", order: ["uniform", "dtkd", "low", "high", "korkmaz"]},
  {axis: "schedule", title: "Distillation-weight schedule λ(t)", order: ["constant", "linear", "cosine", "step"]},
]);

/** The cell whose axes say {baseline: "recon-only"}: lambda = 0, the standalone student at the same budget. */
export const BASELINE = "recon-only";

/** A cell's value of one ablation metric (HH1 kurtosis is the third entry of the finest-level triple). */
export function cellMetric(c: CellStats, m: AblationMetric): Stat {
  const s = m === "kurtosisHH1" ? c.metrics.kurtosis[2] : c.metrics[m];
  return {mean: s?.mean ?? null, std: c.n > 1 ? (s?.std ?? null) : null};
}

export interface AxisPoint {
  level: string;
  cell: string;
  /** Seeds finished for this cell (0: planned, not run yet). */
  n: number;
  seeds: number[];
  /** "2 (n=3)": the x label, so every chart shows its seed counts. */
  label: string;
  loss: string;
  schedule: string;
  values: Record<AblationMetric, Stat>;
}

export interface AxisSeries {
  axis: string;
  title: string;
  /** Levels with at least one finished run, in axis order. */
  points: AxisPoint[];
  /** Levels planned in the grid that have no finished run yet. */
  pending: string[];
}

export interface ReferenceLine {
  name: string;
  values: Record<AblationMetric, Stat>;
}

export interface AblationView {
  axes: AxisSeries[];
  baseline: AxisPoint | null;
  references: ReferenceLine[];
  finishedRuns: number;
  plannedRuns: number;
  seedsPlanned: number;
}

function pointOf(cellId: string, level: string, a: AblationsJson): AxisPoint {
  const g = a.grid.find((x) => x.cell === cellId);
  const c = a.cells[cellId];
  const values = Object.fromEntries(
    ABLATION_METRICS.map((m) => [m, c ? cellMetric(c, m) : {mean: null, std: null}]),
  ) as Record<AblationMetric, Stat>;
  const n = c?.n ?? 0;
  return {level, cell: cellId, n, seeds: c?.seeds ?? [], label: `${level} (n=${n})`, loss: g?.loss ?? "", schedule: g?.schedule ?? "", values};
}

/** Seeds per cell of the plan: the largest seed count seen in runs or cells (scripts/ablate.ts runs 1..S). */
function plannedSeeds(a: AblationsJson): number {
  let s = 0;
  for (const r of a.runs ?? []) s = Math.max(s, r.seed);
  for (const c of Object.values(a.cells)) for (const x of c.seeds) s = Math.max(s, x);
  return s;
}

export function ablationView(a: AblationsJson): AblationView {
  const axes: AxisSeries[] = ABLATION_AXES.map(({axis, title, order}) => {
    const levels = new Map<string, string>();
    for (const g of a.grid) if (g.axes[axis] !== undefined && !levels.has(g.axes[axis])) levels.set(g.axes[axis], g.cell);
    const sorted = [...levels.keys()].sort((x, y) => {
      const ix = order.indexOf(x);
      const iy = order.indexOf(y);
      return (ix < 0 ? order.length : ix) - (iy < 0 ? order.length : iy);
    });
    const all = sorted.map((level) => pointOf(levels.get(level)!, level, a));
    return {axis, title, points: all.filter((p) => p.n > 0), pending: all.filter((p) => p.n === 0).map((p) => p.level)};
  });
  const baseGrid = a.grid.find((g) => g.axes.baseline === BASELINE);
  const baseline = baseGrid && a.cells[baseGrid.cell] ? pointOf(baseGrid.cell, BASELINE, a) : null;
  const refNames: [string, string][] = [
    ["start", "starting student"],
    ["bicubic", "bicubic"],
  ];
  const references = refNames
    .filter(([k]) => a.reference[k])
    .map(([k, name]) => {
      const r = a.reference[k];
      const values: Record<AblationMetric, Stat> = {
        psnrY: {mean: r.psnrY, std: null},
        fwd: {mean: r.fwd, std: null},
        kurtosisHH1: {mean: r.kurtosis[2] ?? null, std: null},
      };
      return {name, values};
    });
  const seedsPlanned = plannedSeeds(a);
  return {
    axes,
    baseline,
    references,
    finishedRuns: (a.runs ?? []).length,
    plannedRuns: a.grid.length * seedsPlanned,
    seedsPlanned,
  };
}

export interface PdPoint {
  name: string;
  group: string;
  n: number;
  psnrY: Stat;
  fwd: Stat;
  haarpsi: Stat;
}

/** Every ablation cell with a finished run, plus the reference rows, on the perception-distortion plane. */
export function ablationPdPoints(a: AblationsJson): PdPoint[] {
  const out: PdPoint[] = [];
  for (const g of a.grid) {
    const c = a.cells[g.cell];
    if (!c || c.n === 0) continue;
    const std = (s: Stat): Stat => ({mean: s.mean, std: c.n > 1 ? s.std : null});
    const group = g.axes.baseline ? "baseline" : Object.keys(g.axes).length > 1 ? "default (all axes)" : Object.keys(g.axes)[0];
    out.push({name: `${g.cell} (n=${c.n})`, group, n: c.n, psnrY: std(c.metrics.psnrY), fwd: std(c.metrics.fwd), haarpsi: std(c.metrics.haarpsi)});
  }
  for (const [k, name] of [["start", "starting student"], ["bicubic", "bicubic"], ["teacherSample", "teacher sample"]] as const) {
    const r = a.reference[k];
    if (!r) continue;
    out.push({name, group: "reference", n: 1, psnrY: {mean: r.psnrY, std: null}, fwd: {mean: r.fwd, std: null}, haarpsi: {mean: r.haarpsi, std: null}});
  }
  return out;
}

/** Cell a minus cell b on the validation metrics (null when either cell has no finished run). */
export function compareCells(a: AblationsJson, cellA: string, cellB: string): ComparisonRow[] | null {
  const ca = a.cells[cellA];
  const cb = a.cells[cellB];
  if (!ca || !cb || ca.n === 0 || cb.n === 0) return null;
  const rows: ComparisonRow[] = [];
  for (const k of ["psnrY", "ssimY", "haarpsi", "fwd", "kurtosisHH1"] as const) {
    const sa = k === "kurtosisHH1" ? cellMetric(ca, k) : {mean: ca.metrics[k].mean, std: ca.n > 1 ? ca.metrics[k].std : null};
    const sb = k === "kurtosisHH1" ? cellMetric(cb, k) : {mean: cb.metrics[k].mean, std: cb.n > 1 ? cb.metrics[k].std : null};
    rows.push({metric: k, label: METRIC_LABELS[k], a: sa, b: sb, d: difference(sa, ca.n, sb, cb.n, METRIC_DIRECTION[k] ?? "none")});
  }
  return rows;
}
