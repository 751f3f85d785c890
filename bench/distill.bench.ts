/**
 * Distillation steps per second in Node (`npx tsx bench/distill.bench.ts [--backends wasm,cpu] [--steps N]`):
 * the `tiny` student (random init; speed does not depend on the weights) at batch 16 of 64x64 HR patches,
 * one Distiller step = forward, reconstruction L1 + lambda x band-group loss, backward, Adam, EMA, and the
 * guard's bookkeeping. Loss variants of the ablation grid with different DWT costs. Targets are the HR patches
 * themselves (one sample per patch): the step's cost does not depend on their values.
 *
 * Prints a Markdown table with wall and process-CPU time per step; on a shared machine the CPU column is
 * the steadier figure (and equals wall time on an idle core for this single-threaded work).
 */
import * as tf from "@tensorflow/tfjs";
import {cpus, loadavg} from "node:os";
import {chooseBackend} from "../src/lib/backend.js";
import {Distiller, DEFAULT_DISTILL} from "../src/lib/distill.js";
import type {TargetSet} from "../src/lib/distill-targets.js";
import {lossPreset, type BandLossConfig} from "../src/lib/loss.js";
import {createStudent, STUDENT_CONFIGS, studentParamCount} from "../src/lib/models/student.js";
import {createRng} from "../src/lib/rng.js";
import {parseSchedule} from "../src/lib/schedule.js";

const args = process.argv.slice(2);
const arg = (k: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const backends = (arg("backends") ?? "wasm,cpu").split(",");
const B = 16;
const HS = 64;

function syntheticTargets(n: number): TargetSet {
  const rng = createRng(5);
  const hs = HS;
  const ls = hs / 4;
  // Smooth random images (sums of a few sinusoids) so the DWT sees image-like data.
  const hr = new Float32Array(n * hs * hs * 3);
  for (let i = 0; i < n; i++) {
    const f = [rng.uniform(0.05, 0.5), rng.uniform(0.05, 0.5), rng.uniform(0, 6)];
    for (let y = 0; y < hs; y++)
      for (let x = 0; x < hs; x++)
        for (let c = 0; c < 3; c++) hr[((i * hs + y) * hs + x) * 3 + c] = 0.5 + 0.4 * Math.sin(f[0] * x + f[1] * y + f[2] + c);
  }
  const lr = new Float32Array(n * ls * ls * 3);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < ls; y++)
      for (let x = 0; x < ls; x++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += hr[((i * hs + 4 * y + dy) * hs + 4 * x + dx) * 3 + c];
          lr[((i * ls + y) * ls + x) * 3 + c] = s / 16;
        }
  const samples = new Uint16Array(hr.length);
  for (let i = 0; i < hr.length; i++) samples[i] = Math.round(hr[i] * 65535);
  return {
    n,
    hrSize: hs,
    scale: 4,
    lr,
    hr,
    seeds: 1,
    samples,
    meta: {key: "bench", teacher: {id: "none", step: 0}, patches: {}, sampler: "stochastic", seed: 0, batch: B, createdAt: "", wallSeconds: 0},
  };
}

const VARIANTS: {name: string; loss: BandLossConfig; schedule: string}[] = [
  {name: "recon-only (lambda 0; band loss still computed)", loss: lossPreset("dtkd", 2), schedule: "const_0"},
  {name: "pixel (no DWT)", loss: lossPreset("pixel"), schedule: "const_1"},
  {name: "dtkd, haar, 2 levels", loss: lossPreset("dtkd", 2), schedule: "const_1"},
  {name: "dtkd, haar, 3 levels", loss: lossPreset("dtkd", 3), schedule: "const_1"},
  {name: "korkmaz, sym4, 1 level", loss: lossPreset("korkmaz"), schedule: "const_1"},
];

/** Seconds per step (wall and process CPU) of `timed` steps after `warm` untimed ones. */
async function measure(targets: TargetSet, v: (typeof VARIANTS)[number], warm: number, timed: number): Promise<{wall: number; cpu: number}> {
  const student = createStudent(STUDENT_CONFIGS.tiny, 1);
  const d = new Distiller(student, targets, {
    ...DEFAULT_DISTILL,
    loss: v.loss,
    schedule: parseSchedule(v.schedule),
    totalSteps: warm + timed,
    targetSeeds: 1,
    batch: B,
  });
  for (let i = 0; i < warm; i++) await d.step();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < timed; i++) await d.step();
  const wall = (performance.now() - t0) / 1000 / timed;
  const cpu = process.cpuUsage(c0);
  d.dispose();
  student.dispose();
  return {wall, cpu: (cpu.user + cpu.system) / 1e6 / timed};
}

async function main(): Promise<void> {
  const targets = syntheticTargets(64);
  const rows: string[] = [];
  for (const backend of backends) {
    const report = await chooseBackend({override: backend, order: [backend as "wasm" | "cpu"]});
    if (report.chosen !== backend) throw new Error(`backend ${backend} did not start`);
    const warm = backend === "cpu" ? 1 : 3;
    const timed = Number(arg("steps") ?? (backend === "cpu" ? 2 : 15));
    // A discarded pass first, so kernel set-up and JIT warm-up are not charged to the first variant.
    await measure(targets, VARIANTS[2], warm, 1);
    for (const v of VARIANTS) {
      const {wall, cpu} = await measure(targets, v, warm, timed);
      rows.push(`| ${backend} | ${v.name} | ${(1 / wall).toFixed(3)} | ${(wall * 1000).toFixed(0)} | ${(cpu * 1000).toFixed(0)} | ${(1 / cpu).toFixed(3)} | ${timed} after ${warm} |`);
      console.error(rows[rows.length - 1]);
    }
  }
  const c = cpus();
  console.log(
    [
      `Distillation step, tiny student (${studentParamCount(STUDENT_CONFIGS.tiny).toLocaleString("en")} parameters), batch ${B}, ${HS}x${HS} HR (16x16 LR), Adam + EMA + guard; ` +
        `${c.length}x ${c[0]?.model ?? "CPU"}, Node ${process.version}, TF.js ${tf.version.tfjs}, single-threaded; ` +
        `1-min load average at the end ${loadavg()[0].toFixed(2)}; ${new Date().toISOString().slice(0, 10)}.`,
      "",
      "| backend | loss | steps/s (wall) | ms/step (wall) | CPU ms/step | steps per CPU-second | steps timed |",
      "|---|---|---:|---:|---:|---:|---|",
      ...rows,
    ].join("\n"),
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
