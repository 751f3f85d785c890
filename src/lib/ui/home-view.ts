// The home page's result view: one small panel per image (LR, bicubic, student, teacher, distilled student,
// ground truth), all drawn through one shared zoom and pan (zoom-sync.ts), each captioned with its run time on
// this machine; a before/after comparison of any two of them (before-after.ts); a progress line with a Cancel
// button while the worker runs.
import type {ImageF32} from "../degrade.js";
import {beforeAfter, type BeforeAfter} from "./before-after.js";
import {imageCanvas} from "./degradation-view.js";
import {formatMs} from "./model-compare.js";
import {zoomButtons, ZoomSync, type Drawable} from "./zoom-sync.js";

export type PanelKey = "lr" | "bicubic" | "student" | "teacher" | "distilled" | "gt";

export const PANEL_LABELS: Readonly<Record<PanelKey, string>> = {
  lr: "LR input",
  bicubic: "Bicubic ×4",
  student: "Student",
  teacher: "Teacher",
  distilled: "Distilled student",
  gt: "Ground truth"
};
export const PANEL_KEYS = Object.keys(PANEL_LABELS) as PanelKey[];

export interface HomeViewOptions {
  /** The ×4 output's size (the LR is a quarter of it). */
  width: number;
  height: number;
  /** Tag of what this view shows (data-view), so a test can tell a fresh view from a stale one. */
  view: string;
  panelSide?: number;
  compareSide?: number;
  compare: {a: PanelKey; b: PanelKey; split: number};
  onCompare(state: {a: string; b: string; split: number}): void;
  onCancel(): void;
}

export interface HomeView {
  element: HTMLElement;
  setImage(key: PanelKey, img: ImageF32, caption: string): void;
  /** A caption without an image (not computed, not available, failed). */
  setNote(key: PanelKey, text: string, status: "waiting" | "absent" | "failed"): void;
  /** Progress text and fraction (0-1), or null when idle; `cancellable` shows the Cancel button (default: with text). */
  progress(text: string | null, fraction?: number, cancellable?: boolean): void;
  dispose(): void;
}

export function homeView(opts: HomeViewOptions): HomeView {
  const side = opts.panelSide ?? 200;
  const panelSync = new ZoomSync(opts.width, opts.height, side);
  // The comparison is larger; it shares the panels' centre and their zoom relative to "fit".
  const compareSync = new ZoomSync(opts.width, opts.height, opts.compareSide ?? 420);
  let syncing = false;
  const link = (from: ZoomSync, to: ZoomSync) =>
    from.subscribe((v) => {
      if (syncing) return;
      syncing = true;
      to.set({cx: v.cx, cy: v.cy, zoom: (v.zoom / from.fit().zoom) * to.fit().zoom});
      syncing = false;
    });
  const unlinks = [link(panelSync, compareSync), link(compareSync, panelSync)];

  const root = document.createElement("div");
  root.dataset.role = "home-view";
  root.dataset.view = opts.view;

  const status = document.createElement("div");
  status.className = "dtkd-controls";
  status.dataset.role = "run-status";
  const progressText = document.createElement("span");
  progressText.dataset.role = "progress";
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.hidden = true;
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.name = "cancel";
  cancel.textContent = "Cancel";
  cancel.hidden = true;
  cancel.addEventListener("click", () => opts.onCancel());
  status.append(bar, progressText, cancel);

  const grid = document.createElement("div");
  grid.style.cssText = "display: flex; flex-wrap: wrap; gap: 12px;";
  const drawables = new Map<PanelKey, Drawable>();
  const panels = new Map<PanelKey, {fig: HTMLElement; canvas: HTMLCanvasElement; caption: HTMLElement}>();
  const detach: (() => void)[] = [];
  for (const key of PANEL_KEYS) {
    const fig = document.createElement("figure");
    fig.style.cssText = `margin: 0; width: ${side}px;`;
    fig.dataset.panel = key;
    fig.dataset.status = "waiting";
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = side;
    canvas.style.cssText = `width: ${side}px; height: ${side}px; display: block; background: var(--theme-background-alt);`;
    const caption = document.createElement("figcaption");
    caption.className = "dtkd-facts";
    const title = document.createElement("strong");
    title.textContent = PANEL_LABELS[key];
    const text = document.createElement("span");
    text.dataset.role = "caption";
    caption.append(title, document.createElement("br"), text);
    fig.append(canvas, caption);
    grid.append(fig);
    panels.set(key, {fig, canvas, caption: text});
    detach.push(panelSync.attach(canvas));
  }
  const drawPanels = () => {
    for (const [key, p] of panels) {
      const d = drawables.get(key);
      const ctx = p.canvas.getContext("2d")!;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, side, side);
      if (d) panelSync.draw(ctx, d);
    }
    const v = panelSync.view;
    root.dataset.zoom = `${v.cx.toFixed(1)},${v.cy.toFixed(1)},${(v.zoom / panelSync.fit().zoom).toFixed(3)}`;
    for (const [key, p] of panels) p.canvas.dataset.view = drawables.has(key) ? root.dataset.zoom : "";
  };
  detach.push(panelSync.subscribe(drawPanels));

  const compare: BeforeAfter = beforeAfter({
    sync: compareSync,
    panels: PANEL_KEYS.map((k) => ({key: k, label: PANEL_LABELS[k]})),
    get: (k) => drawables.get(k as PanelKey) ?? null,
    initial: opts.compare,
    onChange: opts.onCompare
  });
  const compareHeading = document.createElement("h3");
  compareHeading.textContent = "Before and after";
  root.append(status, zoomButtons(panelSync), grid, compareHeading, compare.element);
  drawPanels();

  return {
    element: root,
    setImage(key, img, caption) {
      const source = imageCanvas(img, img.width);
      drawables.set(key, {source, scale: opts.width / img.width});
      const p = panels.get(key)!;
      p.fig.dataset.status = "done";
      p.caption.textContent = caption;
      drawPanels();
      compare.redraw();
    },
    setNote(key, text, st) {
      const p = panels.get(key)!;
      p.fig.dataset.status = st;
      p.caption.textContent = text;
    },
    progress(text, fraction, cancellable = text !== null) {
      progressText.textContent = text ?? "";
      bar.hidden = text === null || fraction === undefined;
      if (fraction !== undefined) bar.value = fraction;
      cancel.hidden = !cancellable;
    },
    dispose() {
      for (const d of detach) d();
      for (const u of unlinks) u();
      compare.dispose();
    }
  };
}

/** A panel's caption: its time, where it ran, and the tiles. */
export function runCaption(r: {ms: number; ranOn: string; tiles: number; cold: boolean}, size: string): string {
  return `${formatMs(r.ms)} on ${r.ranOn}${r.tiles > 1 ? `, ${r.tiles} tiles` : ""}${r.cold ? " (first run: includes warm-up)" : ""}; ${size}`;
}
