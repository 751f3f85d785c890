// Data loader: the committed test photographs (data/manifest.json, split "test") as the data page lists them:
// id (the name of the prepared PNG that [id].png.ts serves), title, author, licence, source package and path,
// the size as committed and the size as prepared ground truth. Every entry must carry its author and licence,
// so the page never shows a photograph without them.
import {fileURLToPath} from "node:url";
import {loadManifest} from "../../lib/dataset.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const manifest = await loadManifest("data/manifest.json", root);
const versions = new Map(manifest.packages.map((p) => [p.name, p.version]));
const rows = manifest.images
  .filter((im) => im.split === "test")
  .map((im) => ({
    id: im.id,
    title: im.title,
    author: im.author,
    licence: im.licence,
    licenceUrl: im.licenceUrl ?? null,
    package: im.package,
    packageVersion: versions.get(im.package) ?? null,
    path: im.path,
    file: im.committed,
    width: im.width,
    height: im.height,
    downscale: im.downscale,
    // imresize by 1/d gives ceil(size / d) (src/lib/patches.ts downscaleForGroundTruth).
    preparedWidth: Math.ceil(im.width / im.downscale),
    preparedHeight: Math.ceil(im.height / im.downscale),
    jpegQualityEstimate: im.jpegQualityEstimate ?? null
  }));
if (rows.length === 0) throw new Error("test-photos/index.json: the manifest lists no test photographs");
for (const r of rows) {
  if (!/^[a-z0-9_.-]+$/i.test(r.id)) throw new Error(`test-photos/index.json: id "${r.id}" cannot be a file name`);
  if (!r.licenceUrl) throw new Error(`test-photos/index.json: ${r.id} lacks licenceUrl`);
}
process.stdout.write(JSON.stringify(rows, null, 2));
