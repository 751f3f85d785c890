/**
 * `npm run distill -- [options]`: DTKD distillation of the shipped student with the shipped teacher's targets
 * (src/lib/distill.ts, src/lib/train/distill-node.ts). Writes a JSON-lines log (one record per step, lambda
 * included), the fine-tuned student as a shipped-format artefact, and prints the validation metrics before and
 * after (protocol printed with them).
 *
 * Loss and schedule
 *   --preset NAME        band weighting: uniform|dtkd|low|high|korkmaz|pixel (default dtkd; src/lib/loss.ts)
 *   --levels N           DWT levels (uniform/dtkd/low/high: 1-4, default 2; korkmaz is 1, pixel 0)
 *   --wavelet W          haar|db2|sym4 (default: the preset's)
 *   --distance D         l1|charbonnier|l2 (default l1)
 *   --schedule S         lambda(t) in parseSchedule form (default linear_0_1_0.5; e.g. const_1, cosine_0_1_0.5,
 *                        step_0_1_0.5)
 * Optimisation
 *   --steps N            training steps (default DEFAULT_DISTILL_STEPS)
 *   --lr X               peak learning rate (default 2e-4), --warmup N (20), --lr-min F (cosine floor factor, 0.1)
 *   --batch B            (default 16)   --clip X (1)   --ema DECAY (0.995; 0 = raw weights)
 *   --seed S             batch draws and target choice (default 1)
 *   --target-mode M      sample|mean (default sample)   --use-seeds K (teacher samples used per patch, default all)
 *   --snapshot-every N   NaN-guard restore points (default 25)
 * Data and teacher targets (cached under <cache-dir>/distill-targets/)
 *   --patches N (512)  --hr-size N (64)  --degradation mild|bicubic|realistic  --pair-seed S
 *   --target-seeds K (4)  --target-seed S (7)  --sampler stochastic|ddim|mean  --teacher-batch N (16)
 *   --train-photos DIR  --val-photos DIR  --val-count N (64)  --cache-dir DIR (.cache)
 * Files
 *   --student PATH       (default data/models/student-tiny.ckpt)
 *   --teacher PATH       (default data/models/teacher-base.ckpt)
 *   --out PATH           artefact (default .cache/distill/student-distilled.ckpt)
 *   --log PATH           JSON-lines log (default: the artefact's path with .jsonl)
 *   --backend wasm|cpu   preferred TF.js backend (default wasm)
 */
import {chooseBackend, describeBackend} from "../src/lib/backend.js";
import {lossPreset, LOSS_PRESETS, type Distance, type LossPresetName} from "../src/lib/loss.js";
import {DEFAULT_SCHEDULE, formatSchedule, parseSchedule} from "../src/lib/schedule.js";
import {
  DATA_FLAGS,
  dataOptionsFromFlags,
  DEFAULT_DISTILL_STEPS,
  describeLoss,
  flagNumber,
  flagString,
  parseFlags,
  runDistillation,
  SHIPPED_STUDENT_PATH,
  SHIPPED_TEACHER_PATH,
  TRAIN_FLAGS,
  trainOptionsFromFlags,
  type EvalMetrics,
} from "../src/lib/train/distill-node.js";
import {WAVELET_NAMES, type WaveletName} from "../src/lib/wavelets.js";

const LOSS_FLAGS = ["preset", "levels", "wavelet", "distance", "schedule", "seed", "use-seeds"];
const FILE_FLAGS = ["student", "teacher", "out", "log", "backend"];

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), [...LOSS_FLAGS, ...FILE_FLAGS, ...DATA_FLAGS, ...TRAIN_FLAGS]);
  const presetName = (flagString(flags, "preset") ?? "dtkd") as LossPresetName;
  if (!LOSS_PRESETS.includes(presetName)) throw new Error(`--preset must be one of ${LOSS_PRESETS.join(", ")}`);
  const wavelet = flagString(flags, "wavelet") as WaveletName | undefined;
  if (wavelet !== undefined && !WAVELET_NAMES.includes(wavelet)) throw new Error(`--wavelet must be one of ${WAVELET_NAMES.join(", ")}`);
  const loss = lossPreset(presetName, flagNumber(flags, "levels"), wavelet);
  const distance = flagString(flags, "distance");
  if (distance !== undefined) loss.distance = distance as Distance;
  const schedule = parseSchedule(flagString(flags, "schedule") ?? formatSchedule(DEFAULT_SCHEDULE));

  const data = dataOptionsFromFlags(flags);
  const train = trainOptionsFromFlags(flags, DEFAULT_DISTILL_STEPS);
  const config = {
    ...train,
    loss,
    schedule,
    seed: flagNumber(flags, "seed") ?? 1,
    targetSeeds: flagNumber(flags, "use-seeds") ?? data.targetSeeds,
  };
  const outPath = flagString(flags, "out") ?? ".cache/distill/student-distilled.ckpt";
  const logPath = flagString(flags, "log") ?? outPath.replace(/\.ckpt$/, "") + ".jsonl";

  // The backend must be ready before any tf.variable exists (NOTES 7).
  const report = await chooseBackend({override: flagString(flags, "backend") ?? "wasm"});
  console.error(`backend: ${describeBackend(report)}`);
  console.error(`loss: ${describeLoss(loss)}; schedule ${formatSchedule(schedule)}; ${config.totalSteps} steps of batch ${config.batch}; log ${logPath}`);
  const res = await runDistillation({
    studentPath: flagString(flags, "student") ?? SHIPPED_STUDENT_PATH,
    teacherPath: flagString(flags, "teacher") ?? SHIPPED_TEACHER_PATH,
    config,
    data,
    logPath,
    outPath,
    evalBefore: true,
    label: "distill",
    backend: report.chosen,
  });

  const row = (name: string, m: EvalMetrics) =>
    `| ${name} | ${m.psnrY.toFixed(3)} | ${m.ssimY.toFixed(4)} | ${m.haarpsi.toFixed(4)} | ${m.fwd} | ${m.energyRatio.join(" / ")} | ${m.kurtosis.join(" / ")} |`;
  const protocol = res.protocol;
  console.log(
    [
      `Distilled ${res.steps} steps in ${res.trainSeconds.toFixed(0)} s (${res.stepsPerSec} steps/s, ${res.cpuSecondsPerStep} CPU s/step, ${res.backend}); ` +
        `guard events: ${res.guardEvents.length}; artefact ${res.outPath}`,
      "",
      "| student | PSNR-Y (dB) | SSIM-Y | HaarPSI | FWD | energy ratio LH1/HL1/HH1 | kurtosis LH1/HL1/HH1 |",
      "|---|---:|---:|---:|---:|---|---|",
      ...(res.before ? [row("before", res.before)] : []),
      row("after", res.after),
      "",
      `Protocol: ${protocol.data}; ${protocol.output}.`,
      `PSNR-Y: ${protocol.psnrY}. SSIM-Y: ${protocol.ssimY}. HaarPSI: ${protocol.haarpsi}. FWD: ${protocol.fwd}.`,
      `Band statistics: ${protocol.energyRatio}; ${protocol.kurtosis}.`,
    ].join("\n"),
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
