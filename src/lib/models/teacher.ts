/**
 * The lab's diffusion teacher: a predictor plus a ResShift stochastic refiner, in pixel space at the
 * low-resolution grid.
 *
 * Why this design (NOTES 7): a small pixel-space ResShift denoiser trained on (bicubic -> truth) learned no
 * low-noise denoising and added Gaussian grain. Here
 * - a regression predictor P(LR) (conv net, L1 against HR) supplies ResShift's y instead of bicubic
 *   (predictor + stochastic refiner: Whang et al., CVPR 2022; ResDiff, AAAI 2024), so the diffusion only
 *   models the residual texture x0 - y, which is small and easier for a small net;
 * - kappa is sized to that residual's standard deviation in [0,1] pixels (lab default 0.04, about
 *   sigma_data), not ResShift's latent-space 2;
 * - the denoiser is preconditioned EDM-style on the residual e_t = x_t - y = (1 - eta_t) e0 + kappa sqrt(eta_t) eps
 *   (c_in, c_skip, c_out from the Wiener estimate) and trained with EDM's loss weight 1/c_out^2, so every step,
 *   the lowest-noise one included, has a unit-variance target and counts equally (NOTES 7's teacher used plain
 *   MSE on x0, where the low-noise step's loss is ~100x smaller and it learned identity there).
 * Everything runs on pixel-unshuffled tensors (64x64x3 <-> 16x16x48 for x4), so the nets work at the LR grid.
 * The predictor's gradient is stopped at the denoiser's input: the two parts have disjoint parameters and are
 * trained jointly by one optimizer, each on its own loss.
 */
import * as tf from "@tensorflow/tfjs";
import {
  bicubicUnshuffleFilter,
  bicubicUpsampleUnshuffled,
  conv2d,
  dense,
  film,
  groupNorm,
  type NormalSource,
  Params,
  pixelShuffle,
  pixelUnshuffle,
  silu,
  sinusoidalEmbedding,
  stopGradient,
} from "./layers.js";
import {assignVariables, decodeCheckpoint, type DecodedCheckpoint} from "../checkpoint.js";
import {createRng} from "../rng.js";
import {makeSchedule, marginalCoefs, type ResShiftConfig, sample, type SampleOptions, type SampleResult, type Schedule} from "../diffusion.js";

export interface TeacherConfig {
  /** Super-resolution factor (also the pixel-unshuffle factor). */
  scale: number;
  predictor: {channels: number; blocks: number};
  denoiser: {channels: number; blocks: number; groups: number; embedDim: number};
  diffusion: ResShiftConfig;
  /** Standard deviation of the residual x0 - P(LR) in [0,1] pixels, used for preconditioning (lab default). */
  sigmaData: number;
}

const DIFFUSION_DEFAULT: ResShiftConfig = {T: 4, kappa: 0.04, p: 0.3, sqrtEta1: 0.1, sqrtEtaT: 0.99};

/** Named configurations. "base" is sized for about 1 training step/s (batch 16, 64x64 HR) on one wasm core. */
export const TEACHER_CONFIGS: Record<"tiny" | "base", TeacherConfig> = {
  tiny: {
    scale: 4,
    predictor: {channels: 8, blocks: 1},
    denoiser: {channels: 16, blocks: 1, groups: 4, embedDim: 16},
    diffusion: DIFFUSION_DEFAULT,
    sigmaData: 0.04,
  },
  base: {
    scale: 4,
    predictor: {channels: 48, blocks: 3},
    denoiser: {channels: 64, blocks: 5, groups: 8, embedDim: 64},
    diffusion: DIFFUSION_DEFAULT,
    sigmaData: 0.04,
  },
};

/**
 * FLOPs per output (HR) pixel of a full sample with `steps` denoiser evaluations (default T), counted like
 * studentFlopsPerOutputPixel: 2 FLOPs per multiply-add of every convolution and dense layer at the LR grid;
 * norms, activations, FiLM products, the bicubic base and the sampler's tensor arithmetic are not counted.
 * The predictor runs once per sample, the denoiser once per step.
 */
export function teacherFlopsPerOutputPixel(c: TeacherConfig, steps = c.diffusion.T): number {
  const cOut = 3 * c.scale * c.scale;
  const {channels: pc, blocks: pb} = c.predictor;
  const {channels: dc, blocks: db} = c.denoiser;
  const predMacs = 9 * (3 * pc + 2 * pb * pc * pc + pc * cOut);
  const denMacs = 9 * ((2 * cOut + pc) * dc + 2 * db * dc * dc + dc * cOut);
  return (2 * (predMacs + steps * denMacs)) / (c.scale * c.scale);
}

export interface TeacherLosses {
  /** L1 of the predictor's image against HR (scalar). */
  predictor: tf.Scalar;
  /** Preconditioned diffusion loss, mean over the batch (scalar). */
  diffusion: tf.Scalar;
  /** Per-sample diffusion loss [N], for per-step statistics. */
  perSample: tf.Tensor1D;
}

/** EDM-style preconditioning for the residual e_t = (1 - eta) e0 + n eps with Var(e0) = sd^2, n = kappa sqrt(eta). */
export function preconditioning(s: Schedule, sigmaData: number, t: number): {cIn: number; cSkip: number; cOut: number} {
  const {cX0: a, std: n} = marginalCoefs(s, t);
  const sd2 = sigmaData * sigmaData;
  const v = a * a * sd2 + n * n;
  return {cIn: 1 / Math.sqrt(v), cSkip: (a * sd2) / v, cOut: (sigmaData * n) / Math.sqrt(v)};
}

export class Teacher {
  readonly params: Params;
  readonly schedule: Schedule;
  private readonly bicubicFilter: tf.Tensor4D;

  constructor(
    readonly config: TeacherConfig,
    rng: NormalSource,
  ) {
    this.schedule = makeSchedule(config.diffusion);
    this.params = new Params(rng);
    this.bicubicFilter = bicubicUnshuffleFilter(config.scale, 3);
    this.build();
  }

  private build(): void {
    const p = this.params;
    const {scale} = this.config;
    const cOut = 3 * scale * scale;
    const {channels: pc, blocks: pb} = this.config.predictor;
    const {channels: dc, blocks: db, embedDim: e} = this.config.denoiser;
    const convW = (name: string, k: number, ci: number, co: number, zero = false) => {
      p.add(`${name}.w`, [k, k, ci, co], zero ? {kind: "zeros"} : {kind: "he", fanIn: k * k * ci});
      p.add(`${name}.b`, [co], {kind: "zeros"});
    };
    // Predictor (EDSR-like, no norm): residual blocks; the last conv of each block starts small so blocks
    // start near identity.
    convW("pred.in", 3, 3, pc);
    for (let i = 0; i < pb; i++) {
      convW(`pred.b${i}.c1`, 3, pc, pc);
      p.add(`pred.b${i}.c2.w`, [3, 3, pc, pc], {kind: "he", fanIn: 9 * pc, gain: 0.1});
      p.add(`pred.b${i}.c2.b`, [pc], {kind: "zeros"});
    }
    convW("pred.out", 3, pc, cOut, true);
    // Denoiser: input = [c_in e_t (cOut), y - bicubic(LR) (cOut), predictor features (pc)].
    convW("den.in", 3, 2 * cOut + pc, dc);
    p.add("den.emb1.w", [e, 4 * e], {kind: "he", fanIn: e});
    p.add("den.emb1.b", [4 * e], {kind: "zeros"});
    p.add("den.emb2.w", [4 * e, e], {kind: "he", fanIn: 4 * e, gain: 1});
    p.add("den.emb2.b", [e], {kind: "zeros"});
    for (let i = 0; i < db; i++) {
      p.add(`den.b${i}.n1.g`, [dc], {kind: "ones"});
      p.add(`den.b${i}.n1.b`, [dc], {kind: "zeros"});
      convW(`den.b${i}.c1`, 3, dc, dc);
      p.add(`den.b${i}.film.w`, [e, 2 * dc], {kind: "zeros"});
      p.add(`den.b${i}.film.b`, [2 * dc], {kind: "zeros"});
      p.add(`den.b${i}.n2.g`, [dc], {kind: "ones"});
      p.add(`den.b${i}.n2.b`, [dc], {kind: "zeros"});
      p.add(`den.b${i}.c2.w`, [3, 3, dc, dc], {kind: "he", fanIn: 9 * dc, gain: 0.1});
      p.add(`den.b${i}.c2.b`, [dc], {kind: "zeros"});
    }
    p.add("den.nout.g", [dc], {kind: "ones"});
    p.add("den.nout.b", [dc], {kind: "zeros"});
    convW("den.out", 3, dc, cOut, true);
  }

  /** Parameter counts: total, predictor, denoiser. */
  parameterCounts(): {total: number; predictor: number; denoiser: number} {
    return {total: this.params.count(), predictor: this.params.count("pred."), denoiser: this.params.count("den.")};
  }

  /** MATLAB-bicubic x scale upsampling of LR in unshuffled layout: the predictor's base and the denoiser's reference. */
  private baseUpsample(lr: tf.Tensor4D): tf.Tensor4D {
    return bicubicUpsampleUnshuffled(lr, this.bicubicFilter);
  }

  /** Predictor on LR [N,h,w,3]: y in unshuffled layout [N,h,w,3 r^2] and its last hidden features [N,h,w,pc]. */
  predictor(lr: tf.Tensor4D): {y: tf.Tensor4D; features: tf.Tensor4D} {
    return tf.tidy(() => {
      const g = (n: string) => this.params.get(n);
      let h = conv2d(lr, w4(g("pred.in.w")), w1(g("pred.in.b")), {inputGrad: false});
      const skip = h;
      for (let i = 0; i < this.config.predictor.blocks; i++) {
        const a = silu(conv2d(h, w4(g(`pred.b${i}.c1.w`)), w1(g(`pred.b${i}.c1.b`)))) as tf.Tensor4D;
        h = tf.add(h, conv2d(a, w4(g(`pred.b${i}.c2.w`)), w1(g(`pred.b${i}.c2.b`))));
      }
      h = tf.add(h, skip);
      const y = tf.add(conv2d(h, w4(g("pred.out.w")), w1(g("pred.out.b"))), this.baseUpsample(lr)) as tf.Tensor4D;
      return {y, features: h as tf.Tensor4D};
    });
  }

  /**
   * Raw denoiser network F. eIn = c_in * e_t, [N,h,w,3r^2]; cond = y - bicubic(LR); features from the predictor;
   * steps: one diffusion step per sample (1..T).
   */
  network(eIn: tf.Tensor4D, cond: tf.Tensor4D, features: tf.Tensor4D, steps: number[]): tf.Tensor4D {
    return tf.tidy(() => {
      const g = (n: string) => this.params.get(n);
      const {blocks, groups, embedDim} = this.config.denoiser;
      const T = this.schedule.T;
      // Positions spread over [0, 1000) so the sinusoid frequencies resolve a few steps apart.
      const pos = steps.map((t) => ((t - 1) / Math.max(1, T - 1)) * 1000);
      let emb = sinusoidalEmbedding(pos, embedDim);
      emb = dense(silu(dense(emb, w2(g("den.emb1.w")), w1(g("den.emb1.b")))) as tf.Tensor2D, w2(g("den.emb2.w")), w1(g("den.emb2.b")));
      const embAct = silu(emb) as tf.Tensor2D;
      // The denoiser's inputs carry no gradient (the predictor's is stopped), so its first conv skips dx.
      let h = conv2d(tf.concat([eIn, cond, features], 3), w4(g("den.in.w")), w1(g("den.in.b")), {inputGrad: false});
      for (let i = 0; i < blocks; i++) {
        const b = `den.b${i}`;
        let r = silu(groupNorm(h, groups, w1(g(`${b}.n1.g`)), w1(g(`${b}.n1.b`)))) as tf.Tensor4D;
        r = conv2d(r, w4(g(`${b}.c1.w`)), w1(g(`${b}.c1.b`)));
        const ss = dense(embAct, w2(g(`${b}.film.w`)), w1(g(`${b}.film.b`)));
        const dc = r.shape[3];
        const scale = tf.slice(ss, [0, 0], [-1, dc]) as tf.Tensor2D;
        const shift = tf.slice(ss, [0, dc], [-1, dc]) as tf.Tensor2D;
        r = film(groupNorm(r, groups, w1(g(`${b}.n2.g`)), w1(g(`${b}.n2.b`))), scale, shift);
        r = conv2d(silu(r) as tf.Tensor4D, w4(g(`${b}.c2.w`)), w1(g(`${b}.c2.b`)));
        h = tf.add(h, r);
      }
      h = silu(groupNorm(h, groups, w1(g("den.nout.g")), w1(g("den.nout.b")))) as tf.Tensor4D;
      return conv2d(h, w4(g("den.out.w")), w1(g("den.out.b")));
    });
  }

  /** x0 prediction (unshuffled) from x_t (unshuffled), the predictor's y and features, per-sample steps. */
  predictX0(xt: tf.Tensor4D, y: tf.Tensor4D, cond: tf.Tensor4D, features: tf.Tensor4D, steps: number[]): tf.Tensor4D {
    return tf.tidy(() => {
      const pc = steps.map((t) => preconditioning(this.schedule, this.config.sigmaData, t));
      const col = (k: "cIn" | "cSkip" | "cOut") => tf.tensor4d(pc.map((c) => c[k]), [steps.length, 1, 1, 1]);
      const et = tf.sub(xt, y);
      const F = this.network(tf.mul(et, col("cIn")) as tf.Tensor4D, cond, features, steps);
      return tf.add(y, tf.add(tf.mul(col("cSkip"), et), tf.mul(col("cOut"), F))) as tf.Tensor4D;
    });
  }

  /** L1 of the predictor against HR, plus its y (unshuffled) and features for the diffusion loss. */
  predictorLoss(lr: tf.Tensor4D, hr: tf.Tensor4D): {loss: tf.Scalar; y: tf.Tensor4D; features: tf.Tensor4D} {
    return tf.tidy(() => {
      const x0 = pixelUnshuffle(hr, this.config.scale);
      const {y, features} = this.predictor(lr);
      return {loss: tf.mean(tf.abs(tf.sub(y, x0))) as tf.Scalar, y, features};
    });
  }

  /**
   * Preconditioned diffusion loss (mean over the batch, and per sample [N]) given the predictor's y and
   * features. steps [N] in 1..T; noise standard normal [N,h,w,3r^2]. Pass y/features computed outside the
   * gradient tape (or through stopGradient) so the predictor gets no gradient from this loss.
   */
  diffusionLoss(
    lr: tf.Tensor4D,
    hr: tf.Tensor4D,
    y: tf.Tensor4D,
    features: tf.Tensor4D,
    steps: number[],
    noise: tf.Tensor4D,
  ): {loss: tf.Scalar; perSample: tf.Tensor1D} {
    return tf.tidy(() => {
      const x0 = pixelUnshuffle(hr, this.config.scale);
      const cond = tf.sub(y, this.baseUpsample(lr)) as tf.Tensor4D;
      const pc = steps.map((t) => preconditioning(this.schedule, this.config.sigmaData, t));
      const col = (vals: number[]) => tf.tensor4d(vals, [steps.length, 1, 1, 1]);
      const eta = col(steps.map((t) => this.schedule.eta[t]));
      const std = col(steps.map((t) => marginalCoefs(this.schedule, t).std));
      const e0 = tf.sub(x0, y);
      // e_t = x_t - y with x_t = x0 + eta (y - x0) + kappa sqrt(eta) eps (ResShift's closed form).
      const et = tf.add(tf.mul(tf.sub(1, eta), e0), tf.mul(std, noise));
      const F = this.network(tf.mul(et, col(pc.map((c) => c.cIn))) as tf.Tensor4D, cond, features, steps);
      const target = tf.div(tf.sub(e0, tf.mul(col(pc.map((c) => c.cSkip)), et)), col(pc.map((c) => c.cOut)));
      const perSample = tf.mean(tf.square(tf.sub(F, target)), [1, 2, 3]) as tf.Tensor1D;
      return {loss: tf.mean(perSample) as tf.Scalar, perSample};
    });
  }

  /** Both losses in one differentiable graph (the predictor's output enters the diffusion loss through stopGradient). */
  losses(lr: tf.Tensor4D, hr: tf.Tensor4D, steps: number[], noise: tf.Tensor4D): TeacherLosses {
    return tf.tidy(() => {
      const p = this.predictorLoss(lr, hr);
      const d = this.diffusionLoss(lr, hr, stopGradient(p.y), stopGradient(p.features), steps, noise);
      return {predictor: p.loss, diffusion: d.loss, perSample: d.perSample};
    });
  }

  /** The predictor's own output image [N, h r, w r, 3] (the regression estimate; not clipped). */
  regress(lr: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => pixelShuffle(this.predictor(lr).y, this.config.scale));
  }

  /**
   * Samples HR images for lr [N,h,w,3]: the T-step ResShift sampler on the predictor's output.
   * Output x0 (and every trajectory entry) is an image [N, h r, w r, 3]; x0 is clipped to [0,1].
   */
  sample(lr: tf.Tensor4D, rng: NormalSource, opts: SampleOptions = {}): SampleResult {
    const r = this.config.scale;
    const {y, features} = this.predictor(lr);
    const cond = tf.tidy(() => tf.sub(y, this.baseUpsample(lr))) as tf.Tensor4D;
    const n = lr.shape[0];
    const res = sample(
      this.schedule,
      (xt, t) => this.predictX0(xt as tf.Tensor4D, y, cond, features, new Array(n).fill(t)),
      y,
      rng,
      opts,
    );
    y.dispose();
    features.dispose();
    cond.dispose();
    const x0 = tf.tidy(() => tf.clipByValue(pixelShuffle(res.x0 as tf.Tensor4D, r), 0, 1));
    res.x0.dispose();
    const out: SampleResult = {x0};
    if (res.trajectory) {
      out.trajectory = res.trajectory.map((t) => {
        const img = pixelShuffle(t as tf.Tensor4D, r);
        t.dispose();
        return img;
      });
    }
    return out;
  }

  dispose(): void {
    this.params.dispose();
    this.bicubicFilter.dispose();
  }
}

// Variables are Tensors at runtime; these casts only narrow the static rank for the layer helpers.
function w4(v: tf.Variable): tf.Tensor4D {
  return v as unknown as tf.Tensor4D;
}
function w2(v: tf.Variable): tf.Tensor2D {
  return v as unknown as tf.Tensor2D;
}
function w1(v: tf.Variable): tf.Tensor1D {
  return v as unknown as tf.Tensor1D;
}

/**
 * Loads a teacher from checkpoint bytes (Node or browser): "ema" weights (what training validates and ships)
 * or the raw "params". `meta` is the checkpoint's header (config, step, data, last validation, ...).
 */
export function teacherFromCheckpoint(
  bytes: Uint8Array | ArrayBuffer,
  weights: "ema" | "params" = "ema",
): {teacher: Teacher; meta: {config: TeacherConfig; step: number} & Record<string, unknown>} {
  const ck = decodeCheckpoint<{config: TeacherConfig; step: number} & Record<string, unknown>>(bytes);
  // Initial values are overwritten; a fixed seed only keeps construction deterministic.
  const teacher = new Teacher(ck.meta.config, createRng(0));
  assignVariables(teacher.params.vars, ck as DecodedCheckpoint<unknown>, weights);
  return {teacher, meta: ck.meta};
}
