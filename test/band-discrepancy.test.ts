// Band discrepancy (src/lib/band-discrepancy.ts): Parseval for the orthonormal wavelets, the maps and band sizes,
// group energies, and the loss terms against bandGroupLoss itself.
import * as tf from "@tensorflow/tfjs";
import {beforeAll, describe, expect, it} from "vitest";
import {analyseDiscrepancy, distillationTerms, pixelDiscrepancy, effectiveBandWeights, groupEnergies, weightedTotal} from "../src/lib/band-discrepancy.js";
import {bandGroupLoss, defaultGroups, disposeBandLoss, lossPreset, readBandLoss} from "../src/lib/loss.js";
import {createRng} from "../src/lib/rng.js";
import {bandNames, WAVELET_NAMES} from "../src/lib/wavelets.js";
import {useBackend} from "./helpers/backends";

beforeAll(async () => {
  await useBackend("wasm");
});

function image(seed: number, h: number, w: number, scale = 1): tf.Tensor4D {
  const r = createRng(seed);
  const data = new Float32Array(h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = 0.5 + scale * 0.2 * r.normal();
  return tf.tensor4d(data, [1, h, w, 3]);
}

describe("analyseDiscrepancy", () => {
  it("band energies of teacher - student add up to the pixel-domain energy (Parseval), every wavelet and depth", async () => {
    const a = image(1, 32, 24);
    const b = image(2, 32, 24);
    for (const wavelet of WAVELET_NAMES) {
      for (const levels of [1, 2, 3]) {
        const r = await analyseDiscrepancy(a, b, {wavelet, levels});
        expect(r.paddedSize).toEqual([32, 24]);
        expect(r.bands.map((x) => x.band)).toEqual(bandNames(levels));
        expect(r.pixelEnergy).toBeGreaterThan(1);
        expect(Math.abs(r.bandEnergy - r.pixelEnergy) / r.pixelEnergy, `${wavelet} ${levels}`).toBeLessThan(1e-4);
      }
    }
    tf.dispose([a, b]);
  });

  it("maps have the band's size, mean |d| over channels, and agree with the band's L1", async () => {
    const a = image(3, 16, 16);
    const b = image(4, 16, 16);
    const r = await analyseDiscrepancy(a, b, {wavelet: "haar", levels: 2});
    for (const band of r.bands) {
      const side = band.level === 2 ? 4 : 8;
      expect([band.height, band.width, band.map.length]).toEqual([side, side, side * side]);
      const mean = band.map.reduce((x, y) => x + y, 0) / band.map.length;
      expect(mean).toBeCloseTo(band.meanAbs, 5);
      expect(band.mapMax).toBe(Math.max(...band.map));
    }
    // Haar HH1 at (0,0), channel-mean: |(d00 - d01 - d10 + d11) / 2| averaged over RGB, computed by hand.
    const d = tf.sub(a, b).dataSync();
    const at = (y: number, x: number, c: number) => d[(y * 16 + x) * 3 + c];
    let hh = 0;
    for (let c = 0; c < 3; c++) hh += Math.abs((at(0, 0, c) - at(0, 1, c) - at(1, 0, c) + at(1, 1, c)) / 2);
    expect(r.bands.find((x) => x.band === "HH1")!.map[0]).toBeCloseTo(hh / 3, 5);
    tf.dispose([a, b]);
  });

  it("pixelDiscrepancy is the channel mean of |a - b| per pixel", () => {
    const a = {width: 2, height: 1, channels: 3, data: new Float32Array([0, 0, 0, 1, 1, 1])};
    const b = {width: 2, height: 1, channels: 3, data: new Float32Array([0.3, 0, 0, 1, 0.4, 1])};
    const r = pixelDiscrepancy(a, b);
    expect(Array.from(r.map).map((v) => +v.toFixed(6))).toEqual([0.1, 0.2]);
    expect(r.max).toBeCloseTo(0.2, 6);
    expect(r.mean).toBeCloseTo(0.15, 6);
    expect(() => pixelDiscrepancy(a, {...b, width: 1})).toThrow(/differ/);
  });

  it("identical images have no discrepancy; a larger difference has more energy", async () => {
    const a = image(5, 16, 16);
    const same = await analyseDiscrepancy(a, a, {wavelet: "db2", levels: 2});
    expect(same.bandEnergy).toBe(0);
    const b1 = image(6, 16, 16, 1);
    const b3 = image(6, 16, 16, 3);
    const e1 = await analyseDiscrepancy(a, b1, {wavelet: "db2", levels: 2});
    const e3 = await analyseDiscrepancy(a, b3, {wavelet: "db2", levels: 2});
    expect(e3.bandEnergy).toBeGreaterThan(e1.bandEnergy);
    tf.dispose([a, b1, b3]);
  });
});

describe("groups and loss terms", () => {
  it("group energies sum the member bands and their shares sum to 1 with the default groups", async () => {
    const a = image(7, 16, 16);
    const b = image(8, 16, 16);
    const r = await analyseDiscrepancy(a, b, {wavelet: "haar", levels: 2});
    const g = groupEnergies(r.bands, defaultGroups(2));
    expect(g.map((x) => x.group)).toEqual(["low", "mid", "high"]);
    const e = (n: string) => r.bands.find((x) => x.band === n)!.energy;
    expect(g[0].energy).toBeCloseTo(e("LL2"), 6);
    expect(g[1].energy).toBeCloseTo(e("LH2") + e("HL2") + e("HH2"), 6);
    expect(g.reduce((s, x) => s + x.share, 0)).toBeCloseTo(1, 6);
    expect(() => groupEnergies(r.bands, {x: ["LH3"]})).toThrow(/LH3/);
    tf.dispose([a, b]);
  });

  it("distillationTerms are bandGroupLoss's numbers; weighting per-band values by loss.ts's rule gives its total", async () => {
    const student = image(9, 16, 16);
    const teacher = image(10, 16, 16);
    for (const cfg of [lossPreset("dtkd"), lossPreset("low", 3, "db2"), lossPreset("korkmaz"), lossPreset("uniform", 1, "sym4")]) {
      const t = await distillationTerms(student, teacher, cfg);
      const ref = bandGroupLoss(student, teacher, cfg);
      const v = await readBandLoss(ref);
      disposeBandLoss(ref);
      expect(t.total).toBeCloseTo(v.total, 6);
      expect(t.terms.reduce((s, x) => s + x.weighted, 0)).toBeCloseTo(v.total, 5);
      for (const term of t.terms) {
        expect(term.value).toBeCloseTo(v.perGroup[term.group], 6);
        expect(term.weight).toBe(cfg.weights[term.group]);
      }
      expect(weightedTotal(t.perBand, cfg)).toBeCloseTo(v.total, 5);
      // Per-band weights: sum over bands of weight x band distance is the same total.
      const w = effectiveBandWeights(cfg);
      expect(Object.entries(w).reduce((s, [band, k]) => s + k * t.perBand[band], 0)).toBeCloseTo(v.total, 5);
    }
    // The dtkd preset stresses the mid group: each of LH2, HL2, HH2 carries 2/3, LL2 0.5, each level-1 band 1/3.
    const w = effectiveBandWeights(lossPreset("dtkd"));
    expect(w.LL2).toBeCloseTo(0.5, 12);
    expect(w.HL2).toBeCloseTo(2 / 3, 12);
    expect(w.HH1).toBeCloseTo(1 / 3, 12);
    tf.dispose([student, teacher]);
  });
});
