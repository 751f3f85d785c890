// The data page's view of one degradation run: a strip of stage cards in the order the stages ran (the image
// after the stage, nearest-neighbour enlarged so LR pixels stay visible; applied or not; every drawn parameter;
// the blur or sinc kernel as a heat map), and the final LR beside its HR patch.
import {interpolateRdBu, interpolateViridis, rgb} from "d3";
import {toUint8, type DegradeResult, type ImageF32, type KernelTrace, type StageTrace} from "../degrade.js";
import {formatParams, sig3, skipReason, STAGE_TITLES} from "./data-format.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

/**
 * An RGB image on a canvas at its own size, shown `cssWidth` px wide with nearest-neighbour scaling, so each LR
 * pixel is a visible block. The pixels are the 8-bit values the pipeline would store (toUint8).
 */
export function imageCanvas(img: ImageF32, cssWidth: number): HTMLCanvasElement {
  if (img.channels !== 3) throw new Error(`imageCanvas: expected RGB, got ${img.channels} channels`);
  const canvas = el("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.style.width = `${Math.round(cssWidth)}px`;
  canvas.style.height = `${Math.round((cssWidth * img.height) / img.width)}px`;
  canvas.style.imageRendering = "pixelated";
  const bytes = toUint8(img);
  const n = img.width * img.height;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    rgba[4 * p] = bytes[3 * p];
    rgba[4 * p + 1] = bytes[3 * p + 1];
    rgba[4 * p + 2] = bytes[3 * p + 2];
    rgba[4 * p + 3] = 255;
  }
  canvas.getContext("2d")!.putImageData(new ImageData(rgba, img.width, img.height), 0, 0);
  return canvas;
}

/**
 * Colour of a kernel weight. Kernels without negative weights use viridis from 0 to their peak; sinc kernels
 * (which ring below zero) use a diverging red-blue map centred on 0, red positive.
 */
function kernelColour(v: number, lo: number, hi: number): [number, number, number] {
  let c: string;
  if (lo >= 0) c = interpolateViridis(hi > 0 ? v / hi : 0);
  else {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    c = interpolateRdBu(0.5 - v / (2 * m));
  }
  const {r, g, b} = rgb(c);
  return [r, g, b];
}

/** The kernel as a heat map (one canvas pixel per weight, enlarged), with its size, range, sum and a colour key. */
export function kernelFigure(k: KernelTrace, cssSize = 112): HTMLElement {
  const fig = el("figure", undefined, "dtkd-kernel");
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (const v of k.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    sum += v;
  }
  const canvas = el("canvas");
  canvas.width = k.size;
  canvas.height = k.size;
  canvas.dataset.role = "kernel";
  canvas.dataset.kernelSize = String(k.size);
  canvas.dataset.kernelType = k.type;
  canvas.style.width = `${cssSize}px`;
  canvas.style.height = `${cssSize}px`;
  canvas.style.imageRendering = "pixelated";
  canvas.setAttribute("aria-label", `${k.type} kernel, ${k.size} × ${k.size}`);
  const img = new ImageData(k.size, k.size);
  k.data.forEach((v, i) => {
    const [r, g, b] = kernelColour(v, lo, hi);
    img.data.set([r, g, b, 255], 4 * i);
  });
  canvas.getContext("2d")!.putImageData(img, 0, 0);

  // Colour key: a gradient strip from the smallest to the largest weight.
  const key = el("canvas");
  key.width = 64;
  key.height = 1;
  key.style.width = `${cssSize}px`;
  key.style.height = "6px";
  key.style.display = "block";
  const keyImg = new ImageData(64, 1);
  for (let i = 0; i < 64; i++) {
    const v = (lo >= 0 ? 0 : lo) + ((hi - (lo >= 0 ? 0 : lo)) * i) / 63;
    const [r, g, b] = kernelColour(v, lo, hi);
    keyImg.data.set([r, g, b, 255], 4 * i);
  }
  key.getContext("2d")!.putImageData(keyImg, 0, 0);
  const keyText = el("div", `${lo >= 0 ? "0" : sig3(lo)} … ${sig3(hi)}`, "dtkd-kernel-key");

  const cap = el("figcaption", `${k.type} kernel, ${k.size} × ${k.size}, weights sum to ${sum.toFixed(4)}`);
  fig.append(canvas, key, keyText, cap);
  return fig;
}

function sizeText([h, w]: [number, number]): string {
  return `${w} × ${h}`;
}

function paramList(t: StageTrace): HTMLElement {
  const dl = el("dl", undefined, "dtkd-params");
  for (const [k, v] of formatParams(t.params)) {
    dl.append(el("dt", k), el("dd", v));
  }
  return dl;
}

/** One stage card. `index` is the position in the run (1-based) among the enabled stages. */
function stageCard(t: StageTrace, index: number, displayWidth: number): HTMLElement {
  const card = el("article", undefined, "dtkd-stage");
  card.style.width = `${displayWidth}px`;
  card.dataset.stage = t.stage;
  card.dataset.applied = String(t.applied);
  const head = el("header");
  head.append(el("strong", `${index}. ${t.stage}`), " ", el("span", t.applied ? "applied" : "skipped", t.applied ? "dtkd-tag dtkd-tag-on" : "dtkd-tag"));
  card.append(head, el("div", STAGE_TITLES[t.stage], "dtkd-stage-title"));
  if (t.image) {
    // Shown at the width the HR patch has on screen: a stage that enlarged the image shows finer pixels, one
    // that shrank it coarser ones, and every card covers the same area of the photograph.
    const c = imageCanvas(t.image, displayWidth);
    c.dataset.role = "stage-image";
    card.append(c);
  }
  const sizes = el("div", `${sizeText(t.inSize)} → ${sizeText(t.outSize)} px`, "dtkd-stage-size");
  card.append(sizes);
  if (!t.applied) card.append(el("div", skipReason(t), "dtkd-stage-note"));
  card.append(paramList(t));
  if (t.kernel) card.append(kernelFigure(t.kernel));
  return card;
}

export interface StripOptions {
  /** Width on screen of the HR patch; every stage image is shown at the same width, so all cover the same area. */
  displayWidth: number;
  /** Tag naming what the strip shows (data-view), so tests and people can tell a fresh result from a stale one. */
  view: string;
}

/**
 * The HR patch, then one card per stage that was switched on, in the order the stages ran; the stages not in
 * this run are named on one line at the end.
 */
export function stageStrip(result: DegradeResult, opts: StripOptions): HTMLElement {
  const box = el("div", undefined, "dtkd-strip");
  box.dataset.view = opts.view;
  const first = el("article", undefined, "dtkd-stage");
  first.style.width = `${opts.displayWidth}px`;
  first.dataset.stage = "hr";
  first.append(el("header", "0. HR patch"), el("div", "input of the pipeline", "dtkd-stage-title"));
  const hrCanvas = imageCanvas(result.hr, opts.displayWidth);
  hrCanvas.dataset.role = "stage-image";
  first.append(hrCanvas, el("div", `${result.hr.width} × ${result.hr.height} px`, "dtkd-stage-size"));
  box.append(first);
  let i = 0;
  for (const t of result.trace) {
    if (!t.enabled) continue;
    box.append(stageCard(t, ++i, opts.displayWidth));
  }
  const off = result.trace.filter((t) => !t.enabled).map((t) => t.stage);
  const wrap = el("div");
  wrap.append(box);
  if (off.length) {
    const p = el("p", `Not in this run (switched off): ${off.join(", ")}.`, "dtkd-facts");
    p.dataset.role = "stages-off";
    wrap.append(p);
  }
  wrap.dataset.view = opts.view;
  return wrap;
}

/** The HR patch and the final LR side by side: LR enlarged to the HR's width (nearest neighbour) and at 1:1. */
export function hrLrPair(result: DegradeResult, displayWidth: number, lrFingerprint: string): HTMLElement {
  const box = el("div", undefined, "dtkd-pair");
  const cell = (title: string, canvas: HTMLCanvasElement, note: string) => {
    const f = el("figure");
    f.append(canvas, el("figcaption", `${title}: ${note}`));
    return f;
  };
  const hr = imageCanvas(result.hr, displayWidth);
  hr.dataset.role = "hr";
  const lrBig = imageCanvas(result.lr, displayWidth);
  lrBig.dataset.role = "lr";
  lrBig.dataset.fingerprint = lrFingerprint;
  const lrSmall = imageCanvas(result.lr, result.lr.width);
  box.append(
    cell("HR", hr, `${result.hr.width} × ${result.hr.height} px`),
    cell("LR", lrBig, `${result.lr.width} × ${result.lr.height} px, enlarged ×${(displayWidth / result.lr.width).toFixed(2).replace(/\.?0+$/, "")} (nearest neighbour)`),
    cell("LR", lrSmall, "at its real size")
  );
  return box;
}
