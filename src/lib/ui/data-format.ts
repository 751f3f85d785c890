// DOM-free helpers of the data page: which stages a preset lets the visitor switch, the stage switches as the
// short lists the URL hash keeps, patch placement, how trace parameters are written, and a fingerprint of the
// LR bytes that Node and the browser can both compute.
import {presetConfig, STAGE_NAMES, type Preset, type StageName, type StageTrace} from "../degrade.js";

export type Stages = Record<StageName, boolean>;

/** "free": the visitor may switch it; "on"/"off": fixed for this preset. */
export type StageLock = "free" | "on" | "off";

/**
 * What the visitor may switch. The bicubic preset is a single stage and cannot be mixed with the Real-ESRGAN
 * stages (degrade refuses the mix); in the other presets the final resize always runs because it makes the LR
 * size, and every other Real-ESRGAN stage can be switched, including those the preset leaves off.
 */
export function stageLocks(preset: Preset): Record<StageName, StageLock> {
  const out = {} as Record<StageName, StageLock>;
  for (const s of STAGE_NAMES) {
    if (preset === "bicubic") out[s] = s === "bicubic" ? "on" : "off";
    else out[s] = s === "bicubic" ? "off" : s === "finalResize" ? "on" : "free";
  }
  return out;
}

/** The stages a preset runs by default. */
export function presetStages(preset: Preset): Stages {
  return {...presetConfig(preset).stages};
}

/** Stages switched on and off relative to the preset's defaults, in pipeline order. */
export function stageDiff(preset: Preset, stages: Stages): {on: StageName[]; off: StageName[]} {
  const base = presetStages(preset);
  return {
    on: STAGE_NAMES.filter((s) => stages[s] && !base[s]),
    off: STAGE_NAMES.filter((s) => !stages[s] && base[s])
  };
}

/** A dot-separated stage list for the hash ("blur2.noise2"), empty for none. */
export function stageList(stages: readonly StageName[]): string {
  return stages.join(".");
}

/**
 * The stages of `preset` with the hash's `on` and `off` lists applied. Unknown names and switches the preset
 * does not allow are refused with a message each; the rest still apply.
 */
export function stagesFromLists(preset: Preset, on: string, off: string): {stages: Stages; errors: string[]} {
  const stages = presetStages(preset);
  const locks = stageLocks(preset);
  const errors: string[] = [];
  const apply = (list: string, value: boolean, key: string) => {
    for (const name of list.split(".").filter((n) => n !== "")) {
      if (!(STAGE_NAMES as readonly string[]).includes(name)) {
        errors.push(`${key}: unknown stage "${name}" ignored (stages: ${STAGE_NAMES.join(", ")})`);
        continue;
      }
      const s = name as StageName;
      if (locks[s] !== "free") {
        errors.push(`${key}: stage ${s} cannot be switched ${value ? "on" : "off"} with the ${preset} preset; ignored`);
        continue;
      }
      stages[s] = value;
    }
  };
  apply(on, true, "on");
  apply(off, false, "off");
  return {stages, errors};
}

export interface PatchRect {
  x: number;
  y: number;
  size: number;
}

/** Patch sides the page offers: 64 to 256 px, multiples of the scale factor 4 (degrade crops to one anyway). */
export const PATCH_MIN = 64;
export const PATCH_MAX = 256;
export const PATCH_STEP = 4;

/**
 * Moves and shrinks a patch until it lies inside a width x height image: the side is rounded down to a multiple
 * of PATCH_STEP and kept within PATCH_MIN..PATCH_MAX (or the image's shorter side, for small images), the corner
 * is clamped. Throws when the image cannot hold even a PATCH_STEP-pixel patch.
 */
export function fitPatch(p: PatchRect, width: number, height: number): PatchRect {
  const room = Math.floor(Math.min(width, height) / PATCH_STEP) * PATCH_STEP;
  if (room < PATCH_STEP) throw new Error(`the image is ${width} × ${height} px; the page needs at least ${PATCH_STEP} × ${PATCH_STEP}`);
  const wanted = Math.floor((Number.isFinite(p.size) ? p.size : PATCH_MIN) / PATCH_STEP) * PATCH_STEP;
  const size = Math.min(room, Math.max(Math.min(PATCH_MIN, room), Math.min(PATCH_MAX, wanted)));
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, Math.round(Number.isFinite(v) ? v : 0)));
  return {x: clamp(p.x, width - size), y: clamp(p.y, height - size), size};
}

/** The patch of `size` centred on (cx, cy) as far as the image allows. */
export function patchAround(cx: number, cy: number, size: number, width: number, height: number): PatchRect {
  return fitPatch({x: Math.round(cx - size / 2), y: Math.round(cy - size / 2), size}, width, height);
}

/** What each stage is, in words. */
export const STAGE_TITLES: Record<StageName, string> = {
  bicubic: "bicubic ×1/4 (MATLAB imresize)",
  blur1: "first blur",
  resize1: "first random resize",
  noise1: "first noise",
  jpeg1: "first JPEG",
  blur2: "second blur",
  resize2: "second random resize",
  noise2: "second noise",
  finalResize: "final resize to LR size",
  sinc: "final sinc filter",
  jpeg2: "final JPEG"
};

function trimNumber(text: string): string {
  return text.includes("e") ? text : text.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}

/** Three significant digits, no trailing zeros. */
export function sig3(v: number): string {
  if (v === 0) return "0";
  return trimNumber(Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(3) : v.toExponential(2));
}

/**
 * One trace parameter as text, rounded for reading (the exact values are in the trace JSON the page offers).
 * Returns null for parameters a kernel family does not use (the trace records those as null).
 */
export function formatParam(key: string, value: number | string | boolean | null): string | null {
  if (value === null) return null;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string") return value;
  switch (key) {
    case "kernelSize":
      return `${value} × ${value}`;
    case "sigmaX":
    case "sigmaY":
      return `${sig3(value)} px`;
    case "theta":
      return `${value.toFixed(3)} rad (${((value * 180) / Math.PI).toFixed(1)}°)`;
    case "omegaC":
      return `${value.toFixed(3)} rad/px (${(value / Math.PI).toFixed(3)} π)`;
    case "scale":
      return `× ${value.toFixed(3)}`;
    case "sigma":
      return `${value.toFixed(2)} / 255`;
    case "qualityDrawn":
      return value.toFixed(2);
    case "quality":
    case "vals":
      return String(Math.round(value));
    case "prob":
      return String(value);
    default:
      return sig3(value);
  }
}

/** Every non-null parameter of a stage as [key, text], in the order the trace lists them. */
export function formatParams(params: StageTrace["params"]): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(params)) {
    const text = formatParam(k, v);
    if (text !== null) out.push([k, text]);
  }
  return out;
}

/** Why an enabled stage left the image as it was. */
export function skipReason(t: StageTrace): string {
  if (!t.enabled) return "switched off";
  if (t.params.drawnApply === false) return `not applied this time (probability ${t.params.prob ?? "?"} drawn against)`;
  return "not applied";
}

/**
 * FNV-1a (32 bit) of a byte array as 8 hex digits: a short fingerprint of the 8-bit LR, the same in Node and in
 * the browser, so a link's LR can be compared with one made by `degrade` in Node.
 */
export function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The trace without images and kernel weights, for the page's JSON view. */
export function traceSummary(trace: readonly StageTrace[]): object[] {
  return trace.map((t) => ({
    stage: t.stage,
    enabled: t.enabled,
    applied: t.applied,
    inSize: t.inSize,
    outSize: t.outSize,
    params: t.params,
    ...(t.kernel ? {kernel: {type: t.kernel.type, size: t.kernel.size}} : {})
  }));
}
