import {existsSync} from "node:fs";
import {mkdtemp, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {buildPairCacheFile, loadSplit, openPairCacheFile, writePairCacheFile} from "../src/lib/dataset";
import {takePatches} from "../src/lib/patches";
import {degrade, toUint8} from "../src/lib/degrade";
import {
  crc32,
  encodePairCache,
  encodePairCacheHeader,
  openPairCache,
  PairCacheError,
  readAllPairs,
  type PairCacheHeaderInit,
  type PairRecord,
} from "../src/lib/pair-cache";
import {createRng} from "../src/lib/rng";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dtkd-pairs-"));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

const header: PairCacheHeaderInit = {
  hrHeight: 16,
  hrWidth: 16,
  lrHeight: 4,
  lrWidth: 4,
  scale: 4,
  channels: 3,
  seed: 99,
  preset: "realistic",
  created: "2026-01-01T00:00:00.000Z",
  extra: {source: "test"},
};

/** Real degraded pairs from random HR patches. */
function makePairs(n: number): {hr: Uint8Array; lr: Uint8Array}[] {
  const rng = createRng(5);
  return Array.from({length: n}, (_, i) => {
    const hr = {width: 16, height: 16, channels: 3, data: new Float32Array(16 * 16 * 3).map(() => rng.uniform())};
    const r = degrade(hr, {preset: "realistic", seed: i});
    return {hr: toUint8(r.hr), lr: toUint8(r.lr)};
  });
}

/** A browser-style ReadableStream that hands out the bytes in chunks of random small sizes. */
function chunkedStream(bytes: Uint8Array, seed: number, maxChunk = 13): ReadableStream<Uint8Array> {
  const rng = createRng(seed);
  let o = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (o >= bytes.length) {
        controller.close();
        return;
      }
      const n = rng.int(1, maxChunk);
      controller.enqueue(bytes.slice(o, o + n));
      o += n;
    },
  });
}

async function collect(it: AsyncGenerator<PairRecord, void>): Promise<PairRecord[]> {
  const out: PairRecord[] = [];
  for await (const p of it) out.push(p);
  return out;
}

describe("pair cache", () => {
  const pairs = makePairs(23);

  it("crc32 matches the standard check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("round-trips through a file, read back in 7-byte chunks", async () => {
    const file = join(dir, "a.pairs");
    const n = await writePairCacheFile(file, header, pairs);
    expect(n).toBe(23);
    expect(existsSync(`${file}.partial`)).toBe(false);
    const c = await openPairCacheFile(file, 7);
    expect(c.header).toMatchObject({...header, version: 1, count: 23});
    const got = await collect(c.pairs());
    expect(got.map((p) => p.index)).toEqual(Array.from({length: 23}, (_, i) => i));
    got.forEach((p, i) => {
      expect(p.hr).toEqual(pairs[i].hr);
      expect(p.lr).toEqual(pairs[i].lr);
    });
    // uint8 pixels plus a 4-byte checksum per record and one small header: nothing else
    expect((await readFile(file)).length).toBe(encodePairCacheHeader(header, 23).length + 23 * (16 * 16 * 3 + 4 * 4 * 3 + 4));
  });

  it("round-trips through a browser ReadableStream in random small chunks, an ArrayBuffer and an async writer source", async () => {
    const bytes = encodePairCache(header, pairs);
    for (const seed of [1, 2, 3]) {
      const c = await openPairCache(chunkedStream(bytes, seed), "https://example.org/a.pairs");
      const got = await collect(c.pairs());
      expect(got.length).toBe(23);
      expect(got[22].lr).toEqual(pairs[22].lr);
    }
    const whole = await readAllPairs(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer, "buffer");
    expect(whole.pairs[5].hr).toEqual(pairs[5].hr);
    async function* gen() {
      for (const p of pairs) yield p;
    }
    const file = join(dir, "async.pairs");
    expect(await writePairCacheFile(file, header, gen())).toBe(23);
    expect(new Uint8Array(await readFile(file))).toEqual(bytes);
  });

  it("an empty cache is valid", async () => {
    const r = await readAllPairs(encodePairCache(header, []), "empty");
    expect(r.header.count).toBe(0);
    expect(r.pairs).toEqual([]);
  });

  const bad = async (bytes: Uint8Array, name: string) => {
    const f = join(dir, name);
    await writeFile(f, bytes);
    let err: unknown;
    try {
      const c = await openPairCacheFile(f, 64);
      await collect(c.pairs());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PairCacheError);
    expect((err as Error).message).toContain(f);
    return (err as Error).message;
  };

  it("names the file and the problem for corrupted, truncated and foreign files", async () => {
    const good = encodePairCache(header, pairs);
    const flipped = good.slice();
    flipped[good.length - 100] ^= 0x40;
    expect(await bad(flipped, "flipped.pairs")).toMatch(/record 23 of 23 fails its checksum/);

    expect(await bad(good.slice(0, good.length - 10), "cut.pairs")).toMatch(/truncated: record 23 of 23/);
    expect(await bad(good.slice(0, 30), "cut-header.pairs")).toMatch(/ends inside the .*header/);
    expect(await bad(good.slice(0, 10), "tiny.pairs")).toMatch(/shorter than the 20-byte prefix/);
    expect(await bad(new Uint8Array(0), "empty.pairs")).toMatch(/empty/);

    const magic = good.slice();
    magic.set(new TextEncoder().encode("PNGPAIRS"), 0);
    expect(await bad(magic, "magic.pairs")).toMatch(/not a pair cache/);

    const version = good.slice();
    new DataView(version.buffer).setUint32(8, 2, true);
    expect(await bad(version, "version.pairs")).toMatch(/format version 2 is not supported/);

    const unfinished = good.slice();
    new DataView(unfinished.buffer).setUint32(12, 0xffffffff, true);
    expect(await bad(unfinished, "unfinished.pairs")).toMatch(/never finished/);

    const header2 = good.slice();
    header2[25] ^= 0x01;
    expect(await bad(header2, "header.pairs")).toMatch(/header checksum mismatch/);

    const longer = new Uint8Array(good.length + 5);
    longer.set(good);
    expect(await bad(longer, "trailing.pairs")).toMatch(/unexpected bytes after the last/);

    await expect(openPairCacheFile(join(dir, "missing.pairs"))).rejects.toThrow(/missing\.pairs.*not found/);
  });

  it("buildPairCacheFile: seeded patches + degradation, pair i independent of the count", async () => {
    const photo = (await loadSplit("test", {ids: ["skimage-coffee"]}))[0].image;
    const f5 = join(dir, "b5.pairs");
    const f8 = join(dir, "b8.pairs");
    expect(await buildPairCacheFile(f5, [photo], {count: 5, size: 32, preset: "realistic", seed: 77})).toBe(5);
    expect(await buildPairCacheFile(f8, [photo], {count: 8, size: 32, preset: "realistic", seed: 77})).toBe(8);
    const a = await readAllPairs(await readFile(f5), f5);
    const b = await readAllPairs(await readFile(f8), f8);
    expect(a.header).toMatchObject({hrHeight: 32, lrHeight: 8, scale: 4, seed: 77, preset: "realistic", count: 5});
    for (let i = 0; i < 5; i++) {
      expect(b.pairs[i].hr).toEqual(a.pairs[i].hr);
      expect(b.pairs[i].lr).toEqual(a.pairs[i].lr);
    }
    // the HR of pair 0 is the sampler's first patch
    const first = takePatches([photo], 1, {size: 32, seed: 77})[0];
    expect(a.pairs[0].hr).toEqual(toUint8(first.image));
  });

  it("an interrupted writer leaves neither the file nor a partial one", async () => {
    const file = join(dir, "broken.pairs");
    function* failing() {
      yield pairs[0];
      throw new Error("producer died");
    }
    await expect(writePairCacheFile(file, header, failing())).rejects.toThrow(/producer died/);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.partial`)).toBe(false);
    await expect(writePairCacheFile(file, header, [{hr: new Uint8Array(3), lr: pairs[0].lr}])).rejects.toThrow(/HR has 3 bytes/);
    expect(existsSync(file)).toBe(false);
  });
});
