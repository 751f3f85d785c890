// The discrepancy page's widgets: heat maps of non-negative per-position values (|teacher - student| wavelet
// coefficients per band; the teacher page reuses them for its seed spread), a colour legend, the band maps drawn
// into the sub-band mosaic (mosaic.ts) with a shared or per-band scale, and the table of loss terms.
import {interpolateViridis, rgb} from "d3";
import type {BandDiscrepancy, DistillationTerms} from "../band-discrepancy.js";
import {sig3} from "./data-format.js";
import type {Mosaic} from "./mosaic.js";

export type HeatScale = "shared" | "band";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

// 256-entry lookup of viridis: 0 dark purple, 1 yellow (perceptually uniform, readable in grey).
const LUT: Uint8ClampedArray = (() => {
  const t = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const {r, g, b} = rgb(interpolateViridis(i / 255));
    t.set([r, g, b], 3 * i);
  }
  return t;
})();

/** Paints `values` (row-major height x width, >= 0) onto `canvas` at its own size, 0 -> dark, `max` -> yellow. */
export function paintHeat(canvas: HTMLCanvasElement, values: ArrayLike<number>, width: number, height: number, max: number): void {
  canvas.width = width;
  canvas.height = height;
  const rgba = new Uint8ClampedArray(4 * width * height);
  const k = max > 0 ? 255 / max : 0;
  for (let p = 0; p < width * height; p++) {
    const i = Math.max(0, Math.min(255, Math.round(values[p] * k)));
    rgba[4 * p] = LUT[3 * i];
    rgba[4 * p + 1] = LUT[3 * i + 1];
    rgba[4 * p + 2] = LUT[3 * i + 2];
    rgba[4 * p + 3] = 255;
  }
  canvas.getContext("2d")!.putImageData(new ImageData(rgba, width, height), 0, 0);
  canvas.style.imageRendering = "pixelated";
  canvas.dataset.max = String(max);
}

/** A heat map on its own canvas, `cssWidth` px wide (nearest-neighbour enlarged). */
export function heatCanvas(values: ArrayLike<number>, width: number, height: number, max: number, cssWidth: number): HTMLCanvasElement {
  const c = el("canvas");
  paintHeat(c, values, width, height, max);
  c.style.width = `${Math.round(cssWidth)}px`;
  c.style.height = `${Math.round((cssWidth * height) / width)}px`;
  return c;
}

/** The colour key: a gradient bar from 0 to `max`, with what the values are. */
export function heatLegend(max: number, what: string): HTMLElement {
  const root = el("div", undefined, "dtkd-legend");
  root.dataset.role = "legend";
  root.dataset.max = String(max);
  const bar = el("canvas");
  const ramp = Array.from({length: 256}, (_, i) => (i / 255) * max);
  paintHeat(bar, ramp, 256, 1, max);
  bar.style.width = "160px";
  bar.style.height = "10px";
  bar.style.verticalAlign = "middle";
  root.append(el("span", "0 "), bar, el("span", ` ${sig3(max)}`), el("span", ` ${what}`, "dtkd-facts"));
  return root;
}

/**
 * Draws every band's |teacher - student| map into the mosaic's canvases. "shared": one scale, the largest value
 * of any band (bands compare with each other); "band": each band stretched to its own largest value (its
 * structure shows; its label gives the scale).
 */
export function drawBandHeat(mosaic: Mosaic, bands: readonly BandDiscrepancy[], scale: HeatScale): number {
  const shared = Math.max(0, ...bands.map((b) => b.mapMax));
  for (const b of bands) {
    const canvas = mosaic.canvases.get(b.band);
    if (!canvas) continue;
    const max = scale === "shared" ? shared : b.mapMax;
    paintHeat(canvas, b.map, b.width, b.height, max);
    const label = canvas.parentElement?.querySelector(".dtkd-band-label");
    if (label) label.textContent = scale === "shared" ? b.band : `${b.band} (max ${sig3(b.mapMax)})`;
  }
  return shared;
}

/** The loss terms under the chosen preset: per band (its weight, its distance, weight x distance), then per group. */
export function lossTable(t: DistillationTerms): HTMLElement {
  const root = el("div");
  root.dataset.role = "loss-terms";
  root.dataset.total = String(t.total);
  const groupOf = new Map<string, string>();
  for (const term of t.terms) for (const b of term.bands) groupOf.set(b, term.group);
  const bands = el("table", undefined, "dtkd-table");
  bands.dataset.role = "band-weights";
  const head = el("tr");
  for (const h of ["band", "group", "weight on the band", `band ${t.config.distance.toUpperCase()} |teacher − student|`, "weight × distance", "share of the loss"]) head.append(el("th", h));
  bands.append(head);
  for (const [band, w] of Object.entries(t.bandWeights)) {
    const d = t.perBand[band];
    const tr = el("tr");
    tr.dataset.band = band;
    tr.dataset.weight = String(w);
    for (const cell of [band, groupOf.get(band) ?? "(none)", sig3(w), sig3(d), sig3(w * d), t.total > 0 ? `${((100 * w * d) / t.total).toFixed(1)} %` : "–"]) tr.append(el("td", cell));
    bands.append(tr);
  }
  const groups = el("table", undefined, "dtkd-table");
  groups.dataset.role = "group-terms";
  const gh = el("tr");
  for (const h of ["group", "bands", "group weight", "group value (mean of its bands)", "weighted term", "share of the loss"]) gh.append(el("th", h));
  groups.append(gh);
  for (const term of t.terms) {
    const tr = el("tr");
    tr.dataset.group = term.group;
    for (const cell of [term.group, term.bands.join(", "), sig3(term.weight), sig3(term.value), sig3(term.weighted), t.total > 0 ? `${((100 * term.weighted) / t.total).toFixed(1)} %` : "–"]) tr.append(el("td", cell));
    groups.append(tr);
  }
  const total = el("tr");
  total.append(el("th", "total"), el("td", ""), el("td", ""), el("td", ""), el("th", sig3(t.total)), el("td", "100 %"));
  groups.append(total);
  root.append(bands, groups);
  return root;
}
