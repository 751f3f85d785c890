// The report page's data shaping (src/lib/report/): on the committed eval.json (and ablations.json / crops when
// present), and on small synthetic inputs whose answers are known by hand. Missing inputs must give empty
// sections, not errors.
import {existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join, resolve} from "node:path";
import {encode as encodePng} from "fast-png";
import {afterAll, describe, expect, it} from "vitest";
import {ablationPdPoints, ablationView, cellMetric, compareCells} from "../src/lib/report/ablations.js";
import {packCrops, pngSize, unpackCrops} from "../src/lib/report/crops.js";
import {readAblationsFile, readCropsPack, readEvalFile} from "../src/lib/report/files.js";
import {formatSigned, formatSpread, formatStat} from "../src/lib/report/format.js";
import {compareRows, efficiency, MAIN_ROWS, mainTable} from "../src/lib/report/main-table.js";
import {methodRows} from "../src/lib/report/method.js";
import {ablationSentences, comparisonSentences, mainTableSentences} from "../src/lib/report/sentences.js";
import {reportCharts} from "../src/lib/report/specs.js";
import {difference, meanStd} from "../src/lib/report/stats.js";
import {mainTableData, referenceTableData} from "../src/lib/report/tables.js";
import {checkAblationsJson, checkCropsIndex, checkEvalJson, ResultFileError, type AblationsJson, type EvalJson, type EvalModel} from "../src/lib/report/types.js";

const ROOT = resolve(import.meta.dirname, "..");
const realEval = JSON.parse(readFileSync(join(ROOT, "data/results/eval.json"), "utf8"));
const tmp = mkdtempSync(join(tmpdir(), "dtkd-report-"));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

const BANDS = ["LL2", "LH2", "HL2", "HH2", "LH1", "HL1", "HH1"];

/** A seeded eval.json model whose per-seed values are given, so mean and std are known. */
function model(label: string, per: {psnrY: number[]; fwd: number[]}, opts: Partial<EvalModel> = {}): EvalModel {
  const s = (xs: number[]) => meanStd(xs);
  return {
    label,
    params: 100,
    seeds: per.psnrY.length > 1 ? per.psnrY.map((_, i) => i + 1) : null,
    metrics: {psnrY: s(per.psnrY), ssimY: {mean: 0.7, std: per.psnrY.length > 1 ? 0.01 : null}, haarpsi: {mean: 0.6, std: per.psnrY.length > 1 ? 0.01 : null}, fwd: s(per.fwd)},
    kurtosis: Object.fromEntries(BANDS.map((b, i) => [b, 3 + i])),
    bandStd: per.psnrY.length > 1 ? {kurtosis: Object.fromEntries(BANDS.map((b) => [b, 0.5]))} : null,
    flopsPerOutputPixel: 1000,
    ...opts,
  };
}

function syntheticEval(models: Record<string, EvalModel>): EvalJson {
  const e = JSON.parse(JSON.stringify(realEval)) as EvalJson;
  e.models = models;
  return e;
}

/** A two-cell-per-axis grid with known seed values. */
function syntheticAblations(): AblationsJson {
  const stat = (xs: number[]) => {
    const s = meanStd(xs);
    return {mean: s.mean!, std: s.std ?? 0};
  };
  const cell = (psnr: number[], fwd: number[], hh1: number[]) => ({
    n: psnr.length,
    seeds: psnr.map((_, i) => i + 1),
    metrics: {
      psnrY: stat(psnr),
      ssimY: stat(psnr.map(() => 0.7)),
      haarpsi: stat(psnr.map(() => 0.75)),
      fwd: stat(fwd),
      energyRatio: [stat([0.1]), stat([0.1]), stat([0.02])],
      kurtosis: [stat([20]), stat([19]), stat(hh1)],
    },
  });
  const ref = (psnrY: number, fwd: number, hh1: number) => ({psnrY, ssimY: 0.7, haarpsi: 0.75, energyRatio: [0.1, 0.1, 0.02], kurtosis: [20, 19, hh1], bandL1: {}, fwd});
  return {
    version: 1,
    commit: "abc1234",
    createdAt: "2026-11-27T00:00:00Z",
    updatedAt: "2026-11-27T01:00:00Z",
    settings: {steps: 10, train: {batch: 4, lr: 1e-4, emaDecay: 0.9}, data: {valCount: 8, patches: 16, hrSize: 64, targetSeeds: 2, sampler: "stochastic", preset: "mild"}},
    protocol: {data: "8 patches"},
    grid: [
      {cell: "dtkd-default", axes: {depth: "2", weighting: "dtkd", schedule: "linear"}, loss: "haar 2", schedule: "linear_0_1_0.5"},
      {cell: "depth-pixel", axes: {depth: "pixel"}, loss: "pixel", schedule: "linear_0_1_0.5"},
      {cell: "depth-3", axes: {depth: "3"}, loss: "haar 3", schedule: "linear_0_1_0.5"},
      {cell: "weight-low", axes: {weighting: "low"}, loss: "low", schedule: "linear_0_1_0.5"},
      {cell: "recon-only", axes: {baseline: "recon-only"}, loss: "haar 2", schedule: "const_0"},
    ],
    reference: {start: ref(30, 500, 25), bicubic: ref(29.5, 480, 30), teacherSample: ref(28, 300, 7)},
    runs: [1, 2, 3].flatMap((s) => ["dtkd-default", "depth-pixel", "recon-only"].map((c) => ({id: `${c}#${s}`, cell: c, seed: s}))).concat([{id: "depth-3#1", cell: "depth-3", seed: 1}]),
    cells: {
      "dtkd-default": cell([30.1, 30.2, 30.3], [400, 420, 440], [10, 11, 12]),
      "depth-pixel": cell([30.0, 30.0, 30.3], [450, 450, 450], [20, 20, 20]),
      "depth-3": cell([29.9], [410], [9]),
      "recon-only": cell([30.2, 30.3, 30.4], [500, 510, 520], [24, 25, 26]),
    },
  };
}

describe("formatting", () => {
  it("formats stats with the metric's decimals and a two-digit spread", () => {
    expect(formatStat({mean: 26.732979, std: 0.0022757}, "psnrY")).toBe("26.73 ± 0.0023");
    expect(formatStat({mean: 26.958749, std: null}, "psnrY")).toBe("26.96");
    expect(formatStat({mean: 5842.54, std: 1.6439}, "fwd")).toBe("5843 ± 1.6");
    expect(formatStat({mean: null, std: null}, "fwd")).toBe("n/a");
    expect(formatSpread(14.2)).toBe("14");
    expect(formatSpread(0.000016)).toBe("0.000016");
    expect(formatSigned(-0.1, "psnrY")).toBe("−0.10");
    expect(formatSigned(0.004, "psnrY")).toBe("+0.0040");
  });
});

describe("difference of two seeded means", () => {
  it("gives the difference, the Welch standard error and a verdict", () => {
    // a: 1, 2, 3 (mean 2, std 1); b: 5, 6, 7 (mean 6, std 1): diff -4, se sqrt(1/3 + 1/3) = 0.8165.
    const a = meanStd([1, 2, 3]);
    const b = meanStd([5, 6, 7]);
    expect(a).toEqual({mean: 2, std: 1});
    const d = difference(a, 3, b, 3, "higher")!;
    expect(d.diff).toBe(-4);
    expect(d.se).toBeCloseTo(Math.sqrt(2 / 3), 12);
    expect(d.verdict).toBe("loss");
    expect(difference(a, 3, b, 3, "lower")!.verdict).toBe("gain");
    // |diff| 0.5 <= 2 se: within the spread.
    expect(difference({mean: 2, std: 1}, 3, {mean: 2.5, std: 1}, 3, "higher")!.verdict).toBe("within spread");
    // A deterministic side: no standard error, no verdict.
    expect(difference({mean: 2, std: null}, 1, b, 3, "higher")!).toMatchObject({se: null, verdict: "no verdict"});
    expect(difference({mean: null, std: null}, 1, b, 3, "higher")).toBeNull();
  });
});

describe("main table", () => {
  it("reads the committed eval.json: rows in report order, missing rows named, numbers as in the JSON", () => {
    const e = checkEvalJson(realEval);
    const t = mainTable(e);
    const keys = t.rows.map((r) => r.key);
    expect(keys).toEqual(MAIN_ROWS.map((r) => r.key).filter((k) => k in e.models).concat(Object.keys(e.models).filter((k) => !MAIN_ROWS.some((r) => r.key === k))));
    expect(t.missing.map((m) => m.key)).toEqual(MAIN_ROWS.map((r) => r.key).filter((k) => !(k in e.models)));
    const teacher = t.rows.find((r) => r.key === "teacher-base")!;
    expect(teacher.seedsText).toBe(`sampler seeds ${e.models["teacher-base"].seeds!.join(", ")}`);
    expect(teacher.metrics.psnrY).toEqual(e.models["teacher-base"].metrics.psnrY);
    expect(teacher.kurtosis.HH1).toEqual({mean: e.models["teacher-base"].kurtosis.HH1, std: e.models["teacher-base"].bandStd!.kurtosis!.HH1});
    const bic = t.rows.find((r) => r.key === "bicubic")!;
    expect(bic.seedsText).toBe("deterministic");
    expect(bic.kurtosis.HH1.std).toBeNull();
    const data = mainTableData(t);
    const cell = data.rows.find((r) => r.data?.model === "bicubic")!.cells.psnrY;
    expect(typeof cell === "string" ? cell : cell.text).toBe(e.models.bicubic.metrics.psnrY.mean!.toFixed(2));
    expect(t.truthKurtosis.HH1).toBe(e.gt.kurtosis.HH1);
  });

  it("says which rows are missing, and compares distilled with standalone when both exist", () => {
    const without = mainTable(syntheticEval({bicubic: model("b", {psnrY: [27], fwd: [900]})}));
    expect(without.missing.map((m) => m.key)).toContain("distilled");
    expect(mainTableSentences(without)[0]).toMatch(/no row for: .*distilled \("distilled"\)/);

    const t = mainTable(
      syntheticEval({
        distilled: model("d", {psnrY: [27.0, 27.1, 27.2], fwd: [800, 810, 820]}, {seedKind: "training"}),
        standalone: model("s", {psnrY: [27.3, 27.4, 27.5], fwd: [900, 900, 900]}, {seedKind: "training"}),
      }),
    );
    const d = t.rows.find((r) => r.key === "distilled")!;
    const s = t.rows.find((r) => r.key === "standalone")!;
    expect(d.seedsText).toBe("training seeds 1, 2, 3");
    const cmp = compareRows(d, s);
    const psnr = cmp.find((r) => r.metric === "psnrY")!.d!;
    expect(psnr.diff).toBeCloseTo(-0.3, 10);
    expect(psnr.se).toBeCloseTo(Math.sqrt((0.01 + 0.01) / 3), 10);
    expect(psnr.verdict).toBe("loss");
    const fwd = cmp.find((r) => r.metric === "fwd")!.d!;
    expect(fwd.diff).toBeCloseTo(-90, 10);
    expect(fwd.verdict).toBe("gain"); // lower FWD is better
    const text = comparisonSentences(cmp, "distilled student", "standalone student");
    expect(text[0]).toBe("The distilled student's PSNR-Y is 27.10 ± 0.10 dB vs 27.40 ± 0.10 for the standalone student: a loss: difference −0.30 dB, more than twice its standard error 0.082.");
    expect(cmp.find((r) => r.metric === "kurtosisHH1")!.d!.verdict).toBe("no verdict");
  });

  it("computes efficiency rows and the teacher/student ratios from the committed file", () => {
    const e = checkEvalJson(realEval);
    const eff = efficiency(e);
    expect(eff.backends).toEqual(expect.arrayContaining(["wasm"]));
    const t = e.models["teacher-base"];
    const s = e.models["student-tiny"];
    expect(eff.teacherOverStudent!.flops).toBeCloseTo(t.flopsPerOutputPixel! / s.flopsPerOutputPixel!, 12);
    expect(eff.teacherOverStudent!.cpu.wasm).toBeCloseTo(t.latencyMs!.wasm!.cpuMedian / s.latencyMs!.wasm!.cpuMedian, 12);
    // teacher-base-ddim has no latency of its own.
    expect(eff.rows.find((r) => r.key === "teacher-base-ddim")!.latency.wasm).toBeNull();
  });
});

describe("ablations", () => {
  it("orders levels per axis, keeps n, mean and std per cell, and lists pending levels", () => {
    const a = checkAblationsJson(syntheticAblations());
    const v = ablationView(a);
    const depth = v.axes.find((s) => s.axis === "depth")!;
    expect(depth.points.map((p) => p.level)).toEqual(["pixel", "2", "3"]);
    expect(depth.points.map((p) => p.label)).toEqual(["pixel (n=3)", "2 (n=3)", "3 (n=1)"]);
    const two = depth.points[1];
    expect(two.values.psnrY.mean).toBeCloseTo(30.2, 12);
    expect(two.values.psnrY.std).toBeCloseTo(0.1, 12);
    expect(two.values.fwd).toEqual({mean: 420, std: 20});
    expect(two.values.kurtosisHH1).toEqual({mean: 11, std: 1});
    // One seed: no spread.
    expect(depth.points[2].values.psnrY.std).toBeNull();
    const weighting = v.axes.find((s) => s.axis === "weighting")!;
    expect(weighting.points.map((p) => p.level)).toEqual(["dtkd"]);
    expect(weighting.pending).toEqual(["low"]);
    expect(v.baseline!.values.psnrY.mean).toBeCloseTo(30.3, 12);
    expect(v.references.map((r) => r.name)).toEqual(["starting student", "bicubic"]);
    expect(v.finishedRuns).toBe(10);
    expect(v.plannedRuns).toBe(15);
    const text = ablationSentences(v);
    expect(text[0]).toBe("10 of 15 planned runs have finished (3 seeds per cell).");
    expect(text[1]).toMatch(/^Decomposition depth: highest PSNR-Y: 2 \(30\.20 ± 0\.10, n=3\); 0 of 3 levels above recon-only's 30\.30 ± 0\.10; lowest FWD: 3 \(410, n=1\); 3 of 3 levels below/);
    expect(text[2]).toMatch(/Not run yet: low\./);
  });

  it("compares dtkd-default with recon-only and places cells on the perception-distortion plane", () => {
    const a = syntheticAblations();
    const cmp = compareCells(a, "dtkd-default", "recon-only")!;
    const p = cmp.find((r) => r.metric === "psnrY")!.d!;
    expect(p.diff).toBeCloseTo(-0.1, 10);
    expect(p.verdict).toBe("within spread");
    expect(compareCells(a, "dtkd-default", "weight-low")).toBeNull();
    const pts = ablationPdPoints(a);
    expect(pts.filter((x) => x.group !== "reference").map((x) => x.name)).toEqual(["dtkd-default (n=3)", "depth-pixel (n=3)", "depth-3 (n=1)", "recon-only (n=3)"]);
    expect(cellMetric(a.cells["depth-3"], "kurtosisHH1")).toEqual({mean: 9, std: null});
    const refs = referenceTableData(a);
    expect(refs.rows.map((r) => r.data?.model)).toEqual(["start", "bicubic", "teacherSample"]);
    expect(refs.rows[2].cells).toMatchObject({psnrY: "28.00", fwd: "300", kurtosisHH1: "7.0"});
  });

  it("implies one chart per axis with data, plus the two perception-distortion planes", () => {
    const e = checkEvalJson(realEval);
    const a = syntheticAblations();
    expect(reportCharts(e, a).map((c) => c.id)).toEqual(["pd-test", "ablation-depth", "ablation-weighting", "ablation-schedule", "pd-val"]);
    expect(reportCharts(e, null).map((c) => c.id)).toEqual(["pd-test"]);
    const pdVal = reportCharts(null, a).find((c) => c.id === "pd-val")!.spec as {hconcat: {data: {values: {name: string}[]}}[]};
    expect(pdVal.hconcat[0].data.values.map((v) => v.name)).toEqual(["dtkd-default (n=3)", "depth-pixel (n=3)", "depth-3 (n=1)", "recon-only (n=3)", "starting student", "bicubic"]);
    expect(reportCharts(null, null)).toEqual([]);
    // A grid with no finished run implies no ablation chart.
    const empty = {...a, runs: [], cells: {}};
    expect(reportCharts(null, empty)).toEqual([]);
    // Error bars: the depth chart's PSNR panel has rules only for levels with a spread (pixel, 2; not 3).
    const depth = reportCharts(null, a).find((c) => c.id === "ablation-depth")!.spec as {hconcat: {layer: {data: {values: unknown[]}}[]}[]};
    expect(depth.hconcat).toHaveLength(3);
    expect(depth.hconcat[0].layer[1].data.values).toHaveLength(2);
    expect(depth.hconcat[0].layer[2].data.values).toHaveLength(3);
    expect(depth.hconcat[0].layer[0].data.values).toEqual([
      {name: "recon-only (n=3)", value: expect.closeTo(30.3, 10)},
      {name: "starting student", value: 30},
      {name: "bicubic", value: 29.5},
    ]);
  });

  it("rejects malformed files with a message naming the problem", () => {
    expect(() => checkAblationsJson({version: 2})).toThrow(ResultFileError);
    const a = syntheticAblations() as unknown as {cells: Record<string, {metrics: {kurtosis: unknown}}>};
    a.cells["depth-3"].metrics.kurtosis = [1];
    expect(() => checkAblationsJson(a)).toThrow(/cells\.depth-3\.metrics\.kurtosis/);
    expect(() => checkEvalJson({schema: 1})).toThrow(/no protocol/);
  });
});

describe("method table", () => {
  it("takes the lab's values from the code and the result files", () => {
    const rows = methodRows(checkEvalJson(realEval), syntheticAblations());
    expect(rows.find((r) => r.aspect === "Group weights")!.lab).toMatch(/^low 0\.5 \/ mid 2 \/ high 1/);
    expect(rows.find((r) => r.aspect === "Step budgets")!.lab).toMatch(/^fine-tuning of the shipped student: 10 steps of batch 4/);
    expect(rows.find((r) => r.aspect === "Student")!.lab).toMatch(/78,616 parameters/);
    expect(methodRows(null, null).find((r) => r.aspect === "Step budgets")!.lab).toMatch(/has not been run/);
  });
});

describe("crops pack", () => {
  const png = (w: number, h: number, v: number) => encodePng({width: w, height: h, data: new Uint8Array(w * h * 3).fill(v), channels: 3, depth: 8});
  const index = {
    schema: 1,
    commit: "abc",
    createdAt: "2026-11-27",
    protocol: "test",
    methods: [
      {id: "lr", label: "LR"},
      {id: "truth", label: "truth"},
    ],
    crops: [{image: "x", region: {x: 4, y: 8, size: 16}, files: {lr: "x-lr.png", truth: "x-truth.png"}}],
  };

  it("round-trips the index and the PNG bytes", () => {
    const files: Record<string, Uint8Array> = {"x-lr.png": png(16, 16, 10), "x-truth.png": png(16, 16, 200)};
    const pack = unpackCrops(packCrops(index, (n) => files[n]));
    expect(pack.present).toBe(true);
    expect(pack.index).toEqual(index);
    expect([...pack.file("x-truth.png")]).toEqual([...files["x-truth.png"]]);
    expect(pack.size("x-lr.png")).toEqual({width: 16, height: 16});
    expect(pngSize(files["x-lr.png"])).toEqual({width: 16, height: 16});
  });

  it("says absent without an index, and refuses broken ones", () => {
    const absent = unpackCrops(packCrops(null, () => new Uint8Array()));
    expect(absent.present).toBe(false);
    expect(absent.index).toBeNull();
    expect(() => packCrops(index, (n) => (n === "x-lr.png" ? png(16, 16, 1) : png(8, 8, 1)))).toThrow(/same size/);
    expect(() => packCrops(index, () => new Uint8Array(30))).toThrow(/not a PNG/);
    expect(() => checkCropsIndex({...index, crops: [{image: "x", region: {x: 0, y: 0, size: 1}, files: {rrdn: "a.png"}}]})).toThrow(/names method "rrdn"/);
    expect(() => unpackCrops(new Uint8Array(20))).toThrow(/malformed/);
  });
});

describe("reading data/results/", () => {
  it("reads the committed files (absent ones as present: false)", () => {
    const e = readEvalFile(ROOT);
    expect(e.present).toBe(true);
    const a = readAblationsFile(ROOT);
    expect(a.present).toBe(existsSync(join(ROOT, "data/results/ablations.json")));
    const c = unpackCrops(readCropsPack(ROOT));
    expect(c.present).toBe(existsSync(join(ROOT, "data/results/crops/index.json")));
    if (c.present) for (const crop of c.index!.crops) for (const f of Object.values(crop.files)) expect(c.file(f).length).toBeGreaterThan(0);
    // Whatever the files hold, the charts they imply can be built.
    expect(() => reportCharts(e.present ? e.data : null, a.present ? a.data : null)).not.toThrow();
  });

  it("gives present: false for a checkout without results, and a clear error for a broken file", () => {
    const root = join(tmp, "empty");
    mkdirSync(join(root, "data/results"), {recursive: true});
    expect(readEvalFile(root)).toEqual({source: "data/results/eval.json", present: false});
    expect(readAblationsFile(root)).toEqual({source: "data/results/ablations.json", present: false});
    expect(unpackCrops(readCropsPack(root)).present).toBe(false);
    writeFileSync(join(root, "data/results/ablations.json"), "{not json");
    expect(() => readAblationsFile(root)).toThrow(/ablations\.json: not valid JSON/);
  });
});
