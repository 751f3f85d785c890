// Node-only: reads the RRDN artefacts from the installed npm package (node:fs; never import from a page).
import {existsSync, readFileSync} from "node:fs";
import {createRequire} from "node:module";
import {dirname, join} from "node:path";
import {loadRrdn, RRDN_MODEL_DIR, RRDN_PACKAGE, type LayersModelJson, type Rrdn} from "./rrdn.js";

/** The package's root directory. Its "exports" hide package.json, so walk up from the resolved entry point. */
export function rrdnPackageDir(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve(RRDN_PACKAGE));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, "utf8")) as {name?: string}).name === RRDN_PACKAGE) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`Cannot find the root of ${RRDN_PACKAGE}; run \`npm install\``);
    dir = up;
  }
}

/** model.json and its weight shards (by manifest path) from node_modules. */
export function readRrdnArtifacts(): {modelJson: LayersModelJson; shards: Map<string, Uint8Array>; dir: string} {
  const dir = join(rrdnPackageDir(), RRDN_MODEL_DIR);
  const modelJson = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as LayersModelJson;
  const shards = new Map<string, Uint8Array>();
  for (const g of modelJson.weightsManifest) for (const p of g.paths) shards.set(p, new Uint8Array(readFileSync(join(dir, p))));
  return {modelJson, shards, dir};
}

/** Loads the RRDN from node_modules onto the current backend. */
export async function loadRrdnFromPackage(): Promise<Rrdn> {
  const {modelJson, shards} = readRrdnArtifacts();
  return loadRrdn(modelJson, shards);
}
