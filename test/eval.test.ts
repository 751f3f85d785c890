// The evaluation (src/lib/eval/): band statistics on known signals, the RRDN reference, an end-to-end run of
// evaluate() + buildEvalJson() on two tiny crops of the committed test set, and models made of training runs
// merged into an existing file. FWD has its own file (fwd.test.ts).
import * as tf from "@tensorflow/tfjs";
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {BandStatsAccumulator} from "../src/lib/eval/band-stats.js";
import {evaluate, prepareEvalImages, type EvalImage} from "../src/lib/eval/evaluate.js";
import {bicubicModel, imageToTensor, rrdnModel, studentModel, teacherModel, teacherPredictorModel} from "../src/lib/eval/models.js";
import {buildEvalJson, formatEvalTables, mergeEvalJson, stringifyEvalJson, type EvalJsonInput} from "../src/lib/eval/report.js";
import {runsFromAblations, trainingRunsModel} from "../src/lib/eval/runs.js";
import {bestDetailRegion, spreadByDetail} from "../src/lib/eval/crops.js";
import {decodeCheckpoint, encodeCheckpoint} from "../src/lib/checkpoint.js";
import {studentFromCheckpoint} from "../src/lib/models/student.js";
import {loadRrdnFromPackage} from "../src/lib/eval/rrdn-files.js";
import type {Rrdn} from "../src/lib/eval/rrdn.js";
import {loadSplit} from "../src/lib/dataset.js";
import {degrade} from "../src/lib/degrade.js";
import {haarpsi, psnrY, ssimY} from "../src/lib/metrics.js";
import {loadShippedStudent, loadShippedTeacher} from "../src/lib/models/shipped.js";
import {cropPatch} from "../src/lib/patches.js";
import {imresize, type ImageF32} from "../src/lib/resize.js";
import {createRng} from "../src/lib/rng.js";
import {useBackend} from "./helpers/backends.js";

// A few CPU-seconds each, but the shared machine (training jobs, other test runs) can stretch wall time 10x.
const SLOW_MS = 300_000;
const BANDS = ["LL2", "LH2", "HL2", "HH2", "LH1", "HL1", "HH1"];

/** A grey RGB image (R = G = B, so the luma equals the value) from a per-pixel function. */
function grey(size: number, value: (r: number, c: number) => number): ImageF32 {
  const data = new Float32Array(size * size * 3);
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) data.fill(value(r, c), (r * size + c) * 3, (r * size + c) * 3 + 3);
  return {width: size, height: size, channels: 3, data};
}

let testImages: {id: string; image: ImageF32}[] = [];
// Loaded once (parsing 4.2 M 8-bit weights is the slow part) and shared by the RRDN and end-to-end tests.
let rrdn: Rrdn;

beforeAll(async () => {
  await useBackend("wasm");
  testImages = (await loadSplit("test", {ids: ["skimage-astronaut", "skimage-coffee"]})).map((s) => ({id: s.id, image: s.image}));
  rrdn = await loadRrdnFromPackage();
});

afterAll(() => rrdn.dispose());

describe("band statistics", () => {
  it("Gaussian noise has kurtosis ~3 in every detail band; an image against itself has energy ratio 1 and correlation 1", async () => {
    const rng = createRng(5);
    const img = grey(264, () => 0.5 + 0.1 * rng.normal());
    const acc = new BandStatsAccumulator();
    await acc.add(img, img);
    const r = acc.result();
    expect(r.bands).toEqual(BANDS);
    // 256x256 after the 4-px crop: 16384 coefficients in each level-1 band, 4096 at level 2 (kurtosis se ~0.04-0.08).
    for (const b of BANDS) {
      expect(r.kurtosis[b]).toBeGreaterThan(2.7);
      expect(r.kurtosis[b]).toBeLessThan(3.3);
      expect(r.energyRatio[b]).toBeCloseTo(1, 10);
      expect(r.correlation[b]).toBeCloseTo(1, 6);
      expect(r.gtKurtosis[b]).toBe(r.kurtosis[b]);
    }
  });

  it("Laplace pixels give level-1 kurtosis 3.75 (a sum of four), and doubling the detail quadruples its energy", async () => {
    const rng = createRng(6);
    const laplace = () => {
      const u = rng.uniform() - 0.5;
      return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u)) * 0.05;
    };
    const values = Float32Array.from({length: 264 * 264}, laplace);
    const gt = grey(264, (r, c) => 0.5 + values[r * 264 + c]);
    const out = grey(264, (r, c) => 0.5 + 2 * values[r * 264 + c]);
    const acc = new BandStatsAccumulator();
    await acc.add(out, gt);
    const r = acc.result();
    for (const b of ["LH1", "HL1", "HH1"]) {
      expect(Math.abs(r.gtKurtosis[b] - 3.75)).toBeLessThan(0.3);
      expect(r.kurtosis[b]).toBeCloseTo(r.gtKurtosis[b], 4);
      expect(r.energyRatio[b]).toBeCloseTo(4, 4);
      expect(r.correlation[b]).toBeCloseTo(1, 6);
    }
  });
});

describe("report crop rules (crops.ts)", () => {
  it("finds the textured window on the 4-px grid, and spreads the image pick over the detail ranking", async () => {
    // Flat grey with a 64x64 checkerboard (period 2: all level-1 detail) at (100, 40) and a weaker one at (8, 8).
    const img = grey(256, (r, c) => {
      if (r >= 40 && r < 104 && c >= 100 && c < 164) return 0.5 + 0.2 * ((r + c) % 2);
      if (r >= 8 && r < 72 && c >= 8 && c < 72) return 0.5 + 0.05 * ((r + c) % 2);
      return 0.5;
    });
    expect(await bestDetailRegion(img)).toMatchObject({x: 100, y: 40, size: 64});
    const flat = grey(256, () => 0.5);
    // Ties (a flat image) go to the first window in raster order, inside the margin.
    expect(await bestDetailRegion(flat)).toMatchObject({x: 4, y: 4});
    const picks = await spreadByDetail(
      [0, 1, 2, 3, 4].map((k) => ({id: `i${k}`, gt: grey(64, (r, c) => 0.5 + 0.04 * k * ((r + c) % 2))})),
      3,
    );
    expect(picks.map((p) => p.id)).toEqual(["i4", "i2", "i0"]);
  });
});

describe("RRDN (idealo GAN x4 from @upscalerjs/esrgan-legacy)", () => {
  it("has 4.18 M parameters, returns [1, 4h, 4w, 3] near [0,1], and beats 20 dB PSNR-Y on a test crop", async () => {
    expect(rrdn.params).toBe(4_176_100);
    const gt = cropPatch(testImages[0].image, 200, 100, 96);
    const {lr} = degrade(gt, {preset: "mild", seed: 3});
    const x = tf.tensor4d(lr.data, [1, 24, 24, 3]);
    const y = rrdn.apply(x);
    x.dispose();
    expect(y.shape).toEqual([1, 96, 96, 3]);
    const data = await y.data();
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of data) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // Output range [0,1] (the network is unbounded, so allow a small overshoot); a [0,255] convention would fail.
    expect(lo).toBeGreaterThan(-0.2);
    expect(hi).toBeLessThan(1.2);
    expect(hi).toBeGreaterThan(0.5);
    const g = tf.tensor4d(gt.data, [1, 96, 96, 3]);
    const pt = tf.tidy(() => psnrY(tf.clipByValue(y, 0, 1) as tf.Tensor4D, g, {crop: 4}));
    const p = (await pt.data())[0];
    tf.dispose([y, g, pt]);
    expect(p).toBeGreaterThan(20);
  }, SLOW_MS);
});

describe("evaluate() end to end", () => {
  let images: EvalImage[];
  beforeAll(() => {
    images = prepareEvalImages(testImages, {crop: 48, preset: "mild", degradeSeed: 1});
  });

  it("prepares fixed centre crops with per-image degradation seeds", () => {
    expect(images.map((im) => [im.gt.width, im.gt.height, im.lr.width, im.lr.height])).toEqual([
      [48, 48, 12, 12],
      [48, 48, 12, 12],
    ]);
    const again = prepareEvalImages(testImages.slice(1), {crop: 48, preset: "mild", degradeSeed: 1});
    expect(again[0].degradeSeed).toBe(images[1].degradeSeed);
    expect(Array.from(again[0].lr.data)).toEqual(Array.from(images[1].lr.data));
    expect(images[0].degradeSeed).not.toBe(images[1].degradeSeed);
    const a = testImages[0].image;
    expect(images[0].offset).toEqual([Math.floor((a.height - 48) / 2), Math.floor((a.width - 48) / 2)]);
  });

  it("diagnostics: the predictor-only model is the teacher's regression clipped; the mean path ignores the seed", async () => {
    const {teacher} = loadShippedTeacher(readFileSync("data/models/teacher-base.ckpt"));
    const pred = teacherPredictorModel(teacher, false);
    const mean = teacherModel(teacher, "mean", false);
    try {
      const lr = images[0].lr;
      const out = await pred.upscale(lr, {seed: 1, imageId: "a"});
      const x = imageToTensor(lr);
      const direct = teacher.regress(x);
      const d = Float32Array.from(await direct.data());
      x.dispose();
      direct.dispose();
      expect([out.width, out.height]).toEqual([lr.width * 4, lr.height * 4]);
      let maxDiff = 0;
      for (let i = 0; i < d.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out.data[i] - Math.min(1, Math.max(0, d[i]))));
      expect(maxDiff).toBe(0);
      expect(pred.seeded).toBe(false);
      expect(pred.params).toBe(teacher.parameterCounts().predictor);
      expect(pred.flopsPerOutputPixel(16, 16)!).toBeLessThan(teacherModel(teacher, "stochastic", false).flopsPerOutputPixel(16, 16)!);
      const m1 = await mean.upscale(lr, {seed: 1, imageId: "a"});
      const m2 = await mean.upscale(lr, {seed: 2, imageId: "b"});
      expect(Array.from(m1.data)).toEqual(Array.from(m2.data));
      expect(Array.from(m1.data)).not.toEqual(Array.from(out.data));
    } finally {
      teacher.dispose();
    }
  });

  it("writes the eval.json shape, and bicubic's numbers equal a direct metrics.ts computation", async () => {
    const models = [
      bicubicModel(),
      studentModel(loadShippedStudent(readFileSync("data/models/student-tiny.ckpt")).student),
      teacherModel(loadShippedTeacher(readFileSync("data/models/teacher-base.ckpt")).teacher, "stochastic"),
      rrdnModel(rrdn),
    ];
    const outputs = new Map<string, ImageF32>();
    let units = 0;
    const evaluation = await evaluate(images, models, {
      seeds: [1, 2],
      metricCrop: 4,
      onOutput: (o) => void outputs.set(`${o.model}/${o.seed}/${o.imageId}`, o.image),
      onProgress: (p) => void (units += p.units),
    });
    expect(units).toBeGreaterThan(0);
    for (const m of models) if (m.key !== "rrdn") m.dispose();

    const json = JSON.parse(
      stringifyEvalJson(
        buildEvalJson({
          evaluation,
          images,
          imageSource: "data/test",
          crop: 48,
          metricCrop: 4,
          preset: "mild",
          degradeSeed: 1,
          seeds: [1, 2],
          flops: Object.fromEntries(models.map((m) => [m.key, m.flopsPerOutputPixel(64, 64)])),
          latency: {bicubic: {wasm: {mean: 1, median: 1, runsMs: [1], cpuMean: 1, cpuMedian: 1, cpuRunsMs: [1], warmup: 1, size: "64x64 LR -> 256x256", gflops: null, gflopsCpu: null}}},
          latencyPlans: {wasm: {lrSize: 64, warmup: 1, runs: 1}},
          meta: {commit: "abc1234", workingTreeDirty: false, createdAt: "2026-11-27T00:00:00.000Z", machine: "test", backend: "wasm", runtime: {wallSeconds: 1, cpuSeconds: 1, loadAverage1mAtStart: 1}},
        }),
      ),
    );
    // The part of the schema the model-card renderer depends on (docs/eval-schema.md).
    expect(json.schema).toBe(1);
    expect(typeof json.commit).toBe("string");
    expect(typeof json.createdAt).toBe("string");
    expect(json.backend).toBe("wasm");
    expect(json.protocol).toMatchObject({crop: 4, images: {count: 2, names: ["skimage-astronaut", "skimage-coffee"]}, degradation: {preset: "mild", seed: 1}, teacherSeeds: [1, 2]});
    expect(json.protocol.evalCrop.size).toBe(48);
    expect(Object.keys(json.gt.kurtosis)).toEqual(BANDS);
    expect(Object.keys(json.models)).toEqual(["bicubic", "student-tiny", "teacher-base", "rrdn"]);
    for (const [k, m] of Object.entries(json.models) as [string, Record<string, any>][]) {
      expect(typeof m.label).toBe("string");
      expect(m.params === null || typeof m.params === "number").toBe(true);
      for (const metric of ["psnrY", "ssimY", "haarpsi", "fwd"]) {
        expect(Number.isFinite(m.metrics[metric].mean)).toBe(true);
        expect(k === "teacher-base" ? typeof m.metrics[metric].std : m.metrics[metric].std).toBe(k === "teacher-base" ? "number" : null);
      }
      expect(Object.keys(m.kurtosis)).toEqual(BANDS);
      expect(Object.keys(m.energyRatio)).toEqual(BANDS);
      expect(Object.keys(m.perImage)).toEqual(["skimage-astronaut", "skimage-coffee"]);
    }
    expect(json.models.bicubic.params).toBeNull();
    expect(json.models.rrdn.params).toBe(4_176_100);
    expect(json.models.bicubic.latencyMs.wasm).toMatchObject({mean: 1, size: "64x64 LR -> 256x256"});
    expect(json.models["teacher-base"].perSeed.map((s: {seed: number}) => s.seed)).toEqual([1, 2]);
    expect(json.models["teacher-base"].seedKind).toBe("sampler");
    expect(json.models["student-tiny"].seedKind).toBeNull();
    // Different seeds give different samples.
    expect(outputs.get("teacher-base/1/skimage-coffee")!.data).not.toEqual(outputs.get("teacher-base/2/skimage-coffee")!.data);
    expect(formatEvalTables(json)).toContain("teacher-base");

    // Bicubic, measured directly: imresize x4, clipped, metrics.ts with border crop 4, mean over the two images.
    const direct = {psnrY: 0, ssimY: 0, haarpsi: 0};
    for (const im of images) {
      const up = imresize(im.lr, {scale: 4});
      const a = tf.clipByValue(tf.tensor4d(up.data, [1, 48, 48, 3]), 0, 1) as tf.Tensor4D;
      const b = tf.tensor4d(im.gt.data, [1, 48, 48, 3]);
      const ms = [psnrY(a, b, {crop: 4}), ssimY(a, b, {crop: 4}), haarpsi(a, b, {crop: 4})];
      const [p, s, h] = await Promise.all(ms.map(async (t) => (await t.data())[0]));
      direct.psnrY += p / 2;
      direct.ssimY += s / 2;
      direct.haarpsi += h / 2;
      tf.dispose([a, b, ...ms]);
    }
    expect(json.models.bicubic.metrics.psnrY.mean).toBeCloseTo(direct.psnrY, 4);
    expect(json.models.bicubic.metrics.ssimY.mean).toBeCloseTo(direct.ssimY, 5);
    expect(json.models.bicubic.metrics.haarpsi.mean).toBeCloseTo(direct.haarpsi, 5);
    // The ground truth against itself: FWD reference samples are the 40x40 border-cropped images' 32x32 patches.
    expect(json.gt.fwdSamples).toBe(2);
  }, SLOW_MS);
});

describe("models made of training runs (distilled, standalone) and merging into an existing eval.json", () => {
  let images: EvalImage[];
  let dir: string;
  const SEEDS = [1, 2, 3];
  const shipped = new Uint8Array(readFileSync("data/models/student-tiny.ckpt"));
  const pathOf = (seed: number) => join(dir, `dtkd-default-s${seed}.ckpt`);

  /** The JSON of one evaluation on `imgs` (latency and meta are fixed: they are not what is tested here). */
  const jsonOf = (evaluation: Awaited<ReturnType<typeof evaluate>>, imgs: EvalImage[], extra: Partial<EvalJsonInput> = {}) =>
    buildEvalJson({
      evaluation,
      images: imgs,
      imageSource: "data/test",
      crop: 48,
      metricCrop: 4,
      preset: "mild",
      degradeSeed: 1,
      seeds: [1, 2, 3],
      flops: {},
      latency: {},
      latencyPlans: {},
      meta: {commit: "abc1234", workingTreeDirty: false, createdAt: "2026-11-27T00:00:00.000Z", machine: "test", backend: "wasm", runtime: {wallSeconds: 1, cpuSeconds: 1, loadAverage1mAtStart: 1}},
      ...extra,
    });

  beforeAll(() => {
    images = prepareEvalImages(testImages, {crop: 48, preset: "mild", degradeSeed: 1});
    // Three stand-ins for the grid's artefacts: the shipped student with every weight scaled by 1 + 0.02 (seed - 2),
    // in the distilled artefact's format (a `distill` record with the training seed), so each run differs.
    dir = mkdtempSync(join(tmpdir(), "eval-runs-"));
    const ck = decodeCheckpoint<Record<string, unknown>>(shipped);
    for (const seed of SEEDS) {
      const f = 1 + 0.02 * (seed - 2);
      const tensors = [...ck.tensors].map(([name, t]) => ({name, shape: t.shape, data: t.data.map((x) => x * f)}));
      const meta = {...ck.meta, distill: {steps: 5, loss: "test", from: {sha256: "s"}, config: {seed}}};
      writeFileSync(pathOf(seed), encodeCheckpoint(meta, tensors));
    }
  });
  afterAll(() => rmSync(dir, {recursive: true, force: true}));

  it("finds a cell's runs with artefacts; the entry's mean/std over runs equal the per-run numbers computed directly; merge keeps the rest and refuses another protocol", async () => {
    // ablations.json-like records: seed 4's artefact is missing, another cell is ignored.
    const ablations = {
      runs: [
        ...SEEDS.map((seed) => ({cell: "dtkd-default", seed, steps: 5, outPath: pathOf(seed)})),
        {cell: "dtkd-default", seed: 4, steps: 5, outPath: join(dir, "gone.ckpt")},
        {cell: "recon-only", seed: 1, steps: 5, outPath: pathOf(1)},
      ],
    };
    const {runs, missing} = runsFromAblations(ablations, "dtkd-default", existsSync);
    expect(runs.map((r) => r.seed)).toEqual(SEEDS);
    expect(missing).toHaveLength(1);
    const bytes = new Map(runs.map((r) => [r.path, new Uint8Array(readFileSync(r.path))]));
    // A record whose seed disagrees with its artefact is refused.
    expect(() => trainingRunsModel("distilled", [{...runs[0], seed: 7}], bytes, {cell: "dtkd-default", ablations: null, sha256: () => "h"})).toThrow(/seed 1/);
    const {model, source} = trainingRunsModel("distilled", runs, bytes, {cell: "dtkd-default", ablations: "a.json", sha256: () => "h"});
    // The sampler seeds given to evaluate() do not apply to a model with its own (training) seeds.
    const evaluation = await evaluate(images, [model], {seeds: [9], metricCrop: 4});
    model.dispose();
    const fresh = jsonOf(evaluation, images, {sources: {distilled: source}});
    const entry = fresh.models.distilled;
    expect(entry.seeds).toEqual(SEEDS);
    expect(entry.seedKind).toBe("training");
    expect(entry.source?.runs.map((r) => [r.seed, r.path])).toEqual(SEEDS.map((s) => [s, pathOf(s)]));
    expect(entry.params).toBe(78_616);

    // Directly, per run: the artefact's student, clipped, metrics.ts with border crop 4, mean over the two images;
    // FWD from a deterministic evaluation of that artefact alone.
    const direct: {psnrY: number; ssimY: number; haarpsi: number; fwd: number}[] = [];
    for (const seed of SEEDS) {
      const {student} = studentFromCheckpoint(readFileSync(pathOf(seed)), "ema");
      const d = {psnrY: 0, ssimY: 0, haarpsi: 0, fwd: 0};
      for (const im of images) {
        const x = tf.tensor4d(im.lr.data, [1, 12, 12, 3]);
        const y = tf.tidy(() => tf.clipByValue(student.apply(x), 0, 1)) as tf.Tensor4D;
        const g = tf.tensor4d(im.gt.data, [1, 48, 48, 3]);
        const ms = [psnrY(y, g, {crop: 4}), ssimY(y, g, {crop: 4}), haarpsi(y, g, {crop: 4})];
        const [p, s, h] = await Promise.all(ms.map(async (t) => (await t.data())[0]));
        d.psnrY += p / images.length;
        d.ssimY += s / images.length;
        d.haarpsi += h / images.length;
        tf.dispose([x, y, g, ...ms]);
      }
      const single = studentModel(student);
      d.fwd = (await evaluate(images, [single], {seeds: [1], metricCrop: 4})).models["student-tiny"].metrics.fwd.mean;
      single.dispose();
      direct.push(d);
    }
    expect(direct[0].psnrY).not.toBeCloseTo(direct[2].psnrY, 3);
    for (const k of ["psnrY", "ssimY", "haarpsi", "fwd"] as const) {
      const xs = direct.map((d) => d[k]);
      const mean = xs.reduce((a, b) => a + b, 0) / 3;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
      const digits = k === "fwd" ? 3 : k === "psnrY" ? 4 : 5;
      expect(entry.metrics[k].mean).toBeCloseTo(mean, digits);
      expect(entry.metrics[k].std!).toBeCloseTo(std, digits);
      entry.perSeed.forEach((s, i) => expect(s[k]).toBeCloseTo(xs[i], digits));
    }
    expect(entry.perSeed.map((s) => s.seed)).toEqual(SEEDS);

    // Merge: a file with bicubic only (written before seedKind existed) gets "distilled" added, bicubic untouched.
    const baseJson = jsonOf(await evaluate(images, [bicubicModel()], {seeds: [1, 2, 3], metricCrop: 4}), images);
    const old = JSON.parse(stringifyEvalJson(baseJson));
    delete old.models.bicubic.seedKind;
    const merged = mergeEvalJson(old, fresh, ["distilled"]);
    expect(Object.keys(merged.models)).toEqual(["bicubic", "distilled"]);
    expect(merged.models.bicubic.metrics).toEqual(old.models.bicubic.metrics);
    expect(merged.models.bicubic.seedKind).toBeNull();
    expect(merged.models.distilled.metrics).toEqual(entry.metrics);
    expect(merged.merges?.map((m) => m.keys)).toEqual([["distilled"]]);
    // Merging again replaces the entry in place and records a second merge.
    const again = mergeEvalJson(merged, fresh, ["distilled"]);
    expect(Object.keys(again.models)).toEqual(["bicubic", "distilled"]);
    expect(again.merges).toHaveLength(2);

    // Another degradation seed, crop or backend: refused.
    const otherImages = prepareEvalImages(testImages, {crop: 48, preset: "mild", degradeSeed: 2});
    expect(() => mergeEvalJson(old, jsonOf(evaluation, otherImages, {degradeSeed: 2}), ["distilled"])).toThrow(/merge refused.*degradation/);
    const cropped = prepareEvalImages(testImages, {crop: 40, preset: "mild", degradeSeed: 1});
    expect(() => mergeEvalJson(old, jsonOf(evaluation, cropped, {crop: 40}), ["distilled"])).toThrow(/merge refused.*evalCrop/);
    expect(() => mergeEvalJson(old, {...fresh, backend: "cpu"}, ["distilled"])).toThrow(/merge refused.*backend/);
    expect(() => mergeEvalJson(old, fresh, ["standalone"])).toThrow(/no model "standalone"/);
  }, SLOW_MS);
});
