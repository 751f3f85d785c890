// The home page's picture of DTKD, as plain SVG: the teacher's and the student's outputs for the same LR input
// each go through a two-level DWT; the sub-bands are gathered into low / mid / high frequency groups, compared
// band by band (L1) and weighted per group; that loss, scaled by the rising lambda(t) and added to the student's
// own reconstruction loss, trains the student. The group weights drawn are the lab's "dtkd" preset
// (GROUP_WEIGHTINGS in src/lib/loss.ts), a lab default: the paper says only that mid frequencies weigh most.
import {GROUP_WEIGHTINGS} from "../loss.js";

const NS = "http://www.w3.org/2000/svg";

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const GROUP_COLOUR = {low: "#9ecae1", mid: "#fd8d3c", high: "#74c476"} as const;

export function dtkdDiagram(): SVGSVGElement {
  const W = 720;
  const H = 256;
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "font-family": "var(--sans-serif), sans-serif", "font-size": 12});
  svg.dataset.role = "dtkd-diagram";
  svg.style.maxWidth = "100%";
  svg.style.height = "auto";
  svg.append(svgEl("title", {}, "DTKD: teacher and student outputs, two-level DWT sub-bands, group-weighted band loss, student update"));
  const defs = svgEl("defs", {});
  const marker = svgEl("marker", {id: "dtkd-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"});
  marker.append(svgEl("path", {d: "M0,0 L10,5 L0,10 z", fill: "currentColor"}));
  defs.append(marker);
  svg.append(defs);

  const box = (x: number, y: number, w: number, h: number, lines: string[], fill = "none") => {
    const g = svgEl("g", {});
    g.append(svgEl("rect", {x, y, width: w, height: h, rx: 6, fill, stroke: "currentColor"}));
    lines.forEach((l, i) => g.append(svgEl("text", {x: x + w / 2, y: y + h / 2 + (i - (lines.length - 1) / 2) * 15 + 4, "text-anchor": "middle", fill: "currentColor"}, l)));
    svg.append(g);
  };
  const arrow = (x1: number, y1: number, x2: number, y2: number, label?: string, dashed = false) => {
    svg.append(svgEl("path", {d: `M${x1},${y1} L${x2},${y2}`, stroke: "currentColor", fill: "none", "marker-end": "url(#dtkd-arrow)", ...(dashed ? {"stroke-dasharray": "5 4"} : {})}));
    if (label) svg.append(svgEl("text", {x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, "text-anchor": "middle", fill: "currentColor", "font-size": 11}, label));
  };

  box(10, 100, 70, 40, ["LR image"]);
  box(120, 30, 130, 44, ["Teacher", "(diffusion, frozen)"]);
  box(120, 166, 130, 44, ["Student", "(Swin transformer)"]);
  arrow(80, 112, 120, 56);
  arrow(80, 128, 120, 186);

  // Two-level DWT mosaic: LL2 | LH2 / HL2 | HH2 in the top-left quarter, LH1, HL1, HH1 in the other quarters.
  const mosaic = (x: number, y: number, s: number, name: string) => {
    const h = s / 2;
    const q = s / 4;
    const cells: [number, number, number, keyof typeof GROUP_COLOUR, string][] = [
      [0, 0, q, "low", "LL2"],
      [q, 0, q, "mid", "LH2"],
      [0, q, q, "mid", "HL2"],
      [q, q, q, "mid", "HH2"],
      [h, 0, h, "high", "LH1"],
      [0, h, h, "high", "HL1"],
      [h, h, h, "high", "HH1"]
    ];
    for (const [cx, cy, cs, group, band] of cells) {
      svg.append(svgEl("rect", {x: x + cx, y: y + cy, width: cs, height: cs, fill: GROUP_COLOUR[group], stroke: "#333", "stroke-width": 0.5}));
      svg.append(svgEl("text", {x: x + cx + cs / 2, y: y + cy + cs / 2 + 3, "text-anchor": "middle", "font-size": cs < 30 ? 8 : 10, fill: "#111"}, band));
    }
    svg.append(svgEl("text", {x: x + s / 2, y: y - 5, "text-anchor": "middle", fill: "currentColor", "font-size": 11}, name));
  };
  mosaic(300, 14, 76, "DWT of teacher output");
  mosaic(300, 150, 76, "DWT of student output");
  arrow(250, 52, 298, 52);
  svg.append(svgEl("text", {x: 338, y: 112, "text-anchor": "middle", fill: "currentColor", "font-size": 11}, "2-level DWT"));
  arrow(250, 188, 298, 188);

  const w = GROUP_WEIGHTINGS.dtkd;
  box(430, 78, 150, 84, ["per-band L1, weighted", `low ${w.low} · mid ${w.mid} · high ${w.high}`, "(lab default weights)", "× λ(t), rising"]);
  arrow(378, 52, 430, 100);
  arrow(378, 188, 430, 140);
  box(620, 96, 90, 48, ["+ L1 to the", "ground truth"]);
  arrow(580, 120, 620, 120);
  // The gradient goes back to the student only; the teacher stays frozen.
  svg.append(svgEl("path", {d: "M665,144 L665,232 L185,232 L185,212", stroke: "currentColor", fill: "none", "stroke-dasharray": "5 4", "marker-end": "url(#dtkd-arrow)"}));
  svg.append(svgEl("text", {x: 425, y: 246, "text-anchor": "middle", fill: "currentColor", "font-size": 11}, "the gradient updates the student only; the teacher stays frozen"));

  const legend: [keyof typeof GROUP_COLOUR, string][] = [
    ["low", "low: LL2"],
    ["mid", "mid: level 2"],
    ["high", "high: level 1"]
  ];
  legend.forEach(([g, text], i) => {
    svg.append(svgEl("rect", {x: 430 + i * 90, y: 20, width: 10, height: 10, fill: GROUP_COLOUR[g], stroke: "#333", "stroke-width": 0.5}));
    svg.append(svgEl("text", {x: 444 + i * 90, y: 29, fill: "currentColor", "font-size": 10}, text));
  });
  return svg;
}
