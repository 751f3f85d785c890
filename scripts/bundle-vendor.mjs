#!/usr/bin/env node
// Runs before every `observable preview` and `observable build` (npm run dev / build) so the site builds and
// works with no network. Each step is idempotent and quick when there is nothing to do.
//
// 1. src/_vendor/ (git-ignored):
//    - vega-embed.js: vega-embed with vega and vega-lite as one ES module. Observable Framework 1.13.4 cannot
//      bundle vega 6 / vega-lite 6 from node_modules (it logs an error, exits 0 and leaves a bare import that
//      fails in the browser), so esbuild does it here.
//    - the TF.js wasm binaries, so pages can hand their FileAttachment URLs to the wasm backend.
//    A stamp of the input versions (and of this script) skips the work when nothing changed.
// 2. Framework's cache (src/.observablehq/cache/, git-ignored), which it fills by presence, never by content:
//    - _node/@tensorflow/tfjs-backend-wasm@V/index.js: Framework's own rollup of that package keeps bare
//      `import "fs"`, "path", "os", "perf_hooks" (it ignores the package's "browser" field), so the wasm backend
//      fails to load in the browser. esbuild honours the field; the bundle is written where Framework looks
//      first, with tfjs-core and tfjs-backend-cpu left as imports of Framework's own bundles (one tfjs-core).
//    - _npm/NAME@VERSION/ folders: Framework's client bundle refers lazily to a few npm packages and asks the
//      npm registry for their latest version unless such a folder exists. Nothing is downloaded either way;
//      the folders only keep a fresh build from needing the registry.
//    - data-loader outputs older than the files they read are deleted: Framework reuses a loader's output
//      while it exists (NOTES 3), so a changed file in data/ would otherwise never reach the site.
import {createHash} from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const outDir = join(root, "src", "_vendor");
const cacheDir = join(root, "src", ".observablehq", "cache");
const stampPath = join(outDir, ".stamp.json");

// Some packages (vega) do not export ./package.json, so read it from the install folder directly.
function packageDir(name) {
  return join(root, "node_modules", name);
}
function packageVersion(name) {
  return JSON.parse(readFileSync(join(packageDir(name), "package.json"), "utf8")).version;
}
function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]
  );
}
function writeAtomically(path, contents) {
  mkdirSync(dirname(path), {recursive: true});
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

// Convention: a loader in src/data/SUB/ reads from data/SUB/ (e.g. src/data/photos/[name].png.js reads
// data/photos/NAME.png), so a cached output is stale when anything in either folder is newer than it.
// Loaders that read other folders name them here.
const EXTRA_LOADER_INPUTS = {bench: ["data/results", "data/models"]};
function dropStaleLoaderOutputs() {
  const loaderCache = join(cacheDir, "data");
  const newestIn = new Map();
  for (const f of filesUnder(loaderCache)) {
    const sub = dirname(f.slice(loaderCache.length + 1));
    if (!newestIn.has(sub)) {
      const inputs = [
        ...filesUnder(join(root, "data", sub)),
        ...filesUnder(join(root, "src", "data", sub)),
        ...(EXTRA_LOADER_INPUTS[sub] ?? []).flatMap((d) => filesUnder(join(root, d)))
      ];
      newestIn.set(sub, Math.max(0, ...inputs.map((i) => statSync(i).mtimeMs)));
    }
    if (statSync(f).mtimeMs < newestIn.get(sub)) {
      rmSync(f);
      console.log(`vendor: dropped stale data-loader output ${f.slice(root.length + 1)}`);
    }
  }
}

// The lazily referenced packages of Framework 1.13.4's client and standard library, with the versions the
// registry gave when this list was made. They only name URLs of modules the lab never loads.
const FRAMEWORK_LAZY_NPM = {
  "@observablehq/plot": "0.6.17",
  "@observablehq/sample-datasets": "1.0.1",
  "apache-arrow": "21.2.0",
  arquero: "8.0.3",
  "d3-dsv": "3.0.2",
  echarts: "6.1.0",
  htl: "1.0.0",
  leaflet: "1.9.4",
  lodash: "4.18.1",
  "mapbox-gl": "3.32.0",
  "parquet-wasm": "0.8.0",
  react: "19.3.1",
  "react-dom": "19.3.1",
  "topojson-client": "3.1.0"
};
function primeNpmVersionCache() {
  const npmCache = join(cacheDir, "_npm");
  const known = new Set(existsSync(npmCache) ? filesUnderDirs(npmCache) : []);
  for (const [name, version] of Object.entries({...FRAMEWORK_LAZY_NPM, d3: packageVersion("d3")})) {
    // Any cached version of the package satisfies Framework's "latest" look-up.
    if ([...known].some((d) => d.startsWith(`${name}@`))) continue;
    mkdirSync(join(npmCache, `${name}@${version}`), {recursive: true});
  }
}
function filesUnderDirs(npmCache) {
  return readdirSync(npmCache).flatMap((e) =>
    e.startsWith("@") ? readdirSync(join(npmCache, e)).map((s) => `${e}/${s}`) : [e]
  );
}

const WASM_MARK = "/* dtkd-lab: browser build of @tensorflow/tfjs-backend-wasm by scripts/bundle-vendor.mjs */";
async function primeWasmBackendBundle(esbuild) {
  const version = packageVersion("@tensorflow/tfjs-backend-wasm");
  const target = join(cacheDir, "_node", "@tensorflow", `tfjs-backend-wasm@${version}`, "index.js");
  if (existsSync(target) && readFileSync(target, "utf8").startsWith(WASM_MARK)) return false;
  // Imports that must stay shared with the rest of the page, as Framework lays its bundles out.
  const shared = {
    "@tensorflow/tfjs-core": `../tfjs-core@${packageVersion("@tensorflow/tfjs-core")}/index.js`,
    "@tensorflow/tfjs-backend-cpu/dist/shared": `../tfjs-backend-cpu@${packageVersion("@tensorflow/tfjs-backend-cpu")}/dist/shared.js`
  };
  const result = await esbuild.build({
    stdin: {contents: `export * from "@tensorflow/tfjs-backend-wasm";`, resolveDir: root, sourcefile: "wasm-entry.js"},
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    define: {"process.env.NODE_ENV": '"production"'},
    logLevel: "warning",
    plugins: [
      {
        name: "shared-tfjs",
        setup(build) {
          build.onResolve({filter: /^@tensorflow\/tfjs-(core|backend-cpu)(\/.*)?$/}, (args) => {
            const path = shared[args.path];
            if (!path) throw new Error(`bundle-vendor: unexpected import ${args.path} in tfjs-backend-wasm`);
            return {path, external: true};
          });
        }
      }
    ]
  });
  writeAtomically(target, `${WASM_MARK}\n${result.outputFiles[0].text}`);
  return true;
}

const started = performance.now();
dropStaleLoaderOutputs();
primeNpmVersionCache();
let esbuild;
const loadEsbuild = async () => (esbuild ??= await import("esbuild"));
if (await primeWasmBackendBundle(await loadEsbuild())) console.log("vendor: wrote the browser build of tfjs-backend-wasm");

const wasmDir = join(packageDir("@tensorflow/tfjs-backend-wasm"), "dist");
const wasmFiles = readdirSync(wasmDir).filter((f) => f.endsWith(".wasm")).sort();
const outputs = ["vega-embed.js", ...wasmFiles];
const stamp = JSON.stringify({
  script: createHash("sha256").update(readFileSync(fileURLToPath(import.meta.url))).digest("hex"),
  versions: Object.fromEntries(
    ["vega", "vega-lite", "vega-embed", "esbuild", "@tensorflow/tfjs-backend-wasm"].map((n) => [n, packageVersion(n)])
  ),
  wasmFiles
});
const upToDate =
  existsSync(stampPath) &&
  readFileSync(stampPath, "utf8") === stamp &&
  outputs.every((f) => existsSync(join(outDir, f)));
if (upToDate) {
  console.log("vendor: src/_vendor is up to date");
} else {
  mkdirSync(outDir, {recursive: true});
  const result = await (await loadEsbuild()).build({
    stdin: {
      // Re-export the library's surface; pages use the default export (embed).
      contents: `export {default} from "vega-embed"; export * from "vega-embed";`,
      resolveDir: root,
      sourcefile: "vega-embed-entry.js"
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "eof",
    write: false,
    define: {"process.env.NODE_ENV": '"production"'},
    logLevel: "warning"
  });
  writeAtomically(join(outDir, "vega-embed.js"), result.outputFiles[0].contents);
  for (const f of wasmFiles) copyFileSync(join(wasmDir, f), join(outDir, f));
  writeFileSync(stampPath, stamp);
  console.log(
    `vendor: wrote src/_vendor/{${outputs.join(",")}} in ${((performance.now() - started) / 1000).toFixed(1)} s`
  );
}
