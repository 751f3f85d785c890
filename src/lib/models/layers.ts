/**
 * Shared building blocks for the lab's models (teacher and student), written so they train on every TF.js
 * backend, including wasm in Node, which lacks Conv2DBackpropFilter and the depthwise-conv gradients.
 *
 * - `conv2d`: stride-1 'same' KxK convolution whose gradients are themselves forward convolutions
 *   (tf.customGrad). NOTES 1: on wasm this is the only way to train convs, and it runs at about 11 GFLOP/s
 *   against 1.5 GFLOP/s for the native input gradient. 1x1 convs go through a 2-D matMul instead.
 * - Pixel (un)shuffle as reshape + transpose (DepthToSpace has no gradient on any backend), rank <= 4 so
 *   every backend's Transpose kernel accepts it.
 * - Dense layers as 2-D matMuls (the gradient of a broadcast matMul throws in tfjs 4.22, tfjs#8721).
 * - Parameters live in a `Params` store of named tf.Variables, initialised from a seeded JS random source so
 *   initial weights do not depend on the backend's RNG.
 */
import * as tf from "@tensorflow/tfjs";

/** Anything that yields standard-normal numbers (src/lib/rng.ts's generators satisfy it). */
export interface NormalSource {
  normal(): number;
}

export type Init =
  | {kind: "zeros"}
  | {kind: "ones"}
  | {kind: "he"; fanIn: number; gain?: number}
  | {kind: "normal"; std: number};

let paramsInstances = 0;

/**
 * A named set of trainable variables with deterministic initialisation. Names are stable keys for checkpoints.
 * TF.js variable names must be unique per process, so each store prefixes its own ("p<k>/"); `byParamName`
 * maps gradients keyed by those back to parameter names.
 */
export class Params {
  readonly vars = new Map<string, tf.Variable>();
  readonly scope: string;

  constructor(private readonly rng: NormalSource) {
    this.scope = `p${paramsInstances++}`;
  }

  /** Re-keys a map from TF.js variable names (as tf.variableGrads returns) to parameter names. */
  byParamName<T>(byVarName: Record<string, T>): Record<string, T> {
    const out: Record<string, T> = {};
    const pre = this.scope + "/";
    for (const [k, v] of Object.entries(byVarName)) if (k.startsWith(pre)) out[k.slice(pre.length)] = v;
    return out;
  }

  add(name: string, shape: number[], init: Init): tf.Variable {
    if (this.vars.has(name)) throw new Error(`Params: duplicate parameter name "${name}"`);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (init.kind === "ones") data.fill(1);
    else if (init.kind === "he" || init.kind === "normal") {
      const std = init.kind === "he" ? (init.gain ?? Math.SQRT2) / Math.sqrt(init.fanIn) : init.std;
      for (let i = 0; i < size; i++) data[i] = std * this.rng.normal();
    }
    // tf.variable copies its initial value: the temporary is released, or every parameter leaks one tensor.
    const init0 = tf.tensor(data, shape, "float32");
    const v = tf.variable(init0, true, `${this.scope}/${name}`);
    init0.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`Params: no parameter named "${name}"`);
    return v;
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  /** Number of scalar parameters, optionally only those whose name starts with `prefix`. */
  count(prefix = ""): number {
    let n = 0;
    for (const [k, v] of this.vars) if (k.startsWith(prefix)) n += v.size;
    return n;
  }

  list(prefix = ""): tf.Variable[] {
    return [...this.vars.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Convolution with gradients as forward convolutions

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

// Spatial flip of a [K,K,Ci,Co] filter as a gather on the flattened K*K axis (plain tf.reverse is several
// times slower on wasm for these shapes in our measurements).
function flipFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const idx = tf.tensor1d(
    Array.from({length: kh * kw}, (_, i) => kh * kw - 1 - i),
    "int32",
  );
  return tf.reshape(tf.gather(tf.reshape(w, [kh * kw, ci * co]), idx), [kh, kw, ci, co]);
}

function makeFastConv(inputGrad: boolean) {
  return tf.customGrad(((x: tf.Tensor4D, w: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([x, w]);
    const value = tf.conv2d(x, w, 1, "same");
    const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [kh, kw] = ws.shape;
      // Input gradient: correlation of dy with the spatially flipped, in/out-swapped filter.
      const dx = inputGrad
        ? tf.conv2d(dy, tf.transpose(flipFilter(ws), [0, 1, 3, 2]) as tf.Tensor4D, 1, "same")
        : tf.zerosLike(xs);
      // Filter gradient: a 'valid' conv of the padded input (channels as batch) by dy (batch as in-channels).
      const ph = (kh - 1) / 2;
      const pw = (kw - 1) / 2;
      const xp = tf.pad(xs, [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ]);
      const dwT = tf.conv2d(
        tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D,
        tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D,
        1,
        "valid",
      );
      return [dx, tf.transpose(dwT, [1, 2, 0, 3])];
    };
    return {value, gradFunc};
  }) as unknown as CustomGradFn);
}

const fastConv = makeFastConv(true);
const fastConvNoInputGrad = makeFastConv(false);

export interface ConvOptions {
  /**
   * false: the input is data (no parameter upstream), so its gradient is skipped (returned as zeros), saving one
   * convolution per step. Wrong gradients result if the input does depend on parameters. Ignored for 1x1
   * kernels (a matMul, whose input gradient is cheap).
   */
  inputGrad?: boolean;
}

/**
 * Stride-1 'same' convolution. w: [K,K,Cin,Cout] with odd K (K = 1 uses a matMul); optional bias [Cout].
 * Differentiable on wasm and cpu with forward-conv gradients.
 */
export function conv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D | tf.Variable,
  b?: tf.Tensor1D | tf.Variable,
  opts: ConvOptions = {},
): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape as [number, number, number, number];
  if (kh % 2 !== 1 || kw % 2 !== 1) throw new Error(`conv2d: kernel ${kh}x${kw} must be odd`);
  if (x.shape[3] !== ci) throw new Error(`conv2d: input has ${x.shape[3]} channels, filter expects ${ci}`);
  let y: tf.Tensor4D;
  if (kh === 1 && kw === 1) {
    const [n, h, wd] = x.shape;
    y = tf.reshape(tf.matMul(tf.reshape(x, [n * h * wd, ci]), tf.reshape(w, [ci, co])), [n, h, wd, co]);
  } else {
    y = (opts.inputGrad === false ? fastConvNoInputGrad : fastConv)(x, w) as tf.Tensor4D;
  }
  return b ? (tf.add(y, b) as tf.Tensor4D) : y;
}

/** y = x W + b on a 2-D input (2-D matMul keeps the gradient on every backend). */
export function dense(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, w as tf.Tensor2D) as tf.Tensor2D;
  return b ? (tf.add(y, b) as tf.Tensor2D) : y;
}

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * Group normalisation over (H, W, C/G) per sample. gamma/beta: [C]. Computed on a 4-D view
 * [N, H*W, G, C/G] so every backend's broadcasting kernels accept it.
 */
export function groupNorm(
  x: tf.Tensor4D,
  groups: number,
  gamma?: tf.Tensor1D | tf.Variable,
  beta?: tf.Tensor1D | tf.Variable,
  eps = 1e-5,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels not divisible into ${groups} groups`);
  const xr = tf.reshape(x, [n, h * w, groups, c / groups]);
  const {mean, variance} = tf.moments(xr, [1, 3], true);
  let y = tf.reshape(tf.mul(tf.sub(xr, mean), tf.rsqrt(tf.add(variance, eps))), [n, h, w, c]) as tf.Tensor4D;
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return y;
}

/** Layer normalisation over the last axis (the student's token norm). */
export function layerNorm(
  x: tf.Tensor,
  gamma?: tf.Tensor1D | tf.Variable,
  beta?: tf.Tensor1D | tf.Variable,
  eps = 1e-5,
): tf.Tensor {
  const {mean, variance} = tf.moments(x, [x.rank - 1], true);
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return y;
}

/** Feature-wise affine modulation: x * (1 + scale) + shift, with scale/shift [N, C] broadcast over H, W. */
export function film(x: tf.Tensor4D, scale: tf.Tensor2D, shift: tf.Tensor2D): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const s = tf.reshape(scale, [n, 1, 1, c]);
  const t = tf.reshape(shift, [n, 1, 1, c]);
  return tf.add(tf.mul(x, tf.add(s, 1)), t);
}

/**
 * [N, H, W, C] -> [N, H/r, W/r, C r^2]; output channel index = (dy * r + dx) * C + c for the pixel at
 * (y*r + dy, x*r + dx). Reshape + 4-D transpose only.
 */
export function pixelUnshuffle(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h % r !== 0 || w % r !== 0) throw new Error(`pixelUnshuffle: ${h}x${w} not divisible by ${r}`);
  const hb = h / r;
  const wb = w / r;
  // Rows split as (hb, dy); each row's W*C values split as (wb, dx*C + c).
  const t = tf.reshape(x, [n * hb, r, wb, r * c]);
  return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [n, hb, wb, r * r * c]);
}

/** Inverse of pixelUnshuffle: [N, h, w, C r^2] -> [N, h r, w r, C]. */
export function pixelShuffle(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [n, hb, wb, crr] = x.shape;
  if (crr % (r * r) !== 0) throw new Error(`pixelShuffle: ${crr} channels not divisible by ${r * r}`);
  const c = crr / (r * r);
  const t = tf.reshape(x, [n * hb, wb, r, r * c]);
  return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [n, hb * r, wb * r, c]);
}

/** Sinusoidal embedding of scalar positions (e.g. a diffusion step), [N] -> [N, dim], as in DDPM/Transformer. */
export function sinusoidalEmbedding(positions: ArrayLike<number>, dim: number, maxPeriod = 10000): tf.Tensor2D {
  if (dim % 2 !== 0) throw new Error(`sinusoidalEmbedding: dim ${dim} must be even`);
  const half = dim / 2;
  const n = positions.length;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < half; j++) {
      const freq = Math.exp((-Math.log(maxPeriod) * j) / half);
      const a = positions[i] * freq;
      out[i * dim + j] = Math.cos(a);
      out[i * dim + half + j] = Math.sin(a);
    }
  }
  return tf.tensor2d(out, [n, dim]);
}

const stopGrad = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as CustomGradFn);

/** Identity whose gradient is zero (TF.js has no stopGradient op). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGrad(x) as T;
}

/** MATLAB's cubic convolution kernel (a = -0.5), as used by imresize 'bicubic'. */
function cubic(x: number, a = -0.5): number {
  const t = Math.abs(x);
  if (t <= 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
  if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
  return 0;
}

/**
 * Constant [5,5,C,C r^2] filter that maps an LR image (symmetric-padded by 2) to its bicubic x r upsampling
 * in pixel-unshuffled layout (channel (dy*r + dx)*C + c). Output sub-pixel d of LR pixel i sits at LR
 * coordinate i + (2d + 1 - r) / (2r) (half-pixel centres, as MATLAB imresize).
 */
export function bicubicUnshuffleFilter(r: number, channels: number): tf.Tensor4D {
  const K = 5;
  const w1 = (d: number): number[] => {
    const o = (2 * d + 1 - r) / (2 * r);
    return Array.from({length: K}, (_, k) => cubic(o - (k - 2)));
  };
  const taps = Array.from({length: r}, (_, d) => {
    const w = w1(d);
    const s = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / s);
  });
  const co = channels * r * r;
  const data = new Float32Array(K * K * channels * co);
  for (let ky = 0; ky < K; ky++)
    for (let kx = 0; kx < K; kx++)
      for (let dy = 0; dy < r; dy++)
        for (let dx = 0; dx < r; dx++)
          for (let c = 0; c < channels; c++)
            data[((ky * K + kx) * channels + c) * co + (dy * r + dx) * channels + c] = taps[dy][ky] * taps[dx][kx];
  return tf.tensor4d(data, [K, K, channels, co]);
}

/** Bicubic x r upsampling of x [N,h,w,C] in unshuffled layout [N,h,w,C r^2], via a constant filter. No gradient path is intended. */
export function bicubicUpsampleUnshuffled(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const xp = tf.mirrorPad(x, [
      [0, 0],
      [2, 2],
      [2, 2],
      [0, 0],
    ], "symmetric");
    return tf.conv2d(xp, filter, 1, "valid");
  });
}
