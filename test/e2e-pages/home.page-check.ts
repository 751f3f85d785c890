// End-to-end check of the home page (src/pages/index.md) in headless Chromium. It runs on #backend=wasm: the
// models are the same and SwiftShader's WebGPU would make each run take minutes (the generic "renders cleanly
// on webgpu" test covers the webgpu badge). What it checks: the default view draws every panel with a run time
// (the shipped distilled student included, its picture unlike bicubic's and the student's); dragging the before/after divider changes the split and the
// picture; zooming and panning one panel moves every panel and the comparison; a grey 16-bit PNG is converted
// (with notes) and run, a too small one is refused with the clear message; a large synthetic image is tiled
// with per-tile progress and can be cancelled; a malformed hash gives a message and the defaults.
import type {Page} from "playwright-core";
import {expect} from "vitest";
import {encodePng} from "../../src/lib/image-io.js";
import {pageBackend, trackProblems, type PageCheck} from "./support.js";

const READY_MS = 240_000;

/** Waits for the view of `viewPrefix` and scrolls it on screen: the page starts the models only then. */
async function showView(page: Page, viewPrefix: string): Promise<void> {
  await page.waitForFunction((prefix) => !!document.querySelector<HTMLElement>("[data-role=home-view]")?.dataset.view?.startsWith(prefix), viewPrefix, {timeout: READY_MS});
  await page.locator("[data-role=home-view]").scrollIntoViewIfNeeded();
}

async function waitDone(page: Page, viewPrefix: string, done = "1"): Promise<void> {
  await showView(page, viewPrefix);
  await page.waitForFunction(
    ([prefix, d]) => {
      const v = document.querySelector<HTMLElement>("[data-role=home-view]");
      return !!v && v.dataset.view!.startsWith(prefix) && v.dataset.done === d;
    },
    [viewPrefix, done] as const,
    {timeout: READY_MS}
  );
}

/** A cheap fingerprint of a canvas's pixels. */
function canvasSum(page: Page, selector: string): Promise<number> {
  return page.evaluate((sel) => {
    const c = document.querySelector<HTMLCanvasElement>(sel)!;
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let s = 0;
    for (let i = 0; i < d.length; i += 4) s += (d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7) * ((i >> 2) % 97);
    return s;
  }, selector);
}

function pngFile(name: string, width: number, height: number, channels: 1 | 3, bitDepth: 8 | 16, f: (x: number, y: number, c: number) => number) {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return {name, mimeType: "image/png", buffer: Buffer.from(encodePng({width, height, channels, data}, bitDepth))};
}

export const check: PageCheck = {
  title: "Home page: panels with run times, divider, synced zoom, odd inputs, tiling with progress and cancel, bad hash",
  timeoutMs: 600_000,
  async run(page, origin, shot) {
    const t0 = Date.now();
    const {expectNoProblems} = trackProblems(page, origin);

    // A malformed hash: a message, and the defaults (LR 32) are used.
    await page.goto(`${origin}/pages/#size=999&seed=-3&bogus=1&backend=wasm`);
    expect(await pageBackend(page, READY_MS)).toBe("wasm");
    await expect.poll(() => page.locator(".dtkd-error[data-kind=hash]").textContent(), {timeout: 30_000}).toMatch(/could not all be used/);
    const hashText = await page.locator(".dtkd-error[data-kind=hash]").textContent();
    expect(hashText).toMatch(/size/);
    expect(hashText).toMatch(/seed/);
    expect(hashText).toMatch(/bogus/);
    await waitDone(page, "skimage-chelsea|32|stochastic|1");

    // The default view: every panel drawn with its run time, the shipped distilled student included.
    await page.goto("about:blank");
    await page.goto(`${origin}/pages/#backend=wasm`);
    // Nothing runs until the panels are on screen.
    await expect.poll(() => page.locator("[data-role=progress]").textContent(), {timeout: READY_MS}).toMatch(/Waiting for this view to come on screen/);
    expect(await page.locator("figure[data-panel=student]").getAttribute("data-status")).toBe("waiting");
    await waitDone(page, "skimage-chelsea|32|stochastic|1");
    for (const k of ["lr", "bicubic", "student", "distilled", "teacher"]) {
      const fig = page.locator(`figure[data-panel=${k}]`);
      expect(await fig.getAttribute("data-status"), k).toBe("done");
      expect(await fig.locator("[data-role=caption]").textContent(), k).toMatch(/^\d+(\.\d+)? (ms|s) on (wasm|JavaScript)/);
    }
    expect(await page.locator("figure[data-panel=gt]").getAttribute("data-status")).toBe("done");
    expect(await page.locator("figure[data-panel=student] [data-role=caption]").textContent()).toMatch(/ on wasm/);
    expect(await page.locator("figure[data-panel=distilled] [data-role=caption]").textContent()).toMatch(/ on wasm/);
    expect(await page.locator("[data-role=model-facts]").textContent()).toMatch(/student-distilled/);
    expect(await page.locator("[data-role=dtkd-diagram]").count()).toBe(1);
    const studentSum = await canvasSum(page, "figure[data-panel=student] canvas");
    expect(studentSum).toBeGreaterThan(0);
    expect(await canvasSum(page, "figure[data-panel=teacher] canvas")).not.toBe(studentSum);
    // The distilled student is a different network from the student (Node: max |difference| 0.045 on a crop).
    const distilledSum = await canvasSum(page, "figure[data-panel=distilled] canvas");
    expect(distilledSum).toBeGreaterThan(0);
    expect(distilledSum).not.toBe(await canvasSum(page, "figure[data-panel=bicubic] canvas"));
    expect(distilledSum).not.toBe(studentSum);

    // The divider: drag it from the middle to a quarter; the split, the hash and the picture change.
    const compareSel = "[data-role=before-after-canvas]";
    const before = await canvasSum(page, compareSel);
    const handle = page.locator("[data-role=divider]");
    await handle.scrollIntoViewIfNeeded();
    const box = (await handle.boundingBox())!;
    const frame = (await page.locator(compareSel).boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(frame.x + frame.width * 0.4, box.y + box.height / 2, {steps: 4});
    await page.mouse.move(frame.x + frame.width * 0.25, box.y + box.height / 2, {steps: 4});
    await page.mouse.up();
    const split = Number(await page.locator("[data-role=before-after]").getAttribute("data-split"));
    expect(split).toBeGreaterThan(0.2);
    expect(split).toBeLessThan(0.3);
    expect(await canvasSum(page, compareSel)).not.toBe(before);
    expect(await page.evaluate(() => location.hash)).toMatch(/split=0\.2\d*/);
    // The distilled student is one of the before/after choices: choosing it redraws the comparison and is kept
    // in the hash.
    const beforeChoice = await canvasSum(page, compareSel);
    await page.locator("select[name=compare-b]").selectOption("distilled");
    await expect.poll(() => page.evaluate(() => location.hash), {timeout: 10_000}).toMatch(/b=distilled/);
    expect(await canvasSum(page, compareSel)).not.toBe(beforeChoice);

    // Synchronised zoom: zoom in with the button, then pan one panel by dragging; every panel follows.
    const zoom0 = await page.locator("[data-role=home-view]").getAttribute("data-zoom");
    const teacher0 = await canvasSum(page, "figure[data-panel=teacher] canvas");
    await page.locator("button[name=zoom-in]").click();
    const zoom1 = await page.locator("[data-role=home-view]").getAttribute("data-zoom");
    expect(zoom1).not.toBe(zoom0);
    await page.locator("figure[data-panel=student] canvas").scrollIntoViewIfNeeded();
    const tc = (await page.locator("figure[data-panel=student] canvas").boundingBox())!;
    await page.mouse.move(tc.x + tc.width / 2, tc.y + tc.height / 2);
    await page.mouse.down();
    await page.mouse.move(tc.x + tc.width / 2 + 40, tc.y + tc.height / 2 + 30, {steps: 5});
    await page.mouse.up();
    const zoom2 = await page.locator("[data-role=home-view]").getAttribute("data-zoom");
    expect(zoom2).not.toBe(zoom1);
    const views = await page.locator("figure[data-panel] canvas").evaluateAll((cs) => cs.map((c) => (c as HTMLElement).dataset.view));
    // Every panel (the distilled student included) shows the same region.
    expect(views.filter((v) => v)).toEqual(Array(6).fill(zoom2));
    expect(await canvasSum(page, "figure[data-panel=teacher] canvas")).not.toBe(teacher0);

    // A too small image is refused with the clear message; a grey 16-bit PNG is converted (said so) and run.
    await page.setInputFiles("input[name=own-image]", pngFile("tiny.png", 6, 6, 1, 8, () => 0.5));
    await expect.poll(() => page.locator(".dtkd-error[data-kind=image]").textContent(), {timeout: 30_000}).toMatch(/"tiny.png" is 6 × 6 pixels; the smallest input is 8 × 8/);
    await page.setInputFiles("input[name=own-image]", pngFile("grey16.png", 36, 28, 1, 16, (x, y) => ((x * 977 + y * 1511) % 65536) / 65535));
    await waitDone(page, "file:grey16.png|");
    const notes = await page.locator("[data-role=input-facts]").getAttribute("data-notes");
    expect(notes).toMatch(/greyscale/);
    expect(notes).toMatch(/16-bit samples: kept as 32-bit floats/);
    expect(await page.locator("figure[data-panel=gt] [data-role=caption]").textContent()).toMatch(/no ground truth/);

    // A large synthetic image: 136 x 88 LR is 3 x 2 = 6 tiles; progress per tile is shown, and Cancel stops it.
    await page.setInputFiles("input[name=own-image]", pngFile("large.png", 136, 88, 3, 8, (x, y, c) => 0.5 + 0.4 * Math.sin((x + 2 * c) * 0.21) * Math.cos(y * 0.13)));
    await expect.poll(() => page.locator("[data-role=input-facts]").textContent(), {timeout: 60_000}).toMatch(/6 tiles of at most 64 px with 16 px overlap/);
    await showView(page, "file:large.png|");
    await expect.poll(() => page.locator("[data-role=progress]").textContent(), {timeout: READY_MS}).toMatch(/(student|teacher): \d+ of 6 tiles done on wasm/);
    await expect.poll(() => page.locator("[data-role=progress]").textContent(), {timeout: READY_MS}).toMatch(/teacher: \d+ of 6 tiles done/);
    expect(await page.locator("figure[data-panel=student]").getAttribute("data-status")).toBe("done");
    expect(await page.locator("figure[data-panel=student] [data-role=caption]").textContent()).toMatch(/6 tiles/);
    await page.locator("button[name=cancel]").click();
    await waitDone(page, "file:large.png|", "cancelled");
    expect(await page.locator(".dtkd-error[data-kind=run]").textContent()).toMatch(/Cancelled after/);
    expect(await page.locator("figure[data-panel=teacher]").getAttribute("data-status")).toBe("failed");

    await shot("home-checked");
    await expectNoProblems();
    console.log(`home page check: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
};
