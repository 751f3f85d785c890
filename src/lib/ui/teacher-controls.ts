// The teacher page's schedule editor as one Observable Framework view: kappa, p and T of the ResShift schedule,
// and whether the samples use them ("sample with edited schedule", off by default: the shipped teacher was
// trained with its own values, which a reset button restores). The chart follows the edits either way.
import {makeSchedule, type ResShiftConfig} from "../diffusion.js";
import {messageBox, numberInput, type ValueElement} from "./controls.js";

export interface ScheduleEdit {
  T: number;
  kappa: number;
  p: number;
  /** Sample with these values instead of the trained ones. */
  edited: boolean;
}

/** Ranges the editor accepts (and the URL hash, see the page's schema). */
export const SCHEDULE_LIMITS = {T: {min: 1, max: 32}, kappa: {min: 0.001, max: 4}, p: {min: 0.05, max: 4}} as const;

function numberField(label: string, name: string, value: number, step: string, min: number, max: number) {
  return numberInput(label, name, step, {value, min, max});
}

export function scheduleEditor(initial: ScheduleEdit, trained: ResShiftConfig): ValueElement<ScheduleEdit> {
  let value: ScheduleEdit = {...initial};
  const root = document.createElement("div");
  root.dataset.role = "schedule-editor";
  const emit = () => root.dispatchEvent(new Event("input", {bubbles: true}));
  const errors = messageBox("schedule");
  const T = numberField("T (steps)", "T", value.T, "1", SCHEDULE_LIMITS.T.min, SCHEDULE_LIMITS.T.max);
  const kappa = numberField("κ (noise scale)", "kappa", value.kappa, "0.01", SCHEDULE_LIMITS.kappa.min, SCHEDULE_LIMITS.kappa.max);
  const p = numberField("p (schedule shape)", "p", value.p, "0.05", SCHEDULE_LIMITS.p.min, SCHEDULE_LIMITS.p.max);
  const toggleLabel = document.createElement("label");
  toggleLabel.style.flexDirection = "row";
  toggleLabel.style.alignItems = "center";
  const toggle = document.createElement("input");
  toggle.type = "checkbox";
  toggle.name = "edited";
  toggle.checked = value.edited;
  toggleLabel.append(toggle, " sample with edited schedule (outside the teacher's training distribution)");
  const reset = document.createElement("button");
  reset.type = "button";
  reset.name = "reset-schedule";
  reset.textContent = `reset to the trained values (T ${trained.T}, κ ${trained.kappa}, p ${trained.p})`;
  const row1 = document.createElement("div");
  row1.className = "dtkd-controls";
  row1.append(T.label, kappa.label, p.label, reset);
  const row2 = document.createElement("div");
  row2.className = "dtkd-controls";
  row2.append(toggleLabel);
  root.append(row1, row2, errors);

  const show = () => {
    T.input.value = String(value.T);
    kappa.input.value = String(value.kappa);
    p.input.value = String(value.p);
    toggle.checked = value.edited;
  };
  const update = (patch: Partial<ScheduleEdit>) => {
    const next = {...value, ...patch};
    if (next.T === value.T && next.kappa === value.kappa && next.p === value.p && next.edited === value.edited) return;
    value = next;
    emit();
  };
  const fields: [HTMLInputElement, "T" | "kappa" | "p"][] = [
    [T.input, "T"],
    [kappa.input, "kappa"],
    [p.input, "p"]
  ];
  for (const [input, key] of fields) {
    input.addEventListener("input", (event) => event.stopPropagation());
    input.addEventListener("change", (event) => {
      event.stopPropagation();
      const text = input.value.trim();
      const v = Number(text);
      const {min, max} = SCHEDULE_LIMITS[key];
      const ok = text !== "" && Number.isFinite(v) && v >= min && v <= max && (key !== "T" || Number.isInteger(v));
      let problem = ok ? "" : `${key} "${text}" refused: use ${key === "T" ? "a whole number" : "a number"} from ${min} to ${max}.`;
      if (ok) {
        try {
          makeSchedule({...trained, T: value.T, kappa: value.kappa, p: value.p, [key]: v});
        } catch (e) {
          problem = `${key} ${text} refused: ${(e as Error).message}.`;
        }
      }
      if (problem) {
        errors.show([`${problem} It stays ${value[key]}.`]);
        input.value = String(value[key]);
        return;
      }
      errors.show([]);
      update({[key]: v});
    });
  }
  toggle.addEventListener("input", (event) => event.stopPropagation());
  toggle.addEventListener("change", (event) => {
    event.stopPropagation();
    update({edited: toggle.checked});
  });
  reset.addEventListener("click", () => {
    errors.show([]);
    value = {...value, T: trained.T, kappa: trained.kappa, p: trained.p};
    show();
    emit();
  });
  Object.defineProperty(root, "value", {
    get: () => value,
    set: (v: ScheduleEdit) => {
      value = {...v};
      show();
    }
  });
  return root as unknown as ValueElement<ScheduleEdit>;
}
