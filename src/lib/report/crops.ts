// The side-by-side crops (data/results/crops/index.json and its PNGs) travel to the site as ONE file, built by
// the data loader src/data/results/crops.bin.ts: Framework's FileAttachment needs a literal path per file, but
// the crop files are named by the index, which changes with every crops run. Format ("pack"):
//
//   8 bytes "DTKDCRP1" | uint32 LE header length H | H bytes of UTF-8 JSON header | the PNG files back to back
//
// Header: {present: false, source} when there is no index.json, else {present: true, source, index, files:
// {name: [offset, length, width, height]}} with offsets into the data after the header. DOM-free and Node-free.
import {checkCropsIndex, type CropsIndex, ResultFileError} from "./types.js";

const MAGIC = "DTKDCRP1";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const CROPS_SOURCE = "data/results/crops/index.json";

export interface PackHeader {
  present: boolean;
  source: string;
  index?: CropsIndex;
  files?: Record<string, [number, number, number, number]>;
}

export interface CropsPack {
  present: boolean;
  source: string;
  index: CropsIndex | null;
  /** The PNG bytes of a file the index names. */
  file(name: string): Uint8Array;
  /** Its width and height, read from the PNG header. */
  size(name: string): {width: number; height: number};
}

/** Width and height of a PNG from its IHDR chunk; throws when the bytes are not a PNG. */
export function pngSize(bytes: Uint8Array, name = "file"): {width: number; height: number} {
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) throw new ResultFileError(CROPS_SOURCE, `${name} is not a PNG`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {width: v.getUint32(16), height: v.getUint32(20)};
}

/**
 * Builds a pack from the parsed index.json (or null when absent) and a reader of its files. Checks that every
 * file the index names is a PNG and that all have the same size (the index's promise: every panel at HR size).
 */
export function packCrops(indexJson: unknown | null, read: (name: string) => Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let header: PackHeader;
  if (indexJson === null) {
    header = {present: false, source: CROPS_SOURCE};
  } else {
    const index = checkCropsIndex(indexJson);
    const files: Record<string, [number, number, number, number]> = {};
    let offset = 0;
    let first: {width: number; height: number; name: string} | null = null;
    for (const c of index.crops) {
      for (const name of Object.values(c.files)) {
        if (files[name]) continue;
        const bytes = read(name);
        const {width, height} = pngSize(bytes, name);
        if (!first) first = {width, height, name};
        else if (width !== first.width || height !== first.height) {
          throw new ResultFileError(CROPS_SOURCE, `${name} is ${width}×${height}, ${first.name} is ${first.width}×${first.height}: every crop must have the same size`);
        }
        files[name] = [offset, bytes.length, width, height];
        parts.push(bytes);
        offset += bytes.length;
      }
    }
    header = {present: true, source: CROPS_SOURCE, index, files};
  }
  const h = enc.encode(JSON.stringify(header));
  const total = 12 + h.length + parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  out.set(enc.encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, h.length, true);
  out.set(h, 12);
  let at = 12 + h.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads a pack written by packCrops. */
export function unpackCrops(buf: ArrayBuffer | Uint8Array): CropsPack {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  const dec = new TextDecoder();
  if (bytes.length < 12 || dec.decode(bytes.subarray(0, 8)) !== MAGIC) throw new ResultFileError(CROPS_SOURCE, "the crops pack is malformed (no DTKDCRP1 header)");
  const hLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + hLen > bytes.length) throw new ResultFileError(CROPS_SOURCE, "the crops pack is truncated");
  const header = JSON.parse(dec.decode(bytes.subarray(12, 12 + hLen))) as PackHeader;
  const base = 12 + hLen;
  const files = header.files ?? {};
  const entry = (name: string) => {
    const f = files[name];
    if (!f) throw new ResultFileError(CROPS_SOURCE, `the crops pack holds no ${name}`);
    if (base + f[0] + f[1] > bytes.length) throw new ResultFileError(CROPS_SOURCE, `the crops pack is truncated inside ${name}`);
    return f;
  };
  return {
    present: header.present,
    source: header.source,
    index: header.present && header.index ? checkCropsIndex(header.index) : null,
    file(name) {
      const [o, l] = entry(name);
      return bytes.subarray(base + o, base + o + l);
    },
    size(name) {
      const [, , width, height] = entry(name);
      return {width, height};
    },
  };
}
