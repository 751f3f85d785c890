// The evaluation (src/lib/eval/): band statistics on known signals, the RRDN reference, and an end-to-end run of
// evaluate() + buildEvalJson() on two tiny crops of the committed test set. FWD has its own file (fwd.test.ts).
import * as tf from "@tensorflow/tfjs";
import {readFileSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {BandStatsAccumulator} from "../src/lib/eval/band-stats.js";
import {evaluate, prepareEvalImages, type EvalImage} from "../src/lib/eval/evaluate.js";
import {bicubicModel, rrdnModel, studentModel, teacherModel} from "../src/lib/eval/models.js";
import {buildEvalJson, formatEvalTables, stringifyEvalJson} from "../src/lib/eval/report.js";
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
