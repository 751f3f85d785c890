/**
 * eval.json (schema 1, docs/eval-schema.md) from an evaluation, and its plain-text tables. The model-card
 * renderer (scripts/model-card.ts) reads `commit`, `protocol` and `models[id].{label, metrics, latencyMs}`;
 * keep those fields and their shapes.
 */
import {BAND_STATS_DEFAULTS, bandStatsProtocolText, type BandStatsOptions} from "./band-stats.js";
import type {EvalImage, EvaluationResult, ModelEvaluation, Stat} from "./evaluate.js";
import {FWD_DEFAULTS, fwdProtocolText, type FwdOptions} from "./fwd.js";
import type {LatencyBackend, LatencyPlan, LatencyRecord} from "./latency.js";
import {protocolText} from "../metrics.js";
import type {Preset} from "../degrade.js";
import {bandNames} from "../wavelets.js";
import {RRDN_PACKAGE, RRDN_PACKAGE_VERSION} from "./rrdn.js";
import type {RunsSource} from "./runs.js";

export const EVAL_SCHEMA_VERSION = 1;

export interface EvalJsonModel extends ModelEvaluation {
  flopsPerOutputPixel: number | null;
  flopsNote: string;
  latencyMs?: Partial<Record<LatencyBackend, LatencyRecord>>;
  /** Models made of training runs (runs.ts): the cell, steps and artefacts behind the row. */
  source?: RunsSource;
  /** The lab's single-artefact models (student, teacher and its samplers/diagnostics): which file was run. */
  weights?: WeightsRecord;
}

/** The artefact behind a row: its path as given, content hash, training step and configuration name. */
export interface WeightsRecord {
  path: string;
  sha256: string;
  step: number | null;
  config: string | null;
}

/** One `npm run eval -- --merge` that replaced or added entries of an existing file (mergeEvalJson). */
export interface EvalMergeRecord {
  keys: string[];
  commit: string;
  workingTreeDirty: boolean;
  createdAt: string;
  machine: string;
  backend: string;
  runtime: EvalJson["runtime"];
}

export interface EvalJson {
  schema: number;
  commit: string;
  workingTreeDirty: boolean;
  createdAt: string;
  machine: string;
  backend: string;
  runtime: {wallSeconds: number; cpuSeconds: number; loadAverage1mAtStart: number | null};
  protocol: {
    colour: string;
    crop: number;
    images: {source: string; count: number; names: string[]};
    degradation: {preset: Preset; seed: number; scale: number; perImageSeed: string; seeds: Record<string, number>};
    evalCrop: {size: number; rule: string; crops: Record<string, {top: number; left: number; height: number; width: number; sourceHeight: number; sourceWidth: number}>};
    teacherSeeds: number[];
    teacherNoise: string;
    aggregation: string;
    metrics: {psnrY: string; ssimY: string; haarpsi: string; fwd: string; bands: string};
    fwd: FwdOptions & {referenceSamples: number};
    bandStats: BandStatsOptions & {bands: string[]};
    latency: {plans: Partial<Record<LatencyBackend, LatencyPlan>>; note: string};
    rrdn: {package: string; model: string; inputRange: [number, number]; outputRange: [number, number]};
  };
  gt: EvaluationResult["gt"];
  models: Record<string, EvalJsonModel>;
  /** Entries evaluated later and merged in; absent when every entry comes from the run named at the top. */
  merges?: EvalMergeRecord[];
}

export interface EvalJsonInput {
  evaluation: EvaluationResult;
  images: readonly EvalImage[];
  imageSource: string;
  crop: number;
  metricCrop: number;
  preset: Preset;
  degradeSeed: number;
  seeds: readonly number[];
  /** FLOPs per output pixel per model key (at a 64x64 LR input), null where not counted. */
  flops: Record<string, number | null>;
  latency: Record<string, Partial<Record<LatencyBackend, LatencyRecord>>>;
  latencyPlans: Partial<Record<LatencyBackend, LatencyPlan>>;
  meta: {commit: string; workingTreeDirty: boolean; createdAt: string; machine: string; backend: string; runtime: EvalJson["runtime"]};
  fwd?: FwdOptions;
  bandStats?: BandStatsOptions;
  /** Per model key: where a model made of training runs came from (runs.ts). */
  sources?: Record<string, RunsSource>;
}

/** What the protocol is made of (everything of EvalJsonInput but the results). */
export type EvalProtocolInput = Pick<EvalJsonInput, "images" | "imageSource" | "crop" | "metricCrop" | "preset" | "degradeSeed" | "seeds" | "latencyPlans" | "fwd" | "bandStats">;

export function buildEvalJson(x: EvalJsonInput): EvalJson {
  const models: Record<string, EvalJsonModel> = {};
  for (const [k, m] of Object.entries(x.evaluation.models)) {
    models[k] = {
      ...m,
      flopsPerOutputPixel: x.flops[k] ?? null,
      flopsNote: "per output pixel for a 64x64 LR input; 2 FLOPs per multiply-add of convolutions and linear layers (null: not counted)",
      ...(x.latency[k] ? {latencyMs: x.latency[k]} : {}),
      ...(x.sources?.[k] ? {source: x.sources[k]} : {}),
    };
  }
  return {
    schema: EVAL_SCHEMA_VERSION,
    commit: x.meta.commit,
    workingTreeDirty: x.meta.workingTreeDirty,
    createdAt: x.meta.createdAt,
    machine: x.meta.machine,
    backend: x.meta.backend,
    runtime: x.meta.runtime,
    protocol: buildEvalProtocol(x, x.evaluation.gt.fwdSamples),
    gt: x.evaluation.gt,
    models,
  };
}

/** eval.json's `protocol` (referenceSamples: patches in the FWD reference set, known after the evaluation). */
export function buildEvalProtocol(x: EvalProtocolInput, referenceSamples: number): EvalJson["protocol"] {
  const fwd = x.fwd ?? FWD_DEFAULTS;
  const bands = x.bandStats ?? BAND_STATS_DEFAULTS;
  const mc = x.metricCrop;
  return {
      colour:
        "PSNR and SSIM on Y of BT.601 studio-swing YCbCr (float, 0..255); HaarPSI on RGB (YIQ); FWD on RGB; " +
        "band statistics on luma 0.299R+0.587G+0.114B. Outputs clipped to [0,1] before measuring.",
      crop: mc,
      images: {source: x.imageSource, count: x.images.length, names: x.images.map((im) => im.id)},
      degradation: {
        preset: x.preset,
        seed: x.degradeSeed,
        scale: 4,
        perImageSeed: "createRng(seed).fork(imageId).nextUint32() (src/lib/rng.ts)",
        seeds: Object.fromEntries(x.images.map((im) => [im.id, im.degradeSeed])),
      },
      evalCrop: {
        size: x.crop,
        rule:
          x.crop > 0
            ? `centre ${x.crop}x${x.crop} crop of each photograph (top = floor((H - ${x.crop})/2), left = floor((W - ${x.crop})/2)), then degraded`
            : "whole photographs, trimmed to a multiple of 4, then degraded",
        crops: Object.fromEntries(
          x.images.map((im) => [im.id, {top: im.offset[0], left: im.offset[1], height: im.gt.height, width: im.gt.width, sourceHeight: im.sourceSize[0], sourceWidth: im.sourceSize[1]}]),
        ),
      },
      teacherSeeds: [...x.seeds],
      teacherNoise: "createRng(seed).fork(imageId); stochastic and ddim with the same seed share x_T",
      aggregation:
        "PSNR-Y, SSIM-Y, HaarPSI: mean over images; FWD: one distance of the output set against the ground-truth set; " +
        "band statistics pooled over the set. Seeded models: each number per seed, then mean and sample std (n-1) over seeds " +
        "(std null for deterministic models). A model's seedKind says what its seeds are: \"sampler\" (the teacher: noise seeds, " +
        "teacherSeeds) or \"training\" (distilled, standalone: one fine-tuned artefact per training seed, listed in its seeds and source).",
      metrics: {
        psnrY: protocolText("psnrY", {crop: mc}),
        ssimY: protocolText("ssimY", {crop: mc}),
        haarpsi: protocolText("haarpsi", {crop: mc}),
        fwd: `${fwdProtocolText(fwd)}; on images with the ${mc}-px border removed; ground truth as the reference set`,
        bands: bandStatsProtocolText(bands),
      },
      fwd: {...fwd, referenceSamples},
      bandStats: {...bands, bands: bandNames(bands.levels)},
      latency: {
        plans: x.latencyPlans,
        note:
          "wall time of one call, LR image in to clipped SR image out (upload and read-back included), uniform-noise input; " +
          "mean and median of the timed runs after warm-up, and the process CPU time of the same runs (one thread: the steadier " +
          "figure on a machine shared with other jobs, see runtime.loadAverage1mAtStart). The teacher's time is one stochastic sample; the ddim sampler runs the same " +
          "network evaluations and is not timed separately.",
      },
      rrdn: {package: `${RRDN_PACKAGE}@${RRDN_PACKAGE_VERSION}`, model: "models/gans", inputRange: [0, 1], outputRange: [0, 1]},
  };
}

/**
 * The parts of a file's protocol that make its numbers comparable: backend, images, degradation (preset, base
 * seed, per-image seeds), evaluation crop (size and every crop window), border crop, FWD and band-statistics
 * settings. Text fields, the teacher's seeds and the FWD reference-set size (derived) are left out.
 */
export function comparableProtocol(j: Pick<EvalJson, "backend" | "protocol">): Record<string, unknown> {
  const p = j.protocol;
  const {referenceSamples: _derived, ...fwd} = p.fwd;
  return {
    backend: j.backend,
    borderCrop: p.crop,
    images: p.images.names,
    degradation: {preset: p.degradation.preset, seed: p.degradation.seed, scale: p.degradation.scale, seeds: p.degradation.seeds},
    evalCrop: {size: p.evalCrop.size, crops: p.evalCrop.crops},
    fwd,
    bandStats: p.bandStats,
  };
}

/** Names of the comparable protocol fields that differ between two files (empty: the numbers can share a table). */
export function protocolMismatches(a: Pick<EvalJson, "backend" | "protocol">, b: Pick<EvalJson, "backend" | "protocol">): string[] {
  const ca = comparableProtocol(a);
  const cb = comparableProtocol(b);
  return Object.keys(ca).filter((k) => JSON.stringify(ca[k]) !== JSON.stringify(cb[k]));
}

/**
 * `base` with the entries `keys` of `fresh` put in (replacing those of the same key in place, others appended),
 * without re-evaluating the rest. Refused (throws) when the protocols differ (protocolMismatches), when a key is
 * not in `fresh`, or when a merged entry was timed with other latency plans than `base`'s. The top-level
 * commit/createdAt/runtime stay `base`'s; each merge is recorded in `merges`. Entries of files written before
 * seedKind existed get it filled in (seeded entries then could only be sampler-seeded).
 */
export function mergeEvalJson(base: EvalJson, fresh: EvalJson, keys: readonly string[]): EvalJson {
  if (base.schema !== EVAL_SCHEMA_VERSION) throw new Error(`merge: the existing file has schema ${base.schema}, expected ${EVAL_SCHEMA_VERSION}`);
  const bad = protocolMismatches(base, fresh);
  if (bad.length) {
    const cb = comparableProtocol(base);
    const cf = comparableProtocol(fresh);
    const show = (v: unknown) => {
      const t = JSON.stringify(v);
      return t.length > 120 ? `${t.slice(0, 117)}...` : t;
    };
    throw new Error(`merge refused: the protocols differ in ${bad.map((k) => `${k} (file ${show(cb[k])}, this run ${show(cf[k])})`).join("; ")}`);
  }
  if (base.gt.fwdSamples !== fresh.gt.fwdSamples) throw new Error(`merge refused: FWD reference sets differ (${base.gt.fwdSamples} vs ${fresh.gt.fwdSamples} patches)`);
  for (const k of keys) {
    const m = fresh.models[k];
    if (!m) throw new Error(`merge: this run has no model "${k}"`);
    for (const b of Object.keys(m.latencyMs ?? {}) as LatencyBackend[]) {
      if (JSON.stringify(fresh.protocol.latency.plans[b]) !== JSON.stringify(base.protocol.latency.plans[b]))
        throw new Error(`merge refused: ${k} was timed on ${b} with another plan than the file's (${JSON.stringify(base.protocol.latency.plans[b] ?? null)})`);
    }
  }
  const out = JSON.parse(JSON.stringify(base)) as EvalJson;
  for (const m of Object.values(out.models)) m.seedKind ??= m.seeds ? "sampler" : null;
  const models: Record<string, EvalJsonModel> = {};
  for (const [k, m] of Object.entries(out.models)) models[k] = keys.includes(k) ? fresh.models[k] : m;
  for (const k of keys) models[k] ??= fresh.models[k];
  out.models = JSON.parse(JSON.stringify(models)) as Record<string, EvalJsonModel>;
  out.protocol.aggregation = fresh.protocol.aggregation;
  out.merges = [
    ...(base.merges ?? []),
    {keys: [...keys], commit: fresh.commit, workingTreeDirty: fresh.workingTreeDirty, createdAt: fresh.createdAt, machine: fresh.machine, backend: fresh.backend, runtime: fresh.runtime},
  ];
  return out;
}

/** JSON text with non-finite numbers written as null. */
export function stringifyEvalJson(j: EvalJson): string {
  return JSON.stringify(j, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n";
}

const fx = (x: number | null | undefined, d: number) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d));
// A std too small for the mean's decimals is shown with one significant digit rather than as "0.00".
const pm = (s: Stat, d: number) =>
  s.std === null ? fx(s.mean, d) : `${fx(s.mean, d)}±${s.std > 0 && s.std < 0.5 * 10 ** -d ? s.std.toPrecision(1) : fx(s.std, d)}`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
      return i === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
    })
    .join("\n");
}

/** The tables `npm run eval` prints: metrics and latency, then energy ratio, kurtosis and correlation per band. */
export function formatEvalTables(j: EvalJson): string {
  const p = j.protocol;
  const entries = Object.entries(j.models);
  const backends = Object.keys(p.latency.plans) as LatencyBackend[];
  const lines: string[] = [];
  lines.push(
    `${p.images.count} images, ${p.evalCrop.size > 0 ? `centre ${p.evalCrop.size}x${p.evalCrop.size} crops` : "whole images"}, ` +
      `${p.degradation.preset} degradation (seed ${p.degradation.seed}), border crop ${p.crop}, outputs clipped to [0,1]; ` +
      `sampler-seeded rows: mean±std over seeds ${p.teacherSeeds.join(",")}`,
  );
  const trained = entries.filter(([, m]) => m.seedKind === "training");
  if (trained.length)
    lines.push(`training-seeded rows: mean±std over training runs (${trained.map(([k, m]) => `${k}: seeds ${m.seeds?.join(",")}`).join("; ")})`);
  const ms = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x < 10 ? x.toFixed(1) : x.toFixed(0));
  const lat = (r: LatencyRecord | undefined) => (r ? `${ms(r.median)} (${ms(r.cpuMedian)})` : "-");
  const head = ["model", "PSNR-Y", "SSIM-Y", "HaarPSI", "FWD", ...backends.map((b) => `${b} ms, wall (CPU), ${p.latency.plans[b]!.lrSize}px LR`)];
  lines.push(
    table([
      head,
      ...entries.map(([k, m]) => [k, pm(m.metrics.psnrY, 2), pm(m.metrics.ssimY, 4), pm(m.metrics.haarpsi, 4), pm(m.metrics.fwd, 1), ...backends.map((b) => lat(m.latencyMs?.[b]))]),
    ]),
  );
  const bands = p.bandStats.bands;
  lines.push("", `Sub-bands (${p.bandStats.levels}-level ${p.bandStats.wavelet} on luma, pooled over the set; seeded rows: mean over seeds)`);
  lines.push(table([["energy ratio", ...bands], ...entries.map(([k, m]) => [k, ...bands.map((b) => fx(m.energyRatio[b], 3))])]));
  lines.push(table([["kurtosis", ...bands], ["ground truth", ...bands.map((b) => fx(j.gt.kurtosis[b], 1))], ...entries.map(([k, m]) => [k, ...bands.map((b) => fx(m.kurtosis[b], 1))])]));
  lines.push(table([["correlation", ...bands], ...entries.map(([k, m]) => [k, ...bands.map((b) => fx(m.correlation[b], 3))])]));
  lines.push("", `PSNR-Y: ${p.metrics.psnrY}`, `SSIM-Y: ${p.metrics.ssimY}`, `HaarPSI: ${p.metrics.haarpsi}`, `FWD: ${p.metrics.fwd}`, `Bands: ${p.metrics.bands}`);
  if (backends.length) lines.push(`Latency: ${p.latency.note}`);
  return lines.join("\n");
}
