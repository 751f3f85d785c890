// Data loader: the bundled photographs' attribution (data/photos/attribution.json), validated so a page never
// shows a photo without its author and licence.
import {readFileSync} from "node:fs";
import {fileURLToPath} from "node:url";

const rows = JSON.parse(readFileSync(fileURLToPath(new URL("../../../data/photos/attribution.json", import.meta.url)), "utf8"));
for (const r of rows) {
  for (const k of ["file", "title", "width", "height", "author", "licence", "licenceUrl", "source"]) {
    if (r[k] === undefined || r[k] === "") throw new Error(`attribution.json: ${r.file ?? "?"} lacks ${k}`);
  }
}
process.stdout.write(JSON.stringify(rows, null, 2));
