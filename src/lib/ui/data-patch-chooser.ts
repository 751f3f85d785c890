// Places the HR patch on a photograph: the photo drawn once, a square marking the patch, a click (or the arrow
// keys) to move it, and x / y / side inputs for exact placement. Works as an Observable Framework view: `value`
// is the patch, and the element emits one bubbling "input" event per change.
import type {ValueElement} from "./controls.js";
import {fitPatch, patchAround, PATCH_MAX, PATCH_MIN, PATCH_STEP, type PatchRect} from "./data-format.js";

export interface PhotoPixels {
  width: number;
  height: number;
  /** RGBA bytes, ImageData layout. */
  rgba: Uint8ClampedArray;
}

export interface PatchChooserOptions {
  photo: PhotoPixels;
  /** Where the patch starts; it is fitted into the photo first. */
  patch: PatchRect;
  /** Largest width and height of the photo on screen, in CSS pixels. */
  maxWidth: number;
  maxHeight: number;
}

function numberInput(label: string, name: string, min: number, max: number, step: number, value: number) {
  const l = document.createElement("label");
  l.append(label);
  const input = document.createElement("input");
  input.type = "number";
  input.name = name;
  input.min = String(min);
  input.max = String(max);
  input.step = String(step);
  input.value = String(value);
  input.style.width = "6em";
  l.append(input);
  return {label: l, input};
}

export function patchChooser(opts: PatchChooserOptions): ValueElement<PatchRect> {
  const {width, height} = opts.photo;
  let patch = fitPatch(opts.patch, width, height);

  const root = document.createElement("div");
  root.className = "dtkd-patch-chooser";

  const scale = Math.min(opts.maxWidth / width, opts.maxHeight / height, 1);
  const frame = document.createElement("div");
  frame.className = "dtkd-photo";
  frame.style.position = "relative";
  // At most maxWidth x maxHeight, narrower on a narrow screen; the marker is placed in percent, so it follows.
  frame.style.width = `${Math.round(width * scale)}px`;
  frame.style.maxWidth = "100%";
  frame.style.aspectRatio = `${width} / ${height}`;
  frame.style.cursor = "crosshair";
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.dataset.role = "photo";
  canvas.tabIndex = 0;
  canvas.setAttribute("aria-label", `the photograph, ${width} × ${height} px: click or use the arrow keys to move the patch`);
  canvas.style.width = "100%";
  canvas.style.height = "100%";
  canvas.style.display = "block";
  canvas.getContext("2d")!.putImageData(new ImageData(opts.photo.rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
  const box = document.createElement("div");
  box.className = "dtkd-patch-box";
  box.dataset.role = "patch-box";
  Object.assign(box.style, {
    position: "absolute",
    boxSizing: "border-box",
    border: "2px solid #ff3b30",
    outline: "1px solid rgba(255,255,255,0.8)",
    pointerEvents: "none",
    minWidth: "4px",
    minHeight: "4px"
  });
  frame.append(canvas, box);

  const room = Math.min(width, height);
  const x = numberInput("x (px)", "patch-x", 0, width - PATCH_STEP, 1, patch.x);
  const y = numberInput("y (px)", "patch-y", 0, height - PATCH_STEP, 1, patch.y);
  const side = numberInput("side (px)", "patch-size", Math.min(PATCH_MIN, room), Math.min(PATCH_MAX, room), PATCH_STEP, patch.size);
  const hint = document.createElement("span");
  hint.className = "dtkd-facts";
  hint.textContent = `Click the photograph to centre the patch there (arrow keys move it by a quarter side, with Shift by 1 px). Side ${PATCH_MIN} to ${PATCH_MAX} px, a multiple of ${PATCH_STEP}.`;
  const row = document.createElement("div");
  row.className = "dtkd-controls";
  row.append(x.label, y.label, side.label, hint);
  root.append(frame, row);

  const show = () => {
    box.style.left = `${(100 * patch.x) / width}%`;
    box.style.top = `${(100 * patch.y) / height}%`;
    box.style.width = `${(100 * patch.size) / width}%`;
    box.style.height = `${(100 * patch.size) / height}%`;
    x.input.value = String(patch.x);
    y.input.value = String(patch.y);
    side.input.value = String(patch.size);
    x.input.max = String(width - patch.size);
    y.input.max = String(height - patch.size);
    root.dataset.patch = `${patch.x},${patch.y},${patch.size}`;
  };
  const set = (p: PatchRect) => {
    const next = fitPatch(p, width, height);
    const changed = next.x !== patch.x || next.y !== patch.y || next.size !== patch.size;
    patch = next;
    show(); // also when unchanged: puts a clamped or malformed input back to the real value
    if (changed) root.dispatchEvent(new Event("input", {bubbles: true}));
  };
  show();

  canvas.addEventListener("click", (event) => {
    const r = canvas.getBoundingClientRect();
    const px = ((event.clientX - r.left) / r.width) * width;
    const py = ((event.clientY - r.top) / r.height) * height;
    set(patchAround(px, py, patch.size, width, height));
  });
  canvas.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 1 : Math.max(1, patch.size / 4);
    const d: Record<string, [number, number]> = {ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step]};
    const move = d[event.key];
    if (!move) return;
    event.preventDefault();
    set({...patch, x: patch.x + move[0], y: patch.y + move[1]});
  });
  // "change" (Enter, leaving the field, the spinner), not every keystroke: typing 120 should not run 1 and 12.
  for (const input of [x.input, y.input, side.input]) {
    input.addEventListener("input", (event) => event.stopPropagation());
    input.addEventListener("change", (event) => {
      event.stopPropagation();
      const v = (i: HTMLInputElement, fallback: number) => (i.value.trim() === "" || !Number.isFinite(Number(i.value)) ? fallback : Number(i.value));
      const size = v(side.input, patch.size);
      if (input === side.input) {
        // A new side keeps the patch centred where it was.
        set(patchAround(patch.x + patch.size / 2, patch.y + patch.size / 2, size, width, height));
      } else {
        set({x: v(x.input, patch.x), y: v(y.input, patch.y), size});
      }
    });
  }

  Object.defineProperty(root, "value", {
    get: () => patch,
    set: (p: PatchRect) => {
      patch = fitPatch(p, width, height);
      show();
    }
  });
  return root as unknown as ValueElement<PatchRect>;
}
