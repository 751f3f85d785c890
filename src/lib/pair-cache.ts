// A compact binary store of (HR, LR) patch pairs, read chunk by chunk (never loaded whole) from a Node stream,
// a browser ReadableStream (fetch(...).body), an async iterable of chunks, or a buffer. No DOM, no node:fs:
// the Node file writer/reader lives in dataset.ts.
//
// Format, version 1 (all integers little-endian):
//   0   8 bytes  magic "DTKDPAIR"
//   8   u32      format version (1)
//   12  u32      number of records; 0xFFFFFFFF while a writer has not finished (such a file is refused)
//   16  u32      header length L
//   20  L bytes  header, UTF-8 JSON (PairCacheHeader without `version` and `count`)
//   20+L u32     CRC-32 of the header bytes
//   then `count` records, each: HR bytes (hrHeight*hrWidth*channels, HWC uint8), LR bytes
//   (lrHeight*lrWidth*channels), u32 CRC-32 of HR and LR together.
// Nothing may follow the last record. Any deviation raises PairCacheError naming the file.

export const PAIR_CACHE_MAGIC = "DTKDPAIR";
export const PAIR_CACHE_VERSION = 1;
const UNFINISHED = 0xffffffff;
const PREFIX_BYTES = 20;
/** Header JSON larger than this is treated as corruption rather than allocated. */
const MAX_HEADER_BYTES = 1 << 20;

/** What a cache says about its pairs. `extra` carries anything else the producer wants to keep. */
export interface PairCacheHeader {
  version: number;
  count: number;
  hrHeight: number;
  hrWidth: number;
  lrHeight: number;
  lrWidth: number;
  scale: number;
  channels: number;
  seed: number;
  /** Degradation preset name ("bicubic", "mild", "realistic", "custom"). */
  preset: string;
  /** ISO 8601 creation time. */
  created: string;
  extra?: Record<string, unknown>;
}

/** The fields a producer chooses; version and count are the writer's business. */
export type PairCacheHeaderInit = Omit<PairCacheHeader, "version" | "count">;

export interface PairRecord {
  index: number;
  /** HWC uint8, hrHeight*hrWidth*channels bytes. */
  hr: Uint8Array;
  /** HWC uint8, lrHeight*lrWidth*channels bytes. */
  lr: Uint8Array;
}

/** Any problem with a pair cache; the message names the file. */
export class PairCacheError extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`Pair cache "${file}": ${problem}`);
    this.name = "PairCacheError";
    this.file = file;
  }
}

// ---------------------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, as zlib)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes`, continuing from `crc` (start with 0). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------------------
// Writing

function validateInit(h: PairCacheHeaderInit, who: string): void {
  for (const k of ["hrHeight", "hrWidth", "lrHeight", "lrWidth", "scale", "channels"] as const) {
    const v = h[k];
    if (!Number.isInteger(v) || v < 1) throw new Error(`${who}: header field ${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isFinite(h.seed)) throw new Error(`${who}: header seed must be a number`);
  if (typeof h.preset !== "string" || typeof h.created !== "string") throw new Error(`${who}: header needs preset and created strings`);
}

/** The file prefix (magic, version, count, header, header CRC). `count` undefined writes the unfinished marker. */
export function encodePairCacheHeader(h: PairCacheHeaderInit, count?: number): Uint8Array {
  validateInit(h, "encodePairCacheHeader");
  const json = new TextEncoder().encode(
    JSON.stringify({
      hrHeight: h.hrHeight,
      hrWidth: h.hrWidth,
      lrHeight: h.lrHeight,
      lrWidth: h.lrWidth,
      scale: h.scale,
      channels: h.channels,
      seed: h.seed,
      preset: h.preset,
      created: h.created,
      ...(h.extra ? {extra: h.extra} : {}),
    }),
  );
  if (json.length > MAX_HEADER_BYTES) throw new Error(`encodePairCacheHeader: header is ${json.length} bytes, limit ${MAX_HEADER_BYTES}`);
  const out = new Uint8Array(PREFIX_BYTES + json.length + 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = PAIR_CACHE_MAGIC.charCodeAt(i);
  view.setUint32(8, PAIR_CACHE_VERSION, true);
  view.setUint32(12, count === undefined ? UNFINISHED : count, true);
  view.setUint32(16, json.length, true);
  out.set(json, PREFIX_BYTES);
  view.setUint32(PREFIX_BYTES + json.length, crc32(json), true);
  return out;
}

/** Byte offset of the record count, for writers that patch it when they finish. */
export const PAIR_CACHE_COUNT_OFFSET = 12;

/** The 4 bytes of a finished count. */
export function encodeCount(count: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, count, true);
  return b;
}

/** Encodes one record (HR, LR, CRC) after checking the sizes against the header. */
export function encodePairRecord(h: PairCacheHeaderInit, hr: Uint8Array, lr: Uint8Array): Uint8Array {
  const hrBytes = h.hrHeight * h.hrWidth * h.channels;
  const lrBytes = h.lrHeight * h.lrWidth * h.channels;
  if (hr.length !== hrBytes) throw new Error(`encodePairRecord: HR has ${hr.length} bytes, header says ${hrBytes}`);
  if (lr.length !== lrBytes) throw new Error(`encodePairRecord: LR has ${lr.length} bytes, header says ${lrBytes}`);
  const out = new Uint8Array(hrBytes + lrBytes + 4);
  out.set(hr, 0);
  out.set(lr, hrBytes);
  new DataView(out.buffer).setUint32(hrBytes + lrBytes, crc32(out.subarray(0, hrBytes + lrBytes)), true);
  return out;
}

/** A whole cache in memory (tests, small exports). */
export function encodePairCache(h: PairCacheHeaderInit, pairs: Iterable<{hr: Uint8Array; lr: Uint8Array}>): Uint8Array {
  const records: Uint8Array[] = [];
  for (const p of pairs) records.push(encodePairRecord(h, p.hr, p.lr));
  const head = encodePairCacheHeader(h, records.length);
  const out = new Uint8Array(head.length + records.reduce((s, r) => s + r.length, 0));
  out.set(head, 0);
  let o = head.length;
  for (const r of records) {
    out.set(r, o);
    o += r.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

/** Anything the reader accepts: a buffer, a browser ReadableStream, or an async iterable of byte chunks. */
export type PairCacheSource = Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** A plain Uint8Array view (a Node Buffer's slice() would not copy, and equality checks see its class). */
function plain(c: Uint8Array): Uint8Array {
  return c.constructor === Uint8Array ? c : new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
}

async function* chunksOf(source: PairCacheSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield plain(source);
    return;
  }
  if (source instanceof ArrayBuffer) {
    yield new Uint8Array(source);
    return;
  }
  if (typeof (source as ReadableStream<Uint8Array>).getReader === "function") {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const {done, value} = await reader.read();
        if (done) return;
        if (value && value.length) yield plain(value);
      }
    } finally {
      reader.releaseLock();
    }
  }
  for await (const c of source as AsyncIterable<Uint8Array | string>) {
    if (typeof c === "string") throw new Error("pair cache source yields strings; open it in binary mode");
    if (c.length) yield plain(c);
  }
}

/** Collects exactly n bytes from a chunk stream, copying only what crosses chunk borders. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private buffered = 0;
  /** Bytes handed out so far (for error messages). */
  consumed = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.chunks.push(r.value);
        this.buffered += r.value.length;
      }
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or null when the stream ends first (then `available` says how many were left). */
  async read(n: number): Promise<Uint8Array | null> {
    if (!(await this.fill(n))) return null;
    const first = this.chunks[0];
    let out: Uint8Array;
    if (first.length - this.head >= n) {
      out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    } else {
      out = new Uint8Array(n);
      let o = 0;
      while (o < n) {
        const c = this.chunks[0];
        const take = Math.min(n - o, c.length - this.head);
        out.set(c.subarray(this.head, this.head + take), o);
        o += take;
        this.head += take;
        if (this.head === c.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
    }
    this.buffered -= n;
    this.consumed += n;
    return out;
  }

  get available(): number {
    return this.buffered;
  }

  /** True when the stream has no further bytes. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }
}

export interface OpenPairCache {
  header: PairCacheHeader;
  /** Streams the records in order; each checked against its CRC. Can be iterated once. */
  pairs(): AsyncGenerator<PairRecord, void>;
}

function parseHeader(json: Uint8Array, name: string): Omit<PairCacheHeader, "version" | "count"> {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(new TextDecoder("utf-8", {fatal: true}).decode(json));
  } catch (e) {
    throw new PairCacheError(name, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (h === null || typeof h !== "object" || Array.isArray(h)) throw new PairCacheError(name, "header is not a JSON object");
  for (const k of ["hrHeight", "hrWidth", "lrHeight", "lrWidth", "scale", "channels"]) {
    const v = h[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new PairCacheError(name, `header field ${k} is missing or not a positive integer (${JSON.stringify(v)})`);
  }
  if (typeof h.seed !== "number") throw new PairCacheError(name, "header field seed is missing");
  if (typeof h.preset !== "string") throw new PairCacheError(name, "header field preset is missing");
  if (typeof h.created !== "string") throw new PairCacheError(name, "header field created is missing");
  return h as unknown as Omit<PairCacheHeader, "version" | "count">;
}

/**
 * Reads and checks the header, then hands out the records one at a time. `name` (a path or URL) is used in
 * every error message.
 */
export async function openPairCache(source: PairCacheSource, name: string): Promise<OpenPairCache> {
  let q: ByteQueue;
  try {
    q = new ByteQueue(chunksOf(source)[Symbol.asyncIterator]());
  } catch (e) {
    throw new PairCacheError(name, (e as Error).message);
  }
  const wrap = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      if (e instanceof PairCacheError) throw e;
      throw new PairCacheError(name, `cannot read: ${(e as Error).message}`);
    }
  };
  const prefix = await wrap(q.read(PREFIX_BYTES));
  if (!prefix) {
    const n = q.available;
    if (n === 0) throw new PairCacheError(name, "file is empty");
    throw new PairCacheError(name, `file is only ${n} bytes, shorter than the ${PREFIX_BYTES}-byte prefix (truncated)`);
  }
  const magic = String.fromCharCode(...prefix.subarray(0, 8));
  if (magic !== PAIR_CACHE_MAGIC)
    throw new PairCacheError(name, `not a pair cache: magic is ${JSON.stringify(magic.replace(/[^\x20-\x7e]/g, "?"))}, expected "${PAIR_CACHE_MAGIC}"`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const version = view.getUint32(8, true);
  if (version !== PAIR_CACHE_VERSION)
    throw new PairCacheError(name, `format version ${version} is not supported (this reader knows version ${PAIR_CACHE_VERSION}); rebuild the cache`);
  const count = view.getUint32(12, true);
  if (count === UNFINISHED) throw new PairCacheError(name, "the writer never finished this file (interrupted); rebuild it");
  const hlen = view.getUint32(16, true);
  if (hlen > MAX_HEADER_BYTES) throw new PairCacheError(name, `header length ${hlen} is implausible (corrupted prefix)`);
  const json = await wrap(q.read(hlen + 4));
  if (!json) throw new PairCacheError(name, `file ends inside the ${hlen}-byte header (truncated)`);
  const hv = new DataView(json.buffer, json.byteOffset, json.byteLength);
  const headerBytes = json.subarray(0, hlen);
  if (hv.getUint32(hlen, true) !== crc32(headerBytes)) throw new PairCacheError(name, "header checksum mismatch (corrupted)");
  const fields = parseHeader(headerBytes, name);
  const header: PairCacheHeader = {version, count, ...fields};
  const hrBytes = header.hrHeight * header.hrWidth * header.channels;
  const lrBytes = header.lrHeight * header.lrWidth * header.channels;
  const recBytes = hrBytes + lrBytes + 4;
  const dataStart = PREFIX_BYTES + hlen + 4;
  let started = false;

  async function* pairs(): AsyncGenerator<PairRecord, void> {
    if (started) throw new PairCacheError(name, "pairs() can only be iterated once per open");
    started = true;
    for (let i = 0; i < count; i++) {
      const rec = await wrap(q.read(recBytes));
      if (!rec) {
        const have = dataStart + i * recBytes + q.available;
        throw new PairCacheError(
          name,
          `truncated: record ${i + 1} of ${count} needs bytes up to ${dataStart + (i + 1) * recBytes}, the file ends at ${have}`,
        );
      }
      const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      if (rv.getUint32(hrBytes + lrBytes, true) !== crc32(rec.subarray(0, hrBytes + lrBytes)))
        throw new PairCacheError(name, `record ${i + 1} of ${count} fails its checksum (corrupted data at byte ${dataStart + i * recBytes})`);
      // Copies, so a consumer may keep them after the underlying chunk is reused.
      yield {index: i, hr: rec.slice(0, hrBytes), lr: rec.slice(hrBytes, hrBytes + lrBytes)};
    }
    if (!(await wrap(q.atEnd())))
      throw new PairCacheError(name, `unexpected bytes after the last of ${count} records (corrupted count or appended data)`);
  }
  return {header, pairs};
}

/** Reads a whole cache into arrays (for small caches and tests). */
export async function readAllPairs(source: PairCacheSource, name: string): Promise<{header: PairCacheHeader; pairs: PairRecord[]}> {
  const c = await openPairCache(source, name);
  const pairs: PairRecord[] = [];
  for await (const p of c.pairs()) pairs.push(p);
  return {header: c.header, pairs};
}
