// `npm run data`: fetch, verify and split the training and validation photographs.
//
//   npm run data                 download the Debian packages named in data/manifest.json
//   npm run data -- --debs DIR   use .deb files already in DIR (offline); missing ones are downloaded
//   npm run data -- --verify     only check the committed test set and an existing cache, change nothing
//
// Steps: apt-get download each package (the manifest's version when still available) into a temporary
// directory inside .cache/, dpkg-deb -x, check EVERY listed file against its sha256 (all packages, test images
// included), then decode each training/validation photograph, convert to RGB, downscale by the manifest's
// factor (antialiased MATLAB bicubic) and write it as a PNG under the temporary output. Only when everything
// succeeded is the output renamed to .cache/photos/ (replacing an older one); on any error the temporary
// directory is removed and an existing .cache/photos/ is left untouched.
import {existsSync, rmSync} from "node:fs";
import {mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile} from "node:fs/promises";
import {join, resolve} from "node:path";
import {encodePng} from "../../src/lib/image-io.js";
import {
  DEFAULT_MANIFEST,
  describeProblems,
  loadManifest,
  ManifestError,
  PHOTO_CACHE_DIR,
  prepareGroundTruth,
  readPhotoCacheIndex,
  sha256Hex,
  verifyCommittedTestSet,
  verifyFiles,
  type Manifest,
  type PhotoCacheEntry,
  type PhotoCacheIndex,
} from "../../src/lib/dataset.js";
import {checkTools, downloadPackage, extractPackage, SetupError} from "./apt.js";

interface Args {
  debs: string | null;
  verifyOnly: boolean;
  manifest: string;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {debs: null, verifyOnly: false, manifest: DEFAULT_MANIFEST, out: PHOTO_CACHE_DIR};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === "--debs") a.debs = argv[++i];
    else if (k === "--verify") a.verifyOnly = true;
    else if (k === "--manifest") a.manifest = argv[++i];
    else if (k === "--out") a.out = argv[++i];
    else if (k === "--help" || k === "-h") {
      console.log("usage: npm run data [-- --debs DIR] [--verify] [--manifest FILE] [--out DIR]");
      process.exit(0);
    } else throw new SetupError(`unknown argument ${k} (try --help)`);
  }
  return a;
}

function preparedSize(w: number, h: number, d: number): [number, number] {
  return [Math.ceil(w / d), Math.ceil(h / d)];
}

/** Counts and megapixels per split, prepared (what the lab trains on) and as packaged. */
export function splitTable(manifest: Manifest): string {
  const rows = (["train", "val", "test"] as const).map((split) => {
    const ims = manifest.images.filter((i) => i.split === split);
    let mp = 0;
    let mpSrc = 0;
    for (const i of ims) {
      const [w, h] = preparedSize(i.width, i.height, i.downscale);
      mp += (w * h) / 1e6;
      mpSrc += (i.width * i.height) / 1e6;
    }
    const pk = [...new Set(ims.map((i) => i.package))].join(", ");
    return `| ${split} | ${ims.length} | ${mp.toFixed(1)} | ${mpSrc.toFixed(1)} | ${pk} |`;
  });
  return ["| split | photographs | megapixels (as used) | megapixels (as packaged) | packages |", "|---|---|---|---|---|", ...rows].join("\n");
}

async function verifyOnly(args: Args, manifest: Manifest): Promise<void> {
  await verifyCommittedTestSet(manifest, ".", args.manifest);
  console.log(`committed test set: ${manifest.images.filter((i) => i.split === "test").length} files match ${args.manifest}`);
  if (!existsSync(join(args.out, "index.json"))) {
    console.log(`${args.out}: not fetched yet (run \`npm run data\`)`);
    return;
  }
  const idx = await readPhotoCacheIndex(args.out);
  const manifestSha = sha256Hex(await readFile(args.manifest));
  if (idx.manifestSha256 !== manifestSha) console.log(`${args.out} was built from a different manifest; run \`npm run data\` again`);
  const problems = await verifyFiles(idx.images.map((e) => ({id: e.id, file: join(args.out, e.file), sha256: e.preparedSha256})));
  if (problems.length) throw new ManifestError(join(args.out, "index.json"), `prepared files do not match:\n  - ${describeProblems(problems)}`);
  console.log(`${args.out}: ${idx.images.length} prepared files match their index`);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const manifest = await loadManifest(args.manifest);
  if (args.verifyOnly) return verifyOnly(args, manifest);

  // The committed test set is checked first: it costs nothing and catches a stale checkout.
  await verifyCommittedTestSet(manifest, ".", args.manifest);
  checkTools();

  const outDir = resolve(args.out);
  await mkdir(resolve(outDir, ".."), {recursive: true});
  // The work directory sits next to the destination so the final rename stays on one file system.
  const work = await mkdtemp(`${outDir}.tmp-`);
  // Ctrl-C skips `finally`: remove the half-built directory before exiting.
  const onSignal = (sig: NodeJS.Signals) => {
    rmSync(work, {recursive: true, force: true});
    console.error(`\ninterrupted (${sig}): removed ${work}; ${args.out} was left as it was`);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let success = false;
  try {
    const debDir = args.debs ? resolve(args.debs) : join(work, "debs");
    const versions: Record<string, string> = {};
    for (const pkg of manifest.packages) {
      const present = args.debs && existsSync(debDir) ? (await readdir(debDir)).filter((f) => f.startsWith(`${pkg.name}_`) && f.endsWith(".deb")) : [];
      let deb: string;
      if (present.length === 1) {
        deb = join(debDir, present[0]);
        versions[pkg.name] = decodeURIComponent(present[0].slice(pkg.name.length + 1).split("_")[0]);
        console.log(`${pkg.name}: using ${deb}`);
      } else {
        console.log(`${pkg.name}: apt-get download (${pkg.version})`);
        const got = await downloadPackage(pkg.name, pkg.version, args.debs ? debDir : join(work, "debs"), (s) => console.log(s));
        deb = got.deb;
        versions[pkg.name] = got.version;
      }
      if (versions[pkg.name] !== pkg.version) console.log(`  note: got version ${versions[pkg.name]}, the manifest was built from ${pkg.version}`);
      extractPackage(deb, join(work, "x", pkg.name));
    }

    // Every file of every split, before anything is written.
    const problems = await verifyFiles(manifest.images.map((im) => ({id: im.id, file: join(work, "x", im.package, im.path), sha256: im.sha256})));
    if (problems.length) {
      const changed = manifest.packages.filter((p) => versions[p.name] !== p.version).map((p) => `${p.name} ${versions[p.name]} (manifest: ${p.version})`);
      throw new ManifestError(
        args.manifest,
        `${problems.length} file(s) in the downloaded packages do not match:\n  - ${describeProblems(problems)}` +
          (changed.length ? `\nPackage versions differ from the manifest: ${changed.join(", ")}. A maintainer can rebuild it with scripts/data/build-manifest.ts.` : "") +
          "\nNothing was written.",
      );
    }
    console.log(`verified ${manifest.images.length} files against ${args.manifest}`);

    const stage = join(work, "out");
    const entries: PhotoCacheEntry[] = [];
    for (const im of manifest.images) {
      if (im.split === "test") continue;
      const src = join(work, "x", im.package, im.path);
      const bytes = new Uint8Array(await readFile(src));
      const img = prepareGroundTruth(bytes, `${im.package}:/${im.path}`, im.downscale);
      const png = encodePng({width: img.width, height: img.height, channels: 3, data: img.data});
      const file = `${im.split}/${im.id}.png`;
      await mkdir(join(stage, im.split), {recursive: true});
      await writeFile(join(stage, file), png);
      entries.push({
        id: im.id,
        split: im.split,
        file,
        width: img.width,
        height: img.height,
        sourceWidth: im.width,
        sourceHeight: im.height,
        downscale: im.downscale,
        package: im.package,
        path: im.path,
        sha256: im.sha256,
        preparedSha256: sha256Hex(png),
        licence: im.licence,
        author: im.author,
        title: im.title,
      });
      console.log(`  ${file}  ${im.width}x${im.height} -> ${img.width}x${img.height}`);
    }
    const index: PhotoCacheIndex = {
      version: 1,
      created: new Date().toISOString(),
      manifestSha256: sha256Hex(await readFile(args.manifest)),
      images: entries,
    };
    await writeFile(join(stage, "index.json"), JSON.stringify(index, null, 2) + "\n");

    // Swap into place: old cache aside, new one in, old one removed.
    const old = join(work, "previous");
    if (existsSync(outDir)) await rename(outDir, old);
    try {
      await rename(stage, outDir);
    } catch (e) {
      if (existsSync(old)) await rename(old, outDir);
      throw e;
    }
    success = true;
  } finally {
    await rm(work, {recursive: true, force: true});
    if (!success) console.error(`removed ${work}; ${args.out} was left as it was`);
  }
  console.log(`\nwrote ${args.out}/{train,val}/ in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  console.log(splitTable(manifest));
}

main().catch((e) => {
  if (e instanceof SetupError || e instanceof ManifestError) console.error(`npm run data: ${e.message}`);
  else console.error(e);
  process.exit(1);
});
