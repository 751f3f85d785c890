// Vega-lite specs of the report's charts (pure data; the page renders them with the bundled vega-embed from
// src/_vendor/, as the DWT explorer does), and the list of charts the inputs imply. The page draws exactly
// `reportCharts(...)`, and the end-to-end check counts the same list, so a chart that silently fails to render
// is caught.
import {ABLATION_METRIC_TITLES, ABLATION_METRICS, ablationPdPoints, ablationView, type AblationView, type AxisSeries, type PdPoint} from "./ablations.js";
import {mainTable} from "./main-table.js";
import type {AblationsJson, EvalJson, Stat} from "./types.js";

type Spec = Record<string, unknown>;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
// Legend labels such as "recon-only (n=3)" or "dtkd-default (n=3)" are longer than vega's default limit of 160 px.
const LEGEND_CONFIG = {legend: {labelLimit: 240}};

/** Mean and the mean ± std interval; lo = hi = mean when there is no spread (deterministic or one seed). */
function interval(s: Stat): {mean: number; lo: number; hi: number; hasSpread: boolean} | null {
  if (s.mean === null || !Number.isFinite(s.mean)) return null;
  const sd = s.std !== null && Number.isFinite(s.std) ? s.std : null;
  return {mean: s.mean, lo: s.mean - (sd ?? 0), hi: s.mean + (sd ?? 0), hasSpread: sd !== null};
}

/** One panel per ablation metric: a point per level with a mean ± std bar, and horizontal reference rules. */
export function axisSpec(series: AxisSeries, view: Pick<AblationView, "baseline" | "references">, width = 210): Spec {
  const labels = series.points.map((p) => p.label);
  const panels = ABLATION_METRICS.map((m) => {
    const pts = series.points.flatMap((p) => {
      const iv = interval(p.values[m]);
      return iv ? [{label: p.label, cell: p.cell, n: p.n, seeds: p.seeds.join(","), loss: p.loss, schedule: p.schedule, ...iv}] : [];
    });
    const refs = [
      ...(view.baseline && view.baseline.values[m].mean !== null ? [{name: `recon-only (n=${view.baseline.n})`, value: view.baseline.values[m].mean}] : []),
      ...view.references.filter((r) => r.values[m].mean !== null).map((r) => ({name: r.name, value: r.values[m].mean})),
    ];
    const x = {field: "label", type: "nominal", sort: labels, title: null, axis: {labelAngle: -30}};
    return {
      width,
      height: 180,
      title: ABLATION_METRIC_TITLES[m],
      layer: [
        {
          data: {values: refs},
          mark: {type: "rule", strokeDash: [4, 3]},
          encoding: {
            y: {field: "value", type: "quantitative"},
            color: {field: "name", type: "nominal", title: "reference", scale: {scheme: "set2"}},
            tooltip: [{field: "name"}, {field: "value", format: ".4~f"}],
          },
        },
        {
          data: {values: pts.filter((p) => p.hasSpread)},
          mark: {type: "rule", strokeWidth: 2, color: "#4269d0"},
          encoding: {x, y: {field: "lo", type: "quantitative"}, y2: {field: "hi"}},
        },
        {
          data: {values: pts},
          mark: {type: "point", filled: true, size: 60, color: "#4269d0"},
          encoding: {
            x,
            y: {field: "mean", type: "quantitative", scale: {zero: false}, title: null},
            tooltip: [
              {field: "cell"},
              {field: "n", title: "seeds finished"},
              {field: "seeds"},
              {field: "mean", format: ".4~f"},
              {field: "lo", title: "mean − std", format: ".4~f"},
              {field: "hi", title: "mean + std", format: ".4~f"},
              {field: "loss"},
              {field: "schedule"},
            ],
          },
        },
      ],
    };
  });
  return {
    $schema: SCHEMA,
    title: {text: `${series.title}: mean ± std over seeds (n per level in the labels)`, anchor: "start"},
    hconcat: panels,
    resolve: {scale: {color: "shared"}},
    config: LEGEND_CONFIG,
  };
}

/** Perception-distortion plane: PSNR-Y against FWD and against HaarPSI, with mean ± std bars on both axes. */
export function pdSpec(points: PdPoint[], opts: {title: string; colorField: "name" | "group"; labels: boolean; width?: number}): Spec {
  const rows = points.flatMap((p) => {
    const x = interval(p.psnrY);
    if (!x) return [];
    return [{name: p.name, group: p.group, n: p.n, x: x.mean, xlo: x.lo, xhi: x.hi, fwd: interval(p.fwd), haarpsi: interval(p.haarpsi)}];
  });
  const panel = (metric: "fwd" | "haarpsi", title: string) => {
    const values = rows.flatMap((r) => (r[metric] ? [{name: r.name, group: r.group, n: r.n, x: r.x, xlo: r.xlo, xhi: r.xhi, y: r[metric]!.mean, ylo: r[metric]!.lo, yhi: r[metric]!.hi}] : []));
    const color = {field: opts.colorField, type: "nominal", title: opts.colorField === "name" ? (opts.labels ? "model" : "cell (seeds)") : "ablation axis", scale: {scheme: opts.labels ? "tableau10" : "tableau20"}};
    return {
      width: opts.width ?? 260,
      height: 240,
      data: {values},
      layer: [
        {mark: {type: "rule"}, encoding: {x: {field: "xlo", type: "quantitative"}, x2: {field: "xhi"}, y: {field: "y", type: "quantitative"}, color}},
        {mark: {type: "rule"}, encoding: {y: {field: "ylo", type: "quantitative"}, y2: {field: "yhi"}, x: {field: "x", type: "quantitative"}, color}},
        {
          mark: {type: "point", filled: true, size: 60},
          encoding: {
            x: {field: "x", type: "quantitative", scale: {zero: false}, title: "PSNR-Y (dB) →", axis: {tickCount: 5}},
            y: {field: "y", type: "quantitative", scale: {zero: false}, title},
            color,
            tooltip: [{field: "name"}, {field: "n", title: "seeds"}, {field: "x", title: "PSNR-Y", format: ".3f"}, {field: "y", title: metric, format: ".4~f"}],
          },
        },
        // Text labels where the points are few (the test set); a legend alone where a dozen cells crowd together.
        ...(opts.labels ? [{mark: {type: "text", align: "left", dx: 6, dy: -6, fontSize: 10}, encoding: {x: {field: "x", type: "quantitative"}, y: {field: "y", type: "quantitative"}, text: {field: "name"}}}] : []),
      ],
    };
  };
  return {
    $schema: SCHEMA,
    title: {text: opts.title, anchor: "start"},
    hconcat: [panel("fwd", "FWD (↓ closer distribution)"), panel("haarpsi", "HaarPSI (↑)")],
    config: LEGEND_CONFIG,
  };
}

/** Test-set rows of eval.json on the perception-distortion plane (every main-table row with a PSNR-Y). */
export function testPdPoints(e: EvalJson): PdPoint[] {
  return mainTable(e).rows.map((r) => ({
    name: r.short,
    group: r.key,
    n: Math.max(1, r.seeds.length),
    psnrY: r.metrics.psnrY,
    fwd: r.metrics.fwd,
    haarpsi: r.metrics.haarpsi,
  }));
}

export interface ReportChart {
  /** Stable id: the chart container's data-chart attribute. */
  id: string;
  spec: Spec;
}

/** Every chart the inputs imply, in page order; absent inputs imply none of theirs. */
export function reportCharts(e: EvalJson | null, a: AblationsJson | null): ReportChart[] {
  const out: ReportChart[] = [];
  if (e) {
    const pts = testPdPoints(e).filter((p) => p.psnrY.mean !== null);
    if (pts.length) out.push({id: "pd-test", spec: pdSpec(pts, {title: "Test set: perception-distortion plane (mean ± std over seeds)", colorField: "name", labels: true})});
  }
  if (a) {
    const v = ablationView(a);
    for (const s of v.axes) if (s.points.length) out.push({id: `ablation-${s.axis}`, spec: axisSpec(s, v)});
    // The cells and the two reference rows the axis charts also draw (starting student, bicubic); the teacher's
    // sample sits far off (about 1 dB lower PSNR-Y) and would squash the cells into one corner, so the ablation
    // text and tables carry it instead.
    const pts = ablationPdPoints(a).filter((p) => p.name !== "teacher sample");
    if (pts.some((p) => p.group !== "reference")) {
      out.push({id: "pd-val", spec: pdSpec(pts, {title: "Validation patches: ablation cells on the perception-distortion plane (mean ± std over seeds; references: starting student, bicubic)", colorField: "name", labels: false})});
    }
  }
  return out;
}
