// Live line charts of the distillation page, drawn with d3: a few named series over training steps, redrawn when
// the page calls update() (every validation, i.e. every N steps, not every step). Plain SVG, no transitions, so a
// redraw costs a few milliseconds even with thousands of points.
import {axisBottom, axisLeft, extent, line, scaleLinear, scaleLog, select, type ScaleContinuousNumeric} from "d3";

export interface Series {
  name: string;
  /** Points in step order; non-finite values are skipped. */
  points: {x: number; y: number}[];
  color: string;
  dashed?: boolean;
}

export interface LineChart {
  element: HTMLElement;
  update(series: Series[], xMax: number): void;
}

/** Colours of the series (the Tableau 10 palette d3 uses, spelled out so the page imports no colour scheme). */
export const SERIES_COLORS = ["#4e79a7", "#f28e2c", "#e15759", "#76b7b2", "#59a14f", "#edc949", "#af7aa1", "#ff9da7"];

export function lineChart(opts: {title: string; yLabel: string; role: string; log?: boolean; width?: number; height?: number}): LineChart {
  const width = opts.width ?? 400;
  const height = opts.height ?? 200;
  const m = {top: 10, right: 12, bottom: 30, left: 52};
  const iw = width - m.left - m.right;
  const ih = height - m.top - m.bottom;
  const element = document.createElement("figure");
  element.className = "dtkd-chart";
  element.dataset.role = opts.role;
  const cap = document.createElement("figcaption");
  cap.textContent = opts.title;
  const legend = document.createElement("div");
  legend.className = "dtkd-legend";
  element.append(cap, legend);
  const svg = select(element).append("svg").attr("width", width).attr("height", height);
  const g = svg.append("g").attr("transform", `translate(${m.left},${m.top})`);
  const gx = g.append("g").attr("transform", `translate(0,${ih})`);
  const gy = g.append("g");
  g.append("text").attr("x", iw / 2).attr("y", ih + 27).attr("text-anchor", "middle").attr("font-size", 10).attr("fill", "currentColor").text("step");
  g.append("text").attr("transform", "rotate(-90)").attr("x", -ih / 2).attr("y", -40).attr("text-anchor", "middle").attr("font-size", 10).attr("fill", "currentColor").text(opts.yLabel);
  const lines = g.append("g");
  const empty = g.append("text").attr("x", iw / 2).attr("y", ih / 2).attr("text-anchor", "middle").attr("font-size", 11).attr("fill", "currentColor").text("no steps yet");

  function update(series: Series[], xMax: number): void {
    const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && (!opts.log || p.y > 0));
    empty.attr("display", all.length ? "none" : null);
    const x = scaleLinear().domain([0, Math.max(1, xMax)]).range([0, iw]);
    const [lo, hi] = extent(all, (p) => p.y) as [number | undefined, number | undefined];
    let y: ScaleContinuousNumeric<number, number>;
    if (opts.log) y = scaleLog().domain([lo ?? 1e-3, hi ?? 1]).range([ih, 0]).nice();
    else {
      const pad = lo === undefined || hi === undefined ? 1 : Math.max((hi - lo) * 0.08, Math.abs(hi) * 1e-3, 1e-6);
      y = scaleLinear().domain([(lo ?? 0) - pad, (hi ?? 1) + pad]).range([ih, 0]).nice();
    }
    gx.call(axisBottom(x).ticks(6));
    gy.call(axisLeft(y).ticks(5, opts.log ? "~g" : undefined));
    const mk = line<{x: number; y: number}>()
      .defined((p) => Number.isFinite(p.y) && (!opts.log || p.y > 0))
      .x((p) => x(p.x))
      .y((p) => y(p.y));
    lines
      .selectAll<SVGPathElement, Series>("path")
      .data(series, (s) => s.name)
      .join("path")
      .attr("fill", "none")
      .attr("stroke", (s) => s.color)
      .attr("stroke-width", 1.5)
      .attr("stroke-dasharray", (s) => (s.dashed ? "4 3" : null))
      .attr("d", (s) => mk(s.points));
    legend.replaceChildren(
      ...series.map((s) => {
        const item = document.createElement("span");
        const sw = document.createElement("span");
        sw.className = "dtkd-swatch";
        sw.style.borderTop = `3px ${s.dashed ? "dashed" : "solid"} ${s.color}`;
        const last = s.points[s.points.length - 1];
        item.append(sw, ` ${s.name}${last && Number.isFinite(last.y) ? ` ${formatValue(last.y)}` : ""}`);
        return item;
      })
    );
  }
  update([], 1);
  return {element, update};
}

function formatValue(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toPrecision(4);
}
