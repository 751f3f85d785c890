// End-to-end checks of the data page (src/pages/data.md), called from test/e2e.test.ts with a browser page and
// the origin of the static server that serves dist/. The page must already be built.
//
// What it checks: the page renders without console errors or observablehq--error; every committed test
// photograph is offered; the stage cards follow the run; the realistic preset draws non-blank kernel heat maps;
// the LR is bit-identical to the one degrade() makes in Node for the same photo, patch, preset and seed;
// changing the seed changes the LR; stage switches, presets and patch clicks reach the view and the URL hash;
// a link restores the exact view; bad links, seeds and files give clear messages.
import {readFileSync} from "node:fs";
import {join, resolve} from "node:path";
import {encode as encodePng} from "fast-png";
import type {Page} from "playwright-core";
import {expect} from "vitest";
import {prepareGroundTruth, type ManifestImage} from "../../src/lib/dataset.js";
import {degrade, toUint8, type Preset, type StageName} from "../../src/lib/degrade.js";
import {cropPatch} from "../../src/lib/patches.js";
import {fingerprint} from "../../src/lib/ui/data-format.js";
import {trackProblems} from "./support.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
// SwiftShader WebGPU start-up and the first photo decode can take a while on a loaded machine.
const READY_MS = 240_000;
const STEP_MS = 60_000;

interface ViewState {
  photo: string;
  x: number;
  y: number;
  size: number;
  preset: Preset;
  seed: number;
  on?: StageName[];
  off?: StageName[];
}

function testImages(): ManifestImage[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, "data", "manifest.json"), "utf8")) as {images: ManifestImage[]};
  return manifest.images.filter((im) => im.split === "test");
}

/** The page's data-view tag for a state (see the run block of src/pages/data.md). */
function viewOf(s: ViewState): string {
  return `${s.photo}|${s.x},${s.y},${s.size}|${s.preset}|${s.seed}|+${(s.on ?? []).join(".")}-${(s.off ?? []).join(".")}`;
}

/** The LR fingerprint degrade() gives in Node for a state, from the committed photograph. */
function nodeFingerprint(s: ViewState): string {
  const entry = testImages().find((im) => im.id === s.photo);
  if (!entry?.committed) throw new Error(`no committed test photograph ${s.photo}`);
  const hr = prepareGroundTruth(readFileSync(join(ROOT, entry.committed)), entry.committed, entry.downscale);
  if (entry.downscale !== 1) throw new Error("nodeFingerprint: the page rounds downscaled photographs to 8 bits; use a photo with downscale 1");
  const stages: Partial<Record<StageName, boolean>> = {};
  for (const n of s.on ?? []) stages[n] = true;
  for (const n of s.off ?? []) stages[n] = false;
  const r = degrade(cropPatch(hr, s.x, s.y, s.size), {
    preset: s.preset,
    seed: s.seed,
    scale: 4,
    ...(Object.keys(stages).length ? {stages} : {})
  });
  return fingerprint(toUint8(r.lr));
}

/** Waits until the facts, the stage strip and the HR/LR pair all show `view` (no stale result is read). */
async function waitForView(page: Page, view: string, timeout = STEP_MS): Promise<void> {
  await page.waitForFunction(
    (v) => {
      const facts = [...document.querySelectorAll<HTMLElement>("[data-role=run-facts]")];
      const strips = [...document.querySelectorAll<HTMLElement>(".dtkd-strip")];
      const pair = document.querySelector<HTMLElement>(".dtkd-pair");
      return facts.length === 1 && facts[0].dataset.view === v && strips.length === 1 && strips[0].dataset.view === v && pair?.dataset.view === v;
    },
    view,
    {timeout}
  );
}

async function lrFingerprint(page: Page): Promise<string> {
  return (await page.locator("[data-role=run-facts]").getAttribute("data-fingerprint")) ?? "";
}

async function cardStages(page: Page): Promise<string[]> {
  return page.locator(".dtkd-strip article[data-stage]").evaluateAll((as) => as.map((a) => (a as HTMLElement).dataset.stage!));
}

/** Per kernel canvas: the spread (max - min) of its red, green and blue samples. */
function kernelSpreads(page: Page): Promise<number[]> {
  return page.locator("canvas[data-role=kernel]").evaluateAll((cs) =>
    cs.map((c) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let lo = 255;
      let hi = 0;
      for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) [lo, hi] = [Math.min(lo, d[i + k]), Math.max(hi, d[i + k])];
      return hi - lo;
    })
  );
}

async function hashOf(page: Page): Promise<string> {
  return page.evaluate(() => location.hash);
}

async function setSeed(page: Page, seed: string): Promise<void> {
  const input = page.locator("input[name=seed]");
  await input.fill(seed);
  await input.press("Enter");
}

async function expectNoErrorBlocks(page: Page): Promise<void> {
  expect(await page.locator(".observablehq--error").count(), "observablehq--error in the live DOM").toBe(0);
}

/** Opens `${baseUrl}/pages/data` in `page` and runs every check of the data page. */
export async function checkDataPage(page: Page, baseUrl: string): Promise<void> {
  const {problems} = trackProblems(page, baseUrl);
  const base = baseUrl.replace(/\/$/, "");

  // ---- default view: astronaut, 128 px patch at (160, 48), realistic, seed 1
  await page.goto(`${base}/pages/data`, {waitUntil: "load"});
  await page.locator(".dtkd-backend[data-backend]").first().waitFor({timeout: READY_MS});
  const start: ViewState = {photo: "skimage-astronaut", x: 160, y: 48, size: 128, preset: "realistic", seed: 1};
  await waitForView(page, viewOf(start), READY_MS);
  await expectNoErrorBlocks(page);
  expect(await hashOf(page)).toBe("");

  // Every committed test photograph is offered.
  const ids = testImages().map((im) => im.id).sort();
  const options = await page.locator("select[name=photo] option:not([hidden])").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(options.sort()).toEqual(ids);
  expect(await page.locator("[data-role=photo-table] button[data-photo]").count()).toBe(ids.length);
  expect(await page.locator("[data-role=photo-facts]").textContent()).toMatch(/Astronaut.*NASA.*Public domain/s);

  // Stage cards: the HR patch, then the ten Real-ESRGAN stages in the order they ran; bicubic is off.
  const stages = await cardStages(page);
  expect(stages[0]).toBe("hr");
  expect(stages.slice(1, 8)).toEqual(["blur1", "resize1", "noise1", "jpeg1", "blur2", "resize2", "noise2"]);
  expect([...stages.slice(8)].sort()).toEqual(["finalResize", "jpeg2", "sinc"]);
  expect(await page.locator("[data-role=stages-off]").textContent()).toMatch(/bicubic/);
  for (const card of await page.locator(".dtkd-strip article[data-stage]").all()) {
    expect(await card.locator("canvas[data-role=stage-image]").count()).toBe(1);
  }
  // blur1 always applies and shows its parameters and a kernel; every kernel heat map is drawn, not blank.
  const blur1 = page.locator(".dtkd-strip article[data-stage=blur1]");
  expect(await blur1.getAttribute("data-applied")).toBe("true");
  expect(await blur1.locator(".dtkd-params").textContent()).toMatch(/kernelType.*kernelSize.*sigmaX/s);
  const spreads = await kernelSpreads(page);
  expect(spreads.length).toBeGreaterThanOrEqual(1);
  for (const s of spreads) expect(s, "kernel heat map is blank").toBeGreaterThan(30);
  // The LR is 32 x 32 and bit-identical to what degrade() gives in Node.
  expect(await page.locator(".dtkd-pair canvas[data-role=lr]").evaluate((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height])).toEqual([32, 32]);
  const fp1 = await lrFingerprint(page);
  expect(fp1).toMatch(/^[0-9a-f]{8}$/);
  expect(fp1).toBe(nodeFingerprint(start));
  expect(Number(await page.locator("[data-role=run-facts]").getAttribute("data-degrade-ms"))).toBeGreaterThan(0);
  // The pipeline ran in the page's web worker, not on the main thread.
  expect(await page.locator("[data-role=run-facts]").getAttribute("data-where")).toBe("worker");

  // ---- a new seed gives a new LR, recorded in the hash
  await setSeed(page, "2");
  await waitForView(page, viewOf({...start, seed: 2}));
  const fp2 = await lrFingerprint(page);
  expect(fp2).not.toBe(fp1);
  expect(fp2).toBe(nodeFingerprint({...start, seed: 2}));
  expect(await hashOf(page)).toBe("#seed=2");
  await page.locator("button[name=new-seed]").click();
  await page.waitForFunction(() => !/seed=2(&|$)/.test(location.hash), undefined, {timeout: STEP_MS});
  const drawn = Number(/seed=(\d+)/.exec(await hashOf(page))?.[1]);
  await waitForView(page, viewOf({...start, seed: drawn}));
  expect(await lrFingerprint(page)).not.toBe(fp2);
  // Quick changes: the latest request wins (older runs are stopped), and the result is the latest seed's.
  for (const seed of ["3", "4", "5"]) await setSeed(page, seed);
  await waitForView(page, viewOf({...start, seed: 5}));
  expect(await lrFingerprint(page)).toBe(nodeFingerprint({...start, seed: 5}));
  // A refused seed: a message, and the view stays.
  await setSeed(page, "-5");
  await expect.poll(() => page.locator(".dtkd-error[data-kind=seed]").textContent(), {timeout: 10_000}).toMatch(/-5.*refused/);
  expect(await page.locator("input[name=seed]").inputValue()).toBe("5");
  await setSeed(page, "1");
  await waitForView(page, viewOf(start));
  expect(await lrFingerprint(page)).toBe(fp1);
  expect(await page.locator(".dtkd-error[data-kind=seed]").textContent()).toBe("");

  // ---- switching a stage off removes its card, changes the LR and goes into the hash
  await page.locator("input[name=stage-noise2]").uncheck();
  const noNoise: ViewState = {...start, off: ["noise2"]};
  await waitForView(page, viewOf(noNoise));
  expect(await cardStages(page)).not.toContain("noise2");
  expect(await page.locator("[data-role=stages-off]").textContent()).toMatch(/noise2/);
  expect(await hashOf(page)).toBe("#off=noise2");
  expect(await lrFingerprint(page)).toBe(nodeFingerprint(noNoise));
  // finalResize cannot be switched off with this preset.
  expect(await page.locator("input[name=stage-finalResize]").isDisabled()).toBe(true);

  // ---- the bicubic preset: one stage, no kernel, switches reset
  await page.selectOption("select[name=preset]", "bicubic");
  const bicubic: ViewState = {...start, preset: "bicubic"};
  await waitForView(page, viewOf(bicubic));
  expect(await cardStages(page)).toEqual(["hr", "bicubic"]);
  expect(await page.locator("canvas[data-role=kernel]").count()).toBe(0);
  expect(await hashOf(page)).toBe("#preset=bicubic");
  expect(await lrFingerprint(page)).toBe(nodeFingerprint(bicubic));

  // ---- a click on the photograph centres the patch there
  const photo = page.locator("canvas[data-role=photo]");
  const box = (await photo.boundingBox())!;
  await photo.click({position: {x: box.width * 0.75, y: box.height * 0.75}});
  const moved = {...bicubic, x: 384 - 64, y: 384 - 64};
  // The click lands on a CSS pixel; allow its rounding.
  await page.waitForFunction(() => /x=\d+&y=\d+/.test(location.hash), undefined, {timeout: STEP_MS});
  const [, hx, hy] = /x=(\d+)&y=(\d+)/.exec(await hashOf(page))!;
  expect(Math.abs(Number(hx) - moved.x)).toBeLessThanOrEqual(2);
  expect(Math.abs(Number(hy) - moved.y)).toBeLessThanOrEqual(2);
  await waitForView(page, viewOf({...bicubic, x: Number(hx), y: Number(hy)}));

  // ---- another photograph from the table (grey): the patch is kept and the view follows
  await page.locator("[data-role=photo-table] button[data-photo=skimage-camera]").click();
  await waitForView(page, viewOf({...bicubic, photo: "skimage-camera", x: Number(hx), y: Number(hy)}));
  expect(await page.locator("[data-role=photo-facts]").textContent()).toMatch(/Cameraman.*grey/s);

  // ---- a corrupt upload: a clear message naming the file; the previous image stays
  await page.setInputFiles("input[name=own-image]", {name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not an image\n")});
  await expect.poll(() => page.locator(".dtkd-error[data-kind=image]").textContent(), {timeout: 10_000}).toMatch(/notes\.txt/);
  expect(await page.locator("[data-role=run-facts]").getAttribute("data-view")).toMatch(/^skimage-camera\|/);
  await expectNoErrorBlocks(page);

  // ---- a good upload (RGBA, odd size): the view follows the file, alpha is composited over white
  const w = 150;
  const h = 101;
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const [x, y] = [i % w, Math.floor(i / w)];
    rgba.set([(x * 255) / w, (y * 255) / h, ((x >> 3) + (y >> 3)) % 2 ? 230 : 20, x < 20 ? 128 : 255], 4 * i);
  }
  await page.setInputFiles("input[name=own-image]", {
    name: "mine.png",
    mimeType: "image/png",
    buffer: Buffer.from(encodePng({width: w, height: h, data: rgba, channels: 4, depth: 8}))
  });
  // The patch (bicubic preset, 128 px) is fitted into the 150 x 101 image: side 100, corner clamped, and says so.
  await page.waitForFunction(() => document.querySelector<HTMLElement>("[data-role=run-facts]")?.dataset.view?.startsWith("mine.png|"), undefined, {
    timeout: STEP_MS
  });
  expect(await page.locator("[data-role=run-facts]").getAttribute("data-view")).toMatch(/^mine\.png\|\d+,\d+,100\|bicubic\|/);
  expect(await page.locator("[data-role=photo-facts]").textContent()).toMatch(/your file mine\.png: 150 × 101 px, PNG, RGBA.*alpha composited over white/i);
  expect(await page.locator(".dtkd-error[data-kind=image]").textContent()).toBe("");
  expect(await page.locator(".dtkd-error[data-kind=patch]").textContent()).toMatch(/does not fit the 150 × 101 image; moved to 100 px/);
  expect(await page.locator(".dtkd-pair canvas[data-role=lr]").evaluate((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height])).toEqual([25, 25]);

  // ---- a link restores the exact view (fresh load, other photo, patch, preset, seed and a switched stage)
  const linked: ViewState = {photo: "skimage-coffee", x: 200, y: 100, size: 96, preset: "mild", seed: 42, on: ["blur2"]};
  const link = `${base}/pages/data#photo=skimage-coffee&x=200&y=100&size=96&preset=mild&seed=42&on=blur2`;
  await page.goto("about:blank");
  await page.goto(link, {waitUntil: "load"});
  await waitForView(page, viewOf(linked), READY_MS);
  expect(await page.locator("select[name=photo]").inputValue()).toBe("skimage-coffee");
  expect(await page.locator("select[name=preset]").inputValue()).toBe("mild");
  expect(await page.locator("input[name=seed]").inputValue()).toBe("42");
  expect(await page.locator("input[name=patch-x]").inputValue()).toBe("200");
  expect(await page.locator("input[name=patch-size]").inputValue()).toBe("96");
  expect(await page.locator("input[name=stage-blur2]").isChecked()).toBe(true);
  expect(await page.locator(".dtkd-error[data-kind=hash]").textContent()).toBe("");
  expect(await hashOf(page)).toBe("#photo=skimage-coffee&x=200&y=100&size=96&preset=mild&seed=42&on=blur2");
  const linkedFp = await lrFingerprint(page);
  expect(linkedFp).toBe(nodeFingerprint(linked));
  expect(await cardStages(page)).toEqual(["hr", "blur1", "resize1", "noise1", "blur2", "finalResize", "jpeg2"]);
  await page.reload({waitUntil: "load"});
  await waitForView(page, viewOf(linked), READY_MS);
  expect(await lrFingerprint(page)).toBe(linkedFp);

  // ---- a malformed link: messages, defaults where needed, a patch moved inside the photo
  await page.goto("about:blank");
  await page.goto(`${base}/pages/data#photo=nope&preset=sharp&seed=x&off=blur1.bogus&x=5000`, {waitUntil: "load"});
  await waitForView(page, viewOf({...start, x: 512 - 128, off: ["blur1"]}), READY_MS);
  const message = (await page.locator(".dtkd-error[data-kind=hash]").textContent()) ?? "";
  expect(message).toMatch(/photo="nope" refused/);
  expect(message).toMatch(/preset="sharp" refused/);
  expect(message).toMatch(/seed="x" refused/);
  expect(message).toMatch(/unknown stage "bogus"/);
  expect(await page.locator(".dtkd-error[data-kind=patch]").textContent()).toMatch(/does not fit the 512 × 512 image/);
  expect(await hashOf(page)).toBe("#x=384&off=blur1");

  await expectNoErrorBlocks(page);
  expect(problems).toEqual([]);
}
