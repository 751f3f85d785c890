/**
 * The Swin pieces of the student (SwinIR, Liang et al., ICCVW 2021, after Swin Transformer, Liu et al., ICCV
 * 2021): window multi-head self-attention with a learned relative position bias, the shifted-window attention
 * mask, LayerNorm + MLP, and the Swin transformer block that combines them.
 *
 * Written for training on TF.js's wasm backend in Node (NOTES section 1):
 * - tokens stay an NHWC grid [B, H, W, C]; every per-token linear layer is a 2-D matMul on [B*H*W, C]
 *   (broadcast matMul gradients throw in tfjs 4.22, tfjs#8721; 2-D matMuls are XNNPACK-fast on wasm);
 * - windows are cut with reshape + rank-4 transpose, the cyclic shift is slice + concat (StridedSlice and
 *   gather have no usable gradient on wasm);
 * - the relative position bias is a matMul of a fixed one-hot matrix [T*T, (2w-1)^2] with the learned table
 *   [(2w-1)^2, heads] instead of SwinIR's gather, so it is differentiable on every backend;
 * - the attention itself has six interchangeable implementations (`AttentionImpl`), equal to 1e-5, because
 *   batched small matMuls are slow on wasm: bench/attention.bench.ts measures them and
 *   `ATTENTION_BY_BACKEND` records the choice.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * How the per-window products q k^T and a v are computed (all variants agree within 1e-5; speed differs by
 * backend and shape, measured by bench/attention.bench.ts):
 * - "batched": one batched matMul per product, SwinIR's formulation. On wasm, tfjs sends every batched (and
 *   every transposed) matMul to a naive C++ loop instead of XNNPACK.
 * - "loop": a JS loop of plain 2-D matMuls (XNNPACK on wasm), one per window and head; the stack is cut into
 *   2-D pieces by halving, because on wasm every slice copies its whole input.
 * - "depthwise": each product as ONE depthwise convolution (window x head = channel, contraction = filter
 *   height), which XNNPACK runs as a grouped GEMM; gradients are again depthwise convolutions.
 * The "masked-" variants attend over all tokens of each image at once, everything outside a token's window
 * masked by a large negative bias: nWin times more FLOPs in fewer, larger products; only sensible for small
 * training patches (memory grows as (H*W)^2).
 */
export type AttentionImpl =
  | "batched"
  | "loop"
  | "depthwise"
  | "masked-batched"
  | "masked-loop"
  | "masked-depthwise";
export const ATTENTION_IMPLS: AttentionImpl[] = [
  "batched",
  "loop",
  "depthwise",
  "masked-batched",
  "masked-loop",
  "masked-depthwise",
];

/**
 * Default implementation per backend, for training and for inference, chosen from bench/attention.bench.ts
 * (CPU time on one core; the table is in that file's header). wasm: "depthwise" (forward+backward 0.52x the
 * time of "batched" on 16x16 training patches, 0.68x on 32x32; forward on a 128x128 image 0.71x). Every other
 * backend: "batched" (fastest on the cpu backend; WebGL/WebGPU have real batched matMuls).
 */
export const ATTENTION_BY_BACKEND: Readonly<Record<string, {train: AttentionImpl; infer: AttentionImpl}>> = Object.freeze({
  wasm: {train: "depthwise", infer: "depthwise"},
});
export const FALLBACK_ATTENTION: AttentionImpl = "batched";

/** The implementation to use on the active backend for training or inference. */
export function defaultAttention(training: boolean): AttentionImpl {
  const choice = ATTENTION_BY_BACKEND[tf.getBackend()];
  return choice ? (training ? choice.train : choice.infer) : FALLBACK_ATTENTION;
}

/** torch.nn.LayerNorm's default eps. */
export const LN_EPS = 1e-5;

/** Logit added between tokens of different shift regions inside one window: SwinIR's value. */
export const SHIFT_MASK_NEG = -100;
/** Logit added between tokens of different windows in the masked implementations: exp underflows to exactly 0. */
export const WINDOW_MASK_NEG = -1e9;

// ---------------------------------------------------------------------------------------------------------
// Constants (one-hot matrices, masks, ones), built in JS and cached per backend

const constCache = new Map<string, tf.Tensor>();

function cachedConst<T extends tf.Tensor>(key: string, make: () => T): T {
  const k = `${tf.getBackend()}|${key}`;
  const hit = constCache.get(k);
  if (hit && !hit.isDisposed) return hit as T;
  const t = tf.keep(make());
  constCache.set(k, t);
  return t;
}

function onesConst(shape: number[]): tf.Tensor {
  return cachedConst(`ones:${shape.join("x")}`, () => tf.ones(shape));
}

// ---------------------------------------------------------------------------------------------------------
// Differentiable primitives tuned for tfjs-backend-wasm
//
// Two wasm facts shape this section: (1) a matMul runs on XNNPACK only when it is 2-D and neither operand is
// flagged as transposed; tfjs's own matMul gradient flags them (dx = dy W^T, dW = x^T dy) and so falls back
// to a naive loop 5-10x slower; (2) reductions over a non-innermost axis (bias gradients, LayerNorm's gamma)
// first transpose the whole tensor. Hence custom gradients: explicit transposes + plain matMuls, and column
// sums as ones[1, N] x [N, C] matMuls.

type CustomArgs = Array<tf.Tensor | tf.GradSaveFunc>;
type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];

/** Sum over rows of [N, C] as a 2-D matMul (XNNPACK on wasm). */
function colSum(x: tf.Tensor): tf.Tensor1D {
  const c = x.shape[x.rank - 1];
  const x2 = tf.reshape(x, [-1, c]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(onesConst([1, x2.shape[0]]) as tf.Tensor2D, x2), [c]);
}

const linearBiasFn = tf.customGrad((...args: CustomArgs) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  const gradFunc: GradFn = (dy, saved) => {
    const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
    const d = dy as tf.Tensor2D;
    return [tf.matMul(d, tf.transpose(sw)), tf.matMul(tf.transpose(sx), d), colSum(d)];
  };
  return {value: tf.add(tf.matMul(x, w), b), gradFunc};
});

const linearNoBiasFn = tf.customGrad((...args: CustomArgs) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  const gradFunc: GradFn = (dy, saved) => {
    const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
    const d = dy as tf.Tensor2D;
    return [tf.matMul(d, tf.transpose(sw)), tf.matMul(tf.transpose(sx), d)];
  };
  return {value: tf.matMul(x, w), gradFunc};
});

/** y = x W (+ b) on [N, Cin] x [Cin, Cout]; same values as layers.ts's dense, XNNPACK-friendly gradients. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  return (b ? linearBiasFn(x, w, b) : linearNoBiasFn(x, w)) as tf.Tensor2D;
}

const addBiasFn = tf.customGrad((...args: CustomArgs) => {
  const [x, b] = args as [tf.Tensor, tf.Tensor1D];
  return {value: tf.add(x, b), gradFunc: ((dy) => [dy, colSum(dy)]) as GradFn};
});

/** x + b with b [C] broadcast over all leading axes of x [..., C]; bias gradient as a matMul column sum. */
export function addBias<T extends tf.Tensor>(x: T, b: tf.Tensor): T {
  return addBiasFn(x, b) as T;
}

const layerNormFn = tf.customGrad((...args: CustomArgs) => {
  const [x, g, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
  const mean = tf.mean(x, 1, true);
  const xc = tf.sub(x, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), 1, true), LN_EPS));
  const y = tf.mul(xc, rstd);
  save([y, rstd, g]);
  const gradFunc: GradFn = (dy, saved) => {
    const [sy, sr, sg] = saved;
    const dyg = tf.mul(dy, sg);
    const dx = tf.mul(sr, tf.sub(tf.sub(dyg, tf.mean(dyg, 1, true)), tf.mul(sy, tf.mean(tf.mul(dyg, sy), 1, true))));
    return [dx, colSum(tf.mul(dy, sy)), colSum(dy)];
  };
  return {value: tf.add(tf.mul(y, g), b), gradFunc};
});

/**
 * LayerNorm over the last axis with affine gamma/beta [C] (values as layers.ts's layerNorm); the gradient is
 * written out so that every reduction runs along the innermost axis or as a matMul.
 */
export function layerNormC<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor): T {
  const c = x.shape[x.rank - 1];
  return tf.reshape(layerNormFn(tf.reshape(x, [-1, c]), gamma, beta), x.shape) as T;
}

// ---------------------------------------------------------------------------------------------------------
// Relative position bias

/**
 * SwinIR's relative_position_index: for tokens i, j of a w x w window (row-major), the row of the bias table
 * holding their bias: (dy + w - 1) * (2w - 1) + (dx + w - 1) with (dy, dx) = pos(i) - pos(j).
 */
export function relativePositionIndex(window: number): Int32Array {
  const t = window * window;
  const idx = new Int32Array(t * t);
  for (let i = 0; i < t; i++) {
    const yi = Math.floor(i / window);
    const xi = i % window;
    for (let j = 0; j < t; j++) {
      const yj = Math.floor(j / window);
      const xj = j % window;
      idx[i * t + j] = (yi - yj + window - 1) * (2 * window - 1) + (xi - xj + window - 1);
    }
  }
  return idx;
}

/** Fixed one-hot matrices: [T*T, (2w-1)^2] (row i*T + j selects index[i*T + j]) and its transpose. */
function relativePositionOneHots(window: number): {oh: tf.Tensor2D; ohT: tf.Tensor2D} {
  const idx = relativePositionIndex(window);
  const n = (2 * window - 1) ** 2;
  const oh = cachedConst(`onehot:${window}`, () => {
    const data = new Float32Array(idx.length * n);
    for (let r = 0; r < idx.length; r++) data[r * n + idx[r]] = 1;
    return tf.tensor2d(data, [idx.length, n]);
  });
  const ohT = cachedConst(`onehotT:${window}`, () => {
    const data = new Float32Array(idx.length * n);
    for (let r = 0; r < idx.length; r++) data[idx[r] * idx.length + r] = 1;
    return tf.tensor2d(data, [n, idx.length]);
  });
  return {oh, ohT};
}

/**
 * Bias [heads, T, T] from the learned table [(2w-1)^2, heads], SwinIR's table[relative_position_index].
 * - "onehot": table^T x one-hot^T, a matMul with a constant, differentiable on every backend (gather's
 *   gradient needs UnsortedSegmentSum, missing on wasm); both directions are untransposed 2-D matMuls, i.e.
 *   XNNPACK on wasm.
 * - "gather": tf.gather forward and a scatter-add written in JS backward (reads the gradient synchronously,
 *   so only for CPU-side backends). The cpu backend's matMul makes "onehot" cost more than the rest of a
 *   training step, and its UnsortedSegmentSum (gather's own gradient) is slower still.
 * - "auto" (default): "gather" on the cpu backend, "onehot" elsewhere.
 */
export function relativePositionBias(table: tf.Tensor, window: number, via: "auto" | "onehot" | "gather" = "auto"): tf.Tensor3D {
  const t = window * window;
  const heads = table.shape[1] as number;
  const n = (2 * window - 1) ** 2;
  if (via === "gather" || (via === "auto" && tf.getBackend() === "cpu")) {
    const index = relativePositionIndex(window);
    const idx = cachedConst(`relidx:${window}`, () => tf.tensor1d(index, "int32"));
    const gather = tf.customGrad((...args: CustomArgs) => {
      const [tt] = args as [tf.Tensor2D];
      const gradFunc: GradFn = (dy) => {
        const g = dy.dataSync();
        const out = new Float32Array(heads * n);
        for (let h = 0; h < heads; h++) for (let r = 0; r < t * t; r++) out[h * n + index[r]] += g[h * t * t + r];
        return [tf.tensor2d(out, [heads, n])];
      };
      return {value: tf.gather(tt, idx, 1), gradFunc};
    });
    return tf.reshape(gather(tf.transpose(table)), [heads, t, t]) as tf.Tensor3D;
  }
  const {oh, ohT} = relativePositionOneHots(window);
  const gather = tf.customGrad((...args: CustomArgs) => {
    const [tt] = args as [tf.Tensor2D];
    return {value: tf.matMul(tt, ohT), gradFunc: ((dy) => [tf.matMul(dy as tf.Tensor2D, oh)]) as GradFn};
  });
  return tf.reshape(gather(tf.transpose(table)), [heads, t, t]) as tf.Tensor3D;
}

// ---------------------------------------------------------------------------------------------------------
// Shifted-window mask

/**
 * Region labels [H*W] of the cyclically shifted grid (SwinIR's calculate_mask): after rolling by -shift, the
 * last `shift` rows/columns came from the opposite border, so each window is cut into up to 4 regions that
 * must not attend to each other.
 */
export function shiftRegionLabels(h: number, w: number, window: number, shift: number): Int32Array {
  const band = (i: number, n: number) => (i < n - window ? 0 : i < n - shift ? 1 : 2);
  const labels = new Int32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) labels[y * w + x] = band(y, h) * 3 + band(x, w);
  return labels;
}

/** Window index and in-window index of each grid position (row-major windows, row-major tokens). */
function windowOrder(h: number, w: number, window: number): {win: Int32Array; tok: Int32Array} {
  const nW = w / window;
  const win = new Int32Array(h * w);
  const tok = new Int32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      win[y * w + x] = Math.floor(y / window) * nW + Math.floor(x / window);
      tok[y * w + x] = (y % window) * window + (x % window);
    }
  }
  return {win, tok};
}

/**
 * Additive attention mask [nWin, T, T] for shifted windows on an h x w grid: 0 within a region,
 * SHIFT_MASK_NEG across regions. With shift 0 it is all zeros.
 */
export function shiftedWindowMaskData(h: number, w: number, window: number, shift: number): Float32Array {
  const t = window * window;
  const nWin = (h / window) * (w / window);
  const mask = new Float32Array(nWin * t * t);
  if (shift === 0) return mask;
  const labels = shiftRegionLabels(h, w, window, shift);
  const {win, tok} = windowOrder(h, w, window);
  const lab = new Int32Array(nWin * t);
  for (let p = 0; p < h * w; p++) lab[win[p] * t + tok[p]] = labels[p];
  for (let n = 0; n < nWin; n++) {
    for (let i = 0; i < t; i++) {
      for (let j = 0; j < t; j++) {
        if (lab[n * t + i] !== lab[n * t + j]) mask[(n * t + i) * t + j] = SHIFT_MASK_NEG;
      }
    }
  }
  return mask;
}

/** Masks are per image size and grow with it (4096 windows x 16 KB for a 512x512 input): keep only a few. */
const MASK_CACHE_SIZE = 6;
const maskCache = new Map<string, tf.Tensor4D>();

/** The mask as a cached tensor in layout [nWin, 1, T, T] (broadcast over heads); least recently used evicted. */
function shiftedWindowMask(h: number, w: number, window: number, shift: number): tf.Tensor4D {
  const key = `${tf.getBackend()}|${h}x${w}:${window}:${shift}`;
  const hit = maskCache.get(key);
  if (hit && !hit.isDisposed) {
    maskCache.delete(key);
    maskCache.set(key, hit);
    return hit;
  }
  const t = window * window;
  const m = tf.keep(tf.tensor4d(shiftedWindowMaskData(h, w, window, shift), [(h / window) * (w / window), 1, t, t]));
  maskCache.set(key, m);
  while (maskCache.size > MASK_CACHE_SIZE) {
    const [oldest, tensor] = maskCache.entries().next().value as [string, tf.Tensor4D];
    maskCache.delete(oldest);
    tensor.dispose();
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// Grid <-> windows, cyclic shift

/** torch.roll over H and W: out[y, x] = x[(y - dy) mod H, (x - dx) mod W]. Slice + concat (differentiable). */
export function roll(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  let y = x;
  const sy = ((dy % h) + h) % h;
  const sx = ((dx % w) + w) % w;
  if (sy !== 0) {
    y = tf.concat([tf.slice(y, [0, h - sy, 0, 0], [-1, sy, -1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, h - sy, -1, -1])], 1);
  }
  if (sx !== 0) {
    y = tf.concat([tf.slice(y, [0, 0, w - sx, 0], [-1, -1, sx, -1]), tf.slice(y, [0, 0, 0, 0], [-1, -1, w - sx, -1])], 2);
  }
  return y;
}

/** [B, H, W, C] -> [B*nWin*T, C] in window order (windows row-major, tokens row-major inside each). */
export function windowPartition(x: tf.Tensor4D, window: number): tf.Tensor2D {
  const [b, h, w, c] = x.shape;
  const t = tf.reshape(x, [b * (h / window), window, w / window, window * c]);
  return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [-1, c]) as tf.Tensor2D;
}

/** Inverse of windowPartition. */
export function windowReverse(x: tf.Tensor2D, b: number, h: number, w: number, window: number): tf.Tensor4D {
  const c = x.shape[1];
  const t = tf.reshape(x, [b * (h / window), w / window, window, window * c]);
  return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [b, h, w, c]) as tf.Tensor4D;
}

// ---------------------------------------------------------------------------------------------------------
// Attention

/** [n*T, heads*hd] -> [n*heads, T, hd] */
function splitHeads(x: tf.Tensor2D, n: number, t: number, heads: number): tf.Tensor3D {
  const hd = x.shape[1] / heads;
  if (heads === 1) return tf.reshape(x, [n, t, hd]);
  return tf.reshape(tf.transpose(tf.reshape(x, [n, t, heads, hd]), [0, 2, 1, 3]), [n * heads, t, hd]);
}

/** [n*heads, T, hd] -> [n*T, heads*hd] */
function mergeHeads(x: tf.Tensor3D, n: number, heads: number): tf.Tensor2D {
  const [, t, hd] = x.shape;
  if (heads === 1) return tf.reshape(x, [n * t, hd]);
  return tf.reshape(tf.transpose(tf.reshape(x, [n, heads, t, hd]), [0, 2, 1, 3]), [n * t, heads * hd]);
}

/** Cuts [M, n, k] into M tensors [n, k] by repeated halving: log2(M) full copies instead of M (wasm slices copy their input). */
function splitAll(x: tf.Tensor3D): tf.Tensor2D[] {
  const [m, n, k] = x.shape;
  if (m === 1) return [tf.reshape(x, [n, k])];
  const h = m >> 1;
  const [a, b] = tf.split(x, [h, m - h], 0) as [tf.Tensor3D, tf.Tensor3D];
  return [...splitAll(a), ...splitAll(b)];
}

function transposeLast2(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(x, [0, 2, 1]);
}

/** [M, n, k] x [M, k, p] by a loop of untransposed 2-D matMuls (the XNNPACK path on wasm). */
function loopMatMulRaw(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const as = splitAll(a);
  const bs = splitAll(b);
  return tf.stack(as.map((ai, i) => tf.matMul(ai, bs[i]))) as tf.Tensor3D;
}

const loopMatMulFn = tf.customGrad((...args: CustomArgs) => {
  const [a, b, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  save([a, b]);
  const gradFunc: GradFn = (dy, saved) => {
    const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
    const d = dy as tf.Tensor3D;
    return [loopMatMulRaw(d, transposeLast2(sb)), loopMatMulRaw(transposeLast2(sa), d)];
  };
  return {value: loopMatMulRaw(a, b), gradFunc};
});

/**
 * Softmax(q k^T + bias) v for stacks [M, T, hd] ("batched" / "loop" products). Scores are viewed as
 * [rows, R] with R = bias.size, so the bias broadcasts over the leading rows.
 */
function attendStack(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, bias: tf.Tensor1D, loop: boolean): tf.Tensor3D {
  const [m, t] = q.shape;
  const s = loop ? (loopMatMulFn(q, transposeLast2(k)) as tf.Tensor3D) : tf.matMul(q, k, false, true);
  const sb = addBias(tf.reshape(s, [-1, bias.shape[0]]), bias);
  const a = tf.reshape(tf.softmax(tf.reshape(sb, [m, t, t])), [m, t, t]) as tf.Tensor3D;
  return loop ? (loopMatMulFn(a, v) as tf.Tensor3D) : tf.matMul(a, v);
}

/** out[X, M, Q] = sum_y x[y, X, M] f[y, M, Q]: M independent products as one depthwise convolution. */
function dw(x: tf.Tensor3D, f: tf.Tensor3D): tf.Tensor3D {
  const [y, xs, m] = x.shape;
  const q = f.shape[2];
  const o = tf.depthwiseConv2d(tf.reshape(x, [1, y, xs, m]) as tf.Tensor4D, tf.reshape(f, [y, 1, m, q]) as tf.Tensor4D, 1, "valid");
  return tf.reshape(o, [xs, m, q]);
}

const dwAttentionFns = new Map<number, (...t: tf.Tensor[]) => tf.Tensor>();

/**
 * Attention for M = groups * R independent (window, head) channels in depthwise layouts, with a hand-written
 * gradient. Inputs: q [hd, T, M], k [hd, M, T], v [T, hd, M], bias [T, R*T] (layout [i, r, j], broadcast over
 * the `groups` leading factor of M). Output [hd, M, T]. Scores live as [i, M, j] so the softmax runs on the
 * innermost axis; one T x T-sized transpose forward and one backward, against about eight for depthwise
 * products wrapped around the generic [M, T, T] layout.
 */
function dwAttention(groups: number): (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, bias: tf.Tensor) => tf.Tensor3D {
  let fn = dwAttentionFns.get(groups);
  if (!fn) {
    fn = tf.customGrad((...args: CustomArgs) => {
      const [q, k, v, bias, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D, tf.GradSaveFunc];
      const [, t, m] = q.shape;
      const rt = bias.shape[1];
      const s = dw(q, k); // [i, M, j]
      const sb = tf.reshape(tf.add(tf.reshape(s, [t, groups, rt]), tf.reshape(bias, [t, 1, rt])), [t, m, t]);
      const a = tf.softmax(sb) as tf.Tensor3D;
      const o = dw(v, tf.transpose(a, [2, 1, 0])); // [hd, M, i]
      save([q, k, v, a]);
      const gradFunc: GradFn = (dy, saved) => {
        const [sq, sk, sv, sa] = saved as tf.Tensor3D[];
        const dO = dy as tf.Tensor3D; // [hd, M, i]
        const dA = dw(tf.transpose(dO, [0, 2, 1]), tf.transpose(sv, [1, 2, 0])); // [i, M, j]
        const dV = tf.transpose(dw(tf.transpose(dO, [2, 0, 1]), sa), [2, 0, 1]); // [j, hd, M]
        const dS = tf.mul(sa, tf.sub(dA, tf.sum(tf.mul(sa, dA), -1, true))) as tf.Tensor3D; // [i, M, j]
        const dBias =
          groups === 1
            ? tf.reshape(dS, [t, rt])
            : tf.reshape(
                tf.depthwiseConv2d(
                  tf.reshape(dS, [1, t, groups, rt]) as tf.Tensor4D,
                  onesConst([1, groups, rt, 1]) as tf.Tensor4D,
                  1,
                  "valid",
                ),
                [t, rt],
              );
        const dK = dw(tf.transpose(sq, [1, 0, 2]), dS); // [hd, M, j]
        const dQ = tf.transpose(dw(tf.transpose(dS, [2, 0, 1]), tf.transpose(sk, [2, 1, 0])), [2, 0, 1]); // [hd, i, M]
        return [dQ, dK, dV, dBias];
      };
      return {value: o, gradFunc};
    }) as (...t: tf.Tensor[]) => tf.Tensor;
    dwAttentionFns.set(groups, fn);
  }
  const f = fn;
  return (q, k, v, bias) => f(q, k, v, bias) as tf.Tensor3D;
}

/**
 * q, k, v [n*T, C] (n groups of T tokens, heads side by side in C) through dwAttention; `bias` [T, R*T] with
 * R = heads * (windows sharing a bias pattern). Returns [n*T, C].
 */
function attendDepthwise(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, bias: tf.Tensor2D, n: number, t: number, heads: number): tf.Tensor2D {
  const c = q.shape[1];
  const hd = c / heads;
  const m = n * heads;
  const r = bias.shape[1] / t;
  const q4 = tf.reshape(q, [n, t, heads, hd]);
  const qd = tf.reshape(tf.transpose(q4, [3, 1, 0, 2]), [hd, t, m]);
  const kf = tf.reshape(tf.transpose(tf.reshape(k, [n, t, heads, hd]), [3, 0, 2, 1]), [hd, m, t]);
  const vd = tf.reshape(tf.transpose(tf.reshape(v, [n, t, heads, hd]), [1, 3, 0, 2]), [t, hd, m]);
  const o = dwAttention(m / r)(qd, kf, vd, bias); // [hd, M, i]
  return tf.reshape(tf.transpose(tf.reshape(o, [hd, n, heads, t]), [1, 3, 2, 0]), [n * t, c]) as tf.Tensor2D;
}

export interface AttentionShape {
  batch: number;
  height: number;
  width: number;
  heads: number;
  window: number;
  shift: number;
}

/**
 * Multi-head attention inside (shifted) windows, on q, k, v given in window order [B*H*W, C]
 * (see windowPartition; q already scaled). `relBias`: [heads, T, T]. Returns [B*H*W, C] in window order.
 */
export function windowAttentionCore(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  relBias: tf.Tensor3D,
  s: AttentionShape,
  impl: AttentionImpl,
): tf.Tensor2D {
  const {batch, height, width, heads, window, shift} = s;
  const t = window * window;
  const nWin = (height / window) * (width / window);
  const n = batch * nWin;
  const mask = shift > 0 ? shiftedWindowMask(height, width, window, shift) : null; // [nWin, 1, T, T]

  if (impl === "depthwise") {
    // Bias in layout [i, r, j]: r = heads (shared by all windows) or (window, head) with the shift mask.
    const relT = tf.transpose(relBias, [1, 0, 2]); // [i, heads, j]
    const bias = mask
      ? tf.reshape(tf.add(tf.expandDims(relT, 1), tf.transpose(mask, [2, 0, 1, 3])), [t, nWin * heads * t])
      : tf.reshape(relT, [t, heads * t]);
    return attendDepthwise(q, k, v, bias as tf.Tensor2D, n, t, heads);
  }
  if (impl === "batched" || impl === "loop") {
    // Scores [B*nWin*heads, T, T] viewed as [B, nWin*heads*T*T] (with mask) or [B*nWin, heads*T*T].
    const bias = mask ? tf.reshape(tf.add(tf.expandDims(relBias, 0), mask), [-1]) : tf.reshape(relBias, [-1]);
    const o = attendStack(splitHeads(q, n, t, heads), splitHeads(k, n, t, heads), splitHeads(v, n, t, heads), bias as tf.Tensor1D, impl === "loop");
    return mergeHeads(o, n, heads);
  }
  // Masked: all L = nWin*T tokens of an image attend to each other; in window order the allowed pairs form the
  // diagonal blocks, so the full bias [heads, L, L] is each window's bias (+ shift mask) padded with WINDOW_MASK_NEG.
  const l = nWin * t;
  const rows: tf.Tensor[] = [];
  for (let w = 0; w < nWin; w++) {
    const blk = mask ? tf.add(relBias, tf.reshape(tf.slice(mask, [w, 0, 0, 0], [1, 1, t, t]), [1, t, t])) : relBias;
    rows.push(tf.pad(blk, [[0, 0], [0, 0], [w * t, (nWin - 1 - w) * t]], WINDOW_MASK_NEG));
  }
  const full = (nWin > 1 ? tf.concat(rows, 1) : rows[0]) as tf.Tensor3D; // [heads, L, L]
  if (impl === "masked-depthwise") {
    return attendDepthwise(q, k, v, tf.reshape(tf.transpose(full, [1, 0, 2]), [l, heads * l]) as tf.Tensor2D, batch, l, heads);
  }
  const o = attendStack(
    splitHeads(q, batch, l, heads),
    splitHeads(k, batch, l, heads),
    splitHeads(v, batch, l, heads),
    tf.reshape(full, [-1]) as tf.Tensor1D,
    impl === "masked-loop",
  );
  return mergeHeads(o, batch, heads);
}

export interface AttentionParams {
  /** [3, C, C]: the q, k and v projections ([Cin, Cout] each; SwinIR's qkv Linear, split and transposed). */
  qkvW: tf.Tensor;
  /** [3, C] */
  qkvB: tf.Tensor;
  /** [(2w-1)^2, heads] */
  relTable: tf.Tensor;
  projW: tf.Tensor;
  projB: tf.Tensor;
}

/**
 * The attention sub-layer of a Swin block on a (normalised) token grid [B, H, W, C], H and W multiples of the
 * window: cyclic shift by -shift, window MSA with relative position bias (+ shift mask), projection, shift back.
 */
export function windowAttention(
  x: tf.Tensor4D,
  p: AttentionParams,
  opts: {heads: number; window: number; shift: number; impl: AttentionImpl},
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const {heads, window, shift, impl} = opts;
  if (h % window !== 0 || w % window !== 0) throw new Error(`windowAttention: ${h}x${w} not a multiple of ${window}`);
  if (c % heads !== 0) throw new Error(`windowAttention: ${c} channels not divisible by ${heads} heads`);
  const xs = shift > 0 ? roll(x, -shift, -shift) : x;
  const tokens = windowPartition(xs, window);
  // q, k, v from the leading-axis blocks of the qkv weight [3, C, C] and bias [3, C]: contiguous slices of
  // small tensors instead of column slices of the [N, 3C] activation.
  const part = (i: number, t: tf.Tensor) =>
    t.rank === 3 ? tf.reshape(tf.slice(t, [i, 0, 0], [1, c, c]), [c, c]) : tf.reshape(tf.slice(t, [i, 0], [1, c]), [c]);
  const scale = 1 / Math.sqrt(c / heads);
  const q = tf.mul(linear(tokens, part(0, p.qkvW), part(0, p.qkvB)), scale) as tf.Tensor2D;
  const k = linear(tokens, part(1, p.qkvW), part(1, p.qkvB));
  const v = linear(tokens, part(2, p.qkvW), part(2, p.qkvB));
  const bias = relativePositionBias(p.relTable, window);
  const o = windowAttentionCore(q, k, v, bias, {batch: b, height: h, width: w, heads, window, shift}, impl);
  const y = windowReverse(linear(o, p.projW, p.projB), b, h, w, window);
  return shift > 0 ? roll(y, shift, shift) : y;
}

// ---------------------------------------------------------------------------------------------------------
// MLP and the Swin block

/** Exact (erf) GELU, as torch.nn.GELU's default. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

export interface MlpParams {
  fc1W: tf.Tensor;
  fc1B: tf.Tensor;
  fc2W: tf.Tensor;
  fc2B: tf.Tensor;
}

export function mlp(x: tf.Tensor2D, p: MlpParams): tf.Tensor2D {
  const hdn = gelu(linear(x, p.fc1W, p.fc1B)) as tf.Tensor2D;
  return linear(hdn, p.fc2W, p.fc2B);
}

export interface SwinBlockParams {
  norm1G: tf.Tensor;
  norm1B: tf.Tensor;
  attn: AttentionParams;
  norm2G: tf.Tensor;
  norm2B: tf.Tensor;
  mlp: MlpParams;
}

/**
 * One Swin transformer block (SwinIR's SwinTransformerBlock, no stochastic depth):
 * x + W-MSA(LN(x)), then x + MLP(LN(x)). LayerNorm eps 1e-5 (torch default).
 */
export function swinBlock(
  x: tf.Tensor4D,
  p: SwinBlockParams,
  opts: {heads: number; window: number; shift: number; impl: AttentionImpl},
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const x1 = tf.add(x, windowAttention(layerNormC(x, p.norm1G, p.norm1B), p.attn, opts)) as tf.Tensor4D;
  const flat = tf.reshape(x1, [b * h * w, c]) as tf.Tensor2D;
  return tf.reshape(tf.add(flat, mlp(layerNormC(flat, p.norm2G, p.norm2B), p.mlp)), [b, h, w, c]) as tf.Tensor4D;
}

/** Trainable scalars of one Swin block with C channels. */
export function swinBlockParamCount(c: number, heads: number, window: number, mlpRatio: number): number {
  const hidden = Math.round(c * mlpRatio);
  const norms = 2 * (2 * c);
  const attn = c * 3 * c + 3 * c + (2 * window - 1) ** 2 * heads + c * c + c;
  const mlpN = c * hidden + hidden + hidden * c + c;
  return norms + attn + mlpN;
}

/**
 * FLOPs (2 per multiply-add) of one Swin block per token: qkv, projection and MLP linears, plus q k^T and a v
 * within the window (T = w^2 keys per query, all heads together C wide). Norms, softmax, GELU, bias and
 * residual additions (a few dozen FLOPs per channel) are not counted, as in SwinIR's own flops().
 */
export function swinBlockFlopsPerToken(c: number, window: number, mlpRatio: number): number {
  const hidden = Math.round(c * mlpRatio);
  const t = window * window;
  return 2 * (3 * c * c + c * c + 2 * c * hidden + 2 * t * c);
}
