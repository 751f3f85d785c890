// Benchmark: forward + inverse 2-level 2-D DWT of a 1x512x512x3 image in Node, the lab's TF.js
// implementation (src/lib/wavelets.ts) on the wasm and cpu backends beside the npm package
// `discrete-wavelets`, plus the cost of the band-group loss with its gradient (what training pays).
//
// Run: npm run bench   (tsx bench/dwt.bench.ts)
//
// Method: warm-up runs, then the median of timed runs (7 on wasm; 3 on cpu and for discrete-wavelets,
// which take seconds per run). BENCH_RUNS and BENCH_SLOW_RUNS override the counts. Two figures per
// cell: wall-clock ms, and process CPU ms (user + system), which stays meaningful when other jobs load
// the machine (everything timed here runs on one thread; GC threads add a little CPU time).
// - TF.js: timed from an input tensor already on the backend until every output is read back with
//   `await data()` (on wasm and cpu the ops run synchronously, so this includes the real work).
// - discrete-wavelets has only 1-D transforms (dwt/idwt/wavedec/waverec on number[]), so a 2-D level
//   is composed here: a 1-D dwt of every row, then of every column of both halves, per channel; the
//   inverse runs the 1-D idwt on columns then rows. Its "periodic" mode is the nearest to PyWavelets'
//   "periodization" but is not identical: it keeps (N + L - 1) / 2 coefficients per level (the same as
//   periodization for Haar, one more per level and axis for db2), so its coefficients are
//   slightly redundant and the inverse crops back to the known length. Timed from number[][] to
//   number[][] (plain JS arrays are its native format). It has no sym4.
import * as tf from "@tensorflow/tfjs";
import {setWasmPaths} from "@tensorflow/tfjs-backend-wasm";
import wt, {type Wavelet} from "discrete-wavelets";
import {createRequire} from "node:module";
import os from "node:os";
import {dirname, join} from "node:path";
import {pathToFileURL} from "node:url";
import {bandGroupLoss, lossPreset} from "../src/lib/loss.js";
import {dwt, idwt, type WaveletName} from "../src/lib/wavelets.js";

const [N, H, W, C] = [1, 512, 512, 3];
const LEVELS = 2;
// Timed runs per implementation (after warm-up runs): the slow ones get fewer so the bench stays short.
const RUNS: Record<string, {warmup: number; runs: number}> = {
  wasm: {warmup: 2, runs: Number(process.env.BENCH_RUNS ?? 7)},
  cpu: {warmup: 1, runs: Number(process.env.BENCH_SLOW_RUNS ?? 3)},
  js: {warmup: 1, runs: Number(process.env.BENCH_SLOW_RUNS ?? 3)}
};
const TF_WAVELETS: WaveletName[] = ["haar", "db2", "sym4"];
const DW_WAVELETS = ["haar", "db2"] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Timing {
  /** median wall-clock ms */
  wall: number;
  /** median process CPU ms (user + system): robust when other processes compete for the cores */
  cpu: number;
}

async function timeIt<T>(mode: string, fn: () => Promise<T> | T, after?: (r: T) => void): Promise<Timing> {
  const {warmup, runs} = RUNS[mode];
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await fn();
    const dt = performance.now() - t0;
    const dc = process.cpuUsage(c0);
    after?.(r);
    if (i >= warmup) {
      walls.push(dt);
      cpus.push((dc.user + dc.system) / 1000);
    }
  }
  return {wall: median(walls), cpu: median(cpus)};
}

async function startBackend(name: "wasm" | "cpu"): Promise<void> {
  if (name === "wasm") {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
    setWasmPaths(pathToFileURL(dir).href + "/");
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to start`);
  await tf.ready();
}

interface Row {
  impl: string;
  backend: string;
  wavelet: string;
  fwd: Timing;
  inv: Timing;
  err: number;
}

async function benchTf(backend: "wasm" | "cpu", wavelet: WaveletName, x: tf.Tensor4D, xv: Float32Array): Promise<Row> {
  const readAll = async (ts: tf.Tensor[]) => Promise.all(ts.map((t) => t.data()));
  const fwd = await timeIt(
    backend,
    async () => {
      const s = dwt(x, {wavelet, levels: LEVELS});
      await readAll(Object.values(s.bands));
      return s;
    },
    (s) => tf.dispose(Object.values(s.bands))
  );
  const s = dwt(x, {wavelet, levels: LEVELS});
  const inv = await timeIt(
    backend,
    async () => {
      const y = idwt(s);
      await y.data();
      return y;
    },
    (y) => y.dispose()
  );
  const y = idwt(s);
  const yv = await y.data();
  let err = 0;
  for (let i = 0; i < yv.length; i++) err = Math.max(err, Math.abs(yv[i] - xv[i]));
  tf.dispose([y, ...Object.values(s.bands)]);
  return {impl: "TF.js (this lab)", backend, wavelet, fwd, inv, err};
}

// ---- discrete-wavelets, composed into 2-D -------------------------------------------------------
type Plane = number[][]; // [row][col]
interface Level2D {
  ll: Plane;
  lh: Plane;
  hl: Plane;
  hh: Plane;
  rows: number;
  cols: number;
}

function transpose(p: Plane): Plane {
  const r = p.length;
  const c = p[0].length;
  const out: Plane = Array.from({length: c}, () => new Array<number>(r));
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j][i] = p[i][j];
  return out;
}

function dw2(p: Plane, wavelet: Wavelet): Level2D {
  const lo: Plane = [];
  const hi: Plane = [];
  for (const row of p) {
    const [a, d] = wt.dwt(row, wavelet, "periodic");
    lo.push(a);
    hi.push(d);
  }
  const split = (q: Plane): [Plane, Plane] => {
    const a: Plane = [];
    const d: Plane = [];
    for (const col of transpose(q)) {
      const [ca, cd] = wt.dwt(col, wavelet, "periodic");
      a.push(ca);
      d.push(cd);
    }
    return [transpose(a), transpose(d)];
  };
  const [ll, lh] = split(lo);
  const [hl, hh] = split(hi);
  return {ll, lh, hl, hh, rows: p.length, cols: p[0].length};
}

function idw2(l: Level2D, wavelet: Wavelet): Plane {
  const merge = (a: Plane, d: Plane): Plane => {
    const at = transpose(a);
    const dt = transpose(d);
    return transpose(at.map((col, j) => wt.idwt(col, dt[j], wavelet).slice(0, l.rows)));
  };
  const lo = merge(l.ll, l.lh);
  const hi = merge(l.hl, l.hh);
  return lo.map((row, i) => wt.idwt(row, hi[i], wavelet).slice(0, l.cols));
}

function dwDec(planes: Plane[], wavelet: Wavelet): Level2D[][] {
  return planes.map((p) => {
    const levels: Level2D[] = [];
    let cur = p;
    for (let j = 0; j < LEVELS; j++) {
      const l = dw2(cur, wavelet);
      levels.push(l);
      cur = l.ll;
    }
    return levels;
  });
}

function dwRec(dec: Level2D[][], wavelet: Wavelet): Plane[] {
  return dec.map((levels) => {
    let ll = levels[levels.length - 1].ll;
    for (let j = levels.length - 1; j >= 0; j--) ll = idw2({...levels[j], ll}, wavelet);
    return ll;
  });
}

async function benchDiscreteWavelets(name: "haar" | "db2", xv: Float32Array): Promise<Row> {
  const wavelet: Wavelet = name;
  const planes: Plane[] = [];
  for (let c = 0; c < C; c++) {
    const p: Plane = [];
    for (let i = 0; i < H; i++) {
      const row = new Array<number>(W);
      for (let j = 0; j < W; j++) row[j] = xv[(i * W + j) * C + c];
      p.push(row);
    }
    planes.push(p);
  }
  const fwd = await timeIt("js", () => dwDec(planes, wavelet));
  const dec = dwDec(planes, wavelet);
  const inv = await timeIt("js", () => dwRec(dec, wavelet));
  const rec = dwRec(dec, wavelet);
  let err = 0;
  for (let c = 0; c < C; c++)
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) err = Math.max(err, Math.abs(rec[c][i][j] - planes[c][i][j]));
  return {impl: "discrete-wavelets 5.0.15 (1-D, composed)", backend: "plain JS", wavelet: name, fwd, inv, err};
}

// ---- loss + gradient ------------------------------------------------------------------------------
async function benchLossGrad(backend: "wasm" | "cpu", wavelet: WaveletName, s: tf.Tensor4D, t: tf.Tensor4D) {
  const cfg = lossPreset("dtkd", LEVELS, wavelet);
  const g = tf.grad((x: tf.Tensor) => bandGroupLoss(x as tf.Tensor4D, t, cfg).total);
  const ms = await timeIt(
    backend,
    async () => {
      const d = tf.tidy(() => g(s));
      await d.data();
      return d;
    },
    (d) => d.dispose()
  );
  return {backend, wavelet, ms};
}

const fmt = (v: number, d = 1) => v.toFixed(d);
const fmtErr = (v: number) => v.toExponential(1);

async function main() {
  const rows: Row[] = [];
  const lossRows: {backend: string; wavelet: string; ms: Timing}[] = [];
  let xv: Float32Array | null = null;
  for (const backend of ["wasm", "cpu"] as const) {
    await startBackend(backend);
    const x = tf.randomUniform([N, H, W, C], 0, 1, "float32", 1) as tf.Tensor4D;
    const t = tf.randomUniform([N, H, W, C], 0, 1, "float32", 2) as tf.Tensor4D;
    const v = (await x.data()) as Float32Array;
    xv ??= v;
    for (const w of TF_WAVELETS) {
      rows.push(await benchTf(backend, w, x, v));
      console.error(`done ${backend} ${w}`);
      lossRows.push(await benchLossGrad(backend, w, x, t));
    }
    tf.dispose([x, t]);
  }
  for (const w of DW_WAVELETS) {
    rows.push(await benchDiscreteWavelets(w, xv!));
    console.error(`done discrete-wavelets ${w}`);
  }

  const runs = Object.entries(RUNS).map(([k, v]) => `${k} ${v.runs} after ${v.warmup}`).join(", ");
  console.log(`\n### 2-level 2-D DWT of a ${N}x${H}x${W}x${C} image (median ms of timed runs after warm-ups: ${runs})\n`);
  console.log("| implementation | backend | wavelet | forward ms | inverse ms | forward CPU ms | inverse CPU ms | max reconstruction error |");
  console.log("|---|---|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.impl} | ${r.backend} | ${r.wavelet} | ${fmt(r.fwd.wall)} | ${fmt(r.inv.wall)} | ` +
        `${fmt(r.fwd.cpu)} | ${fmt(r.inv.cpu)} | ${fmtErr(r.err)} |`
    );
  }
  console.log(`\n### dtkd band-group loss (2 levels) and its gradient, ${N}x${H}x${W}x${C}\n`);
  console.log("| backend | wavelet | loss + gradient ms | CPU ms |");
  console.log("|---|---|---:|---:|");
  for (const r of lossRows) console.log(`| ${r.backend} | ${r.wavelet} | ${fmt(r.ms.wall)} | ${fmt(r.ms.cpu)} |`);
  const load = os.loadavg()[0].toFixed(1);
  console.log(
    `\nNode ${process.version}, TF.js ${tf.version.tfjs}, single-threaded wasm, ${os.cpus().length} cores, ` +
      `1-minute load average ${load} at the end. ` +
      "TF.js timings start from a tensor on the backend and end when the outputs are read back; " +
      "discrete-wavelets has no 2-D transform, so its rows are 1-D transforms composed over rows and " +
      "columns ('periodic' mode), from number[][] to number[][]."
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
