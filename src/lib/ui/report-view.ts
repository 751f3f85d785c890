// Widgets of the report page: tables with addressable cells, chart containers the end-to-end check can count,
// prose lists, and the side-by-side crops. Plain functions returning elements; the page only wires them.
import type {CropsPack} from "../report/crops.js";
import type {TableCell, TableColumn, TableRow} from "../report/tables.js";

/** A table whose element carries data-table=`id`; every cell can carry data attributes for tests and tooltips. */
export function dataTable(id: string, columns: readonly TableColumn[], rows: readonly TableRow[], caption?: string): HTMLTableElement {
  const table = document.createElement("table");
  table.className = "dtkd-report-table";
  table.dataset.table = id;
  if (caption) table.createCaption().textContent = caption;
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement("th");
    th.textContent = c.label;
    if (c.title) th.title = c.title;
    if (c.numeric) th.className = "dtkd-num";
    head.append(th);
  }
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    Object.assign(tr.dataset, r.data ?? {});
    for (const c of columns) {
      const raw = r.cells[c.key] ?? "";
      const cell: TableCell = typeof raw === "string" ? {text: raw} : raw;
      const td = tr.insertCell();
      td.textContent = cell.text;
      if (c.numeric) td.className = "dtkd-num";
      if (cell.title) td.title = cell.title;
      Object.assign(td.dataset, {column: c.key, ...(cell.data ?? {})});
    }
  }
  return table;
}

/** The container of one report chart: class dtkd-report-chart, data-chart=`id` (the e2e counts these). */
export function chartBox(id: string): HTMLDivElement {
  const box = document.createElement("div");
  box.className = "dtkd-report-chart";
  box.dataset.chart = id;
  return box;
}

/** Sentences as a list (data-role=`role`); an empty list gives an empty element. */
export function sentenceList(role: string, sentences: readonly string[]): HTMLElement {
  const ul = document.createElement("ul");
  ul.className = "dtkd-report-text";
  ul.dataset.role = role;
  for (const s of sentences) {
    const li = document.createElement("li");
    li.textContent = s;
    ul.append(li);
  }
  return ul;
}

/** A short note (data-role=`role`), e.g. "the ablation grid has not been run". */
export function note(role: string, text: string): HTMLParagraphElement {
  const p = document.createElement("p");
  p.className = "dtkd-facts";
  p.dataset.role = role;
  p.textContent = text;
  return p;
}

/**
 * The crops side by side: one row per crop, one panel per method the index lists (in its order), each the PNG at
 * its own size, enlarged without smoothing when the row is wider than the page allows. Returns the element and a
 * dispose that frees the object URLs.
 */
export function cropsGrid(pack: CropsPack): {element: HTMLElement; dispose(): void} {
  const urls: string[] = [];
  const root = document.createElement("div");
  root.className = "dtkd-report-crops";
  const index = pack.index;
  if (!index) return {element: root, dispose() {}};
  for (const c of index.crops) {
    const fig = document.createElement("figure");
    fig.className = "dtkd-report-crop";
    fig.dataset.image = c.image;
    const cap = document.createElement("figcaption");
    cap.textContent = `${c.image}: ${c.region.size} × ${c.region.size} px at (${c.region.x}, ${c.region.y})`;
    const row = document.createElement("div");
    row.className = "dtkd-report-crop-row";
    // One column per method, so every crop's panels line up under the same method.
    row.style.gridTemplateColumns = `repeat(${index.methods.filter((m) => c.files[m.id]).length}, minmax(0, 1fr))`;
    for (const m of index.methods) {
      const name = c.files[m.id];
      if (!name) continue;
      const panel = document.createElement("div");
      panel.className = "dtkd-report-crop-panel";
      panel.dataset.method = m.id;
      const img = document.createElement("img");
      const url = URL.createObjectURL(new Blob([pack.file(name) as BlobPart], {type: "image/png"}));
      urls.push(url);
      const {width, height} = pack.size(name);
      img.width = width;
      img.height = height;
      img.alt = `${m.label}, ${c.image}`;
      img.src = url;
      const label = document.createElement("div");
      label.className = "dtkd-report-crop-label";
      label.textContent = m.label;
      panel.append(img, label);
      row.append(panel);
    }
    fig.append(row, cap);
    root.append(fig);
  }
  return {
    element: root,
    dispose() {
      for (const u of urls) URL.revokeObjectURL(u);
    },
  };
}
