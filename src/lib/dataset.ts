// Node-side access to the lab's photographs and pair caches (uses node:fs and node:crypto; never import it from
// a page). The manifest data/manifest.json lists every photograph with its Debian package, path, sha256,
// licence and split; the test split is committed under data/test/, training and validation are fetched by
// `npm run data` into .cache/photos/{train,val}/ as prepared PNGs (downscaled where the manifest says so).
import {createHash} from "node:crypto";
import {createReadStream} from "node:fs";
import {mkdir, open, readFile, rename, rm} from "node:fs/promises";
import {dirname, join, resolve} from "node:path";
import {decodeImage, toRgb} from "./image-io.js";
import {
  encodeCount,
  encodePairCacheHeader,
  encodePairRecord,
  openPairCache,
  PAIR_CACHE_COUNT_OFFSET,
  PairCacheError,
  type OpenPairCache,
  type PairCacheHeaderInit,
} from "./pair-cache.js";
import {degrade, toUint8, type Preset} from "./degrade.js";
import {downscaleForGroundTruth, samplePatches} from "./patches.js";
import type {ImageF32} from "./resize.js";
import {createRng} from "./rng.js";

export type Split = "train" | "val" | "test";
export const SPLITS: readonly Split[] = ["train", "val", "test"];

export const DEFAULT_MANIFEST = "data/manifest.json";
export const PHOTO_CACHE_DIR = ".cache/photos";

/** One photograph of the manifest. */
export interface ManifestImage {
  id: string;
  package: string;
  /** Path inside the extracted package. */
  path: string;
  /** sha256 of the packaged file. */
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  split: Split;
  title: string;
  author: string;
  licence: string;
  licenceUrl?: string;
  licenceEvidence: string;
  /** Downscale factor applied before the image serves as ground truth. */
  downscale: 1 | 2;
  /** Test split: the committed copy (relative to the repository root) and its sha256. */
  committed?: string;
  committedSha256?: string;
  modifications?: string;
  /** Estimated JPEG quality (IJG scale) from the luminance quantisation table; null for PNG. */
  jpegQualityEstimate?: number | null;
  note?: string;
}

export interface ManifestPackage {
  name: string;
  version: string;
  /** The package's copyright file, inside the package. */
  copyright: string;
}

export interface Manifest {
  version: 1;
  description: string;
  packages: ManifestPackage[];
  images: ManifestImage[];
  excluded: {package: string; path: string; reason: string}[];
}

/** A malformed manifest, or files that do not match it. The message names the file(s). */
export class ManifestError extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`Manifest "${file}": ${problem}`);
    this.name = "ManifestError";
    this.file = file;
  }
}

const SHA256_RE = /^[0-9a-f]{64}$/;

/** Checks the structure of a parsed manifest; every problem is listed in one error. */
export function parseManifest(json: unknown, name: string): Manifest {
  const problems: string[] = [];
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ManifestError(name, "not a JSON object");
  const m = json as Record<string, unknown>;
  if (m.version !== 1) problems.push(`version must be 1, got ${JSON.stringify(m.version)}`);
  if (!Array.isArray(m.packages)) problems.push("packages must be an array");
  if (!Array.isArray(m.images)) problems.push("images must be an array");
  const ids = new Set<string>();
  const packages = new Set(Array.isArray(m.packages) ? (m.packages as ManifestPackage[]).map((p) => p?.name) : []);
  if (Array.isArray(m.images)) {
    (m.images as Record<string, unknown>[]).forEach((im, i) => {
      const where = `images[${i}]${typeof im?.id === "string" ? ` (${im.id})` : ""}`;
      if (im === null || typeof im !== "object") {
        problems.push(`${where} is not an object`);
        return;
      }
      for (const k of ["id", "package", "path", "title", "author", "licence", "licenceEvidence"])
        if (typeof im[k] !== "string" || (im[k] as string).length === 0) problems.push(`${where}.${k} must be a non-empty string`);
      if (typeof im.sha256 !== "string" || !SHA256_RE.test(im.sha256)) problems.push(`${where}.sha256 must be 64 lowercase hex digits`);
      for (const k of ["bytes", "width", "height"])
        if (typeof im[k] !== "number" || !Number.isInteger(im[k]) || (im[k] as number) < 1) problems.push(`${where}.${k} must be a positive integer`);
      if (!SPLITS.includes(im.split as Split)) problems.push(`${where}.split must be train, val or test`);
      if (im.downscale !== 1 && im.downscale !== 2) problems.push(`${where}.downscale must be 1 or 2`);
      if (im.split === "test") {
        if (typeof im.committed !== "string") problems.push(`${where}: a test image needs "committed"`);
        if (typeof im.committedSha256 !== "string" || !SHA256_RE.test(im.committedSha256)) problems.push(`${where}.committedSha256 must be 64 hex digits`);
      }
      if (typeof im.id === "string") {
        if (ids.has(im.id)) problems.push(`duplicate id ${im.id}`);
        ids.add(im.id);
      }
      if (typeof im.package === "string" && !packages.has(im.package)) problems.push(`${where}.package ${im.package} is not listed under packages`);
    });
  }
  if (problems.length) throw new ManifestError(name, `invalid structure:\n  - ${problems.join("\n  - ")}`);
  if (!Array.isArray(m.excluded)) m.excluded = [];
  return m as unknown as Manifest;
}

/** Reads and validates the manifest (default data/manifest.json relative to `root`). */
export async function loadManifest(file = DEFAULT_MANIFEST, root = "."): Promise<Manifest> {
  const p = resolve(root, file);
  let text: string;
  try {
    text = await readFile(p, "utf8");
  } catch (e) {
    throw new ManifestError(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(file, `not valid JSON (${(e as Error).message})`);
  }
  return parseManifest(json, file);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A file that does not match the manifest. */
export interface VerifyProblem {
  id: string;
  file: string;
  expected: string;
  /** The actual sha256, or "missing". */
  actual: string;
}

/** Hashes each file and compares it with its expected sha256; returns all mismatches (empty when fine). */
export async function verifyFiles(entries: readonly {id: string; file: string; sha256: string}[]): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  for (const e of entries) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(e.file);
    } catch {
      problems.push({id: e.id, file: e.file, expected: e.sha256, actual: "missing"});
      continue;
    }
    const actual = sha256Hex(bytes);
    if (actual !== e.sha256) problems.push({id: e.id, file: e.file, expected: e.sha256, actual});
  }
  return problems;
}

export function describeProblems(problems: readonly VerifyProblem[]): string {
  return problems
    .map((p) => (p.actual === "missing" ? `${p.file} (${p.id}): missing` : `${p.file} (${p.id}): sha256 ${p.actual}, manifest says ${p.expected}`))
    .join("\n  - ");
}

/** Checks every committed test image against the manifest; throws a ManifestError listing all mismatches. */
export async function verifyCommittedTestSet(manifest: Manifest, root = ".", manifestName = DEFAULT_MANIFEST): Promise<void> {
  const entries = manifest.images
    .filter((im) => im.split === "test")
    .map((im) => ({id: im.id, file: resolve(root, im.committed as string), sha256: im.committedSha256 as string}));
  const problems = await verifyFiles(entries);
  if (problems.length)
    throw new ManifestError(manifestName, `${problems.length} committed test file(s) do not match:\n  - ${describeProblems(problems)}`);
}

/** Decoded bytes -> RGB ground truth: grey/alpha converted (alpha over white), then downscaled if asked. */
export function prepareGroundTruth(bytes: Uint8Array, name: string, downscale: 1 | 2): ImageF32 {
  const raster = decodeImage(bytes, name);
  const rgb: ImageF32 = {width: raster.width, height: raster.height, channels: 3, data: toRgb(raster)};
  return downscale === 1 ? rgb : downscaleForGroundTruth(rgb, downscale);
}

/** A photograph ready for patch sampling. */
export interface LoadedImage {
  id: string;
  split: Split;
  image: ImageF32;
  entry: ManifestImage | PhotoCacheEntry;
}

/** One prepared image in .cache/photos/index.json. */
export interface PhotoCacheEntry {
  id: string;
  split: "train" | "val";
  /** Prepared PNG relative to the cache directory. */
  file: string;
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  downscale: 1 | 2;
  package: string;
  path: string;
  sha256: string;
  preparedSha256: string;
  licence: string;
  author: string;
  title: string;
}

export interface PhotoCacheIndex {
  version: 1;
  created: string;
  /** sha256 of the manifest the cache was built from. */
  manifestSha256: string;
  images: PhotoCacheEntry[];
}

/** Reads .cache/photos/index.json; a missing cache gives an error that says how to build it. */
export async function readPhotoCacheIndex(dir = PHOTO_CACHE_DIR): Promise<PhotoCacheIndex> {
  const p = join(dir, "index.json");
  let text: string;
  try {
    text = await readFile(p, "utf8");
  } catch {
    throw new Error(
      `The fetched photographs are not there (${p} is missing). Run \`npm run data\` to fetch the training and validation sets; the committed test set in data/test/ works without them.`,
    );
  }
  const idx = JSON.parse(text) as PhotoCacheIndex;
  if (idx.version !== 1 || !Array.isArray(idx.images)) throw new Error(`${p}: unknown format; run \`npm run data\` again`);
  return idx;
}

/**
 * Loads a split as prepared RGB images. "test" reads the committed files (verified against the manifest);
 * "train" and "val" read the cache built by `npm run data`. `ids` restricts the set.
 */
export async function loadSplit(
  split: Split,
  opts: {root?: string; manifestFile?: string; cacheDir?: string; ids?: readonly string[]; verify?: boolean} = {},
): Promise<LoadedImage[]> {
  const root = opts.root ?? ".";
  const want = opts.ids ? new Set(opts.ids) : null;
  if (split === "test") {
    const manifest = await loadManifest(opts.manifestFile ?? DEFAULT_MANIFEST, root);
    const entries = manifest.images.filter((im) => im.split === "test" && (!want || want.has(im.id)));
    const out: LoadedImage[] = [];
    for (const e of entries) {
      const file = resolve(root, e.committed as string);
      const bytes = await readFile(file);
      if ((opts.verify ?? true) && sha256Hex(bytes) !== e.committedSha256)
        throw new ManifestError(opts.manifestFile ?? DEFAULT_MANIFEST, `${e.committed} (${e.id}) does not match its committedSha256`);
      out.push({id: e.id, split, image: prepareGroundTruth(bytes, file, e.downscale), entry: e});
    }
    return out;
  }
  const dir = resolve(root, opts.cacheDir ?? PHOTO_CACHE_DIR);
  const idx = await readPhotoCacheIndex(dir);
  const out: LoadedImage[] = [];
  for (const e of idx.images) {
    if (e.split !== split || (want && !want.has(e.id))) continue;
    const file = join(dir, e.file);
    const bytes = await readFile(file);
    if ((opts.verify ?? false) && sha256Hex(bytes) !== e.preparedSha256)
      throw new Error(`${file} (${e.id}) does not match the cache index; run \`npm run data\` again`);
    const raster = decodeImage(bytes, file);
    out.push({id: e.id, split, image: {width: raster.width, height: raster.height, channels: 3, data: toRgb(raster)}, entry: e});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Pair cache files

/**
 * Writes a pair cache file by streaming: records go to `<file>.partial` as they come, the record count is filled
 * in at the end and the file is renamed into place, so an interrupted run never leaves a file that looks
 * complete. Returns the number of pairs written.
 */
export async function writePairCacheFile(
  file: string,
  header: PairCacheHeaderInit,
  pairs: Iterable<{hr: Uint8Array; lr: Uint8Array}> | AsyncIterable<{hr: Uint8Array; lr: Uint8Array}>,
): Promise<number> {
  await mkdir(dirname(resolve(file)), {recursive: true});
  const partial = `${file}.partial`;
  const fh = await open(partial, "w");
  let count = 0;
  let ok = false;
  try {
    const head = encodePairCacheHeader(header);
    await fh.write(head, 0, head.length);
    // Batch small records into larger writes.
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (!batchBytes) return;
      const buf = new Uint8Array(batchBytes);
      let o = 0;
      for (const b of batch) {
        buf.set(b, o);
        o += b.length;
      }
      await fh.write(buf, 0, buf.length);
      batch = [];
      batchBytes = 0;
    };
    for await (const p of pairs as AsyncIterable<{hr: Uint8Array; lr: Uint8Array}>) {
      const rec = encodePairRecord(header, p.hr, p.lr);
      batch.push(rec);
      batchBytes += rec.length;
      count++;
      if (batchBytes >= 1 << 20) await flush();
    }
    await flush();
    const c = encodeCount(count);
    await fh.write(c, 0, 4, PAIR_CACHE_COUNT_OFFSET);
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await rm(partial, {force: true});
  }
  await rename(partial, file);
  return count;
}

/** Opens a pair cache file for streamed reading (chunks of `chunkSize` bytes, default 1 MiB). */
export async function openPairCacheFile(file: string, chunkSize = 1 << 20): Promise<OpenPairCache> {
  const stream = createReadStream(file, {highWaterMark: chunkSize});
  try {
    return await openPairCache(stream as AsyncIterable<Uint8Array>, file);
  } catch (e) {
    stream.destroy();
    if (e instanceof PairCacheError) {
      const code = /ENOENT/.test(e.message) ? "file not found" : null;
      if (code) throw new PairCacheError(file, code);
    }
    throw e;
  }
}

/** What buildPairCacheFile makes. */
export interface PairCacheBuildOptions {
  /** Number of pairs. */
  count: number;
  /** HR patch side (a multiple of `scale`). */
  size: number;
  preset: Preset;
  scale?: number;
  /** One seed for everything: patch positions come from createRng(seed), each pair's degradation seed from
   * createRng(seed).fork("degrade"), so pair i is the same whatever `count` is. */
  seed: number;
  minGradientEnergy?: number;
  augment?: boolean;
  /** Kept in the header's `extra` (e.g. the split and image ids). */
  extra?: Record<string, unknown>;
}

/**
 * Samples patches from `images`, degrades each with its own seed and streams the pairs into a pair cache file.
 * Returns the number written.
 */
export async function buildPairCacheFile(file: string, images: readonly ImageF32[], opts: PairCacheBuildOptions): Promise<number> {
  const scale = opts.scale ?? 4;
  if (!Number.isInteger(opts.size / scale)) throw new Error(`buildPairCacheFile: size ${opts.size} is not a multiple of scale ${scale}`);
  const lr = opts.size / scale;
  const header: PairCacheHeaderInit = {
    hrHeight: opts.size,
    hrWidth: opts.size,
    lrHeight: lr,
    lrWidth: lr,
    scale,
    channels: 3,
    seed: opts.seed,
    preset: opts.preset,
    created: new Date().toISOString(),
    extra: {
      sampler: {minGradientEnergy: opts.minGradientEnergy ?? null, augment: opts.augment ?? false, images: images.length},
      degradeSeeds: 'createRng(seed).fork("degrade").nextUint32() per pair',
      ...(opts.extra ?? {}),
    },
  };
  const seeds = createRng(opts.seed).fork("degrade");
  const patches = samplePatches(images, {size: opts.size, seed: opts.seed, minGradientEnergy: opts.minGradientEnergy, augment: opts.augment});
  function* pairs() {
    for (let i = 0; i < opts.count; i++) {
      const patch = patches.next().value;
      const r = degrade(patch.image, {preset: opts.preset, seed: seeds.nextUint32(), scale});
      yield {hr: toUint8(r.hr), lr: toUint8(r.lr)};
    }
  }
  return writePairCacheFile(file, header, pairs());
}
