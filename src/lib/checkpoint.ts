/**
 * One-file binary checkpoints for the lab's models, readable in Node and in the browser (no Node APIs here).
 *
 * Layout (all integers little-endian):
 *   bytes 0..7    magic "DTKDCKPT"
 *   bytes 8..11   u32 format version (1)
 *   bytes 12..15  u32 header length L (bytes of UTF-8 JSON)
 *   bytes 16..    JSON header, then zero padding to a multiple of 8
 *   then          tensor data, each tensor at header.tensors[i].offset (relative to the data start)
 * The header holds the caller's metadata (config, step, seeds, data description, ...) and a tensor table
 * {name, shape, dtype, offset, byteLength}. dtype "float32" is stored exactly; "bfloat16" keeps the top 16
 * bits of a float32 (round to nearest even): fp32's full exponent range with 8 significant bits, which suits
 * optimiser moments (Adam's second moment underflows in fp16) at half the size. Weights should stay float32.
 */
import * as tf from "@tensorflow/tfjs";

export const CHECKPOINT_MAGIC = "DTKDCKPT";
export const CHECKPOINT_VERSION = 1;

export type StoredDtype = "float32" | "bfloat16";

export interface CheckpointTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  /** How it is stored in the file (default float32). Loaded data is always Float32Array. */
  dtype?: StoredDtype;
}

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: StoredDtype;
  offset: number;
  byteLength: number;
}

export interface DecodedCheckpoint<M = Record<string, unknown>> {
  meta: M;
  tensors: Map<string, {shape: number[]; dtype: StoredDtype; data: Float32Array}>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toBf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000) return (b >>> 16) | ((b & 0xffff) !== 0 ? 0x40 : 0); // inf / NaN stays NaN
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

function fromBf16(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises metadata and tensors into one ArrayBuffer-backed byte array. */
export function encodeCheckpoint(meta: object, tensors: CheckpointTensor[]): Uint8Array {
  const entries: TensorEntry[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new CheckpointError(`duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    const n = elementCount(t.shape);
    if (n !== t.data.length) throw new CheckpointError(`tensor "${t.name}": shape [${t.shape}] needs ${n} values, got ${t.data.length}`);
    const dtype = t.dtype ?? "float32";
    const byteLength = n * (dtype === "float32" ? 4 : 2);
    entries.push({name: t.name, shape: [...t.shape], dtype, offset, byteLength});
    offset += Math.ceil(byteLength / 8) * 8;
  }
  const header = new TextEncoder().encode(JSON.stringify({meta, tensors: entries}));
  const dataStart = Math.ceil((16 + header.length) / 8) * 8;
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, header.length, true);
  out.set(header, 16);
  tensors.forEach((t, i) => {
    const e = entries[i];
    const base = dataStart + e.offset;
    if (e.dtype === "float32") for (let j = 0; j < t.data.length; j++) view.setFloat32(base + 4 * j, t.data[j], true);
    else for (let j = 0; j < t.data.length; j++) view.setUint16(base + 2 * j, toBf16(t.data[j]), true);
  });
  return out;
}

/** Parses a checkpoint; throws CheckpointError on a wrong magic, version, or a truncated file. */
export function decodeCheckpoint<M = Record<string, unknown>>(bytes: Uint8Array | ArrayBuffer): DecodedCheckpoint<M> {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 16) throw new CheckpointError(`file too short (${b.length} bytes) to be a checkpoint`);
  const magic = new TextDecoder().decode(b.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) throw new CheckpointError(`not a DTKD checkpoint (magic "${magic}")`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) throw new CheckpointError(`unsupported checkpoint version ${version}`);
  const hlen = view.getUint32(12, true);
  if (16 + hlen > b.length) throw new CheckpointError("truncated checkpoint header");
  const header = JSON.parse(new TextDecoder().decode(b.subarray(16, 16 + hlen))) as {meta: M; tensors: TensorEntry[]};
  const dataStart = Math.ceil((16 + hlen) / 8) * 8;
  const tensors = new Map<string, {shape: number[]; dtype: StoredDtype; data: Float32Array}>();
  for (const e of header.tensors) {
    const base = dataStart + e.offset;
    if (base + e.byteLength > b.length) throw new CheckpointError(`truncated checkpoint: tensor "${e.name}" is cut off`);
    const n = elementCount(e.shape);
    const data = new Float32Array(n);
    if (e.dtype === "float32") for (let j = 0; j < n; j++) data[j] = view.getFloat32(base + 4 * j, true);
    else if (e.dtype === "bfloat16") for (let j = 0; j < n; j++) data[j] = fromBf16(view.getUint16(base + 2 * j, true));
    else throw new CheckpointError(`tensor "${e.name}": unknown dtype "${e.dtype as string}"`);
    tensors.set(e.name, {shape: e.shape, dtype: e.dtype, data});
  }
  return {meta: header.meta, tensors};
}

/** Reads a set of named variables into checkpoint tensors named `${group}/${name}`. */
export async function variablesToTensors(
  vars: Map<string, tf.Variable>,
  group: string,
  dtype: StoredDtype = "float32",
): Promise<CheckpointTensor[]> {
  const out: CheckpointTensor[] = [];
  for (const [name, v] of vars) out.push({name: `${group}/${name}`, shape: [...v.shape], data: (await v.data()) as Float32Array, dtype});
  return out;
}

/**
 * Assigns `${group}/${name}` tensors to the variables of the same name. Every variable must be present with
 * the same shape (a missing or mismatched one throws, naming it), so a config change cannot load silently.
 */
export function assignVariables(vars: Map<string, tf.Variable>, ckpt: DecodedCheckpoint<unknown>, group: string): void {
  for (const [name, v] of vars) {
    const t = ckpt.tensors.get(`${group}/${name}`);
    if (!t) throw new CheckpointError(`checkpoint has no tensor "${group}/${name}"`);
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i]))
      throw new CheckpointError(`tensor "${group}/${name}" has shape [${t.shape}], the model expects [${v.shape}]`);
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape, "float32")));
  }
}
