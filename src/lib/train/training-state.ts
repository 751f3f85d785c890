/**
 * The training state both Node trainers (teacher-trainer.ts, student-trainer.ts) keep in one checkpoint file:
 * metadata (step, seed, Adam's step count, data history, ...) plus four tensor groups, "params", "ema",
 * "adam.m" and "adam.v", each written in fp32 (bit-exact resume; bf16 moments of older teacher files still load).
 * One implementation, so the two trainers' files cannot drift apart: the byte layout is exactly what both
 * trainers wrote before this module existed (same meta object, same group order, same dtype).
 */
import type * as tf from "@tensorflow/tfjs";
import {assignVariables, decodeCheckpoint, encodeCheckpoint, variablesToTensors, type DecodedCheckpoint} from "../checkpoint.js";
import type {Adam} from "./adam.js";
import {readFileIfExists, writeFileAtomic} from "./checkpoint-file.js";
import type {Ema} from "./ema.js";
import type {JsonlLogger} from "./logger.js";
import {formatDuration} from "./progress.js";

/** The metadata fields the shared scaffolding reads or writes. */
export interface TrainingMeta {
  kind: string;
  step: number;
  adam: {t: number; beta1: number; beta2: number; eps: number; clipNorm: number};
  data: {history: {fromStep: number; source: string; images: string[]}[]};
  wallSeconds: number;
  backend: string;
  savedAt: string;
}

/** The live objects behind the four tensor groups. */
export interface TrainingTensors {
  vars: Map<string, tf.Variable>;
  ema: Ema;
  adam: Adam;
}

/**
 * Fresh or resumed metadata: with `resume` and a file at `ckptPath`, its decoded checkpoint (refused when its
 * kind is not `kind`; `check` may add notes or refusals); otherwise `fresh()`. The backend is set to this run's.
 */
export function openTrainingState<M extends TrainingMeta>(
  o: {ckptPath: string; resume: boolean; kind: M["kind"]; backend: string; check?: (meta: M) => void},
  fresh: () => M,
): {meta: M; ck: DecodedCheckpoint<M> | null} {
  const existing = o.resume ? readFileIfExists(o.ckptPath) : null;
  let meta: M;
  let ck: DecodedCheckpoint<M> | null = null;
  if (existing) {
    ck = decodeCheckpoint<M>(existing);
    meta = ck.meta;
    if (meta.kind !== o.kind) throw new Error(`${o.ckptPath} is a ${String(meta.kind)} checkpoint, not a ${o.kind}'s`);
    o.check?.(meta);
    console.error(`resuming ${o.ckptPath} at step ${meta.step} (${formatDuration(meta.wallSeconds)} trained so far)`);
  } else {
    if (o.resume) console.error(`no checkpoint at ${o.ckptPath}; starting fresh`);
    meta = fresh();
  }
  meta.backend = o.backend;
  return {meta, ck};
}

/** Puts a resumed checkpoint's weights, EMA weights, Adam moments and step count into the live objects. */
export function restoreTrainingState(ck: DecodedCheckpoint<TrainingMeta>, s: TrainingTensors): void {
  const c = ck as DecodedCheckpoint<unknown>;
  assignVariables(s.vars, c, "params");
  assignVariables(s.ema.shadow, c, "ema");
  assignVariables(s.adam.m, c, "adam.m");
  assignVariables(s.adam.v, c, "adam.v");
  s.adam.t = ck.meta.adam.t;
}

/** Writes the checkpoint atomically (meta's adam.t and savedAt updated first), logs it, and returns its size. */
export async function saveTrainingState(path: string, meta: TrainingMeta, s: TrainingTensors, log: JsonlLogger, reason: string): Promise<number> {
  meta.adam.t = s.adam.t;
  meta.savedAt = new Date().toISOString();
  const bytes = encodeCheckpoint(meta, [
    ...(await variablesToTensors(s.vars, "params")),
    ...(await variablesToTensors(s.ema.shadow, "ema")),
    // fp32 moments make resume exact (bf16 ones differed by ~1e-4 after a resume); older bf16 files still load.
    ...(await variablesToTensors(s.adam.m, "adam.m")),
    ...(await variablesToTensors(s.adam.v, "adam.v")),
  ]);
  writeFileAtomic(path, bytes);
  log.write({kind: "checkpoint", step: meta.step, reason, bytes: bytes.length, path});
  console.error(`\ncheckpoint (${reason}) at step ${meta.step}: ${path} (${(bytes.length / 1e6).toFixed(2)} MB)`);
  return bytes.length;
}

/** Appends the photographs' source to the data history when it differs from the last entry (a new run or a switch). */
export function recordPhotoSource(meta: TrainingMeta, step: number, source: string, images: string[]): void {
  const h = meta.data.history;
  const last = h[h.length - 1];
  if (!last || last.source !== source || last.images.join("|") !== images.join("|")) h.push({fromStep: step, source, images});
}
