// End-to-end check of the live distillation page (src/pages/distill.md), discovered by test/e2e.test.ts.
//
// What it checks, with tiny sizes set through the hash (one 32 x 32 training patch, one teacher sample, batch 2,
// validation every 5 steps, the wasm backend: see HASH): the page loads cleanly and trains in its web worker;
// after 25+ steps the band-group loss on the fixed batch and the mean training loss of the last 5 steps are below
// those at the start (in Node on wasm the same settings lower them by about 10% and 6% in 25 steps); the page stays
// responsive while training (animation-frame round trips under 500 ms); a weight slider is kept in the hash;
// exported weights are a shipped-format checkpoint of the steps taken; after a reload the weights kept in IndexedDB
// are the starting weights (same output fingerprint on the validation crop); importing the exported file gives the
// same output again; a malformed hash is refused with a message and defaults.
import {readFileSync} from "node:fs";
import {expect} from "vitest";
import {readShippedMeta} from "../../src/lib/models/shipped.js";
import {lambdaAt, parseSchedule} from "../../src/lib/schedule.js";
import {backToShipped, fingerprintOf, leaveNothingKept, openFromShipped, READY_MS, trainStatus, waitForFingerprint, waitForKeepState, waitForSteps, waitForTrainState, waitReady} from "./distill-support.js";
import {trackProblems, type PageCheck} from "./support.js";

// backend=wasm: SwiftShader's WebGPU compiles every forward and backward kernel of the student and the teacher on the
// CPU (minutes on the loaded test machine before the first training step); the wasm backend in the same worker
// runs the same code. Training on webgpu is checked by distill-webgpu.page-check.ts.
const HASH = "sched=const_4&steps=60&batch=2&patches=1&tseeds=1&lr=0.0005&seed=3&degr=bicubic&every=5&backend=wasm";
const MIN_STEPS = 25;

export const check: PageCheck = {
  title: "Live distillation: trains in a worker, loss falls, page responsive, hash, export, IndexedDB, import, bad hash",
  timeoutMs: 420_000,
  async run(page, origin, shot) {
    const t0 = Date.now();
    const {expectNoProblems} = trackProblems(page, origin);
    const shippedFp = await openFromShipped(page, origin, HASH, "wasm");

    // Train, measuring responsiveness while the worker runs.
    await page.click("button[name=start]");
    await waitForTrainState(page, ["running"]);
    const rafMs = await page.evaluate(async () => {
      const out: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        await new Promise<void>((r) => requestAnimationFrame(() => r()));
        out.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 150));
      }
      return out;
    });
    await waitForSteps(page, MIN_STEPS);
    // A click handled while training: the pause button's handler runs on the main thread at once.
    const clickT = Date.now();
    await page.click("button[name=pause]");
    const clickMs = Date.now() - clickT;
    await waitForTrainState(page, ["paused"]);
    expect(Math.max(...rafMs), `animation-frame round trips while training: ${rafMs.map((x) => x.toFixed(0)).join(", ")} ms`).toBeLessThan(500);
    expect(clickMs).toBeLessThan(5000);
    const st = await trainStatus(page);
    const steps = st.steps;
    expect(steps).toBeGreaterThanOrEqual(MIN_STEPS);
    expect(st.probeLast, `fixed-batch band loss ${st.probeFirst} -> ${st.probeLast}`).toBeLessThan(st.probeFirst);
    expect(st.lossLast, `training loss, mean of first 5 ${st.lossFirst} vs last 5 ${st.lossLast}`).toBeLessThan(st.lossFirst);
    for (const role of ["chart-loss", "chart-groups", "chart-psnr", "chart-kurtosis", "chart-probe"]) {
      expect(await page.locator(`[data-role=${role}] path[d^=M]`).count(), role).toBeGreaterThan(0);
    }
    // The pause keeps the weights in IndexedDB.
    expect(await waitForKeepState(page, ["kept", "error"])).toBe("kept");
    const trainedFp = (await fingerprintOf(page, "panel-current"))!;
    expect(trainedFp).not.toBe(shippedFp);
    expect(await page.locator("[data-role=keep-status]").getAttribute("data-fingerprint")).toBe(trainedFp);

    // A weight slider goes into the hash.
    await page.locator("input[name=w-high]").evaluate((e: HTMLInputElement) => {
      e.value = "1.5";
      e.dispatchEvent(new Event("input", {bubbles: true}));
      e.dispatchEvent(new Event("change", {bubbles: true}));
    });
    await page.waitForFunction(() => location.hash.includes("w=0.5_2_1.5"), null, {timeout: 10_000});
    expect(await page.evaluate(() => location.hash)).toContain("sched=const_4");

    // Export.
    const [download] = await Promise.all([page.waitForEvent("download", {timeout: READY_MS}), page.click("button[name=export]")]);
    const file = await download.path();
    const meta = readShippedMeta(readFileSync(file)) as ReturnType<typeof readShippedMeta> & {liveDistill: {steps: number; settings: {schedule: string; weights: Record<string, number>}}};
    expect(meta.kind).toBe("student");
    expect(meta.liveDistill.steps).toBe(steps);
    expect(meta.liveDistill.settings.schedule).toBe("const_4");
    expect(meta.liveDistill.settings.weights.high).toBe(1.5);
    await shot("distill");

    // Reload: the kept weights are the starting weights.
    await page.reload({waitUntil: "load"});
    await waitReady(page, "wasm");
    expect(await page.locator("[data-role=keep-status]").getAttribute("data-state")).toBe("restored");
    await waitForFingerprint(page, "panel-start", trainedFp);
    expect(await page.locator("input[name=w-high]").inputValue()).toBe("1.5");

    // Back to the shipped student, then import the exported file.
    expect(await backToShipped(page)).toBe(shippedFp);
    await page.setInputFiles("input[name=import]", file);
    expect(await waitForKeepState(page, ["imported", "error"])).toBe("imported");
    await waitForFingerprint(page, "panel-start", trainedFp);
    expect(await page.locator(".dtkd-error[data-kind=keep]").textContent()).toBe("");
    expect(await backToShipped(page)).toBe(shippedFp);

    // The schedule editor: switch to piecewise, drag the first control point down; the hash and the next step's
    // lambda follow the dragged curve.
    await page.selectOption("select[name=schedule-kind]", "piecewise");
    await page.waitForFunction(() => location.hash.includes("sched=pw_0_4_1_4"), null, {timeout: 10_000});
    const dot = page.locator("[data-role=schedule-plot] circle[data-index='0']");
    await dot.scrollIntoViewIfNeeded();
    const box = (await dot.boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 1; i <= 8; i++) await page.mouse.move(cx, cy + 10 * i);
    await page.mouse.up();
    await page.waitForFunction(() => /sched=pw_0_[0-9.]+_1_4/.test(location.hash) && !location.hash.includes("sched=pw_0_4_1_4"), null, {timeout: 10_000});
    const schedText = decodeURIComponent(/sched=([^&]+)/.exec(await page.evaluate(() => location.hash))![1]);
    const dragged = parseSchedule(schedText);
    expect(dragged.points![0][1], `dragged to ${schedText}`).toBeLessThan(3.5);
    await page.click("button[name=step]");
    await waitForSteps(page, 1);
    await waitForTrainState(page, ["paused", "idle", "ready", "done"]);
    const afterStep = await trainStatus(page);
    expect(afterStep.lastLambda, `lambda of the step at t = ${afterStep.lastT} under ${schedText}`).toBeCloseTo(lambdaAt(dragged, afterStep.lastT), 5);
    expect(afterStep.lastLambda).toBeLessThan(3.5);
    expect(await waitForKeepState(page, ["kept", "error"])).toBe("kept");
    await leaveNothingKept(page);
    await expectNoProblems();

    // A malformed hash: a message, and the defaults.
    await page.goto("about:blank");
    await page.goto(`${origin}/pages/distill#steps=abc&sched=bogus_1&w=1_2&batch=4`, {waitUntil: "load"});
    const msg = page.locator(".dtkd-error[data-kind=hash]");
    await page.waitForFunction(() => (document.querySelector(".dtkd-error[data-kind=hash]")?.textContent ?? "") !== "", null, {timeout: READY_MS});
    const text = (await msg.textContent()) ?? "";
    expect(text).toContain("steps=");
    expect(text).toContain("sched");
    expect(text).toContain("w=");
    expect(await page.locator("input[name=steps]").inputValue()).toBe("300");
    expect(await page.locator("select[name=schedule-kind]").inputValue()).toBe("linear");
    // The message and the defaults are there before the worker is ready; no need to wait for it.
    await shot("distill-bad-hash");
    console.log(`distill check: ${steps} steps, rAF max ${Math.max(...rafMs).toFixed(0)} ms, ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
  }
};
