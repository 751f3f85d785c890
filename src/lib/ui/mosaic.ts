// The classic sub-band mosaic: LL{J} top-left, then at every level j the details around it
// (HL{j} top-right, LH{j} bottom-left, HH{j} bottom-right; HL responds to vertical edges, LH to horizontal
// ones, as in PyWavelets' coeffs_to_array). One <canvas data-band="NAME"> per band, drawn at its true size.
import * as tf from "@tensorflow/tfjs";
import {tensorToRgba8} from "../image-io.js";
import type {Subbands} from "../wavelets.js";

/**
 * "band": every band stretched to its own range (shows structure in weak bands).
 * "shared": LL{J} divided by its orthonormal gain 2^J, and all detail bands on one common scale (shows
 * how energy is really distributed across levels).
 */
export type Contrast = "band" | "shared";

export interface Mosaic {
  element: HTMLElement;
  canvases: Map<string, HTMLCanvasElement>;
}

function bandCell(name: string, h: number, w: number, canvases: Map<string, HTMLCanvasElement>): HTMLElement {
  const cell = document.createElement("div");
  cell.className = "dtkd-band";
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  canvas.dataset.band = name;
  canvas.setAttribute("aria-label", `sub-band ${name}, ${w}×${h}`);
  const label = document.createElement("span");
  label.className = "dtkd-band-label";
  label.textContent = name;
  cell.append(canvas, label);
  canvases.set(name, canvas);
  return cell;
}

/** Empty mosaic for `levels` levels of an image padded to `paddedSize` = [H, W], shown `displayWidth` px wide. */
export function bandMosaic(levels: number, paddedSize: [number, number], displayWidth: number): Mosaic {
  const canvases = new Map<string, HTMLCanvasElement>();
  const [ph, pw] = paddedSize;
  const level = (j: number): HTMLElement => {
    const grid = document.createElement("div");
    grid.style.display = "grid";
    grid.style.gridTemplateColumns = "minmax(0, 1fr) minmax(0, 1fr)";
    grid.style.gap = "2px";
    const h = ph / 2 ** j;
    const w = pw / 2 ** j;
    const inner = j === levels ? bandCell(`LL${levels}`, h, w, canvases) : level(j + 1);
    grid.append(inner, bandCell(`HL${j}`, h, w, canvases), bandCell(`LH${j}`, h, w, canvases), bandCell(`HH${j}`, h, w, canvases));
    return grid;
  };
  const element = level(1);
  element.classList.add("dtkd-mosaic");
  element.style.width = `${Math.round(displayWidth)}px`;
  return {element, canvases};
}

/** Maps every band to display values in [0,1] (detail bands around mid-grey) and paints its canvas. */
export async function drawMosaic(mosaic: Mosaic, sub: Subbands, contrast: Contrast): Promise<void> {
  const names = Object.keys(sub.bands);
  const llName = `LL${sub.levels}`;
  // One read-back for all the range statistics: per band [min, max, max|x|].
  const stats = tf.tidy(() =>
    tf.stack(names.map((n) => {
      const b = sub.bands[n];
      return tf.stack([b.min(), b.max(), b.abs().max()]);
    }))
  );
  const s = (await stats.data()) as Float32Array;
  stats.dispose();
  const stat = (i: number) => ({min: s[3 * i], max: s[3 * i + 1], maxAbs: s[3 * i + 2]});
  let sharedDetail = 0;
  names.forEach((n, i) => {
    if (n !== llName) sharedDetail = Math.max(sharedDetail, stat(i).maxAbs);
  });

  for (const [i, name] of names.entries()) {
    const canvas = mosaic.canvases.get(name);
    if (!canvas) continue;
    const {min, max, maxAbs} = stat(i);
    const shown = tf.tidy(() => {
      const b = sub.bands[name];
      if (name === llName) {
        if (contrast === "shared") return b.div(2 ** sub.levels);
        return b.sub(min).div(Math.max(max - min, 1e-12));
      }
      const scale = contrast === "shared" ? sharedDetail : maxAbs;
      return b.div(2 * Math.max(scale, 1e-12)).add(0.5);
    }) as tf.Tensor4D;
    try {
      const {width, height, data} = await tensorToRgba8(shown);
      canvas.width = width;
      canvas.height = height;
      canvas.getContext("2d")!.putImageData(new ImageData(data as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
    } finally {
      shown.dispose();
    }
  }
}
