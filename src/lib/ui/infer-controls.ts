// The models page's run settings as one Observable Framework view: how the LR is made (degradation preset and
// seed) and how the teacher samples (sampler and seed, with a "new seed" button). Seeds are 32-bit unsigned
// integers (rng.ts reduces seeds to 32 bits); a malformed one is refused with a message and the old value stays.
import {PRESETS, type Preset} from "../degrade.js";
import {messageBox, radioInput, selectInput, type ValueElement} from "./controls.js";
import {TEACHER_MODES, type TeacherMode} from "./infer-engine.js";

export interface InferSettings {
  preset: Preset;
  /** Seed of the degradation's random draws. */
  degradeSeed: number;
  mode: TeacherMode;
  /** Seed of the teacher's sampling noise. */
  seed: number;
}

export const SEED_MAX = 2 ** 32 - 1;

const PRESET_LABELS: Record<Preset, string> = {
  bicubic: "bicubic: MATLAB imresize ×1/4",
  mild: "mild: one round, narrow ranges (lab default; what the models trained on)",
  realistic: "realistic: Real-ESRGAN second order"
};

const MODE_LABELS: Record<TeacherMode, string> = {
  stochastic: "stochastic (ResShift's sampler)",
  ddim: "deterministic (DDIM-like)"
};

function seedField(label: string, name: string, value: number) {
  const l = document.createElement("label");
  l.append(label);
  const input = document.createElement("input");
  input.type = "number";
  input.name = name;
  input.min = "0";
  input.max = String(SEED_MAX);
  input.step = "1";
  input.value = String(value);
  input.style.width = "9em";
  l.append(input);
  return {label: l, input};
}

export function inferControls(initial: InferSettings): ValueElement<InferSettings> {
  let value: InferSettings = {...initial};
  const root = document.createElement("div");
  const emit = () => root.dispatchEvent(new Event("input", {bubbles: true}));
  const errors = messageBox("seed");

  const preset = selectInput<Preset>({
    label: "Degradation (how the LR is made from the crop)",
    name: "preset",
    options: PRESETS.map((p) => ({value: p, label: PRESET_LABELS[p]})),
    value: value.preset
  });
  const degradeSeed = seedField("Degradation seed", "degrade-seed", value.degradeSeed);
  const mode = radioInput<TeacherMode>({
    label: "Teacher sampler",
    name: "sampler",
    options: TEACHER_MODES.map((m) => ({value: m, label: MODE_LABELS[m]})),
    value: value.mode
  });
  const seed = seedField("Teacher seed", "seed", value.seed);
  const newSeed = document.createElement("button");
  newSeed.type = "button";
  newSeed.name = "new-seed";
  newSeed.textContent = "new teacher seed";

  const row1 = document.createElement("div");
  row1.className = "dtkd-controls";
  row1.append(preset, degradeSeed.label);
  const row2 = document.createElement("div");
  row2.className = "dtkd-controls";
  row2.append(mode, seed.label, newSeed);
  root.append(row1, row2, errors);

  const update = (patch: Partial<InferSettings>) => {
    const next = {...value, ...patch};
    if (next.preset === value.preset && next.degradeSeed === value.degradeSeed && next.mode === value.mode && next.seed === value.seed) return;
    value = next;
    emit();
  };
  for (const el of [preset, mode]) {
    el.addEventListener("input", (event) => {
      event.stopPropagation();
      update({preset: preset.value, mode: mode.value});
    });
    el.addEventListener("change", (event) => event.stopPropagation());
  }
  const seedHandler = (input: HTMLInputElement, key: "seed" | "degradeSeed", what: string) => {
    input.addEventListener("input", (event) => event.stopPropagation());
    input.addEventListener("change", (event) => {
      event.stopPropagation();
      const text = input.value.trim();
      const s = Number(text);
      if (!/^\d{1,10}$/.test(text) || s > SEED_MAX) {
        errors.show([`${what} "${text}" refused: use a whole number from 0 to ${SEED_MAX}. It stays ${value[key]}.`]);
        input.value = String(value[key]);
        return;
      }
      errors.show([]);
      update({[key]: s});
    });
  };
  seedHandler(seed.input, "seed", "Teacher seed");
  seedHandler(degradeSeed.input, "degradeSeed", "Degradation seed");
  newSeed.addEventListener("click", () => {
    const s = crypto.getRandomValues(new Uint32Array(1))[0];
    seed.input.value = String(s);
    errors.show([]);
    update({seed: s});
  });

  Object.defineProperty(root, "value", {
    get: () => value,
    set: (v: InferSettings) => {
      value = {...v};
      preset.value = v.preset;
      mode.value = v.mode;
      seed.input.value = String(v.seed);
      degradeSeed.input.value = String(v.degradeSeed);
    }
  });
  return root as unknown as ValueElement<InferSettings>;
}
