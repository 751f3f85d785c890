/**
 * Training CLI: `npm run train -- teacher|student [options]`. The student is trained with the reconstruction
 * (L1) loss only: the standalone baseline that distillation must beat.
 *
 *   --config NAME            teacher: base|tiny; student: tiny|tiny-bicubic|tiny-bicubic-zero|swinir-light (new runs only; a resumed run keeps
 *                            its checkpoint's)
 *   --steps N                stop when the checkpoint's step count reaches N
 *   --minutes M              stop after M minutes of this run (a final checkpoint is written)
 *   --batch B                batch size (default 16)
 *   --seed S                 seed of a new run (default 1)
 *   --resume                 continue from the checkpoint at --ckpt if it exists
 *   --ckpt PATH              checkpoint file (default data/checkpoints/<model>/...)
 *   --log PATH               JSON-lines log (default data/checkpoints/<model>/train.jsonl)
 *   --ckpt-every-min M       checkpoint interval in minutes (default 10)
 *   --val-every N            validate every N steps (default 500; 0 = never)
 *   --val-count N            validation patches (default 64)
 *   --lr X                   base learning rate (teacher 2e-4, student 1e-3)
 *   --decay-steps N          cosine decay length after warm-up (teacher 0 = constant, student 4700: the shipped run is 5000 steps)
 *   --pool N                 pair-pool size (default 768)
 *   --refresh-every K        refresh one pool slot every K steps (default 2)
 *   --preset mild|bicubic|realistic   degradation (default mild)
 *   --backend wasm|cpu       preferred backend (falls back to the next that starts)
 * SIGINT / SIGTERM: the current step finishes, a checkpoint is written, then the process exits.
 */
import {chooseBackend, describeBackend} from "../src/lib/backend.js";
import {DEFAULT_TEACHER_TRAIN, trainTeacher, type TeacherTrainOptions} from "../src/lib/train/teacher-trainer.js";
import {TEACHER_CONFIGS} from "../src/lib/models/teacher.js";
import {PRESETS, type Preset} from "../src/lib/degrade.js";
import {STUDENT_CONFIGS} from "../src/lib/models/student.js";
import {DEFAULT_STUDENT_TRAIN, trainStudent, type StudentTrainOptions} from "../src/lib/train/student-trainer.js";

function parseArgs(argv: string[]): {cmd: string; flags: Map<string, string | true>} {
  const [cmd, ...rest] = argv;
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument "${a}"`);
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < rest.length && !rest[i + 1].startsWith("--")) flags.set(a.slice(2), rest[++i]);
    else flags.set(a.slice(2), true);
  }
  return {cmd: cmd ?? "", flags};
}

function num(flags: Map<string, string | true>, key: string): number | undefined {
  const v = flags.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new Error(`--${key} needs a number`);
  return n;
}

async function main(): Promise<void> {
  const {cmd, flags} = parseArgs(process.argv.slice(2));
  if (cmd !== "teacher" && cmd !== "student") {
    console.error(`usage: npm run train -- teacher|student [--steps N] [--minutes M] [--resume] ... (see scripts/train.ts)\nunknown model "${cmd}"`);
    process.exit(2);
  }
  const known = new Set(["config", "steps", "minutes", "batch", "seed", "resume", "ckpt", "log", "ckpt-every-min", "val-every", "val-count", "lr", "decay-steps", "pool", "refresh-every", "preset", "backend"]);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}`);
  const configs: Record<string, unknown> = cmd === "teacher" ? TEACHER_CONFIGS : STUDENT_CONFIGS;
  const d = cmd === "teacher" ? DEFAULT_TEACHER_TRAIN : DEFAULT_STUDENT_TRAIN;
  const config = (flags.get("config") as string | undefined) ?? d.config;
  if (!(config in configs)) throw new Error(`--config must be one of ${Object.keys(configs).join(", ")}`);
  const preset = (flags.get("preset") as string | undefined) ?? d.pool.preset;
  if (!(PRESETS as readonly string[]).includes(preset)) throw new Error(`--preset must be one of ${PRESETS.join(", ")}`);
  const common = {
    steps: num(flags, "steps"),
    minutes: num(flags, "minutes"),
    batch: num(flags, "batch") ?? d.batch,
    seed: num(flags, "seed") ?? d.seed,
    resume: flags.get("resume") === true || flags.get("resume") === "true",
    ckptPath: (flags.get("ckpt") as string | undefined) ?? d.ckptPath,
    logPath: (flags.get("log") as string | undefined) ?? d.logPath,
    ckptEveryMin: num(flags, "ckpt-every-min") ?? d.ckptEveryMin,
    valEvery: num(flags, "val-every") ?? d.valEvery,
    valCount: num(flags, "val-count") ?? d.valCount,
    lr: {...d.lr, base: num(flags, "lr") ?? d.lr.base, decaySteps: num(flags, "decay-steps") ?? d.lr.decaySteps},
    pool: {...d.pool, poolSize: num(flags, "pool") ?? d.pool.poolSize, refreshEvery: num(flags, "refresh-every") ?? d.pool.refreshEvery, preset: preset as Preset},
    backend: (flags.get("backend") as string | undefined) ?? d.backend,
  };
  // The backend must be ready before any tf.variable exists (NOTES 7).
  const report = await chooseBackend({override: common.backend});
  console.error(`backend: ${describeBackend(report)}`);
  if (cmd === "teacher") await trainTeacher({...DEFAULT_TEACHER_TRAIN, ...common, config: config as TeacherTrainOptions["config"]}, report.chosen);
  else await trainStudent({...DEFAULT_STUDENT_TRAIN, ...common, config: config as StudentTrainOptions["config"]}, report.chosen);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
