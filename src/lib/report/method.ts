// Where the lab's DTKD differs from the paper, or fills a gap the paper leaves: one row per choice, with the
// lab's value read from the code's own constants and from the result files (what actually ran), never retyped.
// The paper column says only what the lab knows of the paper (Park and Song, Electronics 2026; no code is
// public; the facts the abstract fixes are listed in NOTES.md section 4).
import {defaultGroups, GROUP_WEIGHTINGS} from "../loss.js";
import {STUDENT_CONFIGS, studentParamCount} from "../models/student.js";
import {TEACHER_CONFIGS} from "../models/teacher.js";
import {DEFAULT_SCHEDULE, formatSchedule} from "../schedule.js";
import {formatInt} from "./format.js";
import type {AblationsJson, EvalJson} from "./types.js";

export type Agreement = "same" | "lab default (paper silent)" | "differs";

export interface MethodRow {
  aspect: string;
  paper: string;
  lab: string;
  status: Agreement;
  /** Where the lab's choice is made (file or result field). */
  where: string;
}

const groupsText = (g: Record<string, string[]>) => Object.entries(g).map(([k, v]) => `${k} = {${v.join(", ")}}`).join("; ");

/**
 * The divergence table. `e` and `a` (either may be null) supply what actually ran: the fine-tuning budget and
 * data of the grid, the evaluation's data and degradation, the models' parameter counts.
 */
export function methodRows(e: EvalJson | null, a: AblationsJson | null): MethodRow[] {
  const dtkdCell = a?.grid.find((g) => g.cell === "dtkd-default") ?? null;
  const lc = dtkdCell?.lossConfig;
  const w = GROUP_WEIGHTINGS.dtkd;
  const s = STUDENT_CONFIGS.tiny;
  const t = TEACHER_CONFIGS.base;
  const d = t.diffusion;
  const studentParams = e?.models["student-tiny"]?.params ?? studentParamCount(s);
  const teacherParams = e?.models["teacher-base"]?.params ?? null;
  const set = a?.settings;
  const rows: MethodRow[] = [
    {
      aspect: "Wavelet",
      paper: "a two-level DWT; the wavelet is not named in what the lab has of the paper",
      lab: `${lc?.wavelet ?? "haar"} (orthonormal, periodic boundary)`,
      status: "lab default (paper silent)",
      where: "src/lib/loss.ts lossPreset, src/lib/wavelets.ts",
    },
    {
      aspect: "Decomposition depth",
      paper: "two levels; the ablation finds a moderate depth best",
      lab: `${lc?.levels ?? 2} levels (the depth ablation also runs pixel space, 1 and 3)`,
      status: "same",
      where: "scripts/ablate.ts cell dtkd-default",
    },
    {
      aspect: "Frequency groups",
      paper: "sub-bands gathered into frequency groups; the grouping is not listed",
      lab: groupsText(lc?.groups ?? defaultGroups(2)),
      status: "lab default (paper silent)",
      where: "src/lib/loss.ts defaultGroups",
    },
    {
      aspect: "Group weights",
      paper: "non-uniform, mid frequencies weighted highest; no numbers",
      lab: `low ${w.low} / mid ${w.mid} / high ${w.high} (preset "dtkd"); per band: mean L1 of the coefficient difference, group = mean of its bands`,
      status: "lab default (paper silent)",
      where: "src/lib/loss.ts GROUP_WEIGHTINGS.dtkd",
    },
    {
      aspect: "Distillation-weight schedule",
      paper: "the weight increases progressively during training; no formula",
      lab: `${DEFAULT_SCHEDULE.kind} ramp of λ from ${DEFAULT_SCHEDULE.start} to ${DEFAULT_SCHEDULE.max} over the first ${DEFAULT_SCHEDULE.ramp * 100}% of the steps, then constant (${dtkdCell?.schedule ?? formatSchedule(DEFAULT_SCHEDULE)})`,
      status: "lab default (paper silent)",
      where: "src/lib/schedule.ts DEFAULT_SCHEDULE",
    },
    {
      aspect: "Teacher",
      paper: "a multi-step diffusion SR model; its exact architecture is not fixed by the abstract (the closest published few-step teacher, ResShift, works in a VQ-GAN latent space)",
      lab:
        `pixel space: a conv regression predictor (${t.predictor.blocks} blocks × ${t.predictor.channels} ch) gives y, a ResShift refiner ` +
        `(${t.denoiser.blocks} blocks × ${t.denoiser.channels} ch, T = ${d.T}, κ = ${d.kappa}, p = ${d.p}, √η₁ = ${d.sqrtEta1}, √η_T = ${d.sqrtEtaT}) ` +
        `adds residual texture on the pixel-unshuffled LR grid` + (teacherParams ? `; ${formatInt(teacherParams)} parameters` : ""),
      status: "differs",
      where: "src/lib/models/teacher.ts TEACHER_CONFIGS.base",
    },
    {
      aspect: "Student",
      paper: "an efficient transformer SR model (SwinIR family); exact size not fixed by the abstract",
      lab:
        `SwinIR-style "tiny": embed ${s.embedDim}, depths [${s.depths.join(", ")}], ${s.heads} heads, window ${s.window}, ` +
        `${s.imageResidual} image residual; ${formatInt(studentParams)} parameters (SwinIR-light: ${formatInt(studentParamCount(STUDENT_CONFIGS["swinir-light"]))})`,
      status: "differs",
      where: "src/lib/models/student.ts STUDENT_CONFIGS.tiny",
    },
    {
      aspect: "Training data",
      paper: "not stated in the abstract",
      lab:
        `the lab's training split of Debian wallpapers (data/manifest.json)` +
        (set?.data?.patches ? `; distillation: ${set.data.patches} fixed ${set.data.hrSize}×${set.data.hrSize} HR patches with ${set.data.targetSeeds} cached ${set.data.sampler} teacher samples each` : ""),
      status: "differs",
      where: "src/lib/train/distill-node.ts, data/manifest.json",
    },
    {
      aspect: "Degradation",
      paper: "real-world SR benchmarks",
      lab: `preset "${set?.data?.preset ?? e?.protocol.degradation.preset ?? "mild"}" (a lab default between bicubic and the Real-ESRGAN pipeline) for training, ablation and test`,
      status: "differs",
      where: "src/lib/degrade.ts PRESETS",
    },
    {
      aspect: "Evaluation data",
      paper: "real-world SR test sets",
      lab: e
        ? `${e.protocol.images.count} committed photographs, ${e.protocol.evalCrop.size}×${e.protocol.evalCrop.size} centre crops, degradation seed ${e.protocol.degradation.seed}; ablations on ${set?.data?.valCount ?? "the"} validation patches`
        : "eval.json absent",
      status: "differs",
      where: "data/results/eval.json protocol",
    },
    {
      aspect: "Step budgets",
      paper: "not stated in the abstract",
      lab: set
        ? `fine-tuning of the shipped student: ${set.steps} steps of batch ${set.train?.batch ?? "?"}, Adam lr ${set.train?.lr ?? "?"}, EMA ${set.train?.emaDecay ?? "?"} (per ablation run and for the distilled and standalone students)`
        : "the ablation grid has not been run (scripts/ablate.ts sets its default budget)",
      status: "differs",
      where: "data/results/ablations.json settings",
    },
  ];
  return rows;
}
