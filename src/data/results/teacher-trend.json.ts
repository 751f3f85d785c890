// Data loader: data/results/teacher-trend.json (written by `npm run teacher-trend`) for the report page, as the
// envelope {source, present, data} of src/lib/report/types.ts; present false on a checkout without the file. A
// malformed file fails the build. Cached like eval.json.ts.
import {fileURLToPath} from "node:url";
import {readTeacherTrendFile} from "../../lib/report/files.js";

process.stdout.write(JSON.stringify(readTeacherTrendFile(fileURLToPath(new URL("../../../", import.meta.url)))));
