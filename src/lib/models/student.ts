/**
 * The student: a SwinIR-light-style transformer for x4 super-resolution (Liang et al., "SwinIR", ICCVW 2021,
 * Fig. 2, lightweight variant), written top to bottom in the order of that figure:
 *
 *   LR --(- rgbMean)--> shallow 3x3 conv ----------------------------------------------+ (global residual)
 *        [patch norm] -> K x RSTB [ D x Swin block -> 3x3 conv, + group input ] -> LN   |
 *        -> 3x3 conv (conv_after_body) ------------------------------------------------+
 *        -> 3x3 conv to 3*s*s channels -> pixel shuffle (reshape/transpose) -> crop -> + rgbMean, bilinear(LR) or bicubic(LR)
 *
 * Swin block (src/lib/models/swin.ts): x + W-MSA(LN(x)) with learned relative position bias (odd blocks use
 * windows shifted by w/2 and SwinIR's attention mask), then x + MLP(LN(x)) with GELU and hidden width
 * mlpRatio * C.
 *
 * Differences from SwinIR, each a documented lab default:
 * - `imageResidual`: SwinIR-light adds only the RGB mean back; the `tiny` config instead adds the bilinearly
 *   upsampled LR image (VDSR-style residual learning), so a small model trained for an hour starts from a
 *   sensible image and spends its capacity on detail. `swinir-light` keeps SwinIR's choice.
 * - No stochastic depth (SwinIR trains with drop_path 0.1); `training` only selects the attention
 *   implementation.
 * - Inputs of any size: reflect-padded at the bottom/right to a multiple of the window (as SwinIR's
 *   check_image_size), the output cropped back to scale * input size. The shift mask is always applied on odd
 *   blocks, as in SwinIR at test time, even when the padded input is a single window.
 * - Weights are NHWC/TF layouts ([K,K,Cin,Cout] convs, [Cin,Cout] linears, qkv as [3, Cin, Cout]); pixel
 *   shuffle channel order is layers.ts's ((dy*s+dx)*3 + c), not PyTorch's (c*s*s + dy*s + dx).
 *
 * Initialisation (seeded, independent of the backend's RNG): linear weights and the relative-position tables
 * N(0, 0.02^2) with zero biases (SwinIR's trunc_normal(std=.02), whose +-2 absolute bounds never bite at that
 * std); LayerNorm weight 1, bias 0; conv weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's
 * default Conv2d init, which SwinIR keeps). One rng.ts stream per student (`createRng(seed).fork("student-init")`), consumed in parameter order.
 *
 * fp32 only: SwinIR's activations are known to overflow fp16 (NOTES 4); `checkFinite` guards outputs.
 */
import * as tf from "@tensorflow/tfjs";
import {assignVariables, decodeCheckpoint, type DecodedCheckpoint} from "../checkpoint.js";
import {createRng} from "../rng.js";
import {bicubicUnshuffleFilter, bicubicUpsampleUnshuffled, conv2d, pixelShuffle} from "./layers.js";
import {
  addBias,
  defaultAttention,
  layerNormC,
  swinBlock,
  swinBlockFlopsPerToken,
  swinBlockParamCount,
  type AttentionImpl,
  type SwinBlockParams,
} from "./swin.js";

export interface StudentConfig {
  /** Channels of every token/feature map (SwinIR's embed_dim). */
  embedDim: number;
  /** Number of Swin blocks in each residual group; the length is the number of groups. */
  depths: number[];
  /** Attention heads (same in every block); embedDim must be divisible by it. */
  heads: number;
  /** Window side in LR pixels; inputs are padded to a multiple of it. */
  window: number;
  /** MLP hidden width = round(mlpRatio * embedDim). */
  mlpRatio: number;
  /** Upscaling factor. */
  scale: number;
  /** Added to the pixel-shuffled output: SwinIR's RGB mean ("none"), the bilinearly upsampled input, or the
   *  input upsampled by exact MATLAB bicubic (the teacher's predictor base; layers.ts bicubicUpsampleUnshuffled). */
  imageResidual: "none" | "bilinear" | "bicubic";
  /** Subtracted from the input before the shallow conv (SwinIR: DIV2K mean (0.4488, 0.4371, 0.4040)). */
  rgbMean: [number, number, number];
  /** LayerNorm right after the shallow conv (SwinIR's patch_norm = True). */
  patchNorm: boolean;
  /**
   * Start the upsampler conv at zero (a lab variant; absent = PyTorch's default uniform init), so an untrained
   * network outputs exactly its image residual and training starts from that base instead of 15 dB below it.
   */
  zeroUpsampler?: boolean;
}

const DIV2K_MEAN: [number, number, number] = [0.4488, 0.4371, 0.404];

export const STUDENT_CONFIGS: Record<"tiny" | "tiny-bicubic" | "tiny-bicubic-zero" | "swinir-light", StudentConfig> = {
  /**
   * Lab default sized to train on one wasm core in about an hour (batch 16 of 16x16 LR patches): 4 Swin
   * blocks of width 32 in 2 groups, 2 heads of width 16. Two heads rather than SwinIR-light's head width of 10:
   * on wasm the attention cost is dominated by element-wise passes over the [windows x heads, 64, 64]
   * attention maps, so fewer, wider heads train about 1.4x faster per step at equal FLOPs.
   */
  tiny: {
    embedDim: 32,
    depths: [2, 2],
    heads: 2,
    window: 8,
    mlpRatio: 2,
    scale: 4,
    imageResidual: "bilinear",
    rgbMean: DIV2K_MEAN,
    patchNorm: true,
  },
  /**
   * `tiny` with an exact-bicubic image residual (a lab variant, not SwinIR's): the network starts from the
   * same base as the teacher's predictor, so the comparison with the teacher is not handicapped by a weaker
   * interpolation; same parameters and FLOPs as `tiny`.
   */
  get "tiny-bicubic"(): StudentConfig {
    return {...STUDENT_CONFIGS.tiny, imageResidual: "bicubic"};
  },
  /** `tiny-bicubic` whose upsampler conv starts at zero: step 0 is exact bicubic (same parameters and FLOPs). */
  get "tiny-bicubic-zero"(): StudentConfig {
    return {...STUDENT_CONFIGS["tiny-bicubic"], zeroUpsampler: true};
  },
  /** SwinIR-light x4 as published (official code: 929,628 parameters; see studentParamCount). */
  "swinir-light": {
    embedDim: 60,
    depths: [6, 6, 6, 6],
    heads: 6,
    window: 8,
    mlpRatio: 2,
    scale: 4,
    imageResidual: "none",
    rgbMean: DIV2K_MEAN,
    patchNorm: true,
  },
};

export interface ApplyOptions {
  /** Training mode (default false): only selects the attention implementation (swin.ts defaultAttention). */
  training?: boolean;
  /** Overrides the attention implementation (all give equal results within 1e-5). */
  attention?: AttentionImpl;
}

export interface Student {
  readonly config: StudentConfig;
  /** Trainable variables keyed by SwinIR-style names ("layers.0.residual_group.blocks.1.attn.qkv.weight"). */
  readonly params: Record<string, tf.Variable>;
  /** LR [N, h, w, 3] in [0, 1] -> SR [N, scale*h, scale*w, 3] (not clipped). */
  apply(lr: tf.Tensor4D, opts?: ApplyOptions): tf.Tensor4D;
  paramCount(): number;
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------------------
// Configuration arithmetic: parameters and FLOPs, counted analytically

function validate(c: StudentConfig): void {
  if (c.embedDim % c.heads !== 0) throw new Error(`student: embedDim ${c.embedDim} not divisible by heads ${c.heads}`);
  if (c.depths.length === 0 || c.depths.some((d) => d < 1 || !Number.isInteger(d)))
    throw new Error(`student: depths must be positive integers, got [${c.depths}]`);
  if (c.window < 1 || c.scale < 1 || !Number.isInteger(c.window) || !Number.isInteger(c.scale))
    throw new Error("student: window and scale must be positive integers");
}

const conv3Params = (cin: number, cout: number) => 9 * cin * cout + cout;

/** Trainable scalars of a student with this config, by formula (equals createStudent(...).paramCount()). */
export function studentParamCount(c: StudentConfig): number {
  const e = c.embedDim;
  let n = conv3Params(3, e) + (c.patchNorm ? 2 * e : 0);
  for (const d of c.depths) n += d * swinBlockParamCount(e, c.heads, c.window, c.mlpRatio) + conv3Params(e, e);
  n += 2 * e; // final LayerNorm
  n += conv3Params(e, e); // conv_after_body
  n += conv3Params(e, 3 * c.scale * c.scale); // upsampler conv
  return n;
}

/**
 * FLOPs per output (HR) pixel for an lrH x lrW input, counting 2 FLOPs per multiply-add of every convolution,
 * linear layer and attention product (q k^T and a v over the w^2 keys of each window), on the padded input
 * (padding is work the real output pixels pay for). Not counted: LayerNorm, softmax, GELU, bias and residual
 * additions, the bilinear residual, padding and reshapes (together a few percent). SwinIR's own flops() counts
 * the same terms (plus norms) in multiply-adds, i.e. half of this figure.
 */
export function studentFlopsPerOutputPixel(c: StudentConfig, lrH: number, lrW: number): number {
  const hp = Math.ceil(lrH / c.window) * c.window;
  const wp = Math.ceil(lrW / c.window) * c.window;
  const e = c.embedDim;
  const convMacsPerPixel = 9 * (3 * e + c.depths.length * e * e + e * e + e * 3 * c.scale * c.scale);
  const blocks = c.depths.reduce((a, b) => a + b, 0);
  const perLrPixel = 2 * convMacsPerPixel + blocks * swinBlockFlopsPerToken(e, c.window, c.mlpRatio);
  return (perLrPixel * hp * wp) / (c.scale * c.scale * lrH * lrW);
}

// ---------------------------------------------------------------------------------------------------------
// Seeded initialisation

type InitKind = {kind: "zeros"} | {kind: "ones"} | {kind: "normal"; std: number} | {kind: "uniform"; bound: number};

let studentCounter = 0;

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** Pads bottom/right by (ph, pw) with reflection; repeats the reflection when the pad exceeds the size - 1. */
function reflectPad(x: tf.Tensor4D, ph: number, pw: number): tf.Tensor4D {
  let y = x;
  while (ph > 0 || pw > 0) {
    const [, h, w] = y.shape;
    // 'reflect' needs pad <= size - 1; a 1-pixel dimension can only be repeated ('symmetric').
    const sh = h > 1 ? Math.min(ph, h - 1) : Math.min(ph, h);
    const sw = w > 1 ? Math.min(pw, w - 1) : Math.min(pw, w);
    const mode = (ph > 0 && h === 1) || (pw > 0 && w === 1) ? "symmetric" : "reflect";
    y = tf.mirrorPad(y, [[0, 0], [0, sh], [0, sw], [0, 0]], mode);
    ph -= sh;
    pw -= sw;
  }
  return y;
}

/** Number of non-finite (NaN or +-Inf) entries. */
export function nonFiniteCount(t: tf.Tensor): number {
  return tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(t)), "int32")).dataSync()[0]);
}

/** One filter per scale, kept for the process: a constant, shared by every student that uses it. */
const bicubicFilters = new Map<number, tf.Tensor4D>();

/** MATLAB-bicubic x s upsampling of `lr` (symmetric borders), the `bicubic` image residual. */
function bicubicBase(lr: tf.Tensor4D, s: number): tf.Tensor4D {
  const [, h, w] = lr.shape;
  if (h < 2 || w < 2) throw new Error(`student: the bicubic image residual needs an input of at least 2 x 2 pixels, got ${w} x ${h}`);
  let f = bicubicFilters.get(s);
  if (!f || f.isDisposed) {
    f = tf.keep(bicubicUnshuffleFilter(s, 3));
    bicubicFilters.set(s, f);
  }
  return pixelShuffle(bicubicUpsampleUnshuffled(lr, f), s);
}

/** Throws if `t` holds any NaN or Inf (the fp16-overflow failure SwinIR is known for; cheap to check). */
export function checkFinite(t: tf.Tensor, label = "tensor"): void {
  const n = nonFiniteCount(t);
  if (n > 0) throw new Error(`${label}: ${n} of ${t.size} values are NaN or Inf`);
}

// ---------------------------------------------------------------------------------------------------------
// The model

export function createStudent(config: StudentConfig, seed: number): Student {
  validate(config);
  const cfg: StudentConfig = {...config, depths: [...config.depths], rgbMean: [...config.rgbMean]};
  const rng = createRng(seed).fork("student-init");
  const uid = studentCounter++;
  const params: Record<string, tf.Variable> = {};

  const add = (name: string, shape: number[], init: InitKind): tf.Variable => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (init.kind === "ones") data.fill(1);
    else if (init.kind === "normal") for (let i = 0; i < size; i++) data[i] = rng.normal(0, init.std);
    else if (init.kind === "uniform") for (let i = 0; i < size; i++) data[i] = rng.uniform(-init.bound, init.bound);
    // tf.variable copies its initial value: release the temporary, or every parameter leaks one tensor.
    const init0 = tf.tensor(data, shape, "float32");
    const v = tf.variable(init0, true, `student${uid}/${name}`);
    init0.dispose();
    params[name] = v;
    return v;
  };
  const conv3 = (name: string, cin: number, cout: number, zero = false) => {
    const init: InitKind = zero ? {kind: "zeros"} : {kind: "uniform", bound: 1 / Math.sqrt(9 * cin)};
    return {w: add(`${name}.weight`, [3, 3, cin, cout], init), b: add(`${name}.bias`, [cout], init)};
  };
  const norm = (name: string, c: number) => ({
    g: add(`${name}.weight`, [c], {kind: "ones"}),
    b: add(`${name}.bias`, [c], {kind: "zeros"}),
  });
  const lin = (name: string, cin: number, cout: number) => ({
    w: add(`${name}.weight`, [cin, cout], {kind: "normal", std: 0.02}),
    b: add(`${name}.bias`, [cout], {kind: "zeros"}),
  });

  const e = cfg.embedDim;
  const hidden = Math.round(e * cfg.mlpRatio);
  const convFirst = conv3("conv_first", 3, e);
  const patchNorm = cfg.patchNorm ? norm("patch_embed.norm", e) : null;
  const groups = cfg.depths.map((depth, g) => {
    const blocks: SwinBlockParams[] = [];
    for (let i = 0; i < depth; i++) {
      const p = `layers.${g}.residual_group.blocks.${i}`;
      const n1 = norm(`${p}.norm1`, e);
      const table = add(`${p}.attn.relative_position_bias_table`, [(2 * cfg.window - 1) ** 2, cfg.heads], {
        kind: "normal",
        std: 0.02,
      });
      const qkv = {
        w: add(`${p}.attn.qkv.weight`, [3, e, e], {kind: "normal", std: 0.02}),
        b: add(`${p}.attn.qkv.bias`, [3, e], {kind: "zeros"}),
      };
      const proj = lin(`${p}.attn.proj`, e, e);
      const n2 = norm(`${p}.norm2`, e);
      const fc1 = lin(`${p}.mlp.fc1`, e, hidden);
      const fc2 = lin(`${p}.mlp.fc2`, hidden, e);
      blocks.push({
        norm1G: n1.g,
        norm1B: n1.b,
        attn: {qkvW: qkv.w, qkvB: qkv.b, relTable: table, projW: proj.w, projB: proj.b},
        norm2G: n2.g,
        norm2B: n2.b,
        mlp: {fc1W: fc1.w, fc1B: fc1.b, fc2W: fc2.w, fc2B: fc2.b},
      });
    }
    return {blocks, conv: conv3(`layers.${g}.conv`, e, e)};
  });
  const finalNorm = norm("norm", e);
  const convAfterBody = conv3("conv_after_body", e, e);
  const upsample = conv3("upsample.0", e, 3 * cfg.scale * cfg.scale, cfg.zeroUpsampler ?? false);

  const apply = (lr: tf.Tensor4D, opts: ApplyOptions = {}): tf.Tensor4D =>
    tf.tidy(() => {
      if (lr.rank !== 4 || lr.shape[3] !== 3) throw new Error(`student.apply: expected [N, h, w, 3], got [${lr.shape}]`);
      const impl = opts.attention ?? defaultAttention(opts.training ?? false);
      const [n, h, w] = lr.shape;
      const s = cfg.scale;
      const win = cfg.window;
      const ph = (win - (h % win)) % win;
      const pw = (win - (w % win)) % win;
      const mean = tf.tensor1d(cfg.rgbMean);
      const x = tf.sub(ph || pw ? reflectPad(lr, ph, pw) : lr, mean) as tf.Tensor4D;

      // Shallow feature extraction.
      // Conv biases go through addBias: its gradient is a matMul column sum (a non-innermost reduction on wasm
      // would first transpose the whole activation).
      const conv = (u: tf.Tensor4D, p: {w: tf.Variable; b: tf.Variable}) => addBias(conv2d(u, p.w), p.b);
      const shallow = conv(x, convFirst);
      // Deep feature extraction: residual Swin transformer blocks (RSTB).
      let t = patchNorm ? layerNormC(shallow, patchNorm.g, patchNorm.b) : shallow;
      for (const g of groups) {
        let u = t;
        g.blocks.forEach((bp, i) => {
          u = swinBlock(u, bp, {heads: cfg.heads, window: win, shift: i % 2 === 1 ? win >> 1 : 0, impl});
        });
        t = tf.add(conv(u, g.conv), t) as tf.Tensor4D;
      }
      t = layerNormC(t, finalNorm.g, finalNorm.b);
      const deep = tf.add(conv(t, convAfterBody), shallow) as tf.Tensor4D;
      // Reconstruction: pixel-shuffle-direct upsampler.
      let y = pixelShuffle(conv(deep, upsample), s);
      if (ph || pw) y = tf.slice(y, [0, 0, 0, 0], [n, h * s, w * s, 3]);
      const base =
        cfg.imageResidual === "bilinear"
          ? tf.image.resizeBilinear(lr, [h * s, w * s], false, true)
          : cfg.imageResidual === "bicubic"
            ? bicubicBase(lr, s)
            : mean;
      return tf.add(y, base) as tf.Tensor4D;
    });

  return {
    config: cfg,
    params,
    apply,
    paramCount: () => Object.values(params).reduce((a, v) => a + v.size, 0),
    dispose: () => {
      for (const v of Object.values(params)) v.dispose();
    },
  };
}

/**
 * Loads a student from checkpoint bytes (Node or browser): the "ema" weights (what training validates and
 * ships; a shipped artefact holds only these) or the raw "params".
 */
export function studentFromCheckpoint(
  bytes: Uint8Array | ArrayBuffer,
  weights: "ema" | "params" = "ema",
): {student: Student; meta: {config: StudentConfig; step: number} & Record<string, unknown>} {
  const ck = decodeCheckpoint<{config: StudentConfig; step: number} & Record<string, unknown>>(bytes);
  const student = createStudent(ck.meta.config, 0);
  assignVariables(paramMap(student), ck as DecodedCheckpoint<unknown>, weights);
  return {student, meta: ck.meta};
}

export function paramMap(s: Student): Map<string, tf.Variable> {
  return new Map(Object.entries(s.params));
}

