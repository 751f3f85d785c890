// Live distillation trains on WebGPU (SwiftShader here: a real WebGPU adapter running on the CPU, so slow, but the
// same kernels a GPU runs): the page's worker starts on webgpu, takes 20 steps, and the weighted band-group loss on
// the fixed batch falls. The other distillation checks run on wasm for speed.
import {expect} from "vitest";
import {leaveNothingKept, openFromShipped, trainStatus, waitForKeepState, waitForTrainState} from "./distill-support.js";
import {trackProblems, type PageCheck} from "./support.js";

const STEPS = 20;
// A larger learning rate than the page's default, so that 20 steps of batch 2 move the fixed-batch loss clearly.
const HASH = `sched=const_4&steps=${STEPS}&batch=2&patches=1&tseeds=1&lr=0.001&seed=3&degr=bicubic&every=10`;

export const check: PageCheck = {
  title: `Live distillation on webgpu: ${STEPS} steps in the worker, the fixed-batch band loss falls`,
  timeoutMs: 840_000,
  async run(page, origin, shot) {
    const t0 = Date.now();
    const {expectNoProblems} = trackProblems(page, origin);
    await openFromShipped(page, origin, HASH, "webgpu");
    const ready = Date.now();
    await page.click("button[name=start]");
    await waitForTrainState(page, ["done"], 720_000);
    const st = await trainStatus(page);
    expect(st.steps).toBe(STEPS);
    expect(st.probeLast, `fixed-batch band loss ${st.probeFirst} -> ${st.probeLast}`).toBeLessThan(st.probeFirst);
    expect(Number.isFinite(st.lossLast)).toBe(true);
    expect(await waitForKeepState(page, ["kept", "error"])).toBe("kept");
    await shot("distill-webgpu");
    await leaveNothingKept(page);
    await expectNoProblems();
    console.log(
      `distill-webgpu check: ready in ${((ready - t0) / 1000).toFixed(0)} s, ${STEPS} steps in ${((Date.now() - ready) / 1000).toFixed(0)} s; ` +
        `probe loss ${st.probeFirst.toFixed(4)} -> ${st.probeLast.toFixed(4)}`
    );
  }
};
