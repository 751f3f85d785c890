// The committed data: manifest, test set, attribution, preparation and patch sampling. Uses only files in the
// repository (never the fetched .cache/photos/).
import {spawnSync} from "node:child_process";
import {existsSync, readdirSync, readFileSync} from "node:fs";
import {mkdir, mkdtemp, rm, symlink, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {
  loadManifest,
  loadSplit,
  ManifestError,
  parseManifest,
  sha256Hex,
  verifyCommittedTestSet,
  verifyFiles,
  type Manifest,
} from "../src/lib/dataset";
import {
  cropPatch,
  DEFAULT_MIN_GRADIENT_ENERGY,
  downscaleForGroundTruth,
  gradientEnergy,
  samplePatches,
  takePatches,
} from "../src/lib/patches";
import type {ImageF32} from "../src/lib/resize";
import {createRng} from "../src/lib/rng";

let manifest: Manifest;
let tmp: string;
beforeAll(async () => {
  manifest = await loadManifest();
  tmp = await mkdtemp(join(tmpdir(), "dtkd-data-"));
});
afterAll(async () => {
  await rm(tmp, {recursive: true, force: true});
});

describe("manifest and committed test set", () => {
  it("lists every split, split by image, with sha256, licence and package", () => {
    const count = (s: string) => manifest.images.filter((i) => i.split === s).length;
    expect(count("test")).toBe(14);
    expect(count("val")).toBeGreaterThanOrEqual(6);
    expect(count("train")).toBeGreaterThanOrEqual(30);
    const keys = manifest.images.map((i) => `${i.package}:${i.path}`);
    expect(new Set(keys).size).toBe(keys.length); // one image, one split
    const packages = new Set(manifest.packages.map((p) => p.name));
    for (const name of [
      "lomiri-wallpapers-16.04",
      "lomiri-wallpapers-20.04",
      "plasma-workspace-wallpapers",
      "mate-backgrounds",
      "lxqt-themes",
      "python3-skimage",
      "python3-sklearn",
      "python-matplotlib-data",
    ])
      expect(packages.has(name), name).toBe(true);
    // every wallpaper is downscaled by 2 before use; the small scientific images are not
    for (const im of manifest.images) expect(im.downscale, im.id).toBe(/wallpapers|backgrounds|lxqt/.test(im.package) ? 2 : 1);
  });

  it("commits only public-domain, CC0 and CC-BY images, byte-checked against the manifest", async () => {
    const tests = manifest.images.filter((i) => i.split === "test");
    for (const t of tests) expect(["Public domain", "CC0-1.0", "CC-BY-2.0", "CC-BY-4.0"], t.id).toContain(t.licence);
    await verifyCommittedTestSet(manifest);
    // nothing else lives in data/test besides the images and their attribution
    const listed = new Set(tests.map((t) => (t.committed as string).replace("data/test/", "")));
    for (const f of readdirSync("data/test")) expect(listed.has(f) || f === "attribution.json" || f === "ATTRIBUTION.md", f).toBe(true);
    const size = tests.reduce((s, t) => s + readFileSync(t.committed as string).length, 0);
    expect(size).toBeLessThan(6e6);
  });

  it("attribution.json names package, author and licence of every committed image", () => {
    const attr = JSON.parse(readFileSync("data/test/attribution.json", "utf8")) as {
      file: string;
      package: string;
      author: string;
      licence: string;
      sha256: string;
    }[];
    const tests = manifest.images.filter((i) => i.split === "test");
    expect(attr.length).toBe(tests.length);
    for (const a of attr) {
      const m = tests.find((t) => t.committed === `data/test/${a.file}`);
      expect(m, a.file).toBeDefined();
      expect(a.package).toBe(m!.package);
      expect(a.author.length).toBeGreaterThan(2);
      expect(a.licence).toBe(m!.licence);
      expect(a.sha256).toBe(sha256Hex(readFileSync(`data/test/${a.file}`)));
    }
  });

  it("a manifest mismatch raises an error naming the file and the image", async () => {
    const bad = structuredClone(manifest);
    const victim = bad.images.find((i) => i.id === "skimage-chelsea")!;
    victim.committedSha256 = "0".repeat(64);
    await expect(verifyCommittedTestSet(bad, ".", "data/manifest.json")).rejects.toThrow(ManifestError);
    await expect(verifyCommittedTestSet(bad, ".", "data/manifest.json")).rejects.toThrow(/data\/test\/chelsea\.png \(skimage-chelsea\): sha256 [0-9a-f]{64}, manifest says 0{64}/);
    const problems = await verifyFiles([{id: "x", file: join(tmp, "nope.png"), sha256: "0".repeat(64)}]);
    expect(problems).toEqual([{id: "x", file: join(tmp, "nope.png"), expected: "0".repeat(64), actual: "missing"}]);
  });

  it("a malformed manifest lists its problems", () => {
    const bad = structuredClone(manifest) as unknown as {images: Record<string, unknown>[]};
    bad.images[0].sha256 = "xyz";
    delete bad.images[1].licence;
    bad.images[2].split = "holdout";
    let msg = "";
    try {
      parseManifest(bad, "m.json");
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/Manifest "m\.json"/);
    expect(msg).toMatch(/sha256 must be 64/);
    expect(msg).toMatch(/licence must be a non-empty string/);
    expect(msg).toMatch(/split must be train, val or test/);
  });

  it("loads the test split as prepared RGB (wallpapers downscaled by 2, grey expanded)", async () => {
    const ims = await loadSplit("test", {ids: ["skimage-camera", "lomiri16-friends"]});
    const byId = Object.fromEntries(ims.map((i) => [i.id, i.image]));
    expect([byId["skimage-camera"].width, byId["skimage-camera"].height, byId["skimage-camera"].channels]).toEqual([512, 512, 3]);
    const f = manifest.images.find((i) => i.id === "lomiri16-friends")!;
    expect([byId["lomiri16-friends"].width, byId["lomiri16-friends"].height]).toEqual([Math.ceil(f.width / 2), Math.ceil(f.height / 2)]);
    const cam = byId["skimage-camera"].data;
    for (let p = 0; p < 1000; p++) expect(cam[p * 3]).toBe(cam[p * 3 + 2]);
  });
});

describe("npm run data fails cleanly", () => {
  const runFetch = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ["--import", "tsx", "scripts/data/fetch.ts", ...args], {encoding: "utf8", env, timeout: 80_000});

  it("without apt-get: a clear message, nothing written", async () => {
    const out = join(tmp, "photos");
    // PATH with node only: apt-get and dpkg-deb cannot be found
    const bin = join(tmp, "bin");
    await mkdir(bin);
    await symlink(process.execPath, join(bin, "node"));
    const r = runFetch(["--out", out], {...process.env, PATH: bin});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/`apt-get` was not found/);
    expect(r.stderr).toMatch(/committed test set/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith("photos"))).toEqual([]);
  }, 90_000);

  it("with a manifest that does not match the committed files: a clear message, nothing written", async () => {
    const bad = structuredClone(manifest);
    bad.images.find((i) => i.id === "sklearn-china")!.committedSha256 = "f".repeat(64);
    const mf = join(tmp, "bad-manifest.json");
    await writeFile(mf, JSON.stringify(bad));
    const out = join(tmp, "photos2");
    const r = runFetch(["--manifest", mf, "--out", out], process.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/data\/test\/china\.jpg \(sklearn-china\): sha256/);
    expect(existsSync(out)).toBe(false);
  }, 90_000);
});

describe("ground truth preparation and patch sampling", () => {
  let photos: ImageF32[];
  beforeAll(async () => {
    photos = (await loadSplit("test", {ids: ["skimage-chelsea", "skimage-coffee", "skimage-brick", "sklearn-flower"]})).map((i) => i.image);
  });

  it("downscaleForGroundTruth halves with antialiasing", () => {
    // A 1-pixel checkerboard has all its energy at Nyquist: antialiased halving turns it into flat grey.
    const n = 32;
    const data = new Float32Array(n * n * 3);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) data.fill((x + y) % 2, (y * n + x) * 3, (y * n + x) * 3 + 3);
    const half = downscaleForGroundTruth({width: n, height: n, channels: 3, data}, 2);
    expect([half.width, half.height]).toEqual([16, 16]);
    for (let y = 3; y < 13; y++) for (let x = 3; x < 13; x++) expect(Math.abs(half.data[(y * 16 + x) * 3] - 0.5)).toBeLessThan(0.02);
    const odd = downscaleForGroundTruth(cropPatch(photos[0], 0, 0, 51, 37), 2);
    expect([odd.width, odd.height]).toEqual([26, 19]);
    for (const v of odd.data) expect(v >= 0 && v <= 1).toBe(true);
  });

  it("same seed gives the same patches, another seed others", () => {
    const a = takePatches(photos, 20, {size: 64, seed: 1});
    const b = takePatches(photos, 20, {size: 64, seed: 1});
    const c = takePatches(photos, 20, {size: 64, seed: 2});
    expect(a.map((p) => [p.source, p.x, p.y])).toEqual(b.map((p) => [p.source, p.x, p.y]));
    expect(a[7].image.data).toEqual(b[7].image.data);
    expect(a.map((p) => [p.source, p.x, p.y])).not.toEqual(c.map((p) => [p.source, p.x, p.y]));
    const aug = takePatches(photos, 30, {size: 32, seed: 3, augment: true});
    expect(new Set(aug.map((p) => p.transform)).size).toBeGreaterThan(4);
    // a flipped/rotated patch keeps the pixels (same multiset of values)
    const t = aug.find((p) => p.transform !== 0)!;
    const plain = cropPatch(photos[t.source], t.x, t.y, 32);
    expect([...t.image.data].sort()).toEqual([...plain.data].sort());
  });

  it("rejects flat patches by gradient energy", () => {
    // Left half flat grey, right half the brick texture: every accepted patch must come from the right.
    const w = 256;
    const h = 128;
    const brick = photos[2];
    const data = new Float32Array(w * h * 3).fill(0.5);
    for (let y = 0; y < h; y++) for (let x = 128; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = brick.data[(y * brick.width + x) * 3 + c];
    const img: ImageF32 = {width: w, height: h, channels: 3, data};
    expect(gradientEnergy(img, 0, 0, 64)).toBe(0);
    expect(gradientEnergy(img, 150, 10, 64)).toBeGreaterThan(DEFAULT_MIN_GRADIENT_ENERGY);
    const ps = takePatches([img], 40, {size: 64, seed: 5});
    for (const p of ps) {
      expect(p.gradientEnergy).toBeGreaterThanOrEqual(DEFAULT_MIN_GRADIENT_ENERGY);
      expect(p.x).toBeGreaterThan(64); // at most half a patch of flat grey
    }
    const all = takePatches([img], 40, {size: 64, seed: 5, minGradientEnergy: 0});
    expect(all.some((p) => p.x < 64)).toBe(true);
    // a wholly flat image cannot give a patch
    const flat: ImageF32 = {width: 80, height: 80, channels: 3, data: new Float32Array(80 * 80 * 3).fill(0.2)};
    expect(() => takePatches([flat], 1, {size: 64, seed: 1})).toThrow(/flatter than minGradientEnergy/);
    // on real photographs the threshold drops the flattest draws, keeps most
    const rng = createRng(9);
    let rejected = 0;
    for (let i = 0; i < 400; i++) {
      const im = photos[rng.int(0, photos.length - 1)];
      if (gradientEnergy(im, rng.int(0, im.width - 64), rng.int(0, im.height - 64), 64) < DEFAULT_MIN_GRADIENT_ENERGY) rejected++;
    }
    expect(rejected).toBeGreaterThan(10);
    expect(rejected).toBeLessThan(240);
  });

  it("draws images in proportion to their patch positions", () => {
    const big: ImageF32 = cropPatch(photos[2], 0, 0, 256);
    const small: ImageF32 = cropPatch(photos[2], 0, 0, 96);
    const ps = takePatches([big, small], 600, {size: 64, seed: 8, minGradientEnergy: 0});
    const fromSmall = ps.filter((p) => p.source === 1).length / ps.length;
    const expected = (33 * 33) / (193 * 193 + 33 * 33);
    expect(Math.abs(fromSmall - expected)).toBeLessThan(0.03);
    const gen = samplePatches([big], {size: 300, seed: 1});
    expect(() => gen.next()).toThrow(/no image is at least 300x300/);
  });
});
