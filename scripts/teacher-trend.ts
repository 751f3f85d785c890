/**
 * The teacher's test-set trend against training hours: `npm run teacher-trend -- [--git REV]... [--ckpt PATH]...`.
 *
 * Each source is a training checkpoint of the teacher: `--git REV` reads data/checkpoints/teacher/teacher.ckpt as
 * committed at REV (the auto-commits of the long job make its history a series of checkpoints), `--ckpt PATH` a
 * file; with neither, the current training checkpoint. For each one this exports the EMA weights to a scratch
 * file (`export-models -- teacher --from SRC --to FILE`), runs `npm run eval` with the shipped student, the
 * teacher's sampler and its predictor alone (diagnostic) under the default protocol, and records the figures and
 * issue #4's verdict (src/lib/eval/teacher-criteria.ts) in data/results/teacher-trend.json, one entry per
 * training step (a step already there is skipped unless --force). Scratch files stay in .cache/teacher-trend/.
 *
 *   --json PATH   the trend file (default data/results/teacher-trend.json)
 *   --force       re-evaluate steps already in the file
 */
import {execFileSync} from "node:child_process";
import {createHash} from "node:crypto";
import {existsSync, mkdirSync, readFileSync, writeFileSync} from "node:fs";
import {decodeCheckpoint} from "../src/lib/checkpoint.js";
import {SHIPPED_MODELS} from "../src/lib/models/shipped.js";
import {protocolMismatches, type EvalJson} from "../src/lib/eval/report.js";
import {judgeTeacher} from "../src/lib/eval/teacher-criteria.js";
import {TREND_SCHEMA, trendTable, type TrendFigures, type TrendFile, type TrendRead} from "../src/lib/eval/teacher-trend.js";

const CKPT = "data/checkpoints/teacher/teacher.ckpt";
const SCRATCH = ".cache/teacher-trend";
const KEYS = {student: SHIPPED_MODELS.student.id, teacher: SHIPPED_MODELS.teacher.id, predictor: `${SHIPPED_MODELS.teacher.id}-predictor`} as const;

type Source = {label: string; bytes: Buffer; step: number; wallSeconds: number};

function parseArgs(argv: string[]): {sources: {kind: "git" | "ckpt"; value: string}[]; json: string; force: boolean} {
  const sources: {kind: "git" | "ckpt"; value: string}[] = [];
  let json = "data/results/teacher-trend.json";
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--force") force = true;
    else if (a === "--git" || a === "--ckpt" || a === "--json") {
      const v = argv[++i];
      if (!v || v.startsWith("--")) throw new Error(`${a} needs a value`);
      if (a === "--json") json = v;
      else sources.push({kind: a === "--git" ? "git" : "ckpt", value: v});
    } else throw new Error(`unexpected argument "${a}" (--git REV, --ckpt PATH, --json PATH, --force)`);
  }
  if (sources.length === 0) sources.push({kind: "ckpt", value: CKPT});
  return {sources, json, force};
}

function readSource(s: {kind: "git" | "ckpt"; value: string}): Source {
  let label: string;
  let bytes: Buffer;
  if (s.kind === "ckpt") {
    if (!existsSync(s.value)) throw new Error(`${s.value} not found`);
    [label, bytes] = [s.value, readFileSync(s.value)];
  } else {
    const rev = execFileSync("git", ["rev-parse", "--short", s.value], {encoding: "utf8"}).trim();
    [label, bytes] = [`git ${rev}:${CKPT}`, execFileSync("git", ["show", `${rev}:${CKPT}`], {maxBuffer: 256 << 20})];
  }
  const {step, wallSeconds} = decodeCheckpoint<{step: number; wallSeconds: number}>(new Uint8Array(bytes)).meta;
  return {label, bytes, step, wallSeconds};
}

function figures(e: EvalJson, key: string): TrendFigures {
  const m = e.models[key];
  if (!m) throw new Error(`the evaluation has no entry "${key}"`);
  const seeded = m.seeds !== null;
  return {
    psnrY: m.metrics.psnrY.mean,
    ssimY: m.metrics.ssimY.mean,
    haarpsi: m.metrics.haarpsi.mean,
    fwd: m.metrics.fwd.mean,
    std: seeded ? {psnrY: m.metrics.psnrY.std ?? NaN, haarpsi: m.metrics.haarpsi.std ?? NaN, fwd: m.metrics.fwd.std ?? NaN} : null,
    kurtosis: m.kurtosis,
    energyRatio: m.energyRatio,
  };
}

const tsx = (args: string[]) => execFileSync(process.execPath, ["--import", "tsx", ...args], {stdio: ["ignore", 2, 2]});

function evaluateSource(src: Source): {read: TrendRead; evalJson: EvalJson} {
  const {step} = src;
  const raw = `${SCRATCH}/source-${step}.ckpt`;
  const exported = `${SCRATCH}/teacher-${step}.ckpt`;
  const evalPath = `${SCRATCH}/eval-${step}.json`;
  writeFileSync(raw, src.bytes);
  tsx(["scripts/export-models.ts", "teacher", "--from", raw, "--to", exported]);
  tsx(["scripts/eval.ts", "--teacher", exported, "--models", "student,teacher,teacher-predictor", "--json", evalPath, "--latency", "none"]);
  const e = JSON.parse(readFileSync(evalPath, "utf8")) as EvalJson;
  const teacher = figures(e, KEYS.teacher);
  const student = figures(e, KEYS.student);
  const read: TrendRead = {
    step,
    trainingHours: Math.round((src.wallSeconds / 3600) * 100) / 100,
    source: src.label,
    sha256: createHash("sha256").update(src.bytes).digest("hex"),
    evaluatedAt: e.createdAt,
    evalCommit: e.commit,
    teacher,
    predictor: figures(e, KEYS.predictor),
    student,
    verdict: judgeTeacher(teacher, student, e.gt.kurtosis),
  };
  return {read, evalJson: e};
}

const yes = (b: boolean) => (b ? "yes" : "no");

async function main(): Promise<void> {
  const {sources, json, force} = parseArgs(process.argv.slice(2));
  mkdirSync(SCRATCH, {recursive: true});
  let trend: TrendFile | null = existsSync(json) ? (JSON.parse(readFileSync(json, "utf8")) as TrendFile) : null;
  if (trend && trend.schema !== TREND_SCHEMA) throw new Error(`${json} has schema ${trend.schema}, expected ${TREND_SCHEMA}`);
  for (const s of sources) {
    const src = readSource(s);
    if (!force && trend?.reads.some((r) => r.step === src.step)) {
      console.error(`step ${src.step} (${src.label}) is already in ${json}: skipped (--force re-evaluates)`);
      continue;
    }
    console.error(`step ${src.step}: ${src.label}`);
    const {read, evalJson} = evaluateSource(src);
    if (trend) {
      const bad = protocolMismatches(trend, evalJson);
      if (bad.length) throw new Error(`${json} was made with another protocol (${bad.join(", ")} differ)`);
    } else {
      trend = {
        schema: TREND_SCHEMA,
        note:
          "Test-set reads of teacher training checkpoints (scripts/teacher-trend.ts). teacher = the stochastic sampler, mean over sampler seeds; " +
          "predictor = the teacher's regression predictor alone (diagnostic); student = the shipped student-tiny; verdict = issue #4's criteria (src/lib/eval/teacher-criteria.ts).",
        backend: evalJson.backend,
        protocol: evalJson.protocol,
        truthKurtosis: evalJson.gt.kurtosis,
        reads: [],
      };
    }
    trend.reads = [...trend.reads.filter((r) => r.step !== read.step), read].sort((a, b) => a.step - b.step);
    writeFileSync(json, `${JSON.stringify(trend, null, 1)}\n`);
    console.error(`step ${read.step}: ${read.verdict.kurtosisBandsWon} of 6 bands, HaarPSI higher ${yes(read.verdict.haarpsiHigher)}, student PSNR-Y higher ${yes(read.verdict.studentPsnrHigher)}; wrote ${json}`);
  }
  if (trend) console.log(trendTable(trend));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
