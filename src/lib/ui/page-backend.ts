// What each page's first block runs: start a TF.js backend once (honouring `#backend=NAME` in the URL) and
// build the badge that shows the choice.
import {BackendError, chooseBackend, overrideFromHash, type BackendReport} from "../backend.js";
import {backendBadge} from "./backend-badge.js";
import {vendorWasmPaths} from "./vendor.js";

export interface PageBackend {
  report: BackendReport;
  badge: HTMLElement;
}

/**
 * Chooses the backend for this page. An unknown name in `#backend=` is refused with a note in the badge and
 * the normal order is used, so a mistyped link still opens a working page.
 */
export async function pageBackend(hash: string = location.hash): Promise<PageBackend> {
  const wasmPaths = vendorWasmPaths();
  const notes: string[] = [];
  let override: string | null = overrideFromHash(hash);
  let report: BackendReport;
  try {
    report = await chooseBackend({override, wasmPaths});
  } catch (e) {
    if (!(e instanceof BackendError) || override === null) throw e;
    notes.push(`${e.message} Using the default order.`);
    override = null;
    report = await chooseBackend({override, wasmPaths});
  }
  if (report.override !== null && report.override !== report.chosen) {
    notes.push(`#backend=${report.override} could not start; fell back to ${report.chosen}`);
  }
  return {report, badge: backendBadge(report, notes)};
}
