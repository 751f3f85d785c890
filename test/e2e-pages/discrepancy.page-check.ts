// End-to-end check of the discrepancy page (src/pages/discrepancy.md), discovered by test/e2e.test.ts.
//
// What it checks, on a 64 px crop (LR 16 x 16) and on the wasm backend (both set through the hash: SwiftShader's
// WebGPU needs about 13 s per teacher step at 16 x 16 on this 2-core machine; the generic "renders cleanly on webgpu"
// test of e2e.test.ts opens this page on webgpu): the page loads cleanly and runs both models in its web worker; the teacher, student and |teacher - student| images are drawn; one heat-map canvas per
// band (7 at two levels), the band and group energy charts and the loss table; Parseval (band energies add up to the
// pixel-domain energy); the loss terms add up to the total; changing the levels changes the number of band canvases
// without re-running the models; the colour-scale toggle repaints without a run; a preset change changes the
// weights; all of it in the hash; a malformed hash is refused with a message and defaults.
import type {Page} from "playwright-core";
import {expect} from "vitest";
import {pageBackend, trackProblems, type PageCheck} from "./support.js";

const READY_MS = 240_000;
const view = (wavelet: string, levels: number, loss: string) => `skimage-astronaut|160,48,64|mild|1|stochastic|1|${wavelet}|${levels}|${loss}`;

async function waitForRun(page: Page, v: string): Promise<string> {
  const h = await page.waitForFunction(
    (want) => {
      const r = document.querySelector<HTMLElement>("[data-role=discrepancy-run]");
      return r?.dataset.view === want && r.dataset.state !== "running" ? r.dataset.state : null;
    },
    v,
    {timeout: READY_MS, polling: 500}
  );
  return (await h.jsonValue()) as string;
}

async function bandCanvases(page: Page): Promise<string[]> {
  return page.locator("[data-role=band-maps] canvas[data-band]").evaluateAll((cs) => cs.map((c) => (c as HTMLElement).dataset.band!).sort());
}

async function weights(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const tr of document.querySelectorAll<HTMLElement>("[data-role=band-weights] tr[data-band]")) out[tr.dataset.band!] = Number(tr.dataset.weight);
    return out;
  });
}

export const check: PageCheck = {
  title: "Discrepancy page: outputs, band heat maps, energies, loss terms, controls and hash",
  timeoutMs: 420_000,
  async run(page, origin, shot) {
    const {expectNoProblems} = trackProblems(page, origin);
    const t0 = Date.now();
    await page.goto(`${origin}/pages/discrepancy#size=64&backend=wasm`, {waitUntil: "load"});
    expect(await pageBackend(page, READY_MS)).toBe("wasm");
    expect(await waitForRun(page, view("haar", 2, "dtkd"))).toBe("done");
    expect(await page.locator("[data-role=load-facts]").getAttribute("data-where")).toBe("worker");
    expect(await page.locator(".dtkd-error:not(:empty)").allTextContents()).toEqual([]);

    // Outputs: teacher and student drawn, and they differ.
    for (const panel of ["student", "teacher"]) {
      const c = page.locator(`[data-role=outputs] figure[data-panel=${panel}] canvas`);
      expect(await c.evaluate((el) => [(el as HTMLCanvasElement).width, (el as HTMLCanvasElement).height])).toEqual([64, 64]);
    }
    expect(Number(await page.locator("canvas[data-role=pixel-diff]").getAttribute("data-max"))).toBeGreaterThan(0);

    // One heat map per band, two levels.
    expect(await bandCanvases(page)).toEqual(["HH1", "HH2", "HL1", "HL2", "LH1", "LH2", "LL2"]);
    expect(await page.locator("[data-role=band-energy-chart] svg").count()).toBe(1);
    expect(await page.locator("[data-role=group-energy-chart] svg").count()).toBe(1);
    expect(await page.locator("[data-role=loss-chart] svg").count()).toBe(1);
    // Parseval: haar is orthonormal and 64 needs no padding at two levels.
    const be = Number(await page.locator("[data-role=parseval]").getAttribute("data-band-energy"));
    const pe = Number(await page.locator("[data-role=parseval]").getAttribute("data-pixel-energy"));
    expect(pe).toBeGreaterThan(0);
    expect(Math.abs(be - pe) / pe).toBeLessThan(1e-3);
    // dtkd weights: LL2 0.5, each mid band 2/3, each level-1 band 1/3; the weighted terms add up to the total.
    const w = await weights(page);
    expect(w.LL2).toBeCloseTo(0.5, 6);
    expect(w.HL2).toBeCloseTo(2 / 3, 6);
    expect(w.HH1).toBeCloseTo(1 / 3, 6);
    expect(Number(await page.locator("[data-role=loss-terms]").getAttribute("data-total"))).toBeGreaterThan(0);
    expect(await page.locator("[data-role=group-terms] tr[data-group]").count()).toBe(3);
    await shot("discrepancy");
    const firstRunS = (Date.now() - t0) / 1000;

    // Three levels: ten band canvases; the models are not run again.
    await page.locator("input[name=levels][value='3']").check();
    expect(await waitForRun(page, view("haar", 3, "dtkd"))).toBe("done");
    expect(await bandCanvases(page)).toHaveLength(10);
    expect(await page.locator("[data-role=outputs] figure[data-panel=teacher]").textContent()).toMatch(/earlier run/);
    expect(await page.evaluate(() => location.hash)).toBe("#size=64&levels=3&backend=wasm");

    // The colour scale repaints the same run.
    await page.locator("input[name=scale][value=band]").check();
    await page.waitForFunction(() => document.querySelector<HTMLElement>("[data-role=band-maps]")?.dataset.scale === "band", null, {timeout: 30_000});
    expect(await page.locator("[data-role=discrepancy-run]").getAttribute("data-view")).toBe(view("haar", 3, "dtkd"));

    // Another preset (high) and wavelet (db2): new weights.
    await page.locator("select[name=loss]").selectOption("high");
    expect(await waitForRun(page, view("haar", 3, "high"))).toBe("done");
    const wh = await weights(page);
    expect(wh.LL3).toBeCloseTo(0.5, 6);
    expect(wh.HH1).toBeCloseTo(2 / 3, 6);
    await page.locator("select[name=wavelet]").selectOption("db2");
    expect(await waitForRun(page, view("db2", 3, "high"))).toBe("done");
    expect(await page.evaluate(() => location.hash)).toBe("#size=64&wavelet=db2&levels=3&loss=high&scale=band&backend=wasm");

    // A malformed hash: refused with a message, defaults loaded.
    await page.goto("about:blank");
    await page.goto(`${origin}/pages/discrepancy#size=64&levels=9&loss=nope&backend=wasm`, {waitUntil: "load"});
    const msg = page.locator(".dtkd-error[data-kind=hash]");
    await msg.waitFor({timeout: READY_MS});
    const text = (await msg.textContent()) ?? "";
    expect(text).toMatch(/defaults were loaded/);
    expect(text).toMatch(/levels/);
    expect(text).toMatch(/loss/);
    expect(await page.locator("input[name=levels][value='2']").isChecked()).toBe(true);
    expect(await page.locator("select[name=loss]").inputValue()).toBe("dtkd");
    await expectNoProblems();
    console.log(`discrepancy page check: first run ${firstRunS.toFixed(0)} s, whole check ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
};
