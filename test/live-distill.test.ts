// The live distillation engine (src/lib/live-distill.ts) driven from Node, as the page's worker drives it: the
// shipped student and teacher, training patches from two committed test photographs (the fast "bicubic"
// degradation), tiny sizes (32x32 HR patches, a 32x32 validation crop). Checks that training lowers the band-group
// loss on a fixed batch, that the number of live tensors stays flat over 200 steps, that exported weights imported
// into a fresh engine give identical outputs, and the pause / single step / reset semantics.
import * as tf from "@tensorflow/tfjs";
import {readFileSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {cropPatch} from "../src/lib/patches.js";
import {decodeImage, toRgb} from "../src/lib/image-io.js";
import {
  LIVE_DEFAULTS,
  LiveDistillEngine,
  liveDistillConfig,
  photoFromBytes,
  validateLiveSettings,
  type LiveSettings
} from "../src/lib/live-distill.js";
import {loadShippedStudent, readShippedMeta} from "../src/lib/models/shipped.js";
import {parseSchedule} from "../src/lib/schedule.js";
import type {Photo} from "../src/lib/train/pairs.js";
import {useBackend} from "./helpers/backends";

const STUDENT = readFileSync("data/models/student-tiny.ckpt");
const TEACHER = readFileSync("data/models/teacher-base.ckpt");

const TINY: LiveSettings = {
  ...LIVE_DEFAULTS,
  weights: {...LIVE_DEFAULTS.weights},
  schedule: parseSchedule("const_1"),
  steps: 400,
  batch: 2,
  hrSize: 32,
  patches: 4,
  targetSeeds: 1,
  lr: 1e-3,
  seed: 3,
  degradation: "bicubic",
  evalEvery: 10
};

let photos: Photo[];
// Between steps, as the worker does: lets vitest's own messages through during a long synchronous wasm run.
const macrotask = () => new Promise<void>((r) => setTimeout(r, 0));
let valGt: ReturnType<typeof cropPatch>;

async function engineWith(settings: LiveSettings = TINY): Promise<LiveDistillEngine> {
  const e = new LiveDistillEngine();
  e.loadModels(STUDENT, TEACHER);
  e.setPhotos(photos);
  e.settings = {...settings, weights: {...settings.weights}};
  await e.setValidation(valGt);
  await e.prepare(settings);
  return e;
}

beforeAll(async () => {
  await useBackend("wasm");
  photos = [photoFromBytes("brick.png", readFileSync("data/test/brick.png")), photoFromBytes("grass.png", readFileSync("data/test/grass.png"))];
  const r = decodeImage(readFileSync("data/test/coffee.png"), "coffee.png");
  valGt = cropPatch({width: r.width, height: r.height, channels: 3, data: toRgb(r)}, 200, 100, 32);
}, 60_000);

describe("live distillation engine", () => {
  let engine: LiveDistillEngine;
  beforeAll(async () => {
    engine = await engineWith();
  }, 120_000);
  afterAll(() => engine?.dispose());

  it("validates its settings", () => {
    expect(() => validateLiveSettings({...TINY, hrSize: 48})).toThrow(/multiple of 32/);
    expect(() => validateLiveSettings({...TINY, weights: {low: 1, mid: 1}})).toThrow(/no weight for group "high"/);
    expect(() => validateLiveSettings({...TINY, batch: 0})).toThrow(/batch/);
    const c = liveDistillConfig(TINY);
    expect(c.emaDecay).toBe(0);
    expect(c.loss.weights).toEqual({low: 0.5, mid: 2, high: 1});
  });

  it("20+ steps lower the band-group loss on a fixed batch", async () => {
    // One training patch, so every batch is that patch under a dihedral transform, and a strong constant lambda:
    // the band-group term dominates. (On many patches a converged student's band loss against stochastic teacher
    // samples moves by a few per cent in tens of steps, too little to test.)
    const e = await engineWith({...TINY, patches: 1, schedule: parseSchedule("const_4")});
    try {
      const before = await e.probeBand();
      for (let i = 0; i < 25; i++) await e.step();
      const after = await e.probeBand();
      expect(e.stepIndex).toBe(25);
      expect(after).toBeLessThan(before * 0.97);
    } finally {
      e.dispose();
    }
  }, 120_000);

  it("keeps the number of live tensors flat over 200 steps (with validation every 10)", async () => {
    await engine.reset();
    await engine.step();
    await engine.evaluate();
    const base = tf.memory().numTensors;
    const counts: number[] = [];
    let n = 0;
    await engine.start(async () => {
      n++;
      if (n % 10 === 0) {
        await engine.evaluate();
        counts.push(tf.memory().numTensors);
      }
      if (n === 200) void engine.pause();
    }, macrotask);
    expect(n).toBe(200);
    expect(counts).toHaveLength(20);
    for (const c of counts) expect(c).toBe(base);
  }, 480_000);

  it("pause stops after the step in progress; step takes exactly one; reset restores the start", async () => {
    await engine.reset();
    const start = await engine.studentOutput();
    expect(engine.state).toBe("idle");
    let seen = 0;
    const running = engine.start(() => {
      seen++;
      if (seen === 3) void engine.pause();
    });
    expect(engine.state).toBe("running");
    await expect(engine.step()).rejects.toThrow(/pause it first/);
    await running;
    expect(engine.state).toBe("paused");
    expect(engine.stepIndex).toBe(3);
    // Nothing moves while paused.
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.stepIndex).toBe(3);
    const r = await engine.step();
    expect(r.step).toBe(3);
    expect(engine.stepIndex).toBe(4);
    expect(engine.state).toBe("paused");
    const moved = await engine.studentOutput();
    expect(moved).not.toEqual(start);
    // A paused run resumes where it stopped.
    let resumedAt = -1;
    await engine.start((x) => {
      resumedAt = x.step;
      void engine.pause();
    });
    expect(resumedAt).toBe(4);
    await engine.reset();
    expect(engine.stepIndex).toBe(0);
    expect(engine.state).toBe("idle");
    expect(await engine.studentOutput()).toEqual(start);
    // Reset while running stops the loop first.
    const again = engine.start(() => undefined);
    await engine.reset();
    await again;
    expect(engine.stepIndex).toBe(0);
    expect(await engine.studentOutput()).toEqual(start);
  }, 120_000);

  it("runs to the end of its budget and then refuses more steps", async () => {
    const e = await engineWith({...TINY, steps: 3});
    try {
      await e.start(() => undefined);
      expect(e.state).toBe("done");
      expect(e.stepIndex).toBe(3);
      await expect(e.step()).rejects.toThrow(/all 3 steps are done/);
    } finally {
      e.dispose();
    }
  }, 120_000);

  it("applies group weights and the schedule live, at the next step", async () => {
    await engine.reset();
    engine.setLive({low: 0, mid: 0, high: 0.5}, parseSchedule("const_0"));
    const r = await engine.step();
    expect(r.lambda).toBe(0);
    expect(r.total).toBeCloseTo(r.recon, 6);
    expect(r.bandWeighted).toBeCloseTo(0.5 * r.band.high, 6);
    expect(() => engine.setLive({low: 0, mid: 0, high: 0}, parseSchedule("const_1"))).toThrow(/every weight is 0/);
    engine.setLive({low: 1, mid: 1, high: 1}, parseSchedule("const_2"));
    const r2 = await engine.step();
    expect(r2.lambda).toBe(2);
    expect(r2.bandWeighted).toBeCloseTo(r2.band.low + r2.band.mid + r2.band.high, 5);
    expect(() => engine.setLive({low: 1, mid: 1}, parseSchedule("const_1"))).toThrow(/high/);
    engine.setLive(TINY.weights, TINY.schedule);
  }, 120_000);

  it("exports weights in the shipped format; a fresh engine that imports them gives identical outputs", async () => {
    await engine.reset();
    for (let i = 0; i < 5; i++) await engine.step();
    const trained = await engine.evaluate();
    const bytes = await engine.exportWeights({backend: "wasm", exportedAt: "2026-01-01T00:00:00.000Z"});
    const meta = readShippedMeta(bytes) as ReturnType<typeof readShippedMeta> & {liveDistill: {steps: number; settings: {schedule: string}}};
    const shipped = readShippedMeta(STUDENT);
    expect(meta.kind).toBe("student");
    expect(meta.step).toBe(shipped.step + 5);
    expect(meta.card.id).toBe(`${shipped.card.id}-live`);
    expect(meta.liveDistill.steps).toBe(5);
    expect(meta.liveDistill.settings.schedule).toBe("const_1");
    // The shipped loader reads it.
    loadShippedStudent(bytes).student.dispose();

    const fresh = await engineWith();
    try {
      const before = await fresh.evaluate();
      expect(before.fingerprint).not.toBe(trained.fingerprint);
      const imported = await fresh.importWeights(bytes, "export.ckpt");
      expect(imported.step).toBe(shipped.step + 5);
      expect(fresh.startSource).toBe("export.ckpt");
      const after = await fresh.evaluate();
      expect(after.fingerprint).toBe(trained.fingerprint);
      expect(after.image.data).toEqual(trained.image.data);
      // Reset goes back to the imported weights, not the shipped ones.
      await fresh.step();
      await fresh.reset();
      expect((await fresh.evaluate()).image.data).toEqual(trained.image.data);
      await expect(fresh.importWeights(new Uint8Array([1, 2, 3]), "junk.bin")).rejects.toThrow(/too short|not a DTKD/);
      await expect(fresh.importWeights(TEACHER, "teacher-base.ckpt")).rejects.toThrow(/a teacher checkpoint, not a student/);
      // A refused file leaves the imported start in place.
      expect(fresh.startSource).toBe("export.ckpt");
    } finally {
      fresh.dispose();
    }
  }, 180_000);

  it("keeps the teacher targets of the session in memory", async () => {
    const r = await engine.prepare(TINY);
    expect(r.cached).toBe(true);
    const other = await engine.prepare({...TINY, seed: 4});
    expect(other.cached).toBe(false);
    expect((await engine.prepare({...TINY, weights: {low: 1, mid: 1, high: 1}})).cached).toBe(true);
  }, 120_000);
});
