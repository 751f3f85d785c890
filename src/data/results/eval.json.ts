// Data loader: data/results/eval.json (written by `npm run eval`, outside Framework's source root) for the report
// page, as the envelope {source, present, data} of src/lib/report/types.ts: present false on a checkout without
// the file, so the page can say so. A malformed file fails the build (src/lib/report/files.ts). Framework caches
// the output by its presence; scripts/bundle-vendor.mjs drops it when anything in data/results/ is newer.
import {fileURLToPath} from "node:url";
import {readEvalFile} from "../../lib/report/files.js";

process.stdout.write(JSON.stringify(readEvalFile(fileURLToPath(new URL("../../../", import.meta.url)))));
