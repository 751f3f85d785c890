// DTKD distillation: the Distiller (loss goes down, no tensor leaks, the non-finite guard), the teacher-target
// file format, the Node runner's JSON-lines log (lambda per step follows the schedule) and artefact, and the
// ablation grid's --resume. Small models (a 1-block student, TEACHER_CONFIGS.tiny from a seed), 32x32 HR patches
// from the committed test photographs with the fast "bicubic" degradation.
import * as tf from "@tensorflow/tfjs";
import {spawn} from "node:child_process";
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join, resolve} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {encodeCheckpoint, variablesToTensors} from "../src/lib/checkpoint.js";
import {DEFAULT_DISTILL, Distiller, type DistillConfig} from "../src/lib/distill.js";
import {decodeTargets, dihedralInto, encodeTargets, meanTargets, targetSample, type TargetSet} from "../src/lib/distill-targets.js";
import {bandGroupLoss, lossPreset} from "../src/lib/loss.js";
import {loadShippedStudent} from "../src/lib/models/shipped.js";
import {createStudent, paramMap, STUDENT_CONFIGS, type StudentConfig} from "../src/lib/models/student.js";
import {Teacher, TEACHER_CONFIGS} from "../src/lib/models/teacher.js";
import {createRng} from "../src/lib/rng.js";
import {lambdaAt, parseSchedule} from "../src/lib/schedule.js";
import {buildPatchSet, DEFAULT_DISTILL_DATA, ensureTargets, runDistillation, type DistillDataOptions} from "../src/lib/train/distill-node.js";
import {useBackend} from "./helpers/backends";

const SMALL: StudentConfig = {...STUDENT_CONFIGS.tiny, embedDim: 16, depths: [1], heads: 2, window: 4};

let dir: string;
let studentPath: string;
let teacherPath: string;
let data: DistillDataOptions;
let targets: TargetSet;

async function writeStudent(path: string, cfg: StudentConfig, seed: number): Promise<void> {
  const s = createStudent(cfg, seed);
  writeFileSync(path, encodeCheckpoint({kind: "student", config: cfg, step: 0}, await variablesToTensors(paramMap(s), "ema")));
  s.dispose();
}

async function writeTeacher(path: string): Promise<void> {
  const t = new Teacher(TEACHER_CONFIGS.tiny, createRng(3).fork("init"));
  writeFileSync(path, encodeCheckpoint({kind: "teacher", config: TEACHER_CONFIGS.tiny, step: 0}, await variablesToTensors(t.params.vars, "ema")));
  t.dispose();
}

function config(over: Partial<DistillConfig> = {}): DistillConfig {
  return {
    ...DEFAULT_DISTILL,
    loss: lossPreset("dtkd"),
    schedule: parseSchedule("const_1"),
    totalSteps: 20,
    lr: 2e-3,
    warmupSteps: 0,
    batch: 4,
    targetSeeds: 2,
    guard: {...DEFAULT_DISTILL.guard},
    ...over,
  };
}

async function weightsOf(vars: Map<string, tf.Variable>): Promise<Float32Array[]> {
  return Promise.all([...vars.values()].map(async (v) => (await v.data()) as Float32Array));
}

beforeAll(async () => {
  await useBackend("wasm");
  dir = mkdtempSync(join(tmpdir(), "distill-test-"));
  studentPath = join(dir, "student.ckpt");
  teacherPath = join(dir, "teacher.ckpt");
  await writeStudent(studentPath, SMALL, 5);
  await writeTeacher(teacherPath);
  // Two small photographs to train on, a third to validate on: decoding all 14 would dominate the test time.
  for (const [sub, files] of [["train", ["chelsea.png", "coffee.png"]], ["val", ["astronaut.png"]]] as const) {
    mkdirSync(join(dir, sub));
    for (const f of files) symlinkSync(resolve("data/test", f), join(dir, sub, f));
  }
  data = {
    ...DEFAULT_DISTILL_DATA,
    patches: 12,
    hrSize: 32,
    preset: "bicubic",
    targetSeeds: 2,
    teacherBatch: 6,
    trainPhotos: join(dir, "train"),
    valPhotos: join(dir, "val"),
    valCount: 4,
    cacheDir: join(dir, "cache"),
  };
  targets = (await ensureTargets(data, teacherPath, () => {})).set;
});

afterAll(() => {
  if (dir) rmSync(dir, {recursive: true, force: true});
});

describe("teacher targets", () => {
  it("are cached by content key, round-trip through the file format, and differ between seeds", async () => {
    const again = await ensureTargets(data, teacherPath, () => {});
    expect(again.built).toBe(false);
    expect(again.set.meta.key).toBe(targets.meta.key);
    expect(Array.from(again.set.samples.subarray(0, 500))).toEqual(Array.from(targets.samples.subarray(0, 500)));
    const rt = decodeTargets(encodeTargets(targets));
    expect([rt.n, rt.hrSize, rt.scale, rt.seeds]).toEqual([12, 32, 4, 2]);
    expect(rt.lr).toEqual(targets.lr);
    expect(rt.hr).toEqual(targets.hr);
    expect(rt.samples).toEqual(targets.samples);
    expect(() => decodeTargets(encodeTargets(targets).subarray(0, 1000))).toThrow(/bytes/);
    // A different patch count is a different key (and file).
    const other = await ensureTargets({...data, patches: 6}, teacherPath, () => {});
    expect(other.built).toBe(true);
    expect(other.info.key).not.toBe(targets.meta.key);
    // The stochastic sampler gives different samples per seed; the mean lies between them.
    const a = targetSample(targets, 0, 0);
    const b = targetSample(targets, 0, 1);
    const m = meanTargets(targets).subarray(0, a.length);
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
      diff += Math.abs(a[i] - b[i]);
      expect(Math.abs(m[i] - (a[i] + b[i]) / 2)).toBeLessThan(2e-5);
    }
    expect(diff / a.length).toBeGreaterThan(1e-4);
  });

  it("the patch set is a pure function of its seed", async () => {
    const p1 = await buildPatchSet({...data, patches: 3}, 4);
    expect(p1.hr).toEqual(targets.hr.subarray(0, 3 * 32 * 32 * 3));
    const p2 = await buildPatchSet({...data, patches: 3, pairSeed: 99}, 4);
    expect(p2.hr).not.toEqual(p1.hr);
  });
});

describe("Distiller", () => {
  it("a short distillation lowers the band-group loss against the teacher, without leaking tensors", async () => {
    const student = createStudent(SMALL, 11);
    const cfg = config({totalSteps: 30});
    const d = new Distiller(student, targets, cfg);
    // Fixed evaluation batch: every patch, the per-patch mean target, no augmentation.
    const lrT = tf.tensor4d(targets.lr, [targets.n, 8, 8, 3]);
    const tgT = tf.tensor4d(meanTargets(targets), [targets.n, 32, 32, 3]);
    const bandLoss = async () => {
      const v = tf.tidy(() => bandGroupLoss(student.apply(lrT), tgT, cfg.loss).total);
      const x = (await v.data())[0];
      v.dispose();
      return x;
    };
    const before = await bandLoss();
    const counts: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await d.step();
      expect(r.applied).toBe(true);
      expect(r.lambda).toBe(1);
      expect(r.total).toBeCloseTo(r.recon + r.bandWeighted, 5);
      expect(Object.keys(r.band)).toEqual(["low", "mid", "high"]);
      if (i >= 2) counts.push(tf.memory().numTensors);
    }
    const after = await bandLoss();
    expect(after).toBeLessThan(0.7 * before);
    // Flat: snapshots (every 25 steps) replace each other, batches and gradients are freed.
    expect(new Set(counts).size).toBe(1);
    expect(d.done).toBe(true);
    await expect(d.step()).rejects.toThrow(/steps are done/);
    tf.dispose([lrT, tgT]);
    d.dispose();
    student.dispose();
  });

  it("is reproducible from its seed and draws batches as the seed says", async () => {
    const run = async (seed: number) => {
      const s = createStudent(SMALL, 11);
      const d = new Distiller(s, targets, config({totalSteps: 3, seed}));
      for (let i = 0; i < 3; i++) await d.step();
      const w = await weightsOf(d.vars);
      d.dispose();
      s.dispose();
      return w;
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("batches: dihedral-aligned LR, HR and target; sample mode draws one of K samples, mean mode their mean", async () => {
    const s = createStudent(SMALL, 1);
    const len = 32 * 32 * 3;
    for (const mode of ["sample", "mean"] as const) {
      const d = new Distiller(s, targets, config({targetMode: mode, seed: 9}));
      const b = d.batchAt(5);
      const [lr, hr, tg] = (await Promise.all([b.lr.data(), b.hr.data(), b.target.data()])) as Float32Array[];
      // The documented draw order of step 5: per entry patch i, transform k, then (sample mode) seed j.
      const rng = createRng(9).fork("step-5");
      const means = meanTargets(targets);
      for (let e = 0; e < 4; e++) {
        const i = rng.int(0, targets.n - 1);
        const k = rng.int(0, 7);
        const expLr = new Float32Array(8 * 8 * 3);
        const expHr = new Float32Array(len);
        const expTg = new Float32Array(len);
        dihedralInto(targets.lr, i * 8 * 8 * 3, 8, 3, k, expLr, 0);
        dihedralInto(targets.hr, i * len, 32, 3, k, expHr, 0);
        if (mode === "mean") dihedralInto(means, i * len, 32, 3, k, expTg, 0);
        else dihedralInto(targetSample(targets, i, rng.int(0, 1)), 0, 32, 3, k, expTg, 0);
        expect(lr.subarray(e * 192, (e + 1) * 192)).toEqual(expLr);
        expect(hr.subarray(e * len, (e + 1) * len)).toEqual(expHr);
        const got = tg.subarray(e * len, (e + 1) * len);
        for (let x = 0; x < len; x += 97) expect(Math.abs(got[x] - expTg[x])).toBeLessThan(1e-6);
      }
      tf.dispose([b.lr, b.hr, b.target]);
      d.dispose();
    }
    expect(() => new Distiller(s, targets, config({targetSeeds: 3}))).toThrow(/targetSeeds 3/);
    s.dispose();
  });

  it("refuses starting weights that hold NaN at the first step, before any update", async () => {
    const s = createStudent(SMALL, 4);
    const first = paramMap(s).values().next().value as tf.Variable;
    first.assign(tf.fill(first.shape, NaN));
    const d = new Distiller(s, targets, config({totalSteps: 5}));
    await expect(d.step()).rejects.toThrow(/starting weights hold NaN or Inf/);
    expect(d.stepIndex).toBe(0);
    expect(d.adam.t).toBe(0);
    d.dispose();
    s.dispose();
  });

  it("the guard restores the last good weights on NaN, lowers the lr and training finishes finite", async () => {
    const s = createStudent(SMALL, 4);
    const d = new Distiller(s, targets, config({totalSteps: 10, guard: {snapshotEvery: 3, lrFactor: 0.5, maxEvents: 4}}));
    d.injectFault(4, "loss");
    d.injectFault(7, "weight");
    let atSnapshot: Float32Array[] = [];
    const results = [];
    for (let i = 0; i < 10; i++) {
      const r = await d.step();
      results.push(r);
      if (d.stepIndex === 3 || d.stepIndex === 6) {
        expect(d.snapshotStep).toBe(d.stepIndex);
        atSnapshot = await weightsOf(d.vars);
      }
      if (i === 4) {
        expect(r.applied).toBe(false);
        expect(r.guard).toMatchObject({step: 4, restoredFrom: 3, lrFactor: 0.5});
        expect(r.guard!.nonFinite).toEqual(expect.arrayContaining(["loss", "gradNorm"]));
        expect(await weightsOf(d.vars)).toEqual(atSnapshot);
        expect(d.adam.t).toBe(3);
      }
      if (i === 7) {
        expect(r.guard).toMatchObject({step: 7, restoredFrom: 6, lrFactor: 0.25});
        expect(await weightsOf(d.vars)).toEqual(atSnapshot);
      }
    }
    expect(results[5].lr).toBeCloseTo(d.scheduledLr(5) * 0.5, 12);
    expect(results[5].applied).toBe(true);
    expect(results[9].lr).toBeCloseTo(d.scheduledLr(9) * 0.25, 12);
    expect(d.guardEvents).toHaveLength(2);
    for (const w of await weightsOf(d.vars)) expect(w.every(Number.isFinite)).toBe(true);
    d.dispose();
    s.dispose();
  });

  it("gives up after guard.maxEvents", async () => {
    const s = createStudent(SMALL, 4);
    const d = new Distiller(s, targets, config({totalSteps: 5, guard: {snapshotEvery: 2, lrFactor: 0.5, maxEvents: 1}}));
    d.injectFault(1, "loss");
    d.injectFault(2, "loss");
    await d.step();
    await d.step();
    await expect(d.step()).rejects.toThrow(/giving up/);
    d.dispose();
    s.dispose();
  });
});

describe("Node runner", () => {
  it("logs lambda(t) per step as the schedule says, records a guard event, writes a loadable artefact", async () => {
    const logPath = join(dir, "run.jsonl");
    const outPath = join(dir, "distilled.ckpt");
    const schedule = parseSchedule("cosine_0.2_1_0.6");
    const N = 7;
    const res = await runDistillation({
      studentPath,
      teacherPath,
      config: config({totalSteps: N, schedule, guard: {snapshotEvery: 2, lrFactor: 0.5, maxEvents: 3}}),
      data,
      logPath,
      outPath,
      evalBefore: true,
      label: "test",
      backend: "wasm",
      faults: [{step: 3, kind: "weight"}],
    });
    const lines = readFileSync(logPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const steps = lines.filter((l) => l.kind === "step");
    expect(steps.map((l) => l.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const l of steps) expect(l.lambda).toBe(lambdaAt(schedule, l.step / N));
    expect(steps[0].lambda).toBeCloseTo(0.2, 12);
    expect(steps[6].lambda).toBe(1);
    const guards = lines.filter((l) => l.kind === "guard");
    expect(guards).toHaveLength(1);
    expect(guards[0]).toMatchObject({step: 3, restoredFrom: 2, lrFactor: 0.5});
    expect(lines[0]).toMatchObject({kind: "start", config: {schedule: "cosine_0.2_1_0.6"}});
    expect(lines.filter((l) => l.kind === "eval").map((l) => l.when)).toEqual(["before", "after"]);
    expect(res.after.psnrY).toBeGreaterThan(10);
    expect(res.after.ssimY).toBeGreaterThan(0);
    expect(Object.keys(res.after.bandL1)).toEqual(["LL2", "LH2", "HL2", "HH2", "LH1", "HL1", "HH1"]);
    expect(Number.isFinite(res.after.fwd) && res.after.fwd > 0).toBe(true);
    expect(res.protocol.psnrY).toMatch(/border crop 4 px/);
    expect(res.guardEvents).toHaveLength(1);
    // The artefact: shipped format, EMA weights, finite, with the distillation record.
    const {student, meta} = loadShippedStudent(new Uint8Array(readFileSync(outPath)));
    expect(meta.step).toBe(N);
    expect((meta as unknown as {distill: {steps: number; config: {schedule: string}}}).distill).toMatchObject({steps: N, config: {schedule: "cosine_0.2_1_0.6"}});
    for (const v of Object.values(student.params)) expect(((await v.data()) as Float32Array).every(Number.isFinite)).toBe(true);
    student.dispose();
  });
});

/** Runs a command without blocking the event loop (vitest's worker must keep answering its RPC). */
function run(args: string[]): Promise<{status: number | null; stderr: string}> {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, {stdio: ["ignore", "ignore", "pipe"]});
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("close", (status) => done({status, stderr}));
  });
}

describe("ablate", () => {
  it("--resume skips finished runs", async () => {
    const out = join(dir, "ablations.json");
    const work = join(dir, "work");
    const args = [
      "--import", "tsx", "scripts/ablate.ts",
      "--cells", "recon-only,dtkd-default",
      "--seeds", "1",
      "--workers", "2",
      "--steps", "2",
      "--out", out,
      "--work-dir", work,
      "--student", studentPath,
      "--teacher", teacherPath,
      "--train-photos", data.trainPhotos!,
      "--val-photos", data.valPhotos!,
      "--patches", "12",
      "--hr-size", "32",
      "--degradation", "bicubic",
      "--target-seeds", "2",
      "--teacher-batch", "6",
      "--batch", "2",
      "--val-count", "4",
      "--cache-dir", data.cacheDir,
      "--backend", "wasm",
    ];
    const first = await run(args);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/0 finished, 2 to run/);
    const r1 = JSON.parse(readFileSync(out, "utf8"));
    expect(r1.runs.map((r: {id: string}) => r.id).sort()).toEqual(["dtkd-default#1", "recon-only#1"]);
    expect(r1.cells["dtkd-default"].n).toBe(1);
    expect(r1.settings.steps).toBe(2);
    const logs = readdirSync(join(work, "logs")).map((f) => [f, statSync(join(work, "logs", f)).mtimeMs] as const);
    expect(logs.length).toBeGreaterThanOrEqual(4); // a .jsonl and an .out per run
    const second = await run([...args, "--resume"]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/2 finished, 0 to run/);
    const r2 = JSON.parse(readFileSync(out, "utf8"));
    expect(r2.runs).toEqual(r1.runs);
    expect(readdirSync(join(work, "logs")).length).toBe(logs.length);
    for (const [f, m] of logs) expect(statSync(join(work, "logs", f)).mtimeMs).toBe(m);
  }, 150_000);
});
