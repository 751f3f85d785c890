// Shared by the page checks in test/e2e-pages/: the problem tracker every check attaches to its browser page, and
// the shape of a self-registering page check (files named *.page-check.ts, found by test/e2e.test.ts).
import type {Page} from "playwright-core";
import {expect} from "vitest";

/** A page check that test/e2e.test.ts discovers: one `it(title)` with its own timeout. */
export interface PageCheck {
  /** The test's title, e.g. "Report page: every chart renders from the committed results". */
  title: string;
  /** The test's timeout in ms (SwiftShader WebGPU on a loaded 2-core machine is slow: measure, then double). */
  timeoutMs: number;
  /** Navigates `page` itself (origin has no trailing slash; pages live at `${origin}/pages/...` and under
   *  `${origin}/dtkd-lab/pages/...`), checks, and saves screenshots with `shot`. */
  run(page: Page, origin: string, shot: (name: string) => Promise<void>): Promise<void>;
}

/**
 * Records what a visitor must never see on `page`: console errors, page errors, HTTP errors, failed requests
 * (aborted navigations excepted: checks navigate away from loaded pages) and any request off the site's host.
 * Call `expectNoProblems` at the end of a check.
 */
export function trackProblems(page: Page, origin: string): {problems: string[]; expectNoProblems: () => Promise<void>} {
  const problems: string[] = [];
  const site = new URL(origin).host;
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`);
  });
  page.on("request", (r) => {
    const u = new URL(r.url());
    if ((u.protocol === "http:" || u.protocol === "https:") && u.host !== site) problems.push(`request off the site: ${r.url()}`);
  });
  return {
    problems,
    async expectNoProblems() {
      expect(await page.locator(".observablehq--error").count(), "observablehq--error in the live DOM").toBe(0);
      expect(problems).toEqual([]);
    }
  };
}

/** Waits for the backend badge every page shows and returns the backend it names. */
export async function pageBackend(page: Page, timeoutMs: number): Promise<string | undefined> {
  const badge = page.locator(".dtkd-backend[data-backend]");
  await badge.first().waitFor({timeout: timeoutMs});
  return (await badge.first().getAttribute("data-backend")) ?? undefined;
}
