/**
 * Teacher targets for distillation: a fixed set of training patches (LR, HR) and, for each patch, K samples of
 * the teacher's stochastic sampler, computed once and reused by every step and every run that shares the
 * teacher and the patch set (the teacher's sampler costs T = 4 denoiser passes; re-sampling per step would
 * cost more than the student's own step).
 *
 * Plain typed arrays, no tensors held and no Node API, so a Web Worker can build, fetch or decode a set as
 * well as Node can; file I/O lives in train/distill-node.ts.
 *
 * Storage: samples are quantised to 16 bits (q = round(65535 v), v = q / 65535). The teacher's output is
 * clipped to [0, 1], so this is exact to 7.6e-6, 1/500 of an 8-bit step, at half the size of float32
 * (512 patches x 4 seeds of 64x64 RGB: 50 MB instead of 100 MB).
 *
 * Binary layout (little-endian): magic "DTKDTGT1", u32 header length L, UTF-8 JSON header {meta, n, hrSize,
 * scale, seeds}, zero padding to a multiple of 8, then lr (float32, n x ls x ls x 3), hr (float32,
 * n x hs x hs x 3), samples (uint16, n x seeds x hs x hs x 3), each padded to a multiple of 8 bytes.
 */
import * as tf from "@tensorflow/tfjs";
import type {SamplerMode} from "./diffusion.js";
import type {Teacher} from "./models/teacher.js";
import {createRng} from "./rng.js";
import {makePair, type PairOptions, type Photo} from "./train/pairs.js";

/** A fixed set of training pairs, NHWC, RGB in [0, 1], flattened. */
export interface PatchSet {
  n: number;
  hrSize: number;
  scale: number;
  /** n x (hrSize/scale)^2 x 3 */
  lr: Float32Array;
  /** n x hrSize^2 x 3 */
  hr: Float32Array;
}

/** How a target set was made: enough to rebuild it and to tell two sets apart. */
/**
 * The fixed training patches of a distillation run: patch i is makePair with createRng(seed).fork(`distill-pair-<i>`),
 * so the Node runner and the browser's live distillation draw the same patches from the same photographs.
 */
export function patchSetFromPhotos(
  photos: Photo[],
  n: number,
  opts: PairOptions,
  seed: number,
  onProgress?: (done: number, total: number) => void,
): PatchSet {
  const hs = opts.hrSize;
  const ls = hs / opts.scale;
  const lr = new Float32Array(n * ls * ls * 3);
  const hr = new Float32Array(n * hs * hs * 3);
  const root = createRng(seed);
  for (let i = 0; i < n; i++) {
    const p = makePair(photos, root.fork(`distill-pair-${i}`), opts);
    lr.set(p.lr, i * ls * ls * 3);
    hr.set(p.hr, i * hs * hs * 3);
    onProgress?.(i + 1, n);
  }
  return {n, hrSize: hs, scale: opts.scale, lr, hr};
}

export interface TargetMeta {
  /** Content key (the Node side hashes teacher file, patch description and sampler settings into it). */
  key: string;
  teacher: {id: string; step: number; sha256?: string};
  /** Human-readable description of the patches (source, images, seed, degradation). */
  patches: Record<string, unknown>;
  sampler: SamplerMode;
  /** Root seed of the teacher's sampling noise: seed k of batch b uses createRng(seed).fork(`target-<k>-<b>`). */
  seed: number;
  /** Patches per teacher call (the noise streams depend on it). */
  batch: number;
  createdAt: string;
  wallSeconds: number;
}

export interface TargetSet extends PatchSet {
  /** K: samples per patch. */
  seeds: number;
  /** n x K x hrSize^2 x 3, quantised: value = q / 65535. Sample k of patch i starts at (i K + k) hrSize^2 3. */
  samples: Uint16Array;
  meta: TargetMeta;
}

export const TARGET_MAGIC = "DTKDTGT1";
const Q = 65535;

export interface BuildTargetOptions {
  seeds: number;
  seed: number;
  sampler: SamplerMode;
  /** Patches per teacher call (default 16). */
  batch?: number;
  teacherId: string;
  teacherStep: number;
  key: string;
  patchDescription: Record<string, unknown>;
}

/**
 * Runs the teacher's sampler K times over every patch. Reads results with async `.data()` (safe on WebGPU) and
 * leaves no tensor behind. `onProgress(done, total)` counts teacher calls.
 */
export async function buildTargets(
  teacher: Teacher,
  patches: PatchSet,
  opts: BuildTargetOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<TargetSet> {
  const {n, hrSize: hs, scale} = patches;
  const ls = hs / scale;
  if (!Number.isInteger(ls)) throw new Error(`targets: hrSize ${hs} is not a multiple of the scale ${scale}`);
  if (teacher.config.scale !== scale) throw new Error(`targets: teacher is x${teacher.config.scale}, patches are x${scale}`);
  if (!Number.isInteger(opts.seeds) || opts.seeds < 1) throw new Error(`targets: seeds must be a positive integer, got ${opts.seeds}`);
  const K = opts.seeds;
  const B = opts.batch ?? 16;
  const hrLen = hs * hs * 3;
  const lrLen = ls * ls * 3;
  const samples = new Uint16Array(n * K * hrLen);
  const batches = Math.ceil(n / B);
  const t0 = Date.now();
  let done = 0;
  for (let b = 0; b < batches; b++) {
    const i0 = b * B;
    const m = Math.min(B, n - i0);
    const lrT = tf.tensor4d(patches.lr.subarray(i0 * lrLen, (i0 + m) * lrLen), [m, ls, ls, 3]);
    for (let k = 0; k < K; k++) {
      const out = teacher.sample(lrT, createRng(opts.seed).fork(`target-${k}-${b}`), {mode: opts.sampler});
      const v = (await out.x0.data()) as Float32Array;
      out.x0.dispose();
      for (let j = 0; j < m; j++) {
        const dst = ((i0 + j) * K + k) * hrLen;
        const src = j * hrLen;
        for (let e = 0; e < hrLen; e++) {
          const x = v[src + e];
          // The sampler clips to [0,1]; a NaN (broken teacher) must not become a plausible 0.
          if (!(x >= 0 && x <= 1)) throw new Error(`targets: teacher produced ${x} (patch ${i0 + j}, seed ${k}); expected [0, 1]`);
          samples[dst + e] = Math.round(x * Q);
        }
      }
      onProgress?.(++done, batches * K);
    }
    lrT.dispose();
  }
  return {
    ...patches,
    seeds: K,
    samples,
    meta: {
      key: opts.key,
      teacher: {id: opts.teacherId, step: opts.teacherStep},
      patches: opts.patchDescription,
      sampler: opts.sampler,
      seed: opts.seed,
      batch: B,
      createdAt: new Date().toISOString(),
      wallSeconds: (Date.now() - t0) / 1000,
    },
  };
}

/** Per-patch mean of the first `k` samples, n x hrSize^2 x 3 float32 (targetMode "mean"). */
export function meanTargets(set: TargetSet, k = set.seeds): Float32Array {
  if (!Number.isInteger(k) || k < 1 || k > set.seeds) throw new Error(`meanTargets: k must be in 1..${set.seeds}, got ${k}`);
  const hrLen = set.hrSize * set.hrSize * 3;
  const out = new Float32Array(set.n * hrLen);
  for (let i = 0; i < set.n; i++) {
    const o = i * hrLen;
    for (let s = 0; s < k; s++) {
      const base = (i * set.seeds + s) * hrLen;
      for (let e = 0; e < hrLen; e++) out[o + e] += set.samples[base + e];
    }
    for (let e = 0; e < hrLen; e++) out[o + e] /= k * Q;
  }
  return out;
}

/** One teacher sample as float32 (hrSize^2 x 3). */
export function targetSample(set: TargetSet, patch: number, seed: number): Float32Array {
  const hrLen = set.hrSize * set.hrSize * 3;
  const base = (patch * set.seeds + seed) * hrLen;
  const out = new Float32Array(hrLen);
  for (let e = 0; e < hrLen; e++) out[e] = set.samples[base + e] / Q;
  return out;
}

/**
 * Writes dihedral transform k (0..7) of an s x s x c image (from `src` at `srcOffset`) into `dst` at `dstOffset`;
 * `scaleBy` multiplies each value (1/65535 to dequantise on the fly). The same k applied to LR, HR and the
 * teacher's sample keeps the three aligned (the degradation and the teacher are close to equivariant).
 */
export function dihedralInto(
  src: ArrayLike<number>,
  srcOffset: number,
  s: number,
  c: number,
  k: number,
  dst: Float32Array,
  dstOffset: number,
  scaleBy = 1,
): void {
  for (let y = 0; y < s; y++)
    for (let x = 0; x < s; x++) {
      let u = x;
      let v = y;
      if (k & 1) u = s - 1 - u;
      if (k & 2) v = s - 1 - v;
      if (k & 4) [u, v] = [v, u];
      const si = srcOffset + (v * s + u) * c;
      const di = dstOffset + (y * s + x) * c;
      for (let ch = 0; ch < c; ch++) dst[di + ch] = src[si + ch] * scaleBy;
    }
}

function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Serialises a target set (see the layout in the module comment). */
export function encodeTargets(set: TargetSet): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({meta: set.meta, n: set.n, hrSize: set.hrSize, scale: set.scale, seeds: set.seeds}),
  );
  const start = pad8(12 + header.length);
  const sizes = [set.lr.byteLength, set.hr.byteLength, set.samples.byteLength];
  const out = new Uint8Array(start + sizes.reduce((a, b) => a + pad8(b), 0));
  out.set(new TextEncoder().encode(TARGET_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  let off = start;
  for (const a of [set.lr, set.hr, set.samples]) {
    // Typed arrays are little-endian on every platform the lab runs on (x86, ARM, and the browsers' WASM).
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += pad8(a.byteLength);
  }
  return out;
}

/** Parses encodeTargets' bytes; throws on a wrong magic, a size mismatch or truncation. */
export function decodeTargets(bytes: Uint8Array): TargetSet {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== TARGET_MAGIC) {
    throw new Error("not a DTKD target file (bad magic)");
  }
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + hlen > bytes.length) throw new Error("truncated target file header");
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hlen))) as {
    meta: TargetMeta;
    n: number;
    hrSize: number;
    scale: number;
    seeds: number;
  };
  const ls = h.hrSize / h.scale;
  const counts = [h.n * ls * ls * 3, h.n * h.hrSize * h.hrSize * 3, h.n * h.seeds * h.hrSize * h.hrSize * 3];
  const widths = [4, 4, 2];
  let off = pad8(12 + hlen);
  const need = off + counts.reduce((a, c, i) => a + pad8(c * widths[i]), 0);
  if (bytes.length !== need) throw new Error(`target file has ${bytes.length} bytes, its header describes ${need}`);
  // Copy into fresh, aligned buffers (the input may sit at any offset in a larger buffer).
  const take = (i: number) => {
    const len = counts[i] * widths[i];
    const buf = bytes.slice(off, off + len).buffer;
    off += pad8(len);
    return buf;
  };
  const lr = new Float32Array(take(0));
  const hr = new Float32Array(take(1));
  const samples = new Uint16Array(take(2));
  return {n: h.n, hrSize: h.hrSize, scale: h.scale, seeds: h.seeds, lr, hr, samples, meta: h.meta};
}
