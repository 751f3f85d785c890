// Minimal form controls that work as Observable Framework views: each returns an element with a `value`
// property that emits bubbling "input" events when the user changes it (Framework's `view()` contract).
// Plain DOM instead of Observable Inputs, which Framework would fetch from a CDN.

export type ValueElement<T> = HTMLElement & {value: T};

function defineValue<T>(element: HTMLElement, get: () => T, set: (v: T) => void): ValueElement<T> {
  Object.defineProperty(element, "value", {get, set, configurable: true});
  return element as ValueElement<T>;
}

export interface Choice<T extends string> {
  value: T;
  label?: string;
}

function choices<T extends string>(options: readonly (T | Choice<T>)[]): Choice<T>[] {
  return options.map((o) => (typeof o === "string" ? {value: o} : o));
}

/** A labelled <select>. `name` becomes the select's name attribute (tests and forms find it by name). */
export function selectInput<T extends string>(opts: {
  label: string;
  name: string;
  options: readonly (T | Choice<T>)[];
  value: T;
}): ValueElement<T> {
  const label = document.createElement("label");
  label.append(opts.label);
  const select = document.createElement("select");
  select.name = opts.name;
  for (const c of choices(opts.options)) {
    const o = document.createElement("option");
    o.value = c.value;
    o.textContent = c.label ?? c.value;
    select.append(o);
  }
  select.value = opts.value;
  label.append(select);
  return defineValue(
    label,
    () => select.value as T,
    (v) => {
      select.value = v;
    }
  );
}

/** A row of radio buttons in a fieldset. */
export function radioInput<T extends string>(opts: {
  label: string;
  name: string;
  options: readonly (T | Choice<T>)[];
  value: T;
}): ValueElement<T> {
  const set = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.textContent = opts.label;
  set.append(legend);
  const inputs: HTMLInputElement[] = [];
  for (const c of choices(opts.options)) {
    const l = document.createElement("label");
    l.style.flexDirection = "row";
    l.style.alignItems = "center";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = opts.name;
    input.value = c.value;
    input.checked = c.value === opts.value;
    l.append(input, ` ${c.label ?? c.value}`);
    set.append(l);
    inputs.push(input);
  }
  return defineValue(
    set,
    () => (inputs.find((i) => i.checked)?.value ?? opts.value) as T,
    (v) => {
      for (const i of inputs) i.checked = i.value === v;
    }
  );
}

/** A labelled number input; bounds and value are set only when given. */
export function numberInput(
  label: string,
  name: string,
  step: string,
  opts: {value?: number; min?: number; max?: number; width?: string} = {}
): {label: HTMLLabelElement; input: HTMLInputElement} {
  const l = document.createElement("label");
  l.append(label);
  const input = document.createElement("input");
  input.type = "number";
  input.name = name;
  input.step = step;
  if (opts.min !== undefined) input.min = String(opts.min);
  if (opts.max !== undefined) input.max = String(opts.max);
  if (opts.value !== undefined) input.value = String(opts.value);
  input.style.width = opts.width ?? "6em";
  l.append(input);
  return {label: l, input};
}

/** A group of controls laid out in one wrapping row. */
export function controlRow(...children: HTMLElement[]): HTMLElement {
  const row = document.createElement("div");
  row.className = "dtkd-controls";
  row.append(...children);
  return row;
}

/** A box for error messages; empty (and hidden by CSS) until `show` is called with messages. */
export function messageBox(kind: string): HTMLElement & {show(messages: string[]): void} {
  const box = document.createElement("div");
  box.className = "dtkd-error";
  box.dataset.kind = kind;
  box.setAttribute("role", "alert");
  return Object.assign(box, {
    show(messages: string[]) {
      box.textContent = messages.join("\n");
    }
  });
}
