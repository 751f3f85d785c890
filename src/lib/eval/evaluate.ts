/**
 * The lab's evaluation protocol: ground-truth images, their degraded LR partners, every model's output on them,
 * and the measures that eval.json reports (docs/eval-schema.md). DOM-free: runs in Node or a worker, on the
 * current TF.js backend (metrics and the DWT are TF.js ops; FWD and the degradation are plain JS).
 *
 * Protocol (each a named default in EVAL_DEFAULTS, stated in eval.json's "protocol"):
 * - Ground truth: a centre crop of `crop` x `crop` pixels of each photograph (0: the whole photograph), trimmed
 *   at the bottom/right to a multiple of 4. The LR input is that crop degraded by src/lib/degrade.ts with
 *   `preset` ("mild", the models' training degradation) and the seed createRng(seed).fork(imageId).nextUint32(),
 *   so each image's degradation is fixed by the base seed and its id, independent of order and of the set.
 * - Outputs are clipped to [0, 1]. PSNR-Y, SSIM-Y and HaarPSI (src/lib/metrics.ts) with a border crop of 4 px
 *   per image, then the mean over images; FWD (fwd.ts) on the border-cropped images, one distance per set
 *   against the ground-truth set; band statistics (band-stats.ts) pooled over the set.
 * - Seeded models run once per seed: every number is first computed per seed, then reported as mean and sample
 *   standard deviation (n - 1) over seeds; per-image numbers are means over seeds. Two kinds of seed: the teacher's
 *   samplers draw their noise from the seed ("sampler", the options' seeds); a model made of several training runs
 *   (runs.ts: the distilled and standalone students, one artefact per training seed) runs the artefact of each
 *   seed ("training", the model's own seeds). Deterministic models run once and report std null.
 */
import {degrade, type Preset} from "../degrade.js";
import {haarpsi, psnrY, ssimY} from "../metrics.js";
import {cropPatch} from "../patches.js";
import type {ImageF32} from "../resize.js";
import {createRng} from "../rng.js";
import {BAND_STATS_DEFAULTS, BandStatsAccumulator, lumaBands, type BandComparison, type BandStatsOptions} from "./band-stats.js";
import {FWD_DEFAULTS, fwdAgainst, fwdReference, PacketStatistics, type FwdOptions} from "./fwd.js";
import {imageToTensor, SCALE, type SrModel} from "./models.js";

export interface EvalDefaults {
  /** Centre-crop side of the ground truth in pixels (0 = whole images). */
  crop: number;
  preset: Preset;
  /** Base seed of the per-image degradation seeds. */
  degradeSeed: number;
  /** Seeds of the seeded (stochastic) models. */
  seeds: number[];
  /** Border crop of every measure, in HR pixels (the field's convention: the scale factor). */
  metricCrop: number;
}

export const EVAL_DEFAULTS: Readonly<EvalDefaults> = Object.freeze({crop: 256, preset: "mild", degradeSeed: 1, seeds: [1, 2, 3], metricCrop: 4});

/** One evaluation image: ground truth and the LR input made from it. */
export interface EvalImage {
  id: string;
  gt: ImageF32;
  lr: ImageF32;
  degradeSeed: number;
  /** Size of the photograph the ground truth was cut from. */
  sourceSize: [number, number];
  /** Top-left corner of the crop in the photograph. */
  offset: [number, number];
}

/** The degradation seed of one image: fixed by the base seed and the image id. */
export function degradationSeed(baseSeed: number, imageId: string): number {
  return createRng(baseSeed).fork(imageId).nextUint32();
}

/**
 * Centre crop (side `crop`, 0 = whole image; a crop larger than the image becomes the largest square that fits),
 * trimmed to a multiple of the scale, then degraded.
 */
export function prepareEvalImages(
  sources: readonly {id: string; image: ImageF32}[],
  opts: {crop: number; preset: Preset; degradeSeed: number},
): EvalImage[] {
  if (!Number.isInteger(opts.crop) || opts.crop < 0) throw new Error(`eval: crop must be a non-negative integer, got ${opts.crop}`);
  return sources.map(({id, image}) => {
    let gt = image;
    let offset: [number, number] = [0, 0];
    if (opts.crop > 0) {
      const side = Math.floor(Math.min(opts.crop, image.width, image.height) / SCALE) * SCALE;
      if (side < 4 * SCALE) throw new Error(`eval: ${id} (${image.width}x${image.height}) is too small for a crop`);
      const top = Math.floor((image.height - side) / 2);
      const left = Math.floor((image.width - side) / 2);
      gt = cropPatch(image, left, top, side);
      offset = [top, left];
    }
    const seed = degradationSeed(opts.degradeSeed, id);
    const r = degrade(gt, {preset: opts.preset, seed, scale: SCALE});
    return {id, gt: r.hr, lr: r.lr, degradeSeed: seed, sourceSize: [image.height, image.width], offset};
  });
}

export interface Stat {
  mean: number;
  /** Sample standard deviation over seeds; null for deterministic models (or a single seed). */
  std: number | null;
}

export interface ImageMetrics {
  psnrY: number;
  ssimY: number;
  haarpsi: number;
}

export interface SeedResult extends ImageMetrics {
  seed: number | null;
  fwd: number;
}

/** What a model's seeds are: the sampler's noise seed, or the seed of an independent training run. */
export type SeedKind = "sampler" | "training";

export interface ModelEvaluation {
  label: string;
  params: number | null;
  /** The seeds it ran with; null when deterministic. */
  seeds: number[] | null;
  /** What those seeds are (null when deterministic). */
  seedKind: SeedKind | null;
  metrics: {psnrY: Stat; ssimY: Stat; haarpsi: Stat; fwd: Stat};
  perSeed: SeedResult[];
  perImage: Record<string, ImageMetrics>;
  /** Band statistics: means over seeds; their std over seeds in bandStd (seeded models only). */
  kurtosis: Record<string, number>;
  energyRatio: Record<string, number>;
  correlation: Record<string, number>;
  bandStd: {kurtosis: Record<string, number>; energyRatio: Record<string, number>; correlation: Record<string, number>} | null;
  /** Wall and CPU seconds this model's evaluation took (all seeds, metrics included). */
  evalSeconds: {wall: number; cpu: number};
}

export interface EvaluationResult {
  gt: {kurtosis: Record<string, number>; energy: Record<string, number>; fwdSamples: number};
  models: Record<string, ModelEvaluation>;
}

export interface EvaluateOptions {
  /** Seeds of the sampler-seeded models (a model with its own `seeds` uses those). */
  seeds: readonly number[];
  metricCrop: number;
  fwd?: FwdOptions;
  bandStats?: BandStatsOptions;
  /** Called after each (model, seed, image) run. */
  onProgress?: (p: {model: string; seed: number | null; imageIndex: number; images: number; units: number}) => void;
  /** Receives every output (e.g. to write PNGs). */
  onOutput?: (o: {imageId: string; model: string; seed: number | null; image: ImageF32}) => Promise<void> | void;
}

/** The seeds a model runs with: its own (training runs), the options' (samplers), or null (deterministic). */
export function modelSeedList(model: SrModel, seeds: readonly number[]): number[] | null {
  if (!model.seeded) return null;
  return [...(model.seeds ?? seeds)];
}

/** Progress weight of one run: estimated microseconds per output pixel on one wasm core, plus measuring. */
export function runWeight(model: SrModel, img: EvalImage): number {
  const flops = model.flopsPerOutputPixel(img.lr.height, img.lr.width) ?? 0;
  return img.gt.width * img.gt.height * (3 + flops / 1e4);
}

function meanStd(xs: readonly number[]): Stat {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return {mean, std: null};
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return {mean, std: Math.sqrt(v)};
}

/** PSNR-Y, SSIM-Y and HaarPSI of one output against its ground truth, border crop `crop`. */
export async function imageMetrics(output: ImageF32, gt: ImageF32, crop: number): Promise<ImageMetrics> {
  const a = imageToTensor(output);
  const b = imageToTensor(gt);
  try {
    const ts = [psnrY(a, b, {crop}), ssimY(a, b, {crop}), haarpsi(a, b, {crop})];
    try {
      const [p, s, h] = await Promise.all(ts.map(async (t) => (await t.data())[0]));
      return {psnrY: p, ssimY: s, haarpsi: h};
    } finally {
      ts.forEach((t) => t.dispose());
    }
  } finally {
    a.dispose();
    b.dispose();
  }
}

function borderCrop(img: ImageF32, crop: number): ImageF32 {
  return crop === 0 ? img : cropPatch(img, crop, crop, img.width - 2 * crop, img.height - 2 * crop);
}

/** Process CPU seconds where the runtime tells them (Node), else NaN (written as null in JSON). */
function cpuSeconds(): number {
  const p = (globalThis as {process?: {cpuUsage?: () => {user: number; system: number}}}).process;
  const u = p?.cpuUsage?.();
  return u ? (u.user + u.system) / 1e6 : NaN;
}

/** Runs every model on every image (per seed where seeded) and measures it. Models are not disposed here. */
export async function evaluate(images: readonly EvalImage[], models: readonly SrModel[], opts: EvaluateOptions): Promise<EvaluationResult> {
  if (images.length === 0) throw new Error("eval: no images");
  if (opts.seeds.length === 0) throw new Error("eval: no seeds");
  const fwdOpts = opts.fwd ?? FWD_DEFAULTS;
  const bandOpts = opts.bandStats ?? BAND_STATS_DEFAULTS;
  const crop = opts.metricCrop;

  // Everything about the ground truth is computed once.
  const gtStats = new PacketStatistics(fwdOpts);
  const gtBands: Record<string, Float32Array>[] = [];
  const gtBandAcc = new BandStatsAccumulator(bandOpts);
  for (const im of images) {
    gtStats.addImage(borderCrop(im.gt, crop));
    const bands = await lumaBands(im.gt, bandOpts);
    gtBands.push(bands);
    await gtBandAcc.addBands(bands, bands);
  }
  const reference = fwdReference(gtStats);
  const gtBandResult = gtBandAcc.result();
  const energy: Record<string, number> = {};
  for (const bands of gtBands) for (const [b, v] of Object.entries(bands)) energy[b] = (energy[b] ?? 0) + v.reduce((a, x) => a + x * x, 0);

  const result: EvaluationResult = {gt: {kurtosis: gtBandResult.kurtosis, energy, fwdSamples: gtStats.samples}, models: {}};

  for (const model of models) {
    const wall0 = performance.now();
    const cpu0 = cpuSeconds();
    const modelSeeds = modelSeedList(model, opts.seeds);
    const seeds: (number | null)[] = modelSeeds ?? [null];
    const perSeed: SeedResult[] = [];
    const bandResults: BandComparison[] = [];
    const perImageRuns = new Map<string, ImageMetrics[]>();
    for (const seed of seeds) {
      const stats = new PacketStatistics(fwdOpts);
      const bands = new BandStatsAccumulator(bandOpts);
      const ms: ImageMetrics[] = [];
      for (let i = 0; i < images.length; i++) {
        const im = images[i];
        const out = await model.upscale(im.lr, {seed: seed ?? 0, imageId: im.id});
        if (out.width !== im.gt.width || out.height !== im.gt.height)
          throw new Error(`eval: ${model.key} returned ${out.width}x${out.height} for ${im.id}, expected ${im.gt.width}x${im.gt.height}`);
        const m = await imageMetrics(out, im.gt, crop);
        ms.push(m);
        perImageRuns.set(im.id, [...(perImageRuns.get(im.id) ?? []), m]);
        stats.addImage(borderCrop(out, crop));
        await bands.addBands(await lumaBands(out, bandOpts), gtBands[i]);
        await opts.onOutput?.({imageId: im.id, model: model.key, seed, image: out});
        opts.onProgress?.({model: model.key, seed, imageIndex: i, images: images.length, units: runWeight(model, im)});
      }
      const avg = (k: keyof ImageMetrics) => ms.reduce((a, m) => a + m[k], 0) / ms.length;
      perSeed.push({seed, psnrY: avg("psnrY"), ssimY: avg("ssimY"), haarpsi: avg("haarpsi"), fwd: fwdAgainst(reference, stats).fwd});
      bandResults.push(bands.result());
    }
    const perImage: Record<string, ImageMetrics> = {};
    for (const [id, runs] of perImageRuns) {
      const avg = (k: keyof ImageMetrics) => runs.reduce((a, m) => a + m[k], 0) / runs.length;
      perImage[id] = {psnrY: avg("psnrY"), ssimY: avg("ssimY"), haarpsi: avg("haarpsi")};
    }
    const bandField = (f: "kurtosis" | "energyRatio" | "correlation", what: "mean" | "std") => {
      const out: Record<string, number> = {};
      for (const b of bandResults[0].bands) {
        const s = meanStd(bandResults.map((r) => r[f][b]));
        out[b] = what === "mean" ? s.mean : (s.std ?? 0);
      }
      return out;
    };
    result.models[model.key] = {
      label: model.label,
      params: model.params,
      seeds: modelSeeds,
      seedKind: modelSeeds ? (model.seedKind ?? "sampler") : null,
      metrics: {
        psnrY: meanStd(perSeed.map((s) => s.psnrY)),
        ssimY: meanStd(perSeed.map((s) => s.ssimY)),
        haarpsi: meanStd(perSeed.map((s) => s.haarpsi)),
        fwd: meanStd(perSeed.map((s) => s.fwd)),
      },
      perSeed,
      perImage,
      kurtosis: bandField("kurtosis", "mean"),
      energyRatio: bandField("energyRatio", "mean"),
      correlation: bandField("correlation", "mean"),
      bandStd: bandResults.length > 1 ? {kurtosis: bandField("kurtosis", "std"), energyRatio: bandField("energyRatio", "std"), correlation: bandField("correlation", "std")} : null,
      evalSeconds: {wall: (performance.now() - wall0) / 1000, cpu: cpuSeconds() - cpu0},
    };
  }
  return result;
}
