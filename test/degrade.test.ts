import {readFileSync} from "node:fs";
import {beforeAll, describe, expect, it} from "vitest";
import {
  degrade,
  jpegCompress,
  jpegQuantTable,
  jpegRoundTrip,
  PRESETS,
  STAGE_NAMES,
  toUint8,
  type DegradeResult,
  type ImageF32,
  type StageTrace,
} from "../src/lib/degrade";
import {decodeImage, encodePng, toRgb} from "../src/lib/image-io";
import {
  filter2D,
  gaussianKernel,
  generalizedGaussianKernel,
  MIXED_KERNEL_TYPES,
  plateauKernel,
  REALESRGAN_KERNEL1,
  sampleBlurKernel,
  sampleFinalSinc,
  separableFactors,
  sincKernel,
  type BlurKernel,
  type KernelType,
} from "../src/lib/kernels";
import {imresize} from "../src/lib/resize";
import {createRng} from "../src/lib/rng";
import {cropPatch} from "../src/lib/patches";

interface KernelFixture {
  type: KernelType;
  size: number;
  sigmaX?: number;
  sigmaY?: number;
  theta?: number;
  beta?: number;
  omegaC?: number;
  padTo?: number;
  data: number[];
}
const fx = JSON.parse(readFileSync("test/fixtures/degrade.json", "utf8")) as {
  image: {height: number; width: number; channels: number; data: number[]};
  kernels: KernelFixture[];
  filter2D: {kernel: number; output: number[]};
};

function load(file: string): ImageF32 {
  const r = decodeImage(readFileSync(file), file);
  return {width: r.width, height: r.height, channels: 3, data: toRgb(r)};
}

function makeKernel(f: KernelFixture): BlurKernel {
  const iso = !f.type.includes("aniso");
  switch (f.type) {
    case "iso":
    case "aniso":
      return gaussianKernel(f.size, f.sigmaX!, f.sigmaY!, f.theta!, iso);
    case "generalized_iso":
    case "generalized_aniso":
      return generalizedGaussianKernel(f.size, f.sigmaX!, f.sigmaY!, f.theta!, f.beta!, iso);
    case "plateau_iso":
    case "plateau_aniso":
      return plateauKernel(f.size, f.sigmaX!, f.sigmaY!, f.theta!, f.beta!, iso);
    case "sinc":
      return sincKernel(f.size, f.omegaC!, f.padTo ?? 0);
  }
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/**
 * Blockiness: mean absolute difference between horizontally/vertically adjacent pixels that straddle an 8x8
 * block border, divided by the same mean for pairs inside blocks. About 1 for a natural image; rises when
 * block borders become visible steps.
 */
function blockiness(img: ImageF32): number {
  const {width: w, height: h, data} = img;
  let across = 0,
    nAcross = 0,
    inside = 0,
    nInside = 0;
  const lum = (x: number, y: number) => {
    const i = (y * w + x) * 3;
    return 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  };
  for (let y = 0; y < h; y++)
    for (let x = 0; x + 1 < w; x++) {
      const d = Math.abs(lum(x + 1, y) - lum(x, y));
      if ((x + 1) % 8 === 0) {
        across += d;
        nAcross++;
      } else {
        inside += d;
        nInside++;
      }
    }
  for (let y = 0; y + 1 < h; y++)
    for (let x = 0; x < w; x++) {
      const d = Math.abs(lum(x, y + 1) - lum(x, y));
      if ((y + 1) % 8 === 0) {
        across += d;
        nAcross++;
      } else {
        inside += d;
        nInside++;
      }
    }
  return across / nAcross / (inside / nInside);
}

function bytesOf(r: DegradeResult): Uint8Array {
  return toUint8(r.lr);
}

let coffee: ImageF32;
let chelsea: ImageF32;
beforeAll(() => {
  coffee = load("data/test/coffee.png");
  chelsea = load("data/test/chelsea.png");
});

describe("blur kernels", () => {
  it("match basicsr's formulas (numpy/scipy fixtures) for every family", () => {
    const seen = new Set<string>();
    for (const f of fx.kernels) {
      const k = makeKernel(f);
      expect(k.size).toBe(f.padTo ?? f.size);
      let m = 0;
      for (let i = 0; i < f.data.length; i++) m = Math.max(m, Math.abs(k.data[i] - f.data[i]));
      expect(m, `${f.type} ${f.size}`).toBeLessThan(1e-7);
      seen.add(f.type);
    }
    expect([...seen].sort()).toEqual([...MIXED_KERNEL_TYPES, "sinc"].sort());
  });

  it("every sampled kernel of every type sums to 1", () => {
    const types = new Map<string, number>();
    for (let s = 0; s < 600; s++) {
      const k = sampleBlurKernel(createRng(s), REALESRGAN_KERNEL1);
      expect(Math.abs(sum(k.data) - 1)).toBeLessThan(1e-12);
      expect(k.size % 2).toBe(1);
      expect(k.size).toBeGreaterThanOrEqual(7);
      expect(k.size).toBeLessThanOrEqual(21);
      types.set(k.type, (types.get(k.type) ?? 0) + 1);
    }
    for (const t of [...MIXED_KERNEL_TYPES, "sinc"]) expect(types.get(t) ?? 0, t).toBeGreaterThan(0);
    // Real-ESRGAN's mix: sinc 0.1, then iso 0.45 of the remaining 0.9.
    expect(Math.abs((types.get("sinc") ?? 0) / 600 - 0.1)).toBeLessThan(0.04);
    expect(Math.abs((types.get("iso") ?? 0) / 600 - 0.405)).toBeLessThan(0.06);
    for (let s = 0; s < 50; s++) expect(Math.abs(sum(sampleFinalSinc(createRng(s)).data) - 1)).toBeLessThan(1e-12);
  });

  it("filter2D matches basicsr's filter2D (reflect pad + conv2d, torch)", () => {
    const img: ImageF32 = {...fx.image, data: Float32Array.from(fx.image.data)};
    const f = fx.kernels[fx.filter2D.kernel];
    const out = filter2D(img, makeKernel(f));
    let m = 0;
    for (let i = 0; i < out.data.length; i++) m = Math.max(m, Math.abs(out.data[i] - fx.filter2D.output[i]));
    expect(m).toBeLessThan(1e-6);
  });

  it("the separable shortcut agrees with the full 2-D sum and is only taken for rank-one kernels", () => {
    const iso = gaussianKernel(21, 2.1, 2.1, 0, true);
    const aniso = gaussianKernel(21, 2.8, 0.7, 0.6, false);
    expect(separableFactors(iso)).not.toBeNull();
    expect(separableFactors(aniso)).toBeNull();
    expect(separableFactors(sincKernel(13, 1.3))).toBeNull();
    const img = cropPatch(chelsea, 100, 100, 40);
    const fast = filter2D(img, iso);
    // Same kernel with a negligible perturbation that breaks rank one -> full 2-D path.
    const data = Float64Array.from(iso.data);
    data[0] += 1e-10;
    const slow = filter2D(img, {...iso, data});
    let m = 0;
    for (let i = 0; i < fast.data.length; i++) m = Math.max(m, Math.abs(fast.data[i] - slow.data[i]));
    expect(m).toBeLessThan(1e-6);
  });
});

describe("JPEG stage", () => {
  it("uses libjpeg's quality scaling", () => {
    expect(jpegQuantTable(50, false)[0]).toBe(16);
    expect(jpegQuantTable(75, false)[0]).toBe(8);
    expect(jpegQuantTable(10, false)[63]).toBe(255);
    expect(jpegQuantTable(100, true).every((v) => v === 1)).toBe(true);
  });

  it("agrees with a real encoder/decoder (jpeg-js, 4:4:4)", () => {
    const img = cropPatch(coffee, 200, 100, 64);
    for (const q of [25, 60, 90]) {
      const a = jpegCompress(img, q, "4:4:4");
      const b = jpegRoundTrip(img, q);
      let within1 = 0;
      let meanAbs = 0;
      let max = 0;
      for (let i = 0; i < a.data.length; i++) {
        const d = Math.abs(Math.round((a.data[i] - b.data[i]) * 255));
        if (d <= 1) within1++;
        meanAbs += d;
        max = Math.max(max, d);
      }
      // jpeg-js's decoder truncates to integers where a rounding decoder does not, and its float DCT rounds a
      // few coefficients the other way: nearly all samples within one level, rare outliers a few levels off.
      expect(within1 / a.data.length, `q${q}`).toBeGreaterThan(0.97);
      expect(meanAbs / a.data.length, `q${q}`).toBeLessThan(1);
      expect(max, `q${q}`).toBeLessThanOrEqual(12);
    }
  });

  it("adds block artefacts that grow as quality falls (both engines)", () => {
    const img = cropPatch(coffee, 150, 100, 128);
    const base = blockiness(img);
    expect(base).toBeGreaterThan(0.8);
    expect(base).toBeLessThan(1.2);
    for (const engine of ["lab", "jpeg-js"] as const) {
      const qs = [95, 70, 40, 15, 5];
      const b = qs.map((q) => blockiness(engine === "lab" ? jpegCompress(img, q) : jpegRoundTrip(img, q)));
      for (let i = 1; i < b.length; i++) expect(b[i], `${engine} q${qs[i]} vs q${qs[i - 1]}: ${b.map((v) => v.toFixed(2))}`).toBeGreaterThan(b[i - 1]);
      expect(b[b.length - 1]).toBeGreaterThan(1.5 * base);
    }
  });

  it("4:2:0 loses chroma detail that 4:4:4 keeps", () => {
    const img = cropPatch(coffee, 150, 100, 64);
    const err = (o: ImageF32) => {
      // error in the chroma-ish difference R - G
      let e = 0;
      for (let p = 0; p < 64 * 64; p++) e += Math.abs(o.data[p * 3] - o.data[p * 3 + 1] - (img.data[p * 3] - img.data[p * 3 + 1]));
      return e;
    };
    expect(err(jpegCompress(img, 95, "4:2:0"))).toBeGreaterThan(1.3 * err(jpegCompress(img, 95, "4:4:4")));
  });

  it("the pipeline's JPEG stage leaves blocks in the LR image, more at low quality", () => {
    const hr = cropPatch(coffee, 40, 40, 256); // LR 64x64
    const only = {blur1: false, resize1: false, noise1: false, jpeg1: false, blur2: false, resize2: false, noise2: false, sinc: false};
    const at = (q: number) =>
      blockiness(
        degrade(hr, {preset: "realistic", seed: 1, stages: only, config: {jpeg2: {qualityRange: [q, q]}, finalResize: {modes: ["area"]}, finalOrder: "resize-first"}}).lr,
      );
    const hi = at(95);
    const lo = at(20);
    expect(lo).toBeGreaterThan(hi * 1.3);
    // the real-file engine works inside the pipeline too
    const real = (seed: number) =>
      degrade(hr, {preset: "realistic", seed, stages: only, config: {jpeg2: {qualityRange: [20, 20], engine: "jpeg-js", subsampling: "4:4:4"}, finalOrder: "resize-first"}});
    expect(blockiness(real(1).lr)).toBeGreaterThan(hi * 1.3);
    expect(toUint8(real(1).lr)).toEqual(toUint8(real(1).lr));
  });
});

describe("degrade", () => {
  it("gives identical LR bytes for the same seed, different bytes for another seed (every preset)", () => {
    const hr = cropPatch(coffee, 200, 100, 64);
    for (const preset of PRESETS) {
      const a = degrade(hr, {preset, seed: 11});
      const b = degrade(hr, {preset, seed: 11});
      expect(bytesOf(a)).toEqual(bytesOf(b));
      expect(a.trace.map((t) => t.params)).toEqual(b.trace.map((t) => t.params));
      if (preset !== "bicubic") {
        const c = degrade(hr, {preset, seed: 12});
        expect(bytesOf(c)).not.toEqual(bytesOf(a));
      }
    }
  });

  it("bicubic preset is MATLAB imresize x1/4 rounded to 8 bits", () => {
    const hr = cropPatch(chelsea, 120, 80, 64);
    const r = degrade(hr, {preset: "bicubic", seed: 0});
    const ref = imresize(hr, {scale: 0.25});
    expect([r.lr.width, r.lr.height]).toEqual([16, 16]);
    for (let i = 0; i < ref.data.length; i++) expect(r.lr.data[i]).toBe(Math.fround(Math.min(255, Math.max(0, Math.round(ref.data[i] * 255))) / 255));
    expect(r.trace.filter((t) => t.applied).map((t) => t.stage)).toEqual(["bicubic"]);
  });

  it("records every stage, in order, with its drawn parameters and kernels", () => {
    const hr = cropPatch(coffee, 200, 100, 64);
    const r = degrade(hr, {preset: "realistic", seed: 5, capture: true});
    expect(new Set(r.trace.map((t) => t.stage))).toEqual(new Set(STAGE_NAMES));
    const byName = Object.fromEntries(r.trace.map((t) => [t.stage, t])) as Record<string, StageTrace>;
    expect(byName.blur1.kernel).toBeDefined();
    expect(Math.abs(sum(byName.blur1.kernel!.data) - 1)).toBeLessThan(1e-12);
    expect(byName.blur1.kernel!.data.length).toBe(byName.blur1.kernel!.size ** 2);
    expect(typeof byName.resize1.params.scale).toBe("number");
    expect(["gaussian", "poisson"]).toContain(byName.noise1.params.type);
    expect(byName.jpeg1.params.quality).toBe(Math.round(byName.jpeg1.params.qualityDrawn as number));
    for (const t of r.trace) {
      if (t.enabled) expect(t.image, t.stage).toBeDefined();
      if (t.image) expect([t.image.height, t.image.width]).toEqual(t.outSize);
    }
    // sizes chain from HR to LR
    const applied = r.trace.filter((t) => t.enabled);
    expect(applied[0].inSize).toEqual([64, 64]);
    expect(r.trace.find((t) => t.stage === "finalResize")!.outSize).toEqual([16, 16]);
    expect(JSON.parse(JSON.stringify(r.trace.map(({image, ...t}) => t)))).toBeTruthy();
  });

  it("draws parameters from Real-ESRGAN's published ranges and probabilities", () => {
    const hr = cropPatch(chelsea, 100, 80, 32); // small: this is about the draws, not the pixels
    const n = 250;
    let sinc1 = 0,
      blur2 = 0,
      finalSinc = 0,
      resizeFirst = 0,
      gauss1 = 0,
      down1 = 0;
    for (let s = 0; s < n; s++) {
      const r = degrade(hr, {preset: "realistic", seed: 1000 + s});
      const t = Object.fromEntries(r.trace.map((x) => [x.stage, x])) as Record<string, StageTrace>;
      const p1 = t.blur1.params;
      if (p1.kernelType === "sinc") sinc1++;
      else {
        expect(p1.sigmaX as number).toBeGreaterThanOrEqual(0.2);
        expect(p1.sigmaX as number).toBeLessThan(3);
      }
      const p2 = t.blur2.params;
      if (p2.kernelType !== "sinc") expect(p2.sigmaX as number).toBeLessThan(1.5);
      if (t.blur2.applied) blur2++;
      if (t.sinc.applied) finalSinc++;
      if (t.finalResize.params.order === "resize-first") resizeFirst++;
      const s1 = t.resize1.params.scale as number;
      expect(s1).toBeGreaterThanOrEqual(0.15);
      expect(s1).toBeLessThanOrEqual(1.5);
      if (t.resize1.params.direction === "down") down1++;
      const s2 = t.resize2.params.scale as number;
      expect(s2).toBeGreaterThanOrEqual(0.3);
      expect(s2).toBeLessThanOrEqual(1.2);
      for (const [stage, maxSigma, maxPoisson] of [
        ["noise1", 30, 3],
        ["noise2", 25, 2.5],
      ] as const) {
        const np = t[stage].params;
        if (np.type === "gaussian") {
          expect(np.sigma as number).toBeGreaterThanOrEqual(1);
          expect(np.sigma as number).toBeLessThanOrEqual(maxSigma);
          if (stage === "noise1") gauss1++;
        } else {
          expect(np.scale as number).toBeGreaterThanOrEqual(0.05);
          expect(np.scale as number).toBeLessThanOrEqual(maxPoisson);
        }
      }
      for (const j of [t.jpeg1, t.jpeg2]) {
        expect(j.params.quality as number).toBeGreaterThanOrEqual(30);
        expect(j.params.quality as number).toBeLessThanOrEqual(95);
      }
    }
    const near = (k: number, p: number) => Math.abs(k / n - p) < 4 * Math.sqrt((p * (1 - p)) / n);
    expect(near(sinc1, 0.1), `sinc1 ${sinc1}`).toBe(true);
    expect(near(blur2, 0.8), `blur2 ${blur2}`).toBe(true);
    expect(near(finalSinc, 0.8), `final sinc ${finalSinc}`).toBe(true);
    expect(near(resizeFirst, 0.5), `order ${resizeFirst}`).toBe(true);
    expect(near(gauss1, 0.5), `gaussian ${gauss1}`).toBe(true);
    expect(near(down1, 0.7), `down ${down1}`).toBe(true);
  });

  it("switching one stage off leaves the other stages' draws unchanged", () => {
    const hr = cropPatch(coffee, 200, 100, 64);
    const full = degrade(hr, {preset: "realistic", seed: 21});
    const noBlur = degrade(hr, {preset: "realistic", seed: 21, stages: {blur1: false}});
    const params = (r: DegradeResult, s: string) => r.trace.find((t) => t.stage === s)!.params;
    for (const s of ["resize1", "noise1", "jpeg1", "blur2", "resize2", "noise2", "finalResize", "sinc", "jpeg2"])
      expect(params(noBlur, s), s).toEqual(params(full, s));
    expect(noBlur.trace.find((t) => t.stage === "blur1")!.applied).toBe(false);
    expect(noBlur.preset).toBe("custom");
    expect(bytesOf(noBlur)).not.toEqual(bytesOf(full));
    expect(() => degrade(hr, {preset: "realistic", seed: 1, stages: {finalResize: false}})).toThrow(/finalResize/);
    expect(() => degrade(hr, {preset: "realistic", seed: 1, stages: {nope: true} as never})).toThrow(/unknown stage/);
  });

  it("mild is lighter than realistic", () => {
    // Mean absolute LR error against the bicubic LR over a few seeds.
    const hr = cropPatch(coffee, 200, 100, 64);
    const ref = degrade(hr, {preset: "bicubic", seed: 0}).lr.data;
    const dist = (preset: "mild" | "realistic") => {
      let e = 0;
      for (let s = 0; s < 12; s++) {
        const lr = degrade(hr, {preset, seed: s}).lr.data;
        for (let i = 0; i < lr.length; i++) e += Math.abs(lr[i] - ref[i]);
      }
      return e;
    };
    expect(dist("mild")).toBeLessThan(dist("realistic"));
  });

  it("takes odd sizes, grey, 16-bit and alpha images (converted with toRgb)", () => {
    const rng = createRng(4);
    const cases: {name: string; channels: 1 | 3 | 4; bitDepth: 8 | 16; w: number; h: number}[] = [
      {name: "odd 67x45 RGB", channels: 3, bitDepth: 8, w: 67, h: 45},
      {name: "grey 33x29", channels: 1, bitDepth: 8, w: 33, h: 29},
      {name: "16-bit RGB 40x36", channels: 3, bitDepth: 16, w: 40, h: 36},
      {name: "RGBA 37x41", channels: 4, bitDepth: 8, w: 37, h: 41},
      {name: "16-bit grey 5x7", channels: 1, bitDepth: 16, w: 5, h: 7},
    ];
    for (const c of cases) {
      const base = cropPatch(coffee, 100, 100, c.w, c.h);
      const data = new Float32Array(c.w * c.h * c.channels);
      for (let p = 0; p < c.w * c.h; p++)
        for (let k = 0; k < c.channels; k++)
          data[p * c.channels + k] = k < 3 ? base.data[p * 3 + Math.min(k, 2)] + (c.bitDepth === 16 ? rng.uniform() / 300 : 0) : rng.uniform();
      for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, data[i]));
      const file = encodePng({width: c.w, height: c.h, channels: c.channels, data}, c.bitDepth);
      const raster = decodeImage(file, c.name);
      expect(raster.channels).toBe(c.channels);
      expect(raster.bitDepth).toBe(c.bitDepth);
      const rgb: ImageF32 = {width: raster.width, height: raster.height, channels: 3, data: toRgb(raster)};
      for (const preset of PRESETS) {
        const r = degrade(rgb, {preset, seed: 3});
        const lh = Math.floor(c.h / 4);
        const lw = Math.floor(c.w / 4);
        expect([r.lr.height, r.lr.width], `${c.name} ${preset}`).toEqual([lh, lw]);
        expect([r.hr.height, r.hr.width]).toEqual([lh * 4, lw * 4]);
        for (const v of r.lr.data) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
          expect(Math.abs(v * 255 - Math.round(v * 255))).toBeLessThan(1e-4);
        }
        expect(bytesOf(degrade(rgb, {preset, seed: 3}))).toEqual(bytesOf(r));
      }
      // degrade also converts non-RGB input itself
      if (c.channels !== 3) {
        const direct = degrade({width: raster.width, height: raster.height, channels: raster.channels, data: raster.data}, {preset: "mild", seed: 3});
        expect(bytesOf(direct)).toEqual(bytesOf(degrade(rgb, {preset: "mild", seed: 3})));
      }
    }
    expect(() => degrade({width: 3, height: 3, channels: 3, data: new Float32Array(27)}, {seed: 1})).toThrow(/smaller than the scale/);
  });
});
