// The report's tables as plain rows of formatted text (DOM-free): the page renders them with
// src/lib/ui/report-view.ts dataTable, and the end-to-end check rebuilds them from the same JSON to compare.
import {formatInt, formatMs, formatNumber, formatSigned, formatSpread, formatStat} from "./format.js";
import type {ComparisonRow, Efficiency, MainTable} from "./main-table.js";
import type {MethodRow} from "./method.js";
import {EVAL_METRICS, type AblationsJson} from "./types.js";
import {bandsWon} from "../eval/teacher-criteria.js";
import type {TrendFile} from "../eval/teacher-trend.js";

export interface TableColumn {
  key: string;
  label: string;
  /** Right-aligned, tabular figures. */
  numeric?: boolean;
  title?: string;
}

export interface TableCell {
  text: string;
  /** data-* attributes of the cell (e.g. {metric: "psnrY"} becomes data-metric="psnrY"). */
  data?: Record<string, string>;
  title?: string;
}

export interface TableRow {
  data?: Record<string, string>;
  cells: Record<string, TableCell | string>;
}

export interface TableData {
  columns: TableColumn[];
  rows: TableRow[];
}

const METRIC_HEADERS: Readonly<Record<string, string>> = Object.freeze({psnrY: "PSNR-Y (dB) ↑", ssimY: "SSIM-Y ↑", haarpsi: "HaarPSI ↑", fwd: "FWD ↓"});

/** Main test-set table: model, seeds, PSNR-Y, SSIM-Y, HaarPSI, FWD (mean ± std over seeds). */
export function mainTableData(t: MainTable): TableData {
  return {
    columns: [
      {key: "model", label: "model"},
      {key: "seeds", label: "seeds"},
      ...EVAL_METRICS.map((k) => ({key: k, label: METRIC_HEADERS[k], numeric: true})),
    ],
    rows: t.rows.map((r) => ({
      data: {model: r.key},
      cells: {
        model: {text: r.role, title: `${r.key}: ${r.label}`},
        seeds: r.seedsText,
        ...Object.fromEntries(EVAL_METRICS.map((k) => [k, {text: formatStat(r.metrics[k], k), data: {model: r.key, metric: k}}])),
      },
    })),
  };
}

/** Per-band kurtosis, the ground truth's first. */
export function kurtosisTableData(t: MainTable): TableData {
  return {
    columns: [{key: "model", label: "model"}, ...t.bands.map((b) => ({key: b, label: b, numeric: true}))],
    rows: [
      {
        data: {model: "truth"},
        cells: {model: "ground truth", ...Object.fromEntries(t.bands.map((b) => [b, {text: formatNumber(t.truthKurtosis[b], 1), data: {model: "truth", band: b}}]))},
      },
      ...t.rows.map((r) => ({
        data: {model: r.key},
        cells: {model: r.short, ...Object.fromEntries(t.bands.map((b) => [b, {text: formatStat(r.kurtosis[b], "kurtosis"), data: {model: r.key, band: b}}]))},
      })),
    ],
  };
}

export function efficiencyTableData(e: Efficiency): TableData {
  const sizes = (b: string) => e.rows.map((r) => r.latency[b]?.size).find((s) => s) ?? "";
  return {
    columns: [
      {key: "model", label: "model"},
      {key: "params", label: "parameters", numeric: true},
      {key: "flops", label: "FLOPs / output pixel", numeric: true},
      ...e.backends.flatMap((b) => [
        {key: `${b}-cpu`, label: `${b}: CPU time`, numeric: true, title: `process CPU time of one image, ${sizes(b)}`},
        {key: `${b}-wall`, label: `${b}: wall time`, numeric: true, title: `wall time of one image, ${sizes(b)}, on a shared machine`},
      ]),
    ],
    rows: e.rows.map((r) => ({
      data: {model: r.key},
      cells: {
        model: {text: r.short, title: r.role},
        params: r.params === null ? "–" : formatInt(r.params),
        flops: r.flopsPerOutputPixel === null ? "not counted" : formatInt(r.flopsPerOutputPixel),
        ...Object.fromEntries(
          e.backends.flatMap((b) => [
            [`${b}-cpu`, {text: r.latency[b] ? formatMs(r.latency[b]!.cpuMedian) : "not timed", data: {model: r.key, backend: b}}],
            [`${b}-wall`, r.latency[b] ? formatMs(r.latency[b]!.wallMedian) : "not timed"],
          ]),
        ),
      },
    })),
  };
}

/** Distilled minus standalone (or any a - b), one row per metric. */
export function comparisonTableData(rows: ComparisonRow[], nameA: string, nameB: string): TableData {
  const fmt = (m: string) => (m === "kurtosisHH1" ? "kurtosis" : m);
  return {
    columns: [
      {key: "metric", label: "metric"},
      {key: "a", label: `${nameA} (mean ± std)`, numeric: true},
      {key: "b", label: `${nameB} (mean ± std)`, numeric: true},
      {key: "diff", label: "difference", numeric: true},
      {key: "se", label: "standard error", numeric: true, title: "sqrt(stdA²/nA + stdB²/nB)"},
      {key: "verdict", label: `for the ${nameA}`},
    ],
    rows: rows.map((r) => ({
      data: {metric: r.metric},
      cells: {
        metric: r.label,
        a: formatStat(r.a, fmt(r.metric)),
        b: formatStat(r.b, fmt(r.metric)),
        diff: {text: r.d ? formatSigned(r.d.diff, fmt(r.metric)) : "n/a", data: {metric: r.metric}},
        se: r.d?.se !== null && r.d?.se !== undefined ? formatSpread(r.d.se) : "–",
        verdict: r.d ? r.d.verdict : "n/a",
      },
    })),
  };
}

export function methodTableData(rows: MethodRow[]): TableData {
  return {
    columns: [
      {key: "aspect", label: "choice"},
      {key: "paper", label: "paper (what the lab knows)"},
      {key: "lab", label: "this lab"},
      {key: "status", label: "status"},
      {key: "where", label: "set in"},
    ],
    rows: rows.map((r) => ({data: {aspect: r.aspect}, cells: {...r}})),
  };
}


const REFERENCE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  bicubic: "bicubic",
  start: "starting student (shipped)",
  teacherPredictor: "teacher's predictor (regression only)",
  teacherSample: "teacher sample (predictor + diffusion refiner)",
});

/** The grid's reference rows on the validation patches (one deterministic evaluation each, no spread). */
export function referenceTableData(a: AblationsJson): TableData {
  const metrics = ["psnrY", "ssimY", "haarpsi", "fwd"] as const;
  return {
    columns: [
      {key: "model", label: "reference"},
      ...metrics.map((k) => ({key: k, label: METRIC_HEADERS[k], numeric: true})),
      {key: "kurtosisHH1", label: "HH1 kurtosis", numeric: true},
    ],
    rows: Object.entries(a.reference).map(([k, r]) => ({
      data: {model: k},
      cells: {
        model: REFERENCE_NAMES[k] ?? k,
        ...Object.fromEntries(metrics.map((m) => [m, formatStat({mean: r[m], std: null}, m)])),
        kurtosisHH1: formatStat({mean: r.kurtosis[2] ?? null, std: null}, "kurtosis"),
      },
    })),
  };
}

/**
 * The teacher's test-set reads against training hours (data/results/teacher-trend.json): the teacher (sampler mean
 * over seeds) and its predictor alone, and issue #4's verdict per read (against that read's student, whose
 * figures the page states beside the table).
 */
export function teacherTrendTableData(t: TrendFile): TableData {
  const f2 = (x: number) => x.toFixed(2);
  const f4 = (x: number) => x.toFixed(4);
  const k3 = (k: Readonly<Record<string, number>>, bands: string[]) => bands.map((b) => k[b].toFixed(1)).join(" ");
  return {
    columns: [
      {key: "step", label: "step", numeric: true},
      {key: "hours", label: "hours", numeric: true, title: "training hours on one core"},
      {key: "psnrT", label: "PSNR-Y teacher", numeric: true},
      {key: "psnrP", label: "PSNR-Y predictor", numeric: true},
      {key: "haarT", label: "HaarPSI teacher", numeric: true},
      {key: "haarP", label: "HaarPSI predictor", numeric: true},
      {key: "fwdT", label: "FWD teacher", numeric: true},
      {key: "fwdP", label: "FWD predictor", numeric: true},
      {key: "kurt2", label: "teacher kurtosis LH2 HL2 HH2", numeric: true},
      {key: "kurt1", label: "LH1 HL1 HH1", numeric: true},
      {key: "bands", label: "bands won", title: "detail bands whose kurtosis is closer to the truth's than the student's"},
      {key: "met", label: "met"},
    ],
    rows: t.reads.map((r) => {
      const won = bandsWon(r.verdict);
      return {
        data: {step: String(r.step)},
        cells: {
          step: formatInt(r.step),
          hours: r.trainingHours.toFixed(1),
          psnrT: {text: f2(r.teacher.psnrY), data: {metric: "psnrY", who: "teacher"}},
          psnrP: f2(r.predictor.psnrY),
          haarT: f4(r.teacher.haarpsi),
          haarP: f4(r.predictor.haarpsi),
          fwdT: formatInt(Math.round(r.teacher.fwd)),
          fwdP: formatInt(Math.round(r.predictor.fwd)),
          kurt2: k3(r.teacher.kurtosis, ["LH2", "HL2", "HH2"]),
          kurt1: k3(r.teacher.kurtosis, ["LH1", "HL1", "HH1"]),
          bands: {text: `${won.length}${won.length ? ` (${won.join(", ")})` : ""}`, data: {won: String(won.length)}},
          met: {text: r.verdict.met ? "yes" : "no", data: {met: String(r.verdict.met)}},
        },
      };
    }),
  };
}
