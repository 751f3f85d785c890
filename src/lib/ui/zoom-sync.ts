// Synchronised zoom and pan across image panels: one shared view (a centre in output-pixel coordinates and a
// zoom), any number of canvases that draw their image through it. Wheel or the +/− buttons zoom, a drag pans;
// whatever one panel does, every panel follows. Images of a different size (the LR at a quarter) are drawn by
// their scale relative to the output, so the same region shows everywhere.

export interface View {
  /** Centre of the visible region, in output pixels. */
  cx: number;
  cy: number;
  /** Display pixels per output pixel. */
  zoom: number;
}

export interface Drawable {
  /** The image, already on a canvas at its own resolution. */
  source: CanvasImageSource & {width: number; height: number};
  /** Output pixels per source pixel (4 for the LR, 1 for the ×4 images). */
  scale: number;
}

export const ZOOM_MIN_FACTOR = 1; // never smaller than "fit"
export const ZOOM_MAX = 16;

export class ZoomSync {
  view: View;
  private readonly listeners = new Set<(v: View) => void>();

  /** `width`×`height`: the output image; `display`: the side of every panel's canvas in CSS pixels. */
  constructor(
    readonly width: number,
    readonly height: number,
    readonly display: number
  ) {
    this.view = this.fit();
  }

  fit(): View {
    return {cx: this.width / 2, cy: this.height / 2, zoom: this.display / Math.max(this.width, this.height)};
  }

  set(v: View): void {
    const fitZoom = this.fit().zoom;
    const zoom = Math.min(Math.max(v.zoom, fitZoom * ZOOM_MIN_FACTOR), ZOOM_MAX);
    const half = this.display / (2 * zoom);
    // Keep the centre where the view still shows image (an image smaller than the panel stays centred).
    const clamp = (c: number, size: number) => (2 * half >= size ? size / 2 : Math.min(Math.max(c, half), size - half));
    this.view = {cx: clamp(v.cx, this.width), cy: clamp(v.cy, this.height), zoom};
    for (const l of this.listeners) l(this.view);
  }

  /** Zooms by `factor` keeping the output point (px, py) under the same display point. */
  zoomAt(factor: number, px = this.view.cx, py = this.view.cy): void {
    const {cx, cy, zoom} = this.view;
    const z = zoom * factor;
    this.set({cx: px - (px - cx) * (zoom / z), cy: py - (py - cy) * (zoom / z), zoom: z});
  }

  subscribe(fn: (v: View) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Output coordinates of a display point of a panel canvas. */
  toOutput(dx: number, dy: number): [number, number] {
    const {cx, cy, zoom} = this.view;
    return [cx + (dx - this.display / 2) / zoom, cy + (dy - this.display / 2) / zoom];
  }

  /** Draws `d` through the view onto `ctx` (display × display), optionally only for display x in [x0, x1). */
  draw(ctx: CanvasRenderingContext2D, d: Drawable, x0 = 0, x1 = this.display): void {
    const {cx, cy, zoom} = this.view;
    const D = this.display;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, 0, x1 - x0, D);
    ctx.clip();
    ctx.fillStyle = "#888";
    ctx.fillRect(x0, 0, x1 - x0, D);
    ctx.imageSmoothingEnabled = false;
    // Output pixel (u, v) lands at display ((u - cx) zoom + D/2, (v - cy) zoom + D/2); source pixels are `scale` output pixels.
    const s = d.scale * zoom;
    ctx.setTransform(s, 0, 0, s, D / 2 - cx * zoom, D / 2 - cy * zoom);
    ctx.drawImage(d.source, 0, 0);
    ctx.restore();
  }

  /**
   * Makes `canvas` (display × display) a control of the shared view: wheel zooms at the cursor, a drag pans.
   * Returns a function that removes the listeners.
   */
  attach(canvas: HTMLCanvasElement): () => void {
    const local = (e: MouseEvent): [number, number] => {
      const r = canvas.getBoundingClientRect();
      return [((e.clientX - r.left) * this.display) / r.width, ((e.clientY - r.top) * this.display) / r.height];
    };
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const [px, py] = this.toOutput(...local(e));
      this.zoomAt(Math.exp(-e.deltaY * 0.002), px, py);
    };
    let drag: {x: number; y: number; v: View} | null = null;
    const onDown = (e: PointerEvent) => {
      const [x, y] = local(e);
      drag = {x, y, v: this.view};
      canvas.setPointerCapture(e.pointerId);
    };
    const onMove = (e: PointerEvent) => {
      if (!drag) return;
      const [x, y] = local(e);
      this.set({cx: drag.v.cx - (x - drag.x) / drag.v.zoom, cy: drag.v.cy - (y - drag.y) / drag.v.zoom, zoom: drag.v.zoom});
    };
    const onUp = () => {
      drag = null;
    };
    canvas.style.cursor = "grab";
    canvas.style.touchAction = "none";
    canvas.addEventListener("wheel", onWheel, {passive: false});
    canvas.addEventListener("pointerdown", onDown);
    canvas.addEventListener("pointermove", onMove);
    canvas.addEventListener("pointerup", onUp);
    canvas.addEventListener("pointercancel", onUp);
    return () => {
      canvas.removeEventListener("wheel", onWheel);
      canvas.removeEventListener("pointerdown", onDown);
      canvas.removeEventListener("pointermove", onMove);
      canvas.removeEventListener("pointerup", onUp);
      canvas.removeEventListener("pointercancel", onUp);
    };
  }
}

/** Zoom in / out / fit buttons for a ZoomSync (what keyboard users and tests press). */
export function zoomButtons(sync: ZoomSync): HTMLElement {
  const row = document.createElement("div");
  row.className = "dtkd-controls";
  row.dataset.role = "zoom-buttons";
  const button = (text: string, name: string, act: () => void) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.name = name;
    b.addEventListener("click", act);
    return b;
  };
  row.append(
    button("Zoom in", "zoom-in", () => sync.zoomAt(2)),
    button("Zoom out", "zoom-out", () => sync.zoomAt(0.5)),
    button("Fit", "zoom-fit", () => sync.set(sync.fit()))
  );
  return row;
}
