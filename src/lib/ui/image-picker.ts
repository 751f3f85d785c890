// Chooses the image a page works on: one of the bundled photographs, or the visitor's own file (file chooser
// or drag and drop). Decoding happens here, so a corrupt file only produces a message next to the control;
// the value (and everything downstream) keeps the last good image.
import {messageBox, type ValueElement} from "./controls.js";

export interface PickedImage<T> {
  kind: "bundled" | "file";
  /** The bundled photo's key, or the file's name. */
  name: string;
  /** The bundled photo last chosen (what a link can reproduce; own files cannot travel in a URL). */
  photo: string;
  image: T;
}

export interface ImagePickerOptions<T> {
  photos: readonly {key: string; title: string}[];
  /** Key of the photo to start with. */
  initial: string;
  /** Bytes of a bundled photo. */
  load(key: string): Promise<ArrayBuffer>;
  /** Decodes bytes; throws with a message that names the file when it cannot. */
  decode(bytes: Uint8Array, name: string): T;
}

const OWN = "__own_file__";

export async function imagePicker<T>(opts: ImagePickerOptions<T>): Promise<ValueElement<PickedImage<T>>> {
  const root = document.createElement("div");
  root.className = "dtkd-controls";
  const errors = messageBox("image");
  errors.style.flexBasis = "100%";

  const selectLabel = document.createElement("label");
  selectLabel.append("Photograph");
  const select = document.createElement("select");
  select.name = "photo";
  for (const p of opts.photos) {
    const o = document.createElement("option");
    o.value = p.key;
    o.textContent = p.title;
    select.append(o);
  }
  const ownOption = document.createElement("option");
  ownOption.value = OWN;
  ownOption.hidden = true;
  select.append(ownOption);
  selectLabel.append(select);

  const drop = document.createElement("label");
  drop.className = "dtkd-drop";
  drop.append("…or your own PNG or JPEG (choose or drop here)");
  const file = document.createElement("input");
  file.type = "file";
  file.name = "own-image";
  file.accept = "image/png,image/jpeg,.png,.jpg,.jpeg";
  drop.append(file);

  root.append(selectLabel, drop, errors);

  let value: PickedImage<T>;
  const emit = () => root.dispatchEvent(new Event("input", {bubbles: true}));

  async function useBundled(key: string): Promise<PickedImage<T> | null> {
    const title = opts.photos.find((p) => p.key === key)?.title ?? key;
    try {
      const bytes = new Uint8Array(await opts.load(key));
      return {kind: "bundled", name: key, photo: key, image: opts.decode(bytes, title)};
    } catch (e) {
      errors.show([`${title}: ${(e as Error).message}`]);
      return null;
    }
  }

  async function useFile(f: File): Promise<void> {
    let image: T;
    try {
      image = opts.decode(new Uint8Array(await f.arrayBuffer()), f.name);
    } catch (e) {
      errors.show([(e as Error).message, "The previous image stays in use."]);
      return;
    }
    errors.show([]);
    ownOption.textContent = `your file: ${f.name}`;
    ownOption.hidden = false;
    select.value = OWN;
    value = {kind: "file", name: f.name, photo: value.photo, image};
    emit();
  }

  select.addEventListener("input", async (event) => {
    event.stopPropagation(); // the picker emits its own event once the photo is decoded
    if (select.value === OWN) return;
    const picked = await useBundled(select.value);
    if (!picked) return;
    errors.show([]);
    ownOption.hidden = true;
    value = picked;
    emit();
  });
  select.addEventListener("change", (event) => event.stopPropagation());
  file.addEventListener("input", (event) => event.stopPropagation());
  file.addEventListener("change", () => {
    const f = file.files?.[0];
    if (f) void useFile(f);
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("dtkd-drop-over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dtkd-drop-over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dtkd-drop-over");
    const f = event.dataTransfer?.files[0];
    if (f) void useFile(f);
  });

  const startKey = opts.photos.some((p) => p.key === opts.initial) ? opts.initial : opts.photos[0]?.key;
  if (startKey === undefined) throw new Error("imagePicker: no bundled photographs to choose from");
  select.value = startKey;
  const first = await useBundled(startKey);
  if (!first) throw new Error(`could not load the bundled photograph ${startKey}`);
  value = first;

  Object.defineProperty(root, "value", {
    get: () => value,
    set: (v: PickedImage<T>) => {
      value = v;
    }
  });
  return root as unknown as ValueElement<PickedImage<T>>;
}
