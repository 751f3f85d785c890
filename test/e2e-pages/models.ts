// End-to-end checks of the models page (src/pages/models.md), called from test/e2e.test.ts with a browser page and
// the origin of the static server that serves the built site. The page must already be built.
//
// What it checks: the page loads without console errors or observablehq--error and requests nothing off its own
// origin (the model files come from the site); the models run in the page's web worker on the page's backend
// (webgpu in the e2e browser); every panel (LR, bicubic, student, teacher, ground truth) is drawn and not blank,
// the student and teacher differ from bicubic, each shows its run time and PSNR-Y / SSIM-Y; the LR and bicubic
// bytes equal what degrade() and imresize() give in Node, and the student's and teacher's outputs agree with the
// same shipped models run in Node on wasm (same seed, same sampler); progress was shown while the teacher ran;
// switching the sampler reruns only the teacher and is kept in the URL hash; the model cards show the numbers
// the model files hold.
import {readFileSync} from "node:fs";
import {join, resolve} from "node:path";
import * as tf from "@tensorflow/tfjs";
import type {Page} from "playwright-core";
import {expect} from "vitest";
import {chooseBackend} from "../../src/lib/backend.js";
import {prepareGroundTruth, type ManifestImage} from "../../src/lib/dataset.js";
import {degrade, toUint8, type ImageF32, type Preset} from "../../src/lib/degrade.js";
import {loadShippedStudent, loadShippedTeacher, readShippedMeta, SHIPPED_MODELS} from "../../src/lib/models/shipped.js";
import {cropPatch} from "../../src/lib/patches.js";
import {imresize} from "../../src/lib/resize.js";
import {createRng} from "../../src/lib/rng.js";
import {fingerprint} from "../../src/lib/ui/data-format.js";
import {trackProblems} from "./support.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
// Worker start-up, model loading and SwiftShader's shader compilation take minutes on a loaded machine.
const READY_MS = 600_000;

interface View {
  photo: string;
  x: number;
  y: number;
  size: number;
  preset: Preset;
  dseed: number;
  sampler: "stochastic" | "ddim";
  seed: number;
}

/** The page's data-view tag of a view (see the run block of src/pages/models.md). */
function viewOf(v: View): string {
  return `${v.photo}|${v.x},${v.y},${v.size}|${v.preset}|${v.dseed}|${v.sampler}|${v.seed}`;
}

/** The ground-truth crop of a view from the committed photograph (photos with downscale 1: the page's PNG is exact). */
function groundTruth(v: View): ImageF32 {
  const manifest = JSON.parse(readFileSync(join(ROOT, "data", "manifest.json"), "utf8")) as {images: ManifestImage[]};
  const entry = manifest.images.find((im) => im.split === "test" && im.id === v.photo);
  if (!entry?.committed) throw new Error(`no committed test photograph ${v.photo}`);
  if (entry.downscale !== 1) throw new Error("groundTruth: the page rounds downscaled photographs to 8 bits; use a photo with downscale 1");
  return cropPatch(prepareGroundTruth(readFileSync(join(ROOT, entry.committed)), entry.committed, 1), v.x, v.y, v.size);
}

interface NodeOutputs {
  lr: ImageF32;
  bicubic: Uint8Array;
  student: Uint8Array;
  teacher: Uint8Array;
}

/** The same pipeline in Node on wasm: degrade, imresize, and the shipped models from data/models/. */
async function nodeOutputs(v: View): Promise<NodeOutputs> {
  await chooseBackend({override: "wasm"});
  const lr = degrade(groundTruth(v), {preset: v.preset, seed: v.dseed, scale: 4}).lr;
  const up = imresize(lr, {scale: 4});
  const x = tf.tensor4d(lr.data, [1, lr.height, lr.width, 3]);
  const {student} = loadShippedStudent(readFileSync(join(ROOT, "data", "models", SHIPPED_MODELS.student.file)));
  const {teacher} = loadShippedTeacher(readFileSync(join(ROOT, "data", "models", SHIPPED_MODELS.teacher.file)));
  try {
    const s = tf.tidy(() => tf.clipByValue(student.apply(x), 0, 1));
    const t = teacher.sample(x, createRng(v.seed), {mode: v.sampler}).x0;
    const image = async (y: tf.Tensor): Promise<Uint8Array> => {
      const data = (await y.data()) as Float32Array;
      y.dispose();
      return toUint8({width: 4 * lr.width, height: 4 * lr.height, channels: 3, data});
    };
    return {lr, bicubic: toUint8(up), student: await image(s), teacher: await image(t)};
  } finally {
    x.dispose();
    student.dispose();
    teacher.dispose();
  }
}

/** Waits until the comparison shows `view` and has finished (or failed). */
async function waitForView(page: Page, view: string, timeout: number): Promise<string> {
  const handle = await page.waitForFunction(
    (v) => {
      const all = document.querySelectorAll<HTMLElement>("[data-role=compare]");
      const c = all.length === 1 ? all[0] : null;
      return c?.dataset.view === v && c.dataset.state !== "running" ? c.dataset.state : null;
    },
    view,
    {timeout, polling: 1000}
  );
  return (await handle.jsonValue()) as string;
}

interface Panel {
  state?: string;
  ms?: string;
  ranOn?: string;
  reused?: string;
  fingerprint?: string;
  psnrY?: string;
  ssimY?: string;
  text: string;
  /** The output canvas's RGB bytes (alpha dropped), and its size. */
  rgb: number[];
  width: number;
  height: number;
}

async function panels(page: Page): Promise<Record<string, Panel>> {
  return page.evaluate(() => {
    const out: Record<string, Panel> = {};
    for (const f of document.querySelectorAll<HTMLElement>("[data-role=compare] figure[data-panel]")) {
      const c = f.querySelector<HTMLCanvasElement>("canvas[data-role=output]");
      const rgb: number[] = [];
      if (c) {
        const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) rgb.push(d[i], d[i + 1], d[i + 2]);
      }
      const {state, ms, ranOn, reused, fingerprint, psnrY, ssimY} = f.dataset;
      out[f.dataset.panel!] = {state, ms, ranOn, reused, fingerprint, psnrY, ssimY, text: f.textContent ?? "", rgb, width: c?.width ?? 0, height: c?.height ?? 0};
    }
    return out;
  });
}

function spread(rgb: ArrayLike<number>): number {
  let lo = 255;
  let hi = 0;
  for (let i = 0; i < rgb.length; i++) [lo, hi] = [Math.min(lo, rgb[i]), Math.max(hi, rgb[i])];
  return hi - lo;
}

/** Mean and largest absolute difference of two byte images, in 8-bit levels. */
function difference(a: ArrayLike<number>, b: ArrayLike<number>): {mean: number; max: number} {
  expect(a.length).toBe(b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return {mean: sum / a.length, max};
}

/**
 * A model's output on webgpu against the same model on wasm in Node, both rounded to 8 bits: float32 rounding
 * differs between the backends, so a sample may land one level apart (rarely more where the network amplifies it),
 * but a wrong weight, layout or noise stream moves whole regions by many levels.
 */
function expectSameImage(page: Uint8Array | number[], node: Uint8Array, what: string): void {
  const d = difference(page, node);
  expect(d.mean, `${what}: mean difference to Node (levels)`).toBeLessThan(0.1);
  expect(d.max, `${what}: largest difference to Node (levels)`).toBeLessThanOrEqual(4);
}

/** Opens `${baseUrl}/pages/models` in `page` and runs every check of the models page. */
export async function checkModelsPage(page: Page, baseUrl: string): Promise<void> {
  const {problems} = trackProblems(page, baseUrl);
  const modelRequests: string[] = [];
  page.on("request", (r) => {
    if (/\.ckpt$/.test(new URL(r.url()).pathname)) modelRequests.push(r.url());
  });
  // Every progress line the page shows, kept for the checks below (the line is cleared when a model finishes).
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as {progressSeen: string[]}).progressSeen = seen;
    new MutationObserver(() => {
      for (const p of document.querySelectorAll("[data-role=progress]")) {
        const t = p.textContent ?? "";
        if (t && seen[seen.length - 1] !== t) seen.push(t);
      }
    }).observe(document, {subtree: true, childList: true, characterData: true});
  });
  const base = baseUrl.replace(/\/$/, "");

  // ---- the smallest crop (96 px, LR 24 x 24) keeps SwiftShader's run short; everything else is the default view
  const start: View = {photo: "skimage-astronaut", x: 160, y: 48, size: 96, preset: "mild", dseed: 1, sampler: "stochastic", seed: 1};
  // Node's outputs first: the wasm backend holds Node's event loop while it computes.
  const node = await nodeOutputs(start);
  const nodeDdim = await nodeOutputs({...start, sampler: "ddim"});
  await page.goto(`${base}/pages/models#size=96`, {waitUntil: "load"});
  const badge = page.locator(".dtkd-backend[data-backend]");
  await badge.waitFor({timeout: READY_MS});
  expect(await badge.getAttribute("data-backend")).toBe("webgpu");
  expect(await waitForView(page, viewOf(start), READY_MS)).toBe("done");
  expect(await page.locator(".observablehq--error").count(), "observablehq--error in the live DOM").toBe(0);
  expect(await page.locator(".dtkd-error:not(:empty)").allTextContents()).toEqual([]);
  expect(await page.locator("[data-role=load-facts]").getAttribute("data-where")).toBe("worker");
  // Both model files came from the site itself.
  expect(modelRequests.map((u) => new URL(u).pathname.split("/").pop()!.replace(/\.[0-9a-f]{8}\.ckpt$/, ".ckpt")).sort()).toEqual(
    [SHIPPED_MODELS.student.file, SHIPPED_MODELS.teacher.file].sort()
  );
  expect(await page.locator("[data-role=crop-facts]").textContent()).toMatch(/Crop 96 × 96 px at \(160, 48\)/);

  const first = await panels(page);
  expect(Object.keys(first).sort()).toEqual(["bicubic", "gt", "lr", "student", "teacher"]);
  for (const [name, p] of Object.entries(first)) {
    expect(p.state, `${name} panel`).toBe("done");
    expect(spread(p.rgb), `${name} canvas is blank`).toBeGreaterThan(20);
    expect([p.width, p.height], `${name} canvas size`).toEqual(name === "lr" ? [24, 24] : [96, 96]);
  }
  for (const name of ["student", "teacher"]) {
    const p = first[name];
    expect(p.ranOn, `${name} backend`).toBe("webgpu");
    expect(Number(p.ms), `${name} time`).toBeGreaterThan(0);
    expect(p.text).toMatch(/\d+(\.\d+)? (ms|s) on webgpu/);
    expect(difference(p.rgb, first.bicubic.rgb).mean, `${name} equals bicubic`).toBeGreaterThan(0.5);
  }
  for (const name of ["bicubic", "student", "teacher"]) {
    const p = first[name];
    expect(Number(p.psnrY), `${name} PSNR-Y`).toBeGreaterThan(10);
    expect(Number(p.psnrY), `${name} PSNR-Y`).toBeLessThan(60);
    expect(Number(p.ssimY), `${name} SSIM-Y`).toBeGreaterThan(0);
    expect(Number(p.ssimY), `${name} SSIM-Y`).toBeLessThanOrEqual(1);
    expect(p.text).toMatch(/PSNR-Y \d+\.\d\d dB · SSIM-Y \d\.\d{4}/);
  }
  expect(first.bicubic.text).toMatch(/\d+(\.\d+)? (ms|s) in JavaScript/);
  expect(await page.locator("[data-role=protocol]").textContent()).toMatch(/PSNR-Y: PSNR \(dB\) on Y of BT\.601.*border crop 4 px/);

  // The same numbers as Node: LR and bicubic bit for bit, the models within float rounding.
  expect(first.lr.fingerprint).toBe(fingerprint(toUint8(node.lr)));
  expect(first.bicubic.fingerprint).toBe(fingerprint(node.bicubic));
  expectSameImage(first.student.rgb, node.student, "student");
  expectSameImage(first.teacher.rgb, node.teacher, "teacher (stochastic, seed 1)");
  // Progress was shown while the models ran.
  const progress = await page.evaluate(() => (window as unknown as {progressSeen: string[]}).progressSeen);
  expect(progress.some((t) => /^student: running on webgpu/.test(t)), progress.join(" / ")).toBe(true);
  expect(progress.some((t) => /^teacher: .*webgpu/.test(t)), progress.join(" / ")).toBe(true);

  // ---- the deterministic sampler: only the teacher runs again; the hash records it
  await page.locator("input[name=sampler][value=ddim]").check();
  const ddim: View = {...start, sampler: "ddim"};
  expect(await waitForView(page, viewOf(ddim), READY_MS)).toBe("done");
  expect(await page.evaluate(() => location.hash)).toBe("#size=96&sampler=ddim");
  const second = await panels(page);
  for (const name of ["lr", "bicubic", "student"]) {
    expect(second[name].reused, `${name} reused`).toBe("true");
    expect(second[name].fingerprint).toBe(first[name].fingerprint);
  }
  expect(second.teacher.reused).toBe("false");
  expect(second.teacher.text).toMatch(/\d+(\.\d+)? (ms|s) on webgpu/);
  // In Node the two samplers' images differ by 2.6 levels on average at this crop (wasm and cpu agree exactly).
  expect(difference(second.teacher.rgb, first.teacher.rgb).mean, "ddim equals the stochastic sample").toBeGreaterThan(1);
  expectSameImage(second.teacher.rgb, nodeDdim.teacher, "teacher (ddim, seed 1)");

  // ---- the model cards hold the files' own numbers
  const cards = page.locator("[data-role=model-cards]");
  for (const kind of ["student", "teacher"] as const) {
    const card = readShippedMeta(readFileSync(join(ROOT, "data", "models", SHIPPED_MODELS[kind].file))).card;
    expect(await cards.locator("th").allTextContents()).toContain(card.id);
    expect(await cards.locator("tr[data-fact=params]").textContent()).toContain(card.params.toLocaleString("en-US"));
    expect(await cards.locator("tr[data-fact=flops]").textContent()).toContain(card.flopsPerOutputPixel.toLocaleString("en-US"));
    expect(await cards.locator("tr[data-fact=steps]").textContent()).toContain(`${card.training.steps.toLocaleString("en-US")} steps`);
    expect(await cards.locator("tr[data-fact=wall]").textContent()).toContain(`${(card.training.wallSeconds / 3600).toFixed(2)} h`);
  }

  expect(await page.locator(".observablehq--error").count()).toBe(0);
  expect(problems).toEqual([]);
}
