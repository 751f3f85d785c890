// The data page's degradation settings as one Observable Framework view: preset, seed (with a "new seed"
// button) and a switch per stage. Choosing another preset resets the switches to that preset's stages; switches
// the preset does not allow are shown greyed out (see stageLocks).
import {PRESETS, STAGE_NAMES, type Preset} from "../degrade.js";
import {messageBox, selectInput, type ValueElement} from "./controls.js";
import {presetStages, stageLocks, STAGE_TITLES, type Stages} from "./data-format.js";

export interface DegradationSettings {
  preset: Preset;
  /** 32-bit unsigned seed (degrade reduces seeds to 32 bits). */
  seed: number;
  stages: Stages;
}

export const SEED_MAX = 2 ** 32 - 1;

const PRESET_LABELS: Record<Preset, string> = {
  bicubic: "bicubic: MATLAB imresize ×1/4",
  mild: "mild: one round, narrow ranges (lab default)",
  realistic: "realistic: Real-ESRGAN second order"
};

/** A fresh seed from the browser's random source (the one place the page is meant to be unpredictable). */
function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export function degradationControls(initial: DegradationSettings): ValueElement<DegradationSettings> {
  let value: DegradationSettings = {...initial, stages: {...initial.stages}};
  const root = document.createElement("div");
  const emit = () => root.dispatchEvent(new Event("input", {bubbles: true}));

  const preset = selectInput<Preset>({
    label: "Degradation preset",
    name: "preset",
    options: PRESETS.map((p) => ({value: p, label: PRESET_LABELS[p]})),
    value: value.preset
  });

  const seedLabel = document.createElement("label");
  seedLabel.append("Seed");
  const seed = document.createElement("input");
  seed.type = "number";
  seed.name = "seed";
  seed.min = "0";
  seed.max = String(SEED_MAX);
  seed.step = "1";
  seed.value = String(value.seed);
  seed.style.width = "9em";
  seedLabel.append(seed);
  const newSeed = document.createElement("button");
  newSeed.type = "button";
  newSeed.name = "new-seed";
  newSeed.textContent = "new seed";

  const row = document.createElement("div");
  row.className = "dtkd-controls";
  row.append(preset, seedLabel, newSeed);

  const switches = document.createElement("fieldset");
  switches.className = "dtkd-stage-switches";
  const legend = document.createElement("legend");
  legend.textContent = "Stages (in pipeline order; the final JPEG may run before the final resize)";
  switches.append(legend);
  const boxes = new Map<string, HTMLInputElement>();
  for (const s of STAGE_NAMES) {
    const l = document.createElement("label");
    l.style.flexDirection = "row";
    l.style.alignItems = "center";
    l.title = STAGE_TITLES[s];
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = `stage-${s}`;
    box.value = s;
    l.append(box, ` ${s}`);
    switches.append(l);
    boxes.set(s, box);
  }
  const lockNote = document.createElement("div");
  lockNote.className = "dtkd-facts";
  lockNote.style.flexBasis = "100%";
  switches.append(lockNote);
  const switchRow = document.createElement("div");
  switchRow.className = "dtkd-controls";
  switchRow.append(switches);

  const errors = messageBox("seed");
  root.append(row, switchRow, errors);

  const showStages = () => {
    const locks = stageLocks(value.preset);
    for (const s of STAGE_NAMES) {
      const box = boxes.get(s)!;
      box.checked = value.stages[s];
      box.disabled = locks[s] !== "free";
      box.parentElement!.style.opacity = locks[s] === "free" ? "1" : "0.55";
    }
    lockNote.textContent =
      value.preset === "bicubic"
        ? "The bicubic preset is a single stage; choose mild or realistic to switch the Real-ESRGAN stages."
        : "finalResize always runs (it makes the LR size); bicubic is its own preset. Changing the preset resets the switches.";
  };
  showStages();

  preset.addEventListener("input", (event) => {
    event.stopPropagation();
    const p = preset.value;
    value = {...value, preset: p, stages: presetStages(p)};
    showStages();
    emit();
  });
  preset.addEventListener("change", (event) => event.stopPropagation());

  const setSeed = (s: number) => {
    errors.show([]);
    seed.value = String(s);
    if (s === value.seed) return;
    value = {...value, seed: s};
    emit();
  };
  seed.addEventListener("input", (event) => event.stopPropagation());
  seed.addEventListener("change", (event) => {
    event.stopPropagation();
    const text = seed.value.trim();
    const s = Number(text);
    if (!/^\d{1,10}$/.test(text) || s > SEED_MAX) {
      errors.show([`Seed "${text}" refused: use a whole number from 0 to ${SEED_MAX}. The seed stays ${value.seed}.`]);
      seed.value = String(value.seed);
      return;
    }
    setSeed(s);
  });
  newSeed.addEventListener("click", () => setSeed(randomSeed()));

  for (const [s, box] of boxes) {
    box.addEventListener("input", (event) => event.stopPropagation());
    box.addEventListener("change", (event) => {
      event.stopPropagation();
      value = {...value, stages: {...value.stages, [s]: box.checked}};
      emit();
    });
  }

  Object.defineProperty(root, "value", {
    get: () => value,
    set: (v: DegradationSettings) => {
      value = {...v, stages: {...v.stages}};
      preset.value = v.preset;
      seed.value = String(v.seed);
      showStages();
    }
  });
  return root as unknown as ValueElement<DegradationSettings>;
}
