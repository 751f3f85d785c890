// End-to-end check of the report page (src/pages/report.md), discovered by test/e2e.test.ts. It opens the page
// under the sub-path /dtkd-lab/ and checks it against the very result files the site served (intercepted from
// the page's own requests, so a run of the ablation grid finishing between the build and this check cannot make
// it disagree): every chart those files imply (src/lib/report/specs.ts reportCharts, computed here in Node)
// renders an SVG; the main and kurtosis tables hold exactly the numbers of eval.json, formatted by the same
// formatters, and so does the teacher-trend table of teacher-trend.json; the sections of absent inputs say so; the crops, when index.json exists, are all shown and decode;
// no console errors, no request off the site.
import type {Page, Response} from "playwright-core";
import {expect} from "vitest";
import {ablationView, compareCells} from "../../src/lib/report/ablations.js";
import {unpackCrops} from "../../src/lib/report/crops.js";
import {compareRows, mainTable} from "../../src/lib/report/main-table.js";
import {reportCharts} from "../../src/lib/report/specs.js";
import {comparisonTableData, kurtosisTableData, mainTableData, referenceTableData, teacherTrendTableData, type TableData} from "../../src/lib/report/tables.js";
import {checkAblationsJson, checkEvalJson, checkTeacherTrendJson, type ResultFile} from "../../src/lib/report/types.js";
import {pageBackend, trackProblems, type PageCheck} from "./support.js";

// Nothing on the page runs a model: loading, parsing and drawing about six vega charts takes seconds, but the
// backend badge starts TF.js (SwiftShader WebGPU), and the machine is shared with training jobs.
const READY_MS = 90_000;

const served = (page: Page, pattern: RegExp): Promise<Response> => page.waitForResponse((r) => pattern.test(new URL(r.url()).pathname), {timeout: READY_MS});

/** The text of every cell of a table, keyed "row|column" (row: the row's data-model, else its data-metric). */
async function tableTexts(page: Page, id: string): Promise<Record<string, string>> {
  return page.locator(`table[data-table="${id}"] tbody td`).evaluateAll((tds) =>
    Object.fromEntries(tds.map((td) => {
      const row = (td.parentElement as HTMLElement).dataset;
      return [`${row.model ?? row.metric ?? row.step}|${(td as HTMLElement).dataset.column}`, td.textContent ?? ""];
    })),
  );
}

function expectedTexts(t: TableData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of t.rows) for (const c of t.columns) {
    const cell = r.cells[c.key] ?? "";
    out[`${r.data?.model ?? r.data?.metric ?? r.data?.step}|${c.key}`] = typeof cell === "string" ? cell : cell.text;
  }
  return out;
}

export const check: PageCheck = {
  title: "Report page (under /dtkd-lab/): every chart renders, the tables equal the committed JSON, crops shown",
  timeoutMs: 240_000,
  async run(page, origin, shot) {
    const t0 = Date.now();
    const {expectNoProblems} = trackProblems(page, origin);
    const evalResp = served(page, /\/_file\/data\/results\/eval\.[0-9a-f]+\.json$/);
    const ablResp = served(page, /\/_file\/data\/results\/ablations\.[0-9a-f]+\.json$/);
    const cropsResp = served(page, /\/_file\/data\/results\/crops\.[0-9a-f]+\.bin$/);
    const trendResp = served(page, /\/_file\/data\/results\/teacher-trend\.[0-9a-f]+\.json$/);
    await page.goto(`${origin}/dtkd-lab/pages/report`, {waitUntil: "load"});
    const evalFile = (await (await evalResp).json()) as ResultFile<unknown>;
    const ablFile = (await (await ablResp).json()) as ResultFile<unknown>;
    const crops = unpackCrops(await (await cropsResp).body());
    const ev = evalFile.present ? checkEvalJson(evalFile.data) : null;
    const ab = ablFile.present ? checkAblationsJson(ablFile.data) : null;
    const trendFile = (await (await trendResp).json()) as ResultFile<unknown>;
    const trend = trendFile.present ? checkTeacherTrendJson(trendFile.data) : null;

    // Every chart the served files imply, each with an SVG inside, and no other chart.
    const ids = reportCharts(ev, ab).map((c) => c.id);
    await page.waitForFunction(
      (want) =>
        document.querySelectorAll(".dtkd-report-chart").length === want.length &&
        want.every((id) => document.querySelector(`.dtkd-report-chart[data-chart="${id}"] svg, .dtkd-report-chart[data-chart="${id}"] canvas`)),
      ids,
      {timeout: READY_MS},
    );
    expect(await page.locator(".dtkd-report-chart").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.chart))).toEqual(ids);
    for (const id of ids) expect(await page.locator(`.dtkd-report-chart[data-chart="${id}"] svg .mark-symbol path`).count(), `${id} draws points`).toBeGreaterThan(0);

    // The backend badge is shown, although nothing here needs a backend.
    expect(await pageBackend(page, READY_MS)).toBeTruthy();
    expect(await page.locator(".dtkd-error[data-kind=inputs]").textContent()).toBe("");

    if (ev) {
      const t = mainTable(ev);
      expect(await tableTexts(page, "main")).toEqual(expectedTexts(mainTableData(t)));
      expect(await tableTexts(page, "kurtosis")).toEqual(expectedTexts(kurtosisTableData(t)));
      const summary = (await page.locator("[data-role=main-summary]").textContent()) ?? "";
      if (t.missing.length) expect(summary).toContain(`no row for: ${t.missing.map((m) => `${m.short} ("${m.key}")`).join(", ")}`);
      else expect(summary).not.toContain("no row for");
      const d = t.rows.find((r) => r.key === "distilled");
      const s = t.rows.find((r) => r.key === "standalone");
      expect(await page.locator("table[data-table=compare-test]").count()).toBe(d && s ? 1 : 0);
      if (d && s) expect(await tableTexts(page, "compare-test")).toEqual(expectedTexts(comparisonTableData(compareRows(d, s), "distilled", "standalone")));
      expect(await page.locator("table[data-table=efficiency] tbody tr").count()).toBe(t.rows.length);
    } else {
      await expect.poll(() => page.locator("[data-role=main-absent]").count()).toBe(1);
    }

    if (ab) {
      const v = ablationView(ab);
      expect(await page.locator("[data-role=ablation-summary] li").first().textContent()).toBe(
        `${v.finishedRuns} of ${v.plannedRuns} planned runs have finished (${v.seedsPlanned} seed${v.seedsPlanned === 1 ? "" : "s"} per cell).`,
      );
      const cmp = compareCells(ab, "dtkd-default", "recon-only");
      expect(await page.locator("table[data-table=compare-val]").count()).toBe(cmp ? 1 : 0);
      if (cmp) expect(await tableTexts(page, "compare-val")).toEqual(expectedTexts(comparisonTableData(cmp, "dtkd-default", "recon-only")));
      expect(await tableTexts(page, "ablation-references")).toEqual(expectedTexts(referenceTableData(ab)));
    } else {
      expect(await page.locator("[data-role=ablation-absent]").count()).toBe(1);
    }

    if (trend && trend.reads.length) {
      expect(await tableTexts(page, "teacher-trend")).toEqual(expectedTexts(teacherTrendTableData(trend)));
      expect(await page.locator("[data-role=teacher-trend-truth]").textContent()).toContain(`Met at any read: ${trend.reads.some((r) => r.verdict.met) ? "yes" : "no"}.`);
    } else {
      expect(await page.locator("[data-role=teacher-trend-absent]").count()).toBe(1);
    }

    if (crops.present) {
      const want = crops.index!.crops.reduce((s, c) => s + crops.index!.methods.filter((m) => c.files[m.id]).length, 0);
      const imgs = page.locator(".dtkd-report-crop-panel img");
      await expect.poll(() => imgs.evaluateAll((is) => is.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).length), {timeout: READY_MS}).toBe(want);
      expect(await imgs.count()).toBe(want);
    } else {
      expect(await page.locator("[data-role=crops-absent]").count()).toBe(1);
    }

    await shot("report");
    await expectNoProblems();
    console.log(`report page check: ${ids.length} charts, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  },
};
