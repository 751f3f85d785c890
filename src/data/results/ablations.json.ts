// Data loader: data/results/ablations.json (written run by run by `npm run ablate`) for the report page, as the
// envelope {source, present, data} of src/lib/report/types.ts; present false before the grid has written it.
// A malformed file fails the build. Cached like eval.json.ts (stale outputs dropped by scripts/bundle-vendor.mjs).
import {fileURLToPath} from "node:url";
import {readAblationsFile} from "../../lib/report/files.js";

process.stdout.write(JSON.stringify(readAblationsFile(fileURLToPath(new URL("../../../", import.meta.url)))));
