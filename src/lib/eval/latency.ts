/**
 * Latency per image per backend: wall time of one model call (LR image in, SR image out, upload and read-back
 * included) on a fixed input size, after warm-up runs. The cpu backend is 40-60x slower than wasm here, so it
 * gets a smaller input and fewer runs (LATENCY_DEFAULTS); the size is stated beside every number.
 */
import type {ImageF32} from "../resize.js";
import {createRng} from "../rng.js";
import type {SrModel} from "./models.js";

export type LatencyBackend = "wasm" | "cpu";

export interface LatencyPlan {
  /** LR side in pixels (output is 4x). */
  lrSize: number;
  warmup: number;
  runs: number;
}

/** Lab defaults: wasm 64x64 LR (1 warm-up, 3 timed runs); cpu 16x16 LR (1 warm-up, 2 timed runs). */
export const LATENCY_DEFAULTS: Readonly<Record<LatencyBackend, LatencyPlan>> = Object.freeze({
  wasm: {lrSize: 64, warmup: 1, runs: 3},
  cpu: {lrSize: 16, warmup: 1, runs: 2},
});

export interface LatencyRecord {
  /** Mean of the timed runs, ms (the field eval.json's consumers read). */
  mean: number;
  /** Median of the timed runs, ms. */
  median: number;
  runsMs: number[];
  /**
   * Process CPU time of the timed runs, ms (Node; null elsewhere): mean and median. The wasm and cpu backends
   * run on one thread, so on a shared machine this is the steadier figure; wall time includes waiting for the core.
   */
  cpuMean: number | null;
  cpuMedian: number | null;
  cpuRunsMs: number[] | null;
  warmup: number;
  /** e.g. "64x64 LR -> 256x256". */
  size: string;
  /** Achieved GFLOP/s from the model's FLOP count and the median wall time (null where not counted). */
  gflops: number | null;
  /** The same from the median CPU time. */
  gflopsCpu: number | null;
}

/** Process CPU milliseconds where the runtime tells them (Node), else null. */
function cpuMs(): number | null {
  const p = (globalThis as {process?: {cpuUsage?: () => {user: number; system: number}}}).process;
  const u = p?.cpuUsage?.();
  return u ? (u.user + u.system) / 1000 : null;
}

const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The fixed latency input: uniform noise (the work does not depend on the content), seed 0. */
export function latencyInput(lrSize: number): ImageF32 {
  const rng = createRng(0);
  const data = new Float32Array(lrSize * lrSize * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform();
  return {width: lrSize, height: lrSize, channels: 3, data};
}

export async function timeModel(model: SrModel, plan: LatencyPlan, onRun?: () => void): Promise<LatencyRecord> {
  const lr = latencyInput(plan.lrSize);
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < plan.warmup + plan.runs; i++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    await model.upscale(lr, {seed: 1, imageId: "latency"});
    const dt = performance.now() - t0;
    const c1 = cpuMs();
    if (i >= plan.warmup) {
      times.push(round2(dt));
      if (c0 !== null && c1 !== null) cpu.push(round2(c1 - c0));
    }
    onRun?.();
  }
  const hasCpu = cpu.length === times.length && cpu.length > 0;
  const out = plan.lrSize * 4;
  const flops = model.flopsPerOutputPixel(plan.lrSize, plan.lrSize);
  const gf = (ms: number | null) => (flops === null || ms === null || ms <= 0 ? null : (flops * out * out) / (ms * 1e6));
  const cpuMedian = hasCpu ? median(cpu) : null;
  return {
    mean: mean(times),
    median: median(times),
    runsMs: times,
    cpuMean: hasCpu ? mean(cpu) : null,
    cpuMedian,
    cpuRunsMs: hasCpu ? cpu : null,
    warmup: plan.warmup,
    size: `${plan.lrSize}x${plan.lrSize} LR -> ${out}x${out}`,
    gflops: gf(median(times)),
    gflopsCpu: gf(cpuMedian),
  };
}
