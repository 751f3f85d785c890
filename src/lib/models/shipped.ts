/**
 * The models the lab ships (data/models/): their file names and one loader for Node and the browser.
 * A shipped artefact is a DTKDCKPT file holding only the EMA weights ("ema/<name>", fp32) and, in its
 * header, the training checkpoint's metadata plus a `card` (see scripts/export-models.ts).
 */
import type * as tf from "@tensorflow/tfjs";
import {decodeCheckpoint} from "../checkpoint.js";
import {studentFromCheckpoint, type Student, type StudentConfig} from "./student.js";
import {teacherFromCheckpoint, type Teacher, type TeacherConfig} from "./teacher.js";

export const SHIPPED_MODELS = {
  student: {id: "student-tiny", file: "student-tiny.ckpt", label: "Student (SwinIR-style, tiny)"},
  teacher: {id: "teacher-base", file: "teacher-base.ckpt", label: "Teacher (predictor + ResShift refiner)"},
} as const;

export type ShippedKind = keyof typeof SHIPPED_MODELS;

/**
 * The DTKD-distilled student the lab ships beside SHIPPED_MODELS (not in it: code keys records by ShippedKind,
 * which stays "student" | "teacher"). data/models/student-distilled.ckpt is a byte copy of one ablation run's
 * artefact (src/lib/train/distill-node.ts writeDistilledArtefact), so its sha256 matches the run's in
 * data/results/eval.json; its header therefore keeps that run's card id (`cardId`), not `id`. It loads with
 * loadShippedStudent. `npm run export-models -- --distilled-from PATH` copies it and writes its model card.
 */
export const SHIPPED_DISTILLED = {
  id: "student-distilled",
  file: "student-distilled.ckpt",
  label: "Distilled student (DTKD, lab defaults)",
  source: "ablation cell dtkd-default, training seed 1, 180 steps from student-tiny",
  /** The card id in the artefact's header: the ablation run's output name. */
  cardId: "dtkd-default-s1"
} as const;

/** What a model card records; numbers the export could not measure are absent, never guessed. */
export interface ModelCard {
  id: string;
  kind: ShippedKind;
  architecture: string;
  params: number;
  flopsPerOutputPixel: number;
  flopsNote: string;
  training: {
    steps: number;
    wallSeconds: number;
    machine: string;
    backend: string;
    seed: number;
    batch: number;
    loss: string;
    data: {preset: string; hrPatch: number; sources: {fromStep: number; source: string; images: number}[]};
    lr: unknown;
    emaDecay: number;
  };
  exportedAt: string;
  commit: string;
}

export interface ShippedMeta extends Record<string, unknown> {
  kind: ShippedKind;
  step: number;
  card: ModelCard;
}

export function readShippedMeta(bytes: Uint8Array | ArrayBuffer): ShippedMeta {
  return decodeCheckpoint<ShippedMeta>(bytes).meta;
}

export function loadShippedStudent(bytes: Uint8Array | ArrayBuffer): {student: Student; meta: ShippedMeta & {config: StudentConfig}} {
  const r = studentFromCheckpoint(bytes, "ema");
  return {student: r.student, meta: r.meta as unknown as ShippedMeta & {config: StudentConfig}};
}

export function loadShippedTeacher(bytes: Uint8Array | ArrayBuffer): {teacher: Teacher; meta: ShippedMeta & {config: TeacherConfig}} {
  const r = teacherFromCheckpoint(bytes, "ema");
  return {teacher: r.teacher, meta: r.meta as unknown as ShippedMeta & {config: TeacherConfig}};
}

/** Variables of a shipped model, e.g. for counting or disposal checks. */
export type ModelVariables = Map<string, tf.Variable>;
