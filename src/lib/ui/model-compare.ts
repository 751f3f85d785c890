// The models page's side-by-side view: LR, bicubic, student, teacher and ground truth for one crop, each with
// the time it took on this machine and backend and, for the super-resolved images, PSNR-Y and SSIM-Y against the
// ground truth; a progress line (with a running clock) while a model works; and the shipped models' cards.
import type {ImageF32} from "../degrade.js";
import type {ModelCard} from "../models/shipped.js";
import {imageCanvas} from "./degradation-view.js";
import type {InferEvent, PanelName, PanelResult, TeacherMode} from "./infer-engine.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

/** "812 ms" below a second, "12.4 s" above. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  return ms < 1000 ? `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export interface CompareOptions {
  /** Tag naming what this view shows (data-view), so tests and people can tell a fresh result from a stale one. */
  view: string;
  /** The ground-truth crop (drawn at once). */
  gt: ImageF32;
  /** Where the crop lies and in which photograph, for the ground truth's caption. */
  cropText: string;
  preset: string;
  degradeSeed: number;
  mode: TeacherMode;
  seed: number;
  /** Ids of the shipped models, for the captions. */
  studentId: string;
  teacherId: string;
}

export interface CompareView {
  element: HTMLElement;
  /** Feeds one event from the runner. */
  update(e: InferEvent): void;
  /** The run ended (state "done"); panels still waiting are marked as not computed. */
  finish(): void;
  /** The whole run failed: the message is shown, the state becomes "failed". */
  fail(message: string): void;
  /** Stops the progress clock. */
  dispose(): void;
}

const ORDER: readonly (PanelName | "gt")[] = ["lr", "bicubic", "student", "teacher", "gt"];

export function compareView(opts: CompareOptions): CompareView {
  const root = el("div", undefined, "dtkd-compare");
  root.dataset.role = "compare";
  root.dataset.view = opts.view;
  root.dataset.state = "running";
  const status = el("p", "", "dtkd-facts dtkd-progress");
  status.dataset.role = "progress";
  status.setAttribute("aria-live", "polite");
  const row = el("div", undefined, "dtkd-compare-row");
  const error = el("div", "", "dtkd-error");
  error.dataset.kind = "run";
  error.setAttribute("role", "alert");
  root.append(status, row, error);

  const titles: Record<PanelName | "gt", string> = {
    lr: "LR input",
    bicubic: "Bicubic ×4",
    student: `Student (${opts.studentId})`,
    teacher: `Teacher (${opts.teacherId})`,
    gt: "Ground truth"
  };
  const figures = new Map<PanelName | "gt", HTMLElement>();
  for (const name of ORDER) {
    const f = el("figure", undefined, "dtkd-panel");
    f.dataset.panel = name;
    const slot = el("div", "waiting…", "dtkd-panel-slot");
    f.append(el("figcaption", titles[name], "dtkd-panel-title"), slot);
    row.append(f);
    figures.set(name, f);
  }
  const place = (name: PanelName | "gt", image: ImageF32, lines: string[]) => {
    const f = figures.get(name)!;
    const canvas = imageCanvas(image, image.width);
    canvas.dataset.role = "output";
    // Panels share the row's width (CSS grid); the canvas follows its panel, still nearest-neighbour.
    canvas.style.width = "100%";
    canvas.style.height = "auto";
    f.querySelector(".dtkd-panel-slot")!.replaceWith(canvas);
    for (const line of lines) f.append(el("div", line, "dtkd-panel-line"));
  };
  place("gt", opts.gt, [opts.cropText]);
  figures.get("gt")!.dataset.state = "done";

  // The clock: the page shows how long the current wait has lasted, so a long teacher run never looks stuck.
  let phase: {panel: PanelName; text: string; since: number} | null = null;
  const tick = () => {
    if (!phase) return;
    const s = (performance.now() - phase.since) / 1000;
    status.textContent = s >= 1 ? `${phase.text} (${s.toFixed(0)} s)` : `${phase.text}…`;
  };
  const clock = setInterval(tick, 500);
  const progress = (panel: PanelName, text: string) => {
    if (phase?.panel !== panel) phase = {panel, text, since: performance.now()};
    else phase.text = text;
    status.dataset.panel = panel;
    tick();
  };
  const stopClock = () => {
    clearInterval(clock);
    phase = null;
  };

  const lines = (r: PanelResult): string[] => {
    const out: string[] = [];
    const where = r.ranOn === "JavaScript" ? "in JavaScript" : `on ${r.ranOn}`;
    if (r.panel === "lr") {
      out.push(`${r.image.width} × ${r.image.height} px: degrade(crop, ${opts.preset}, seed ${opts.degradeSeed}) in ${formatMs(r.ms)} ${where}; shown enlarged ×4 (nearest neighbour)`);
    } else {
      const what =
        r.panel === "bicubic"
          ? "MATLAB imresize ×4 of the LR"
          : r.panel === "teacher"
            ? `${opts.mode === "ddim" ? "deterministic" : "stochastic"} sampler, seed ${opts.seed}`
            : "one forward pass";
      const first = r.panel === "teacher" ? "first run at this size with this sampler" : "first run at this size";
      const cold = r.cold ? ` (${first}: includes ${r.ranOn === "webgpu" || r.ranOn === "webgl" ? "shader compilation" : "warm-up"})` : "";
      out.push(`${what}: ${formatMs(r.ms)} ${where}${cold}${r.reused ? ", computed in an earlier run with this crop and degradation" : ""}`);
      if (r.metrics) out.push(`PSNR-Y ${r.metrics.psnrY.toFixed(2)} dB · SSIM-Y ${r.metrics.ssimY.toFixed(4)}`);
      else if (r.metricsError) out.push(`metrics failed: ${r.metricsError}`);
    }
    return out;
  };

  const errors: string[] = [];
  return {
    element: root,
    update(e) {
      if (e.type === "progress") {
        progress(e.panel, e.text);
        return;
      }
      if (e.type === "panel-error") {
        const f = figures.get(e.panel)!;
        f.dataset.state = "failed";
        f.querySelector(".dtkd-panel-slot")?.replaceChildren(`could not run: ${e.error}`);
        errors.push(`${titles[e.panel]} could not run: ${e.error}`);
        error.textContent = errors.join("\n");
        return;
      }
      const r = e.result;
      const f = figures.get(r.panel)!;
      if (f.dataset.state === "done") return;
      place(r.panel, r.image, lines(r));
      Object.assign(f.dataset, {
        state: "done",
        ms: String(r.ms),
        ranOn: r.ranOn,
        cold: String(r.cold),
        reused: String(r.reused),
        fingerprint: r.fingerprint
      });
      if (r.metrics) Object.assign(f.dataset, {psnrY: String(r.metrics.psnrY), ssimY: String(r.metrics.ssimY)});
      if (phase?.panel === r.panel) {
        phase = null;
        status.textContent = "";
      }
    },
    finish() {
      stopClock();
      status.textContent = "";
      for (const f of figures.values()) {
        if (f.dataset.state) continue;
        f.dataset.state = "missing";
        f.querySelector(".dtkd-panel-slot")?.replaceChildren("not computed");
      }
      root.dataset.state = "done";
    },
    fail(message) {
      stopClock();
      status.textContent = "";
      errors.push(message);
      error.textContent = errors.join("\n");
      root.dataset.state = "failed";
    },
    dispose: stopClock
  };
}

/** The shipped models' cards side by side: what they are and how they were trained, as their files record it. */
export function modelCards(cards: readonly ModelCard[]): HTMLElement {
  const table = el("table", undefined, "dtkd-cards");
  table.dataset.role = "model-cards";
  const head = el("tr");
  head.append(el("th", ""));
  for (const c of cards) head.append(el("th", c.id));
  table.append(head);
  const int = (n: number) => n.toLocaleString("en-US");
  const rows: [string, (c: ModelCard) => string, string][] = [
    ["Architecture", (c) => c.architecture, "architecture"],
    ["Parameters", (c) => int(c.params), "params"],
    ["FLOPs per output pixel", (c) => `${int(c.flopsPerOutputPixel)} (${c.flopsNote})`, "flops"],
    ["Training steps", (c) => `${int(c.training.steps)} steps of batch ${c.training.batch}`, "steps"],
    ["Training wall time", (c) => `${(c.training.wallSeconds / 3600).toFixed(2)} h on ${c.training.machine}, TF.js ${c.training.backend}`, "wall"],
    ["Training loss", (c) => c.training.loss, "loss"],
    ["Training data", (c) => `${c.training.data.hrPatch} × ${c.training.data.hrPatch} HR patches, degradation preset ${c.training.data.preset}; ${c.training.data.sources.map((s) => `${s.source} (${s.images} photographs, from step ${s.fromStep})`).join("; ")}`, "data"],
    ["Weights", (c) => `EMA (decay ${c.training.emaDecay}), seed ${c.training.seed}; exported ${c.exportedAt.slice(0, 10)} at commit ${c.commit}`, "weights"]
  ];
  for (const [label, value, key] of rows) {
    const tr = el("tr");
    tr.dataset.fact = key;
    tr.append(el("th", label));
    for (const c of cards) tr.append(el("td", value(c)));
    table.append(tr);
  }
  return table;
}
