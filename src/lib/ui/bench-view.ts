// Tables of the benchmark page: the visitor's own measurements, backend by backend (unavailable ones with the
// reason), and the figures the lab recorded in Node, each row with its protocol.
import type {LatencyRecord} from "../eval/latency.js";
import type {BenchResult} from "./bench-engine.js";
import {formatMs} from "./model-compare.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

function table(head: string[], role: string): {table: HTMLTableElement; body: HTMLTableSectionElement} {
  const t = el("table");
  t.dataset.role = role;
  const tr = el("tr");
  for (const h of head) tr.append(el("th", h));
  t.append(el("thead"));
  t.tHead!.append(tr);
  const body = el("tbody");
  t.append(body);
  return {table: t, body};
}

function row(body: HTMLTableSectionElement, cells: string[], data: Record<string, string>): HTMLTableRowElement {
  const tr = el("tr");
  for (const c of cells) tr.append(el("td", c));
  Object.assign(tr.dataset, data);
  body.append(tr);
  return tr;
}

const latencyProtocol = (r: LatencyRecord, runs: number) =>
  `${r.size}; uniform-noise input (seed 0); ${r.warmup} warm-up, median of ${runs} timed run${runs === 1 ? "" : "s"}; wall time, upload and read-back included`;

/** The visitor's results; `add` appends one backend's rows. */
export function resultsTable(): {element: HTMLTableElement; add(r: BenchResult): void; note(backend: string, text: string): void; clear(): void} {
  const {table: t, body} = table(["backend", "measurement", "this machine", "all runs", "protocol"], "bench-results");
  return {
    element: t,
    clear() {
      body.replaceChildren();
    },
    note(backend, text) {
      row(body, [backend, "-", text, "", ""], {backend, kind: "note"});
    },
    add(r) {
      if (!r.available) {
        row(body, [r.backend, "unavailable", "-", "", r.reason ?? "did not start"], {backend: r.backend, kind: "unavailable"});
        return;
      }
      for (const [model, rec] of Object.entries(r.latency)) {
        if (!rec) continue;
        row(
          body,
          [r.backend, `${model} latency`, `${formatMs(rec.median)} median`, rec.runsMs.map((x) => formatMs(x)).join(", "), latencyProtocol(rec, rec.runsMs.length)],
          {backend: r.backend, kind: `${model}-latency`, value: String(rec.median)}
        );
      }
      if (r.trainError) row(body, [r.backend, "student training", "failed", "", r.trainError], {backend: r.backend, kind: "train-failed"});
      if (r.train) {
        row(
          body,
          [r.backend, "student training", `${r.train.stepsPerSecond.toFixed(2)} steps/s`, r.train.stepsMs.map((x) => formatMs(x)).join(", "), `${r.train.size}; ${r.train.warmup} warm-up step, mean over ${r.train.stepsMs.length} timed steps; ${r.train.what}`],
          {backend: r.backend, kind: "train", value: String(r.train.stepsPerSecond)}
        );
      }
    }
  };
}

export interface LabFigures {
  source: string;
  commit: string;
  createdAt: string;
  machine: string;
  loadAverage1mAtStart: number | null;
  latencyProtocol: {plans: Record<string, {lrSize: number; warmup: number; runs: number}>; note: string};
  models: Record<string, {label: string; latencyMs: Record<string, LatencyRecord>}>;
  studentTraining: {source: string; id: string; steps: number; wallSeconds: number; batch: number; hrPatch: number; backend: string; machine: string; loss: string};
}

/** The lab's Node figures: latency per model and backend (eval.json) and the student's training speed (model card). */
export function labTable(f: LabFigures): HTMLElement {
  const root = el("div");
  const {table: t, body} = table(["model", "backend (Node)", "median", "mean", "CPU-time median", "protocol"], "lab-figures");
  for (const [id, m] of Object.entries(f.models)) {
    for (const [backend, r] of Object.entries(m.latencyMs)) {
      row(body, [m.label, backend, formatMs(r.median), formatMs(r.mean), r.cpuMedian === null ? "-" : formatMs(r.cpuMedian), latencyProtocol(r, r.runsMs.length)], {
        model: id,
        backend
      });
    }
  }
  const s = f.studentTraining;
  row(
    body,
    [
      `${s.id} training`,
      s.backend,
      `${(s.steps / s.wallSeconds).toFixed(2)} steps/s`,
      "",
      "",
      `${s.steps.toLocaleString("en-US")} steps in ${(s.wallSeconds / 3600).toFixed(2)} h, batch ${s.batch} of ${s.hrPatch}x${s.hrPatch} HR patches, loss ${s.loss}; averaged over the whole run (validation and checkpoints included); ${s.machine}`
    ],
    {model: "student-training", backend: s.backend}
  );
  const facts = el(
    "p",
    `From ${f.source} (commit ${f.commit}, ${f.createdAt.slice(0, 16).replace("T", " ")} UTC), ${f.machine}; 1-minute load average at the start ${f.loadAverage1mAtStart ?? "unknown"}. ` +
      `Protocol: ${f.latencyProtocol.note}`
  );
  facts.className = "dtkd-facts";
  root.append(t, facts);
  return root;
}
