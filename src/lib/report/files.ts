// Node side of the report's inputs: reads data/results/ for the data loaders in src/data/results/, the unit
// tests and the end-to-end check, so all of them see one interpretation of the files. Node only (node:fs);
// the page gets the same envelopes through FileAttachment.
import {existsSync, readFileSync} from "node:fs";
import {join} from "node:path";
import {packCrops} from "./crops.js";
import type {TrendFile} from "../eval/teacher-trend.js";
import {checkAblationsJson, checkEvalJson, checkTeacherTrendJson, type AblationsJson, type EvalJson, type ResultFile, ResultFileError} from "./types.js";

export const EVAL_PATH = "data/results/eval.json";
export const ABLATIONS_PATH = "data/results/ablations.json";
export const CROPS_DIR = "data/results/crops";
export const TEACHER_TREND_PATH = "data/results/teacher-trend.json";

function readJson(root: string, path: string): unknown | null {
  const file = join(root, path);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ResultFileError(path, `not valid JSON (${(e as Error).message})`);
  }
}

/** eval.json as an envelope; a malformed file throws (the build fails rather than publish a wrong table). */
export function readEvalFile(root: string): ResultFile<EvalJson> {
  const x = readJson(root, EVAL_PATH);
  return x === null ? {source: EVAL_PATH, present: false} : {source: EVAL_PATH, present: true, data: checkEvalJson(x, EVAL_PATH)};
}

export function readAblationsFile(root: string): ResultFile<AblationsJson> {
  const x = readJson(root, ABLATIONS_PATH);
  return x === null ? {source: ABLATIONS_PATH, present: false} : {source: ABLATIONS_PATH, present: true, data: checkAblationsJson(x, ABLATIONS_PATH)};
}

export function readTeacherTrendFile(root: string): ResultFile<TrendFile> {
  const x = readJson(root, TEACHER_TREND_PATH);
  return x === null ? {source: TEACHER_TREND_PATH, present: false} : {source: TEACHER_TREND_PATH, present: true, data: checkTeacherTrendJson(x, TEACHER_TREND_PATH)};
}

/** The crops pack (src/lib/report/crops.ts) of data/results/crops/. */
export function readCropsPack(root: string): Uint8Array {
  const index = readJson(root, `${CROPS_DIR}/index.json`);
  return packCrops(index, (name) => {
    const f = join(root, CROPS_DIR, name);
    if (!existsSync(f)) throw new ResultFileError(`${CROPS_DIR}/index.json`, `names ${name}, which is not in ${CROPS_DIR}/`);
    return new Uint8Array(readFileSync(f));
  });
}
