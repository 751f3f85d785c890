// The small line every page shows: which TF.js backend runs the page and why the better ones were skipped.
import type {BackendReport} from "../backend.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

/**
 * A badge naming the chosen backend (`data-backend` carries it for tests), each skipped backend with its
 * reason, and how to override the choice. `notes` are extra lines, e.g. a refused override.
 */
export function backendBadge(report: BackendReport, notes: string[] = []): HTMLElement {
  const box = el("div", undefined, "dtkd-backend");
  box.dataset.backend = report.chosen;
  box.setAttribute("role", "status");
  const head = el("span", "TF.js backend: ");
  head.append(el("strong", report.chosen));
  if (report.override === report.chosen) head.append(" (chosen by #backend in the URL)");
  box.append(head);
  for (const t of report.tried) {
    if (t.ok) continue;
    box.append(el("span", `skipped ${t.backend}: ${t.reason ?? "unknown reason"}`, "dtkd-skipped"));
  }
  for (const n of notes) box.append(el("span", n, "dtkd-skipped"));
  box.append(el("span", "choose another with #backend=webgpu|webgl|wasm|cpu in the URL", "dtkd-skipped"));
  box.title = `order tried: ${report.tried.map((t) => t.backend).join(" → ")} (${report.environment})`;
  return box;
}
