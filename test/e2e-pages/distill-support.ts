// Shared by the live distillation page checks (distill*.page-check.ts). They run one after another in one browser
// profile, so IndexedDB carries what one check kept into the next: every check starts from the shipped student
// with openFromShipped and leaves nothing kept with leaveNothingKept. Waits are on data attributes the page sets
// (keep-status data-state, train-status data-state/steps, panel fingerprints), never on sentences.
import type {Page} from "playwright-core";
import {expect} from "vitest";
import {pageBackend} from "./support.js";

export const READY_MS = 300_000;

export type KeepState = "restoring" | "restored" | "empty" | "kept" | "importing" | "imported" | "resetting" | "shipped" | "error";

export interface TrainStatus {
  state: string;
  steps: number;
  lossFirst: number;
  lossLast: number;
  probeFirst: number;
  probeLast: number;
  /** (steps done, live tensors in the worker) at each validation of the current trainer. */
  tensors: [number, number][];
  lastT: number;
  lastLambda: number;
}

export async function fingerprintOf(page: Page, role: string): Promise<string | null> {
  return page.locator(`[data-role=${role}]`).getAttribute("data-fingerprint");
}

export async function waitForFingerprint(page: Page, role: string, fp: string): Promise<void> {
  await page.waitForFunction(
    ([r, f]) => document.querySelector<HTMLElement>(`[data-role=${r}]`)?.dataset.fingerprint === f,
    [role, fp] as const,
    {timeout: READY_MS, polling: 250}
  );
}

export async function waitForKeepState(page: Page, states: KeepState[]): Promise<KeepState> {
  const handle = await page.waitForFunction(
    (ss) => {
      const s = document.querySelector<HTMLElement>("[data-role=keep-status]")?.dataset.state;
      return s && (ss as string[]).includes(s) ? s : null;
    },
    states,
    {timeout: READY_MS, polling: 100}
  );
  return (await handle.jsonValue()) as KeepState;
}

/** The worker is ready on `backend`, its references drawn, and the restore of kept weights has finished. */
export async function waitReady(page: Page, backend: string): Promise<void> {
  expect(await pageBackend(page, READY_MS)).toBe(backend);
  await page.locator("[data-role=load-facts][data-where=worker]").waitFor({timeout: READY_MS});
  await page.locator("[data-role=panel-start][data-fingerprint]").waitFor({timeout: READY_MS});
  const s = await waitForKeepState(page, ["restored", "empty", "error"]);
  expect(s, (await page.locator(".dtkd-error[data-kind=keep]").textContent()) ?? "").not.toBe("error");
}

/** Clicks "Back to the shipped student" and returns the shipped student's fingerprint on the validation crop. */
export async function backToShipped(page: Page): Promise<string> {
  await page.click("button[name=shipped]");
  expect(await waitForKeepState(page, ["shipped", "error"])).toBe("shipped");
  const fp = (await fingerprintOf(page, "panel-start"))!;
  expect(fp).toMatch(/^[0-9a-f]{8}$/);
  return fp;
}

/** Opens the page with `hash`, waits until it is ready on `backend`, starts from the shipped student. */
export async function openFromShipped(page: Page, origin: string, hash: string, backend: string): Promise<string> {
  await page.goto(`${origin}/pages/distill#${hash}`, {waitUntil: "load"});
  await waitReady(page, backend);
  expect(await page.locator(".dtkd-error[data-kind=hash]").textContent()).toBe("");
  if ((await page.locator("[data-role=keep-status]").getAttribute("data-state")) === "restored") console.warn("distill check: an earlier visit had kept weights; cleared");
  return backToShipped(page);
}

/** Deletes the weights this check kept, so the next check in the profile starts clean. */
export async function leaveNothingKept(page: Page): Promise<void> {
  await backToShipped(page);
}

export async function trainStatus(page: Page): Promise<TrainStatus> {
  const d = await page.locator("[data-role=train-status]").evaluate((e: HTMLElement) => ({...e.dataset}));
  return {
    state: d.state ?? "",
    steps: Number(d.steps),
    lossFirst: Number(d.lossFirst),
    lossLast: Number(d.lossLast),
    probeFirst: Number(d.probeFirst),
    probeLast: Number(d.probeLast),
    tensors: (d.tensors ?? "").split(",").filter(Boolean).map((p) => p.split(":").map(Number) as [number, number]),
    lastT: Number(d.lastT),
    lastLambda: Number(d.lastLambda)
  };
}

/** What the page says of the run, for a failure message: the status line, the preparation and any error. */
async function statusText(page: Page): Promise<string> {
  return page.evaluate(() =>
    ["train-status", "prepare-facts"].map((r) => document.querySelector(`[data-role=${r}]`)?.textContent ?? "").join(" | ") +
    " | " + [...document.querySelectorAll(".dtkd-error")].map((e) => e.textContent).filter(Boolean).join(" | ")
  );
}

export async function waitForTrainState(page: Page, states: string[], timeout = READY_MS): Promise<void> {
  try {
    await page.waitForFunction((ss) => ss.includes(document.querySelector<HTMLElement>("[data-role=train-status]")?.dataset.state ?? ""), states, {timeout, polling: 100});
  } catch (e) {
    throw new Error(`train state never became ${states.join(" or ")} in ${timeout} ms; the page says: ${await statusText(page)}`, {cause: e});
  }
}

export async function waitForSteps(page: Page, n: number, timeout = READY_MS): Promise<void> {
  await page.waitForFunction((k) => Number(document.querySelector<HTMLElement>("[data-role=train-status]")?.dataset.steps) >= k, n, {timeout, polling: 250});
}
