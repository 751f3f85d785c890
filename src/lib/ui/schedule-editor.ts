// The schedule-curve editor of the live distillation page: lambda(t) over training progress t, drawn with d3.
// Choose a family (constant, linear, cosine, exp, sigmoid, step: schedule.ts SCHEDULE_KINDS) and set its numbers,
// or choose "piecewise" and drag the control points (double-click the plot to add one, double-click a point to
// remove it; at least 2). The text field shows the URL form (formatSchedule) and takes one typed in.
// An Observable Framework view: `value` is a normalised Schedule; one bubbling "input" event per change (drags
// emit on release, so a run is not flooded with updates). `setProgress(t)` marks where training is.
import {axisBottom, axisLeft, drag, line, pointer, scaleLinear, select} from "d3";
import {
  formatSchedule,
  lambdaAt,
  MAX_POINTS,
  normalizeSchedule,
  parseSchedule,
  sampleSchedule,
  SCHEDULE_KINDS,
  type Schedule,
  type ScheduleKind
} from "../schedule.js";
import {numberInput, type ValueElement} from "./controls.js";

export interface ScheduleEditor extends ValueElement<Schedule> {
  /** Draws a vertical marker at training progress t (null: none). */
  setProgress(t: number | null): void;
}

const W = 420;
const H = 190;
const M = {top: 12, right: 14, bottom: 34, left: 44};
/** Largest lambda the plot and the drag allow (a URL may carry more; the plot then grows to show it). */
const DRAG_MAX = 4;

/** A family's curve as piecewise-linear control points, so switching to "piecewise" starts from what was shown. */
export function toPiecewise(s: Schedule): Schedule {
  const n = normalizeSchedule(s);
  if (n.kind === "piecewise") return n;
  const ts = n.kind === "constant" ? [0, 1] : n.kind === "step" ? [0, Math.max(0, n.ramp - 1e-3), n.ramp, 1] : [0, n.ramp / 4, n.ramp / 2, (3 * n.ramp) / 4, n.ramp, 1];
  const uniq = [...new Set(ts.map((t) => Math.round(t * 1000) / 1000))].sort((a, b) => a - b);
  return normalizeSchedule({kind: "piecewise", start: 0, max: 0, ramp: 1, points: uniq.map((t) => [t, Math.round(lambdaAt(n, t) * 1000) / 1000])});
}

/** Default numbers of a family when switching to it from another (keeps start and max where they apply). */
function switchKind(s: Schedule, kind: ScheduleKind): Schedule {
  if (kind === "piecewise") return toPiecewise(s);
  const n = normalizeSchedule(s);
  const start = n.start;
  const max = n.kind === "constant" ? Math.max(1, n.start) : n.max;
  const ramp = n.kind === "piecewise" || n.kind === "constant" ? 0.5 : n.ramp;
  if (kind === "constant") return normalizeSchedule({kind, start: max, max, ramp: 1});
  return normalizeSchedule({kind, start, max, ramp});
}

function numberField(label: string, name: string, step: string): {label: HTMLLabelElement; input: HTMLInputElement} {
  return numberInput(label, name, step, {width: "5.5em"});
}

export function scheduleEditor(initial: Schedule): ScheduleEditor {
  let value = normalizeSchedule(initial);
  let progress: number | null = null;
  const root = document.createElement("div");
  root.className = "dtkd-schedule-editor";

  const controls = document.createElement("div");
  controls.className = "dtkd-controls";
  const kindLabel = document.createElement("label");
  kindLabel.append("lambda(t) family");
  const kindSelect = document.createElement("select");
  kindSelect.name = "schedule-kind";
  for (const k of SCHEDULE_KINDS) {
    const o = document.createElement("option");
    o.value = k;
    o.textContent = k === "piecewise" ? "piecewise (drag points)" : k;
    kindSelect.append(o);
  }
  kindLabel.append(kindSelect);
  const fStart = numberField("start", "schedule-start", "0.05");
  const fMax = numberField("max", "schedule-max", "0.05");
  const fRamp = numberField("ramp (fraction)", "schedule-ramp", "0.05");
  const fSharp = numberField("sharpness", "schedule-sharpness", "0.5");
  const textLabel = document.createElement("label");
  textLabel.append("as text");
  const text = document.createElement("input");
  text.name = "schedule-text";
  text.size = 28;
  textLabel.append(text);
  controls.append(kindLabel, fStart.label, fMax.label, fRamp.label, fSharp.label, textLabel);
  const message = document.createElement("div");
  message.className = "dtkd-error";
  message.dataset.kind = "schedule";
  const help = document.createElement("p");
  help.className = "dtkd-facts";

  const svg = select(root).append("svg").attr("width", W).attr("height", H).attr("data-role", "schedule-plot").style("touch-action", "none");
  const plot = svg.append("g").attr("transform", `translate(${M.left},${M.top})`);
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const x = scaleLinear().domain([0, 1]).range([0, iw]);
  const y = scaleLinear().range([ih, 0]);
  const gx = plot.append("g").attr("transform", `translate(0,${ih})`);
  const gy = plot.append("g");
  plot.append("text").attr("x", iw / 2).attr("y", ih + 30).attr("text-anchor", "middle").attr("font-size", 11).attr("fill", "currentColor").text("training progress t = step / steps");
  plot.append("text").attr("transform", "rotate(-90)").attr("x", -ih / 2).attr("y", -32).attr("text-anchor", "middle").attr("font-size", 11).attr("fill", "currentColor").text("lambda(t)");
  const hit = plot.append("rect").attr("width", iw).attr("height", ih).attr("fill", "transparent");
  const path = plot.append("path").attr("fill", "none").attr("stroke", "var(--theme-foreground-focus, steelblue)").attr("stroke-width", 2);
  const marker = plot.append("line").attr("y1", 0).attr("y2", ih).attr("stroke", "var(--theme-foreground-muted, grey)").attr("stroke-dasharray", "3 3");
  const points = plot.append("g");

  const yMax = () => Math.max(DRAG_MAX, ...(value.points ?? []).map((p) => p[1]), value.start, value.max) * 1.05;

  function emit(): void {
    root.dispatchEvent(new Event("input", {bubbles: true}));
  }

  function set(s: Schedule, fire: boolean): void {
    value = normalizeSchedule(s);
    message.textContent = "";
    render();
    if (fire) emit();
  }

  function render(): void {
    kindSelect.value = value.kind;
    const pw = value.kind === "piecewise";
    const c = value.kind === "constant";
    fStart.label.style.display = pw ? "none" : "";
    fStart.label.firstChild!.textContent = c ? "value" : "start";
    fMax.label.style.display = pw || c ? "none" : "";
    fRamp.label.style.display = pw || c ? "none" : "";
    fSharp.label.style.display = value.kind === "exp" || value.kind === "sigmoid" ? "" : "none";
    fStart.input.value = String(value.start);
    fMax.input.value = String(value.max);
    fRamp.input.value = String(value.ramp);
    fSharp.input.value = value.sharpness === undefined ? "" : String(value.sharpness);
    fSharp.input.placeholder = value.kind === "exp" ? "3" : "10";
    if (document.activeElement !== text) text.value = formatSchedule(value);
    root.dataset.schedule = formatSchedule(value);
    help.textContent = pw
      ? "Drag a point to move it; double-click the plot to add a point, double-click a point to remove it. lambda is held flat before the first and after the last point."
      : value.kind === "step"
        ? "step: lambda is start until t = ramp, then max."
        : c
          ? "constant: the same lambda throughout."
          : `${value.kind}: from start at t = 0 to max at t = ramp, then max.`;
    y.domain([0, yMax()]);
    gx.call(axisBottom(x).ticks(5));
    gy.call(axisLeft(y).ticks(5));
    const samples = value.kind === "step" ? stepSamples(value) : sampleSchedule(value, 201);
    path.attr("d", line<{t: number; lambda: number}>().x((d) => x(d.t)).y((d) => y(d.lambda))(samples));
    marker.attr("display", progress === null ? "none" : null).attr("x1", x(progress ?? 0)).attr("x2", x(progress ?? 0));
    const pts = pw ? value.points!.map((p, i) => ({t: p[0], v: p[1], i})) : [];
    points
      .selectAll<SVGCircleElement, {t: number; v: number; i: number}>("circle")
      .data(pts)
      .join("circle")
      .attr("r", 6)
      .attr("cx", (d) => x(d.t))
      .attr("cy", (d) => y(d.v))
      .attr("fill", "var(--theme-background, white)")
      .attr("stroke", "var(--theme-foreground-focus, steelblue)")
      .attr("stroke-width", 2)
      .attr("data-index", (d) => d.i)
      .style("cursor", "grab")
      .call(
        drag<SVGCircleElement, {t: number; v: number; i: number}>()
          .on("drag", (event, d) => {
            const pts2 = value.points!.map((p) => [...p] as [number, number]);
            const lo = d.i === 0 ? 0 : pts2[d.i - 1][0] + 0.01;
            const hi = d.i === pts2.length - 1 ? 1 : pts2[d.i + 1][0] - 0.01;
            const t = Math.round(Math.min(hi, Math.max(lo, x.invert(event.x))) * 1000) / 1000;
            const v = Math.round(Math.min(y.domain()[1], Math.max(0, y.invert(event.y))) * 1000) / 1000;
            pts2[d.i] = [t, v];
            value = normalizeSchedule({...value, points: pts2});
            render();
          })
          .on("end", () => emit())
      )
      .on("dblclick", (event: MouseEvent, d) => {
        event.stopPropagation();
        if (value.points!.length <= 2) return;
        set({...value, points: value.points!.filter((_, i) => i !== d.i)}, true);
      });
  }

  hit.on("dblclick", (event: MouseEvent) => {
    if (value.kind !== "piecewise" || value.points!.length >= MAX_POINTS) return;
    const [px, py] = pointer(event, plot.node());
    const t = Math.round(x.invert(px) * 1000) / 1000;
    if (value.points!.some((p) => Math.abs(p[0] - t) < 0.01)) return;
    const v = Math.round(Math.max(0, y.invert(py)) * 1000) / 1000;
    set({...value, points: [...value.points!, [t, v] as [number, number]].sort((a, b) => a[0] - b[0])}, true);
  });

  kindSelect.addEventListener("change", () => set(switchKind(value, kindSelect.value as ScheduleKind), true));
  const fromFields = () => {
    const num = (i: HTMLInputElement) => Number(i.value);
    const s: Schedule =
      value.kind === "constant"
        ? {kind: "constant", start: num(fStart.input), max: num(fStart.input), ramp: 1}
        : {kind: value.kind, start: num(fStart.input), max: num(fMax.input), ramp: num(fRamp.input)};
    if ((value.kind === "exp" || value.kind === "sigmoid") && fSharp.input.value !== "") s.sharpness = num(fSharp.input);
    try {
      set(s, true);
    } catch (e) {
      message.textContent = `Not applied: ${(e as Error).message}`;
    }
  };
  for (const f of [fStart, fMax, fRamp, fSharp]) f.input.addEventListener("change", fromFields);
  text.addEventListener("change", () => {
    try {
      set(parseSchedule(text.value.trim()), true);
    } catch (e) {
      message.textContent = `Not applied: ${(e as Error).message}`;
    }
  });

  root.prepend(controls);
  root.append(help, message);
  render();
  const el = root as unknown as ScheduleEditor;
  Object.defineProperty(el, "value", {
    get: () => value,
    set: (s: Schedule) => set(s, false),
    configurable: true
  });
  el.setProgress = (t) => {
    progress = t;
    marker.attr("display", t === null ? "none" : null).attr("x1", x(t ?? 0)).attr("x2", x(t ?? 0));
  };
  return el;
}

/** A step schedule drawn with a vertical edge (sampling would draw a slope across one sample interval). */
function stepSamples(s: Schedule): {t: number; lambda: number}[] {
  return [
    {t: 0, lambda: s.start},
    {t: s.ramp, lambda: s.start},
    {t: s.ramp, lambda: s.max},
    {t: 1, lambda: s.max}
  ];
}
