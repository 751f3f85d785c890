// A before/after comparison of any two panels: one canvas, panel A left of a vertical divider and panel B right of
// it; the divider is dragged with d3-drag (or moved with the arrow keys when focused). The canvas follows the
// shared zoom and pan (zoom-sync.ts), so the split can be studied on a zoomed region.
import {drag, select} from "d3";
import type {Drawable, ZoomSync} from "./zoom-sync.js";

export interface BeforeAfterOptions {
  sync: ZoomSync;
  /** Choosable panels, in order; `get` returns null while a panel has no image yet. */
  panels: readonly {key: string; label: string}[];
  get(key: string): Drawable | null;
  initial: {a: string; b: string; split: number};
  /** Called when the choice or the split changes (for the URL hash). */
  onChange?(state: {a: string; b: string; split: number}): void;
}

export interface BeforeAfter {
  element: HTMLElement;
  /** Redraws (call when a panel's image arrives). */
  redraw(): void;
  dispose(): void;
}

export function beforeAfter(opts: BeforeAfterOptions): BeforeAfter {
  const {sync} = opts;
  const D = sync.display;
  const state = {...opts.initial, split: Math.min(1, Math.max(0, opts.initial.split))};
  const root = document.createElement("div");
  root.dataset.role = "before-after";

  const chooser = (which: "a" | "b", label: string) => {
    const l = document.createElement("label");
    l.append(label, " ");
    const s = document.createElement("select");
    s.name = `compare-${which}`;
    for (const p of opts.panels) {
      const o = document.createElement("option");
      o.value = p.key;
      o.textContent = p.label;
      s.append(o);
    }
    s.value = state[which];
    s.addEventListener("input", (e) => {
      e.stopPropagation();
      state[which] = s.value;
      changed();
    });
    s.addEventListener("change", (e) => e.stopPropagation());
    l.append(s);
    return l;
  };
  const controls = document.createElement("div");
  controls.className = "dtkd-controls";
  controls.append(chooser("a", "Left of the divider"), chooser("b", "right of it"));

  const frame = document.createElement("div");
  frame.style.cssText = `position: relative; width: ${D}px; height: ${D}px; user-select: none;`;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = D;
  canvas.style.cssText = `width: ${D}px; height: ${D}px; display: block;`;
  canvas.dataset.role = "before-after-canvas";
  const handle = document.createElement("div");
  handle.dataset.role = "divider";
  handle.tabIndex = 0;
  handle.setAttribute("role", "slider");
  handle.setAttribute("aria-label", "Divider between the two panels");
  handle.setAttribute("aria-valuemin", "0");
  handle.setAttribute("aria-valuemax", "100");
  handle.style.cssText = `position: absolute; top: 0; width: 14px; height: ${D}px; margin-left: -7px; cursor: ew-resize; touch-action: none;` +
    "background: linear-gradient(to right, transparent 6px, #fff 6px, #fff 8px, transparent 8px);";
  const knob = document.createElement("div");
  knob.style.cssText = "position: absolute; top: 50%; left: 0; width: 14px; height: 28px; margin-top: -14px; background: #fff; border: 1px solid #333; border-radius: 4px;";
  handle.append(knob);
  const labels = document.createElement("div");
  labels.className = "dtkd-facts";
  frame.append(canvas, handle);
  root.append(controls, frame, labels);

  const ctx = canvas.getContext("2d")!;
  const labelOf = (k: string) => opts.panels.find((p) => p.key === k)?.label ?? k;
  function redraw(): void {
    const x = Math.round(state.split * D);
    handle.style.left = `${x}px`;
    handle.setAttribute("aria-valuenow", String(Math.round(state.split * 100)));
    root.dataset.split = state.split.toFixed(3);
    root.dataset.a = state.a;
    root.dataset.b = state.b;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, D, D);
    const a = opts.get(state.a);
    const b = opts.get(state.b);
    if (a) sync.draw(ctx, a, 0, x);
    if (b) sync.draw(ctx, b, x, D);
    const missing = [a ? null : labelOf(state.a), b ? null : labelOf(state.b)].filter((m) => m !== null);
    labels.textContent =
      `Left: ${labelOf(state.a)}; right: ${labelOf(state.b)}. Drag the divider; drag the picture to pan, scroll to zoom (all panels follow).` +
      (missing.length ? ` Not computed yet: ${missing.join(", ")}.` : "");
  }
  function changed(): void {
    redraw();
    opts.onChange?.({...state});
  }

  select(handle).call(
    drag<HTMLDivElement, unknown>().on("drag", (event: {sourceEvent: PointerEvent | MouseEvent}) => {
      const r = frame.getBoundingClientRect();
      const src = event.sourceEvent;
      const clientX = "touches" in src ? (src as unknown as TouchEvent).touches[0].clientX : src.clientX;
      state.split = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
      changed();
    })
  );
  handle.addEventListener("keydown", (e) => {
    const step = e.key === "ArrowLeft" ? -0.05 : e.key === "ArrowRight" ? 0.05 : 0;
    if (!step) return;
    e.preventDefault();
    state.split = Math.min(1, Math.max(0, state.split + step));
    changed();
  });
  const detach = sync.attach(canvas);
  const unsubscribe = sync.subscribe(redraw);
  redraw();
  return {
    element: root,
    redraw,
    dispose() {
      detach();
      unsubscribe();
    }
  };
}
