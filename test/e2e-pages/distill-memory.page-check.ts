// Live distillation in the browser does not leak: 200 training steps in the page's web worker (wasm, tiny sizes),
// validated every 20 steps; the worker's count of live TF.js tensors, read after each validation, is the same from
// the first validation to the last. (test/live-distill.test.ts checks the same engine in Node.)
import {expect} from "vitest";
import {leaveNothingKept, openFromShipped, trainStatus, waitForKeepState, waitForTrainState} from "./distill-support.js";
import {trackProblems, type PageCheck} from "./support.js";

const STEPS = 200;
const EVERY = 20;
const HASH = `sched=linear_0_1_0.5&steps=${STEPS}&batch=2&patches=1&tseeds=1&lr=0.0003&seed=5&degr=bicubic&every=${EVERY}&backend=wasm`;

export const check: PageCheck = {
  title: `Live distillation: live tensors in the worker stay flat over ${STEPS} training steps`,
  timeoutMs: 600_000,
  async run(page, origin, shot) {
    const t0 = Date.now();
    const {expectNoProblems} = trackProblems(page, origin);
    await openFromShipped(page, origin, HASH, "wasm");
    await page.click("button[name=start]");
    await waitForTrainState(page, ["done"], 540_000);
    const st = await trainStatus(page);
    expect(st.steps).toBe(STEPS);
    const trace = st.tensors.filter(([step]) => step >= EVERY);
    expect(trace.map(([s]) => s)).toEqual(Array.from({length: STEPS / EVERY}, (_, i) => (i + 1) * EVERY));
    const counts = trace.map(([, n]) => n);
    expect(Math.max(...counts) - Math.min(...counts), `live tensors at steps ${trace.map(([s, n]) => `${s}:${n}`).join(" ")}`).toBe(0);
    expect(await waitForKeepState(page, ["kept", "error"])).toBe("kept");
    await shot("distill-memory");
    await leaveNothingKept(page);
    await expectNoProblems();
    console.log(`distill-memory check: ${counts[0]} tensors at steps ${EVERY}-${STEPS}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
};
