/**
 * The evaluated super-resolution models behind one interface: LR image in, SR image out (plain HWC arrays, so
 * the timing includes the upload and the read-back, and the evaluation never holds tensors between models).
 * Every output is clipped to [0, 1] before anything is measured (the teacher's sampler already clips; bicubic
 * overshoots and the networks are unbounded).
 */
import * as tf from "@tensorflow/tfjs";
import type {SamplerMode} from "../diffusion.js";
import {SHIPPED_MODELS} from "../models/shipped.js";
import {studentFlopsPerOutputPixel, type Student} from "../models/student.js";
import {teacherFlopsPerOutputPixel, type Teacher} from "../models/teacher.js";
import {imresize, type ImageF32} from "../resize.js";
import {createRng} from "../rng.js";
import {RRDN_LABEL, type Rrdn} from "./rrdn.js";

export const SCALE = 4;

/** Keys of the models in eval.json (the shipped ids for the lab's own models). */
export type ModelKey = "bicubic" | "student-tiny" | "teacher-base" | "teacher-base-ddim" | "teacher-base-mean" | "teacher-base-predictor" | "rrdn";

/** What one run of a stochastic model depends on besides the input. */
export interface RunContext {
  seed: number;
  imageId: string;
}

export interface SrModel {
  key: ModelKey | string;
  label: string;
  /** Trainable parameters; null where the notion does not apply (bicubic). */
  params: number | null;
  /** True: run once per seed and report mean ± std over seeds. */
  seeded: boolean;
  /** The model's own seeds (a set of training runs); absent: the evaluation's sampler seeds. */
  seeds?: readonly number[];
  /** What a seed selects: "sampler" noise (default for seeded models) or a "training" run. */
  seedKind?: "sampler" | "training";
  /** How a run uses the seed (for the protocol), or null. */
  seedUse: string | null;
  /** FLOPs per output pixel for an LR input of h x w (null: not counted). */
  flopsPerOutputPixel(lrH: number, lrW: number): number | null;
  upscale(lr: ImageF32, ctx: RunContext): Promise<ImageF32>;
  dispose(): void;
}

export function imageToTensor(img: ImageF32): tf.Tensor4D {
  if (img.channels !== 3) throw new Error(`expected an RGB image, got ${img.channels} channels`);
  return tf.tensor4d(img.data, [1, img.height, img.width, 3]);
}

/** Reads a [1,H,W,3] tensor back into an image, clipped to [0,1]; disposes the tensor. */
export async function tensorToImage(t: tf.Tensor4D): Promise<ImageF32> {
  try {
    const [, height, width, channels] = t.shape;
    const data = Float32Array.from(await t.data());
    for (let i = 0; i < data.length; i++) data[i] = data[i] > 0 ? (data[i] < 1 ? data[i] : 1) : 0;
    return {width, height, channels, data};
  } finally {
    t.dispose();
  }
}

/** MATLAB-style bicubic x4 (src/lib/resize.ts imresize, a = -0.5), clipped. Pure JS, backend-independent. */
export function bicubicModel(): SrModel {
  return {
    key: "bicubic",
    label: "Bicubic x4 (MATLAB imresize)",
    params: null,
    seeded: false,
    seedUse: null,
    flopsPerOutputPixel: () => null,
    upscale: async (lr) => {
      const out = imresize(lr, {scale: SCALE});
      for (let i = 0; i < out.data.length; i++) out.data[i] = out.data[i] > 0 ? (out.data[i] < 1 ? out.data[i] : 1) : 0;
      return out;
    },
    dispose: () => {},
  };
}

export function studentModel(student: Student, label: string = SHIPPED_MODELS.student.label): SrModel {
  return {
    key: SHIPPED_MODELS.student.id,
    label,
    params: student.paramCount(),
    seeded: false,
    seedUse: null,
    flopsPerOutputPixel: (h, w) => studentFlopsPerOutputPixel(student.config, h, w),
    upscale: async (lr) => {
      const x = imageToTensor(lr);
      const y = student.apply(x);
      x.dispose();
      return tensorToImage(y);
    },
    dispose: () => student.dispose(),
  };
}

/**
 * The teacher's sampler in `mode`. Its noise comes from createRng(seed).fork(imageId), so one (seed, image)
 * pair always draws the same numbers whatever else is evaluated; "stochastic" and "ddim" with the same seed
 * share the prior draw x_T. `ownsTeacher`: dispose the teacher with this adapter.
 */
export function teacherModel(teacher: Teacher, mode: SamplerMode, ownsTeacher = true): SrModel {
  const T = teacher.config.diffusion.T;
  const key = mode === "stochastic" ? SHIPPED_MODELS.teacher.id : `${SHIPPED_MODELS.teacher.id}-${mode}`;
  const modeText =
    mode === "stochastic" ? `ResShift ancestral sampler, ${T} steps` : mode === "ddim" ? `DDIM-like sampler (seeded x_T, then deterministic), ${T} steps` : `mean path (no noise), ${T} steps`;
  return {
    key,
    label: `${SHIPPED_MODELS.teacher.label}, ${modeText}`,
    params: teacher.parameterCounts().total,
    seeded: mode !== "mean",
    seedKind: "sampler",
    seedUse: mode === "mean" ? null : "noise from createRng(seed).fork(imageId)",
    flopsPerOutputPixel: () => teacherFlopsPerOutputPixel(teacher.config),
    upscale: async (lr, ctx) => {
      const x = imageToTensor(lr);
      const {x0} = teacher.sample(x, createRng(ctx.seed).fork(ctx.imageId), {mode});
      x.dispose();
      return tensorToImage(x0 as tf.Tensor4D);
    },
    dispose: () => {
      if (ownsTeacher) teacher.dispose();
    },
  };
}

/**
 * The teacher's regression predictor alone (its y, before any diffusion step). A diagnostic: set against
 * the sampler, it shows what the stochastic refiner adds to (and costs) the predictor's estimate.
 */
export function teacherPredictorModel(teacher: Teacher, ownsTeacher = true): SrModel {
  return {
    key: `${SHIPPED_MODELS.teacher.id}-predictor`,
    label: `${SHIPPED_MODELS.teacher.label}, predictor only (no diffusion step)`,
    params: teacher.parameterCounts().predictor,
    seeded: false,
    seedUse: null,
    flopsPerOutputPixel: () => teacherFlopsPerOutputPixel(teacher.config, 0),
    upscale: async (lr) => {
      const x = imageToTensor(lr);
      const y = teacher.regress(x);
      x.dispose();
      return tensorToImage(y);
    },
    dispose: () => {
      if (ownsTeacher) teacher.dispose();
    },
  };
}

/** FLOPs per output pixel of the RRDN: 2 per multiply-add of every Conv2D, at the resolution it runs at. */
export function rrdnFlopsPerOutputPixel(rrdn: Rrdn): number {
  let perLr = 0;
  let perHr = 0;
  let afterShuffle = false;
  for (const layer of rrdn.model.layers) {
    if (layer.getClassName() === "PixelShuffle4x") afterShuffle = true;
    if (layer.getClassName() !== "Conv2D") continue;
    const macs = (layer.weights[0].shape as number[]).reduce((a, b) => a * b, 1);
    if (afterShuffle) perHr += 2 * macs;
    else perLr += 2 * macs;
  }
  return perLr / (SCALE * SCALE) + perHr;
}

export function rrdnModel(rrdn: Rrdn): SrModel {
  const flops = rrdnFlopsPerOutputPixel(rrdn);
  return {
    key: "rrdn",
    label: RRDN_LABEL,
    params: rrdn.params,
    seeded: false,
    seedUse: null,
    flopsPerOutputPixel: () => flops,
    upscale: async (lr) => {
      const x = imageToTensor(lr);
      const y = rrdn.apply(x);
      x.dispose();
      return tensorToImage(y);
    },
    dispose: () => rrdn.dispose(),
  };
}
