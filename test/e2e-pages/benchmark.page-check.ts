// End-to-end check of the benchmark page (src/pages/benchmark.md): run it for wasm only, chosen through the URL
// hash with a small input (a short run), and check that the results table gets rows with positive numbers beside
// the lab's own Node figures, and that the hash keeps the choice.
import {expect} from "vitest";
import {pageBackend, trackProblems, type PageCheck} from "./support.js";

export const check: PageCheck = {
  title: "Benchmark page: wasm latency and training speed measured in a worker, beside the lab's figures",
  timeoutMs: 300_000,
  async run(page, origin, shot) {
    const t0 = Date.now();
    const {expectNoProblems} = trackProblems(page, origin);
    await page.goto(`${origin}/pages/benchmark#backends=wasm&size=16&runs=2&steps=2`);
    expect(await pageBackend(page, 180_000)).toBeTruthy();
    // The lab's Node figures are there before anything runs.
    await page.locator("[data-role=lab-figures] tr[data-model=student-tiny][data-backend=wasm]").waitFor({timeout: 60_000});
    expect(await page.locator("input[name=backend-wasm]").isChecked()).toBe(true);
    expect(await page.locator("input[name=backend-webgpu]").isChecked()).toBe(false);
    expect(await page.locator("[data-role=plan]").textContent()).toMatch(/wasm: student and teacher on 16×16 LR, 1 warm-up \+ 2 timed runs/);

    await page.locator("button[name=run]").click();
    await expect.poll(() => page.locator("[data-role=progress]").textContent(), {timeout: 60_000}).toMatch(/wasm/);
    await page.waitForFunction(() => document.querySelector<HTMLElement>("[data-role=bench-results]")?.dataset.done === "1", null, {timeout: 240_000});
    for (const kind of ["student-latency", "teacher-latency", "train"]) {
      const rows = page.locator(`[data-role=bench-results] tr[data-backend=wasm][data-kind=${kind}]`);
      expect(await rows.count(), kind).toBe(1);
      expect(Number(await rows.getAttribute("data-value")), kind).toBeGreaterThan(0);
    }
    expect(await page.locator("[data-role=bench-results] tr").count()).toBe(3 + 1); // header + 3 rows
    expect(await page.locator("[data-role=bench-results] tr[data-kind=train] td").nth(2).textContent()).toMatch(/^\d+\.\d\d steps\/s$/);
    expect(await page.evaluate(() => location.hash)).toMatch(/backends=wasm/);
    await shot("benchmark");
    await expectNoProblems();
    console.log(`benchmark page check: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
};
