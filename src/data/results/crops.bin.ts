// Data loader: data/results/crops/index.json and the PNGs it names, packed into one file (format in
// src/lib/report/crops.ts) because FileAttachment needs literal paths and the crop files are named by the index.
// Without an index.json the pack says present: false. A PNG the index names but the folder lacks, a file that is
// not a PNG, or crops of different sizes fail the build. Cached like eval.json.ts.
import {fileURLToPath} from "node:url";
import {readCropsPack} from "../../lib/report/files.js";

process.stdout.write(readCropsPack(fileURLToPath(new URL("../../../", import.meta.url))));
