/**
 * Models made of several training runs: the students of the ablation grid (scripts/ablate.ts), one distilled
 * artefact per training seed. In the evaluation such a model is "seeded" with seedKind "training": seed s runs
 * the artefact trained with seed s, so evaluate() reports mean and sample std over training runs exactly as it
 * does over the teacher's sampler seeds. DOM- and file-system-free (the Node side passes bytes and an `exists`).
 *
 * Which runs: the grid's cells map to eval.json keys (ABLATION_KEYS): "dtkd-default" is the DTKD-distilled
 * student ("distilled"), "recon-only" the same fine-tuning budget with the reconstruction L1 only, i.e. the
 * standalone student trained on ("standalone").
 */
import {decodeCheckpoint} from "../checkpoint.js";
import {studentFromCheckpoint} from "../models/student.js";
import {studentModel, type SrModel} from "./models.js";

/** eval.json key -> ablation cell. */
export const ABLATION_KEYS = {distilled: "dtkd-default", standalone: "recon-only"} as const;
export type RunsKey = keyof typeof ABLATION_KEYS;
export const RUNS_KEYS = Object.keys(ABLATION_KEYS) as RunsKey[];

const LABELS: Record<RunsKey, string> = {
  distilled: "Student, DTKD-distilled (L1 + lambda(t) x band loss against the teacher)",
  standalone: "Student, trained on with L1 only (same budget, no teacher)",
};

/** One finished training run whose artefact is to be evaluated. */
export interface RunRef {
  seed: number;
  path: string;
  /** Fine-tuning steps of the run (the grid's budget), when known. */
  steps: number | null;
}

/** The part of data/results/ablations.json read here (scripts/ablate.ts writes it). */
export interface AblationsLike {
  runs: {cell: string; seed: number; steps?: number; outPath?: string | null}[];
}

/**
 * The finished runs of `cell` whose artefact exists, by seed. Runs without an artefact path, or whose file is
 * missing, are skipped (reported in `missing`); two runs of one seed are an error (the file is inconsistent).
 */
export function runsFromAblations(a: AblationsLike, cell: string, exists: (path: string) => boolean): {runs: RunRef[]; missing: string[]} {
  const runs: RunRef[] = [];
  const missing: string[] = [];
  for (const r of a.runs.filter((x) => x.cell === cell)) {
    if (!r.outPath || !exists(r.outPath)) {
      missing.push(`${cell} seed ${r.seed}: ${r.outPath ? `${r.outPath} not found` : "no artefact recorded"}`);
      continue;
    }
    if (runs.some((x) => x.seed === r.seed)) throw new Error(`ablations: cell ${cell} has two runs of seed ${r.seed}`);
    runs.push({seed: r.seed, path: r.outPath, steps: r.steps ?? null});
  }
  return {runs: runs.sort((x, y) => x.seed - y.seed), missing};
}

/** What a distilled artefact (src/lib/train/distill-node.ts writeDistilledArtefact) says about its run. */
export interface ArtefactRunInfo {
  seed: number;
  steps: number;
  /** The student it was fine-tuned from (path, sha256, step), as recorded. */
  from: {path?: string; sha256?: string; step?: number};
  loss: string | null;
}

export function artefactRunInfo(bytes: Uint8Array): ArtefactRunInfo {
  const meta = decodeCheckpoint<{distill?: {steps?: number; loss?: string; from?: ArtefactRunInfo["from"]; config?: {seed?: number}}}>(bytes).meta;
  const d = meta.distill;
  if (!d || typeof d.config?.seed !== "number" || typeof d.steps !== "number")
    throw new Error("not a distilled artefact (its header has no distill.config.seed / distill.steps)");
  return {seed: d.config.seed, steps: d.steps, from: d.from ?? {}, loss: d.loss ?? null};
}

/** eval.json's `source` of a model made of training runs. */
export interface RunsSource {
  /** The ablation cell, or null when the artefacts were named by hand (--runs). */
  cell: string | null;
  ablations: string | null;
  steps: number | null;
  runs: {seed: number; path: string; sha256: string; steps: number}[];
  fromStudent: ArtefactRunInfo["from"];
  loss: string | null;
  latency: string;
}

/**
 * One seeded model over the artefacts of several training runs (`artefacts`: bytes by path, seeds read from
 * each artefact's header; a `RunRef` seed that disagrees with its artefact is refused). Every artefact must be
 * the same architecture (same parameter count) and come from the same student, or the mean would mix models.
 */
export function trainingRunsModel(
  key: RunsKey,
  refs: readonly RunRef[],
  artefacts: ReadonlyMap<string, Uint8Array>,
  meta: {cell: string | null; ablations: string | null; sha256: (bytes: Uint8Array) => string},
): {model: SrModel; source: RunsSource} {
  if (refs.length === 0) throw new Error(`${key}: no runs`);
  const perSeed = new Map<number, SrModel>();
  const runs: RunsSource["runs"] = [];
  let first: ArtefactRunInfo | null = null;
  try {
    for (const ref of refs) {
      const bytes = artefacts.get(ref.path);
      if (!bytes) throw new Error(`${key}: no bytes for ${ref.path}`);
      const info = artefactRunInfo(bytes);
      if (info.seed !== ref.seed) throw new Error(`${key}: ${ref.path} was trained with seed ${info.seed}, the record says ${ref.seed}`);
      if (perSeed.has(info.seed)) throw new Error(`${key}: two artefacts of training seed ${info.seed}`);
      if (first && (info.steps !== first.steps || info.from.sha256 !== first.from.sha256 || info.loss !== first.loss))
        throw new Error(`${key}: ${ref.path} differs from the first run in steps, starting student or loss`);
      first ??= info;
      const m = studentModel(studentFromCheckpoint(bytes, "ema").student);
      perSeed.set(info.seed, m);
      if (m.params !== perSeed.values().next().value!.params) throw new Error(`${key}: ${ref.path} has another architecture`);
      runs.push({seed: info.seed, path: ref.path, sha256: meta.sha256(bytes), steps: info.steps});
    }
  } catch (e) {
    for (const m of perSeed.values()) m.dispose();
    throw e;
  }
  runs.sort((a, b) => a.seed - b.seed);
  const base = perSeed.get(runs[0].seed)!;
  const steps = first!.steps;
  const where = meta.cell ? `cell ${meta.cell}` : "runs given by hand";
  const model: SrModel = {
    key,
    label: `${LABELS[key]}, ${where}, ${steps} steps, ${runs.length} training seed${runs.length > 1 ? "s" : ""}`,
    params: base.params,
    seeded: true,
    seeds: runs.map((r) => r.seed),
    seedKind: "training",
    seedUse: "seed s runs the artefact trained with seed s (deterministic inference)",
    flopsPerOutputPixel: (h, w) => base.flopsPerOutputPixel(h, w),
    upscale: (lr, ctx) => {
      const m = perSeed.get(ctx.seed);
      if (!m) throw new Error(`${key}: no run of training seed ${ctx.seed}`);
      return m.upscale(lr, ctx);
    },
    dispose: () => perSeed.forEach((m) => m.dispose()),
  };
  const source: RunsSource = {
    cell: meta.cell,
    ablations: meta.ablations,
    steps,
    runs,
    fromStudent: first!.from,
    loss: first!.loss,
    latency: "not timed: the same architecture and FLOPs as student-tiny (see its latencyMs)",
  };
  return {model, source};
}
