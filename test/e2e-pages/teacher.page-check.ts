// End-to-end check of the teacher page (src/pages/teacher.md), discovered by test/e2e.test.ts.
//
// What it checks, on a small crop (64 px, LR 16 x 16) and on the wasm backend (both set through the hash: on this
// 2-core machine SwiftShader's WebGPU took about 13 s per denoiser step at 16 x 16, so the page's 27 steps would take
// 6 minutes; the generic "renders cleanly on webgpu" test of e2e.test.ts opens this page on webgpu): the page loads
// cleanly and runs the teacher in its web worker; the trajectory shows T + 1 states; three
// seeds and their spread are drawn, every step's progress is reported as done (onStep), the first seed's sample agrees with the shipped teacher run in Node on wasm (same
// crop, LR and seed); the timing chart has one point per step count; editing kappa redraws the schedule chart
// without re-running the teacher and is kept in the hash; a new seed changes the teacher's output and the hash;
// ticking "sample with edited schedule" re-runs with the edited T and labels the result out of distribution;
// a malformed hash is refused with a message and defaults.
import {readFileSync} from "node:fs";
import {join, resolve} from "node:path";
import * as tf from "@tensorflow/tfjs";
import type {Page} from "playwright-core";
import {expect} from "vitest";
import {chooseBackend} from "../../src/lib/backend.js";
import {prepareGroundTruth, type ManifestImage} from "../../src/lib/dataset.js";
import {degrade, toUint8} from "../../src/lib/degrade.js";
import {loadShippedTeacher, SHIPPED_MODELS} from "../../src/lib/models/shipped.js";
import {cropPatch} from "../../src/lib/patches.js";
import {createRng} from "../../src/lib/rng.js";
import {pageBackend, trackProblems, type PageCheck} from "./support.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const READY_MS = 240_000;
const PHOTO = "skimage-astronaut";
const CROP = {x: 160, y: 48, size: 64};

/** The shipped teacher's sample for the check's crop in Node (wasm), as 8-bit RGB. */
async function nodeSample(seed: number): Promise<Uint8Array> {
  await chooseBackend({override: "wasm"});
  const manifest = JSON.parse(readFileSync(join(ROOT, "data", "manifest.json"), "utf8")) as {images: ManifestImage[]};
  const entry = manifest.images.find((im) => im.split === "test" && im.id === PHOTO);
  if (!entry?.committed || entry.downscale !== 1) throw new Error(`${PHOTO}: need a committed photograph with downscale 1`);
  const hr = cropPatch(prepareGroundTruth(readFileSync(join(ROOT, entry.committed)), entry.committed, 1), CROP.x, CROP.y, CROP.size);
  const lr = degrade(hr, {preset: "mild", seed: 1, scale: 4}).lr;
  const x = tf.tensor4d(lr.data, [1, lr.height, lr.width, 3]);
  const {teacher} = loadShippedTeacher(readFileSync(join(ROOT, "data", "models", SHIPPED_MODELS.teacher.file)));
  try {
    const y = teacher.sample(x, createRng(seed), {mode: "stochastic"}).x0;
    const data = (await y.data()) as Float32Array;
    y.dispose();
    return toUint8({width: CROP.size, height: CROP.size, channels: 3, data});
  } finally {
    x.dispose();
    teacher.dispose();
  }
}

/** Waits until the run shows `view` and has finished; returns its state. */
async function waitForRun(page: Page, view: string): Promise<string> {
  const h = await page.waitForFunction(
    (v) => {
      const r = document.querySelector<HTMLElement>("[data-role=teacher-run]");
      return r?.dataset.view === v && r.dataset.state !== "running" ? r.dataset.state : null;
    },
    view,
    {timeout: READY_MS, polling: 500}
  );
  return (await h.jsonValue()) as string;
}

/** RGB bytes of the canvas of the seeds row's figure for `seed`. */
async function seedPixels(page: Page, seed: number): Promise<number[]> {
  return page.evaluate((s) => {
    const c = document.querySelector<HTMLCanvasElement>(`[data-role=seeds] figure[data-seed="${s}"] canvas`);
    if (!c) return [];
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    const out: number[] = [];
    for (let i = 0; i < d.length; i += 4) out.push(d[i], d[i + 1], d[i + 2]);
    return out;
  }, seed);
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): {mean: number; max: number} {
  expect(a.length).toBe(b.length);
  let s = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    s += d;
    m = Math.max(m, d);
  }
  return {mean: s / a.length, max: m};
}

const view = (seed: number, schedule = "trained") => `${PHOTO}|${CROP.x},${CROP.y},${CROP.size}|mild|1|stochastic|${seed}|${schedule}`;

export const check: PageCheck = {
  title: "Teacher page: trajectory, seeds and spread, schedule chart, timing, onStep progress, hash",
  timeoutMs: 480_000,
  async run(page, origin, shot) {
    const {expectNoProblems} = trackProblems(page, origin);
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as {progressSeen: string[]}).progressSeen = seen;
      new MutationObserver(() => {
        const p = document.querySelector<HTMLElement>("[data-role=progress]");
        const t = p?.dataset.text ?? "";
        if (t && seen[seen.length - 1] !== t) seen.push(t);
      }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
    });
    const node1 = await nodeSample(1);
    const t0 = Date.now();
    await page.goto(`${origin}/pages/teacher#size=64&backend=wasm`, {waitUntil: "load"});
    expect(await pageBackend(page, READY_MS)).toBe("wasm");
    expect(await waitForRun(page, view(1))).toBe("done");
    expect(await page.locator("[data-role=load-facts]").getAttribute("data-where")).toBe("worker");
    expect(await page.locator(".dtkd-error:not(:empty)").allTextContents()).toEqual([]);

    // The trajectory: x_T .. x_0 of the trained schedule (T from the model file, 4).
    const ts = await page.locator("[data-role=trajectory] figure").evaluateAll((fs) => fs.map((f) => (f as HTMLElement).dataset.t));
    expect(ts).toEqual(["4", "3", "2", "1", "0"]);
    // Three seeds and the spread between them.
    expect(await page.locator("[data-role=seeds] figure[data-seed]").evaluateAll((fs) => fs.map((f) => (f as HTMLElement).dataset.seed))).toEqual(["1", "2", "3"]);
    const spreadMean = Number(await page.locator("[data-role=spread-figure]").getAttribute("data-mean"));
    expect(spreadMean).toBeGreaterThan(0);
    expect(spreadMean).toBeLessThan(0.2);
    // Seed 1 is the shipped teacher's sample, as in Node on wasm (allowing float rounding, as the models check does).
    const d = meanAbsDiff(await seedPixels(page, 1), node1);
    expect(d.mean, "mean difference to Node (levels)").toBeLessThan(0.1);
    expect(d.max, "largest difference to Node (levels)").toBeLessThanOrEqual(4);
    // Timing: one point per step count, in an SVG chart.
    expect(await page.locator("[data-role=timing-chart]").getAttribute("data-points")).toBe("4");
    expect(await page.locator("[data-role=timing-chart] svg").count()).toBe(1);
    expect(await page.locator("[data-role=schedule-chart] svg").count()).toBe(1);
    // Per-step progress came from the sampler's onStep hook.
    const progress = await page.evaluate(() => (window as unknown as {progressSeen: string[]}).progressSeen);
    for (const step of [1, 2, 3, 4]) {
      expect(progress.some((t) => new RegExp(`seed 1 \\(1 of 3\\): step ${step} of 4 done on wasm`).test(t)), progress.join(" / ")).toBe(true);
    }
    expect(await page.evaluate(() => location.hash)).toBe("#size=64&backend=wasm");
    await shot("teacher");
    const firstRunS = (Date.now() - t0) / 1000;

    // Editing kappa redraws the chart, keeps sampling with the trained schedule (no new run) and is in the hash.
    const chartView = await page.locator("[data-role=schedule-chart]").getAttribute("data-view");
    await page.locator("input[name=kappa]").fill("0.08");
    await page.locator("input[name=kappa]").dispatchEvent("change");
    await page.waitForFunction((v) => document.querySelector<HTMLElement>("[data-role=schedule-chart]")?.dataset.view !== v, chartView, {timeout: 30_000});
    expect(await page.locator("[data-role=schedule-chart]").getAttribute("data-view")).toBe("4|0.08|0.3|false");
    expect(await page.locator("[data-role=teacher-run]").getAttribute("data-view")).toBe(view(1));
    expect(await page.evaluate(() => location.hash)).toBe("#size=64&kappa=0.08&backend=wasm");

    // A new seed: a new run whose samples differ from seed 1's; the timing is reused (same size and sampler).
    const before = await seedPixels(page, 1);
    await page.locator("input[name=seed]").fill("5");
    await page.locator("input[name=seed]").dispatchEvent("change");
    expect(await waitForRun(page, view(5))).toBe("done");
    expect(meanAbsDiff(await seedPixels(page, 5), before).mean, "seed 5 equals seed 1").toBeGreaterThan(0.3);
    expect(await page.locator("[data-role=timing-chart]").getAttribute("data-reused")).toBe("true");
    expect(await page.evaluate(() => location.hash)).toBe("#size=64&seed=5&kappa=0.08&backend=wasm");
    expect(await page.locator("[data-role=schedule-label]").textContent()).toMatch(/trained schedule/);

    // Sampling with an edited schedule (T 2, kappa 0.08): a new run with three states, labelled out of distribution.
    await page.locator("input[name=T]").fill("2");
    await page.locator("input[name=T]").dispatchEvent("change");
    await page.locator("input[name=edited]").check();
    expect(await waitForRun(page, view(5, "2,0.08,0.3"))).toBe("done");
    expect(await page.locator("[data-role=trajectory] figure").evaluateAll((fs) => fs.map((f) => (f as HTMLElement).dataset.t))).toEqual(["2", "1", "0"]);
    expect(await page.locator("[data-role=schedule-label]").textContent()).toMatch(/EDITED schedule.*outside the teacher's training distribution/);
    expect(await page.evaluate(() => location.hash)).toBe("#size=64&seed=5&T=2&kappa=0.08&edited=1&backend=wasm");
    await shot("teacher-edited-schedule");

    // A malformed hash: refused with a message, defaults loaded (the trained T in the editor).
    await page.goto("about:blank");
    await page.goto(`${origin}/pages/teacher#size=64&T=zero&seed=-3&backend=wasm`, {waitUntil: "load"});
    const msg = page.locator(".dtkd-error[data-kind=hash]");
    await msg.waitFor({timeout: READY_MS});
    const text = (await msg.textContent()) ?? "";
    expect(text).toMatch(/defaults were loaded/);
    expect(text).toMatch(/T/);
    expect(text).toMatch(/seed/);
    expect(await page.locator("input[name=T]").inputValue()).toBe("4");
    expect(await page.locator("input[name=seed]").inputValue()).toBe("1");
    await expectNoProblems();
    console.log(`teacher page check: first run ${firstRunS.toFixed(0)} s, whole check ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
};
