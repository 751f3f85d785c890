/**
 * Window-attention benchmark: forward and forward+backward time of the student's attention core for the
 * training shapes, for each AttentionImpl (src/lib/models/swin.ts), on wasm and cpu in Node; forward time for
 * a 128x128 inference image; and whole training steps of the tiny student. Prints markdown tables; the max
 * |difference| column checks every implementation against "batched" on the same inputs.
 *
 * Run pinned to one core (timings on the shared machine are noisy; compare ratios within one run):
 *   taskset -c 0 npx tsx bench/attention.bench.ts [--backends wasm,cpu] [--channels 32] [--heads 4] [--reps 5]
 *     [--sizes 16,32] [--batch 16] [--impls batched,loop,...] [--infer 128] [--masked-max 16]
 *     [--step batched,depthwise]   (--sizes none / --infer 0 / --step "" skip a section)
 *
 * What is timed: q, k, v [B*H*W, C] (window order) -> softmax(q k^T + relative bias + shift mask) v, and for
 * "fwd+bwd" also the gradients w.r.t. q, k, v and the relative-position table, i.e. everything between the qkv
 * and the output projections (those are 2-D matMuls shared by all implementations). The shifted variant
 * (shift = window/2, half the blocks) is timed. Times are process CPU time (wasm and cpu run on the main
 * thread), which on an oversubscribed core tracks idle-core wall time better than wall time does.
 *
 * Measured on the project machine (2 cores, load 7-15 from other jobs, pinned to core 0), C 32,
 * 4 heads, batch 16, CPU ms:
 *
 * | backend | LR patch | implementation | forward | fwd+bwd | vs batched |
 * |---|---|---|---|---|---|
 * | wasm | 16x16 | batched | 59 | 159 | 1.00x |
 * | wasm | 16x16 | loop | 249 | 469 | 2.96x |
 * | wasm | 16x16 | depthwise | 35 | 82 | 0.52x |
 * | wasm | 16x16 | masked-batched | 212 | 692 | 4.36x |
 * | wasm | 16x16 | masked-loop | 337 | 1437 | 9.06x |
 * | wasm | 16x16 | masked-depthwise | 120 | 383 | 2.41x |
 * | wasm | 32x32 | batched | 242 | 709 | 1.00x |
 * | wasm | 32x32 | loop | 453 | 1759 | 2.48x |
 * | wasm | 32x32 | depthwise | 196 | 484 | 0.68x |
 * | cpu | 16x16 | batched | 1245 | 2171 | 1.00x |
 * | cpu | 16x16 | loop | 1109 | 2577 | 1.19x |
 * | cpu | 16x16 | depthwise | 1205 | 2482 | 1.14x |
 * | cpu | 16x16 | masked-batched / -loop / -depthwise | 2826 / 2490 / 3830 | 5359 / 5790 / 6820 | 2.5-3.1x |
 * | cpu | 32x32 | batched / loop / depthwise | 2519 / 3881 / 5073 | 5350 / 7078 / 9321 | 1 / 1.32 / 1.74x |
 *
 * Inference, forward, batch 1, 128x128 LR: wasm batched 240, loop 464, depthwise 170 ms; cpu batched 3703,
 * loop 3689, depthwise 3943 ms. Masked variants at 32x32 were stopped: masked-batched took 37 s per
 * forward+backward on wasm (16x the FLOPs and a [64, 1024, 1024] score tensor).
 * Tiny-student training step (L1 + Adam, batch 16, 16x16 -> 64x64) on wasm: depthwise 860-920 ms CPU
 * (about 1.1 steps/s of CPU time; 2.2-2.9 s wall under that load), batched 1040-1330 ms.
 *
 * Why: on wasm, tfjs runs a matMul on XNNPACK only when it is 2-D with no transpose flags; every batched
 * matMul (and every matMul gradient, which flags transposes) goes to a naive C++ loop. "loop" does reach
 * XNNPACK, but pays per-op overhead and, on wasm, every slice copies its whole input. A depthwise convolution
 * with a channel multiplier is XNNPACK's grouped GEMM: all windows x heads in one call. The masked forms do
 * nWin times the work and spend it on element-wise passes over larger score tensors. Choice recorded in
 * swin.ts ATTENTION_BY_BACKEND: wasm -> depthwise (training and inference); others -> batched.
 */
import * as tf from "@tensorflow/tfjs";
import {chooseBackend, type BackendName} from "../src/lib/backend.js";
import {ATTENTION_IMPLS, relativePositionBias, windowAttentionCore, type AttentionImpl} from "../src/lib/models/swin.js";
import {STUDENT_CONFIGS, createStudent} from "../src/lib/models/student.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const backends = arg("backends", "wasm,cpu").split(",") as BackendName[];
const channels = Number(arg("channels", "32"));
const heads = Number(arg("heads", "4"));
const reps = Number(arg("reps", "5"));
const batch = Number(arg("batch", "16"));
const sizes = arg("sizes", "16,32").split(",").map(Number).filter((n) => n > 0);
const impls = arg("impls", ATTENTION_IMPLS.join(",")).split(",") as AttentionImpl[];
/** Inference shape: forward only, batch 1, one LR image of this side, window implementations only. */
const inferSize = Number(arg("infer", "128"));
/** Whole training steps of the tiny student (L1 + Adam, batch `batch`, 16x16 LR) with these implementations. */
const stepImpls = arg("step", "batched,depthwise").split(",").filter((x) => x !== "") as AttentionImpl[];
/** Masked implementations cost (H*W)^2 memory and nWin-fold FLOPs: skipped above this LR patch side. */
const maskedMax = Number(arg("masked-max", "16"));
const window = 8;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Multiply-add FLOPs of q k^T and a v actually computed by an implementation (2 per MAC). */
function attnFlops(impl: AttentionImpl, hw: number): number {
  const tokens = batch * hw * hw;
  const keys = impl.startsWith("masked") ? hw * hw : window * window;
  return 2 * 2 * tokens * keys * channels;
}

interface Row {
  backend: string;
  size: number;
  impl: AttentionImpl;
  fwd: number;
  fwdBwd: number;
  fwdBwdWall: number;
  gflops: number;
  diff: number;
}

/**
 * Median over n runs (after one warm-up) of the process CPU time, and of the wall time. wasm and cpu run on the
 * main thread, so on a shared, oversubscribed core CPU time is the better estimate of the time on an idle one.
 */
function timeIt(fn: () => tf.Tensor[], n: number): {cpu: number; wall: number} {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < n + 1; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const outs = fn();
    for (const o of outs) o.dataSync();
    const c = process.cpuUsage(c0);
    const dt = performance.now() - t0;
    tf.dispose(outs);
    if (r > 0) {
      cpu.push((c.user + c.system) / 1000);
      wall.push(dt);
    }
  }
  return {cpu: median(cpu), wall: median(wall)};
}

async function main(): Promise<void> {
  // (async only for chooseBackend)
  const rows: Row[] = [];
  const infer: Array<{backend: string; impl: AttentionImpl; cpu: number; wall: number}> = [];
  const steps: Array<{backend: string; impl: AttentionImpl; cpu: number; wall: number}> = [];
  for (const be of backends) {
    await chooseBackend({order: [be]});
    for (const hw of sizes) {
      const n = batch * hw * hw;
      const q = tf.randomNormal([n, channels], 0, 1, "float32", 1) as tf.Tensor2D;
      const k = tf.randomNormal([n, channels], 0, 1, "float32", 2) as tf.Tensor2D;
      const v = tf.randomNormal([n, channels], 0, 1, "float32", 3) as tf.Tensor2D;
      const table = tf.randomNormal([(2 * window - 1) ** 2, heads], 0, 0.02, "float32", 4);
      const dy = tf.randomNormal([n, channels], 0, 1, "float32", 5);
      const shape = {batch, height: hw, width: hw, heads, window, shift: window / 2};
      const ref = tf.tidy(() => windowAttentionCore(q, k, v, relativePositionBias(table, window), shape, "batched"));
      const slowCpu = be === "cpu";
      for (const impl of impls.filter((i) => !i.startsWith("masked") || hw <= maskedMax)) {
        const run = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, tt: tf.Tensor) =>
          windowAttentionCore(qq as tf.Tensor2D, kk as tf.Tensor2D, vv as tf.Tensor2D, relativePositionBias(tt, window), shape, impl);
        const out = tf.tidy(() => run(q, k, v, table));
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(out, ref))).dataSync()[0]);
        out.dispose();
        const nr = slowCpu ? Math.max(1, Math.min(reps, 2)) : reps;
        const fwd = timeIt(() => [tf.tidy(() => run(q, k, v, table))], nr).cpu;
        const gradFn = tf.grads((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, tt: tf.Tensor) => tf.sum(tf.mul(run(qq, kk, vv, tt), dy)));
        const fb = timeIt(() => tf.tidy(() => gradFn([q, k, v, table])), nr);
        const gflops = (3 * attnFlops(impl, hw)) / (fb.cpu / 1000) / 1e9;
        rows.push({backend: be, size: hw, impl, fwd, fwdBwd: fb.cpu, fwdBwdWall: fb.wall, gflops, diff});
        console.error(`${be} ${hw}x${hw} ${impl}: fwd ${fwd.toFixed(1)} ms, fwd+bwd ${fb.cpu.toFixed(1)} ms (wall ${fb.wall.toFixed(1)})`);
      }
      tf.dispose([q, k, v, table, dy, ref]);
    }
    for (const impl of stepImpls) {
      const student = createStudent(STUDENT_CONFIGS.tiny, 1);
      const lr = tf.randomUniform([batch, 16, 16, 3], 0, 1, "float32", 6) as tf.Tensor4D;
      const hr = tf.randomUniform([batch, 64, 64, 3], 0, 1, "float32", 7);
      const opt = tf.train.adam(2e-4);
      const vars = Object.values(student.params);
      const t = timeIt(
        () => [opt.minimize(() => tf.mean(tf.abs(tf.sub(student.apply(lr, {training: true, attention: impl}), hr))) as tf.Scalar, true, vars)!],
        be === "cpu" ? 2 : Math.max(reps, 5),
      );
      steps.push({backend: be, impl, cpu: t.cpu, wall: t.wall});
      console.error(`${be} tiny training step ${impl}: ${t.cpu.toFixed(0)} ms CPU (wall ${t.wall.toFixed(0)})`);
      opt.dispose();
      student.dispose();
      tf.dispose([lr, hr]);
    }
    if (inferSize > 0) {
      const n = inferSize * inferSize;
      const q = tf.randomNormal([n, channels], 0, 1, "float32", 1) as tf.Tensor2D;
      const k = tf.randomNormal([n, channels], 0, 1, "float32", 2) as tf.Tensor2D;
      const v = tf.randomNormal([n, channels], 0, 1, "float32", 3) as tf.Tensor2D;
      const table = tf.randomNormal([(2 * window - 1) ** 2, heads], 0, 0.02, "float32", 4);
      const shape = {batch: 1, height: inferSize, width: inferSize, heads, window, shift: window / 2};
      for (const impl of impls.filter((i) => !i.startsWith("masked"))) {
        const t = timeIt(() => [tf.tidy(() => windowAttentionCore(q, k, v, relativePositionBias(table, window), shape, impl))], be === "cpu" ? 1 : reps);
        infer.push({backend: be, impl, cpu: t.cpu, wall: t.wall});
        console.error(`${be} infer ${inferSize}x${inferSize} ${impl}: fwd ${t.cpu.toFixed(1)} ms (wall ${t.wall.toFixed(1)})`);
      }
      tf.dispose([q, k, v, table]);
    }
  }
  console.log(
    `\nWindow attention core, batch ${batch}, window ${window}, C ${channels}, ${heads} heads, shifted; CPU ms, median of ${reps} (cpu backend: 2)\n`,
  );
  console.log("| backend | LR patch | implementation | forward ms | fwd+bwd ms | fwd+bwd vs batched | fwd+bwd wall ms | computed GFLOP/s | max abs diff vs batched |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const base = rows.find((x) => x.backend === r.backend && x.size === r.size && x.impl === "batched") ?? r;
    console.log(
      `| ${r.backend} | ${r.size}x${r.size} | ${r.impl} | ${r.fwd.toFixed(1)} | ${r.fwdBwd.toFixed(1)} | ${(r.fwdBwd / base.fwdBwd).toFixed(2)}x | ${r.fwdBwdWall.toFixed(1)} | ${r.gflops.toFixed(2)} | ${r.diff.toExponential(1)} |`,
    );
  }
  if (steps.length > 0) {
    console.log(`\nTraining step of the tiny student (L1 + Adam, batch ${batch}, 16x16 -> 64x64); CPU ms, median\n`);
    console.log("| backend | attention | step ms (CPU) | steps/s (CPU time) | step ms (wall) |");
    console.log("|---|---|---|---|---|");
    for (const r of steps)
      console.log(`| ${r.backend} | ${r.impl} | ${r.cpu.toFixed(0)} | ${(1000 / r.cpu).toFixed(2)} | ${r.wall.toFixed(0)} |`);
  }
  if (infer.length > 0) {
    console.log(`\nInference: forward only, batch 1, ${inferSize}x${inferSize} LR, shifted; CPU ms\n`);
    console.log("| backend | implementation | forward ms | vs batched | wall ms |");
    console.log("|---|---|---|---|---|");
    for (const r of infer) {
      const base = infer.find((x) => x.backend === r.backend && x.impl === "batched") ?? r;
      console.log(`| ${r.backend} | ${r.impl} | ${r.cpu.toFixed(1)} | ${(r.cpu / base.cpu).toFixed(2)}x | ${r.wall.toFixed(1)} |`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
