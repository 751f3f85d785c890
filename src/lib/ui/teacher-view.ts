// The teacher page's widgets: a progress line with a bar and a running clock (the discrepancy page uses it
// too), image figures, the trajectory strip x_T..x_0 with each state's eta_t and noise level, and the row of
// samples for several seeds beside their per-pixel spread; and the crop chooser as both pages place it.
import type {ImageF32} from "../degrade.js";
import type {Schedule} from "../diffusion.js";
import type {ValueElement} from "./controls.js";
import {sig3} from "./data-format.js";
import {imageCanvas} from "./degradation-view.js";
import {heatCanvas, heatLegend} from "./discrepancy-view.js";
import {cropChooser, fitCrop, type CropRect, type PreparedPhoto} from "./infer-crop.js";
import {formatMs} from "./model-compare.js";
import type {SeedSpread} from "./teacher-engine.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

export interface ProgressLine {
  element: HTMLElement;
  /** Shows `text`; with `of`, the bar shows step/of, otherwise it is indeterminate. */
  set(text: string, step?: number, of?: number): void;
  /** Clears the line and stops the clock. */
  done(): void;
}

/** A progress line for waits longer than a second: a bar, the current stage and how long it has lasted. */
export function progressLine(): ProgressLine {
  const element = el("div", undefined, "dtkd-progress-line");
  element.dataset.role = "progress";
  element.setAttribute("aria-live", "polite");
  const bar = el("progress");
  const text = el("span", "", "dtkd-facts");
  element.append(bar, text);
  let since = 0;
  let current = "";
  const tick = () => {
    if (!current) return;
    const s = (performance.now() - since) / 1000;
    text.textContent = s >= 1 ? ` ${current} (${s.toFixed(0)} s)` : ` ${current}…`;
  };
  const clock = setInterval(tick, 500);
  bar.hidden = true;
  return {
    element,
    set(t, step, of) {
      if (t !== current) since = performance.now();
      current = t;
      bar.hidden = false;
      if (of !== undefined && of > 0 && step !== undefined) {
        bar.max = of;
        bar.value = step;
      } else bar.removeAttribute("value");
      element.dataset.text = t;
      tick();
    },
    done() {
      clearInterval(clock);
      current = "";
      text.textContent = "";
      bar.hidden = true;
    }
  };
}

/** One captioned image (RGB shown as 8-bit, clipped, nearest-neighbour enlarged) or canvas. */
export function figure(title: string, content: ImageF32 | HTMLCanvasElement, lines: string[], cssWidth: number): HTMLElement {
  const f = el("figure", undefined, "dtkd-panel");
  const canvas = content instanceof HTMLCanvasElement ? content : imageCanvas(content, cssWidth);
  canvas.dataset.role = canvas.dataset.role ?? "output";
  f.append(el("figcaption", title, "dtkd-panel-title"), canvas);
  for (const line of lines) f.append(el("div", line, "dtkd-panel-line"));
  return f;
}

/** x_T .. x_0 of one sample; each state captioned with its eta_t and the noise std kappa sqrt(eta_t) of q(x_t | x_0, y). */
export function trajectoryStrip(states: {t: number; image: ImageF32}[], schedule: Schedule, seed: number, cssWidth: number): HTMLElement {
  const row = el("div", undefined, "dtkd-strip-row");
  row.dataset.role = "trajectory";
  row.dataset.seed = String(seed);
  for (const {t, image} of states) {
    const eta = schedule.eta[t];
    const lines =
      t === 0
        ? ["the sample: the network's x₀ prediction from x₁ (clipped to [0, 1] for the output)"]
        : [`η = ${sig3(eta)}, noise std κ√η = ${sig3(schedule.kappa * Math.sqrt(eta))}`, t === schedule.T ? "prior: y + κ√η_T · ε" : "after a posterior step"];
    const f = figure(t === 0 ? "x₀" : `x${t === schedule.T ? "_T" : ""} (t = ${t})`, image, lines, cssWidth);
    f.dataset.t = String(t);
    row.append(f);
  }
  return row;
}

export interface SeedSample {
  seed: number;
  image: ImageF32;
  ms: number;
  cold: boolean;
}

/** The samples of several seeds side by side, then their per-pixel spread as a heat map with its legend. */
export function seedRow(samples: SeedSample[], spread: SeedSpread | null, ranOn: string, cssWidth: number): HTMLElement {
  const row = el("div", undefined, "dtkd-strip-row");
  row.dataset.role = "seeds";
  for (const s of samples) {
    const f = figure(`seed ${s.seed}`, s.image, [`${formatMs(s.ms)} on ${ranOn}${s.cold ? " (first run: includes warm-up or shader compilation)" : ""}`], cssWidth);
    f.dataset.seed = String(s.seed);
    row.append(f);
  }
  if (spread) {
    const c = heatCanvas(spread.std, spread.width, spread.height, spread.max, cssWidth);
    c.dataset.role = "spread";
    const f = figure(
      `spread over ${spread.seeds} seeds`,
      c,
      [`per-pixel std over the seeds (population), mean over R, G, B: mean ${sig3(spread.mean)}, max ${sig3(spread.max)} (in [0, 1] units)`],
      cssWidth
    );
    f.dataset.role = "spread-figure";
    f.dataset.mean = String(spread.mean);
    f.append(heatLegend(spread.max, "std"));
    row.append(f);
  }
  return row;
}

/**
 * The crop chooser (infer-crop.ts) on `photo`, starting from `memory` fitted into the photograph (a crop that had
 * to move is reported through `message`); `memory` follows the visitor's moves so a change of photograph keeps
 * the crop. Null (and a message) when the photograph is too small.
 */
export function placeCrop(
  photo: PreparedPhoto,
  memory: CropRect,
  message: {show(lines: string[]): void},
  size: {maxWidth: number; maxHeight: number}
): ValueElement<CropRect> | null {
  const img = photo.rgb;
  try {
    const fitted = fitCrop(memory, img.width, img.height);
    if (fitted.x !== memory.x || fitted.y !== memory.y || fitted.size !== memory.size) {
      message.show([`The crop ${memory.size} px at (${memory.x}, ${memory.y}) does not fit the ${img.width} × ${img.height} image; moved to ${fitted.size} px at (${fitted.x}, ${fitted.y}).`]);
    }
    Object.assign(memory, fitted);
  } catch (e) {
    message.show([(e as Error).message]);
    return null;
  }
  const c = cropChooser({photo: {width: img.width, height: img.height, rgba: photo.rgba}, crop: memory, ...size});
  c.addEventListener("input", () => {
    Object.assign(memory, c.value);
    message.show([]);
  });
  return c;
}

/**
 * Resolves `ms` after the page's next painted frame. The teacher page holds its first run back this long on GPU
 * backends: with a software adapter (SwiftShader) compiling the teacher's shaders blocks the browser's GPU process,
 * and with it the page's own rendering, for tens of seconds, so the page is drawn first.
 */
export function afterPaint(ms: number): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, ms))));
}
