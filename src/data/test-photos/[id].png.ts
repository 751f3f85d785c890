// Data loader: serves the committed test photograph ID (an id of data/manifest.json, split "test") as
// src/data/test-photos/ID.png, prepared exactly as training prepares ground truth (src/lib/dataset.ts
// loadSplit: sha256 checked against the manifest, decoded with the lab's own decoders, grey and alpha made RGB,
// the strongly compressed wallpapers downscaled by 2 with MATLAB's antialiased bicubic), then stored as an 8-bit
// PNG. Two reasons to prepare at build time rather than in the page: jpeg-js takes about 13 s for the
// 5312 x 2988 wallpaper and the downscale another 5 s, and the page should show the very pixels the lab trains on.
// The only difference from training is the final rounding of downscaled images to 8 bits (under half a level).
//
// The PNG is written here (node:zlib) with per-row adaptive filtering, which makes photographs about 40% smaller
// than the unfiltered PNGs fast-png writes; grey photographs stay one channel. Framework caches the output by its
// presence (NOTES section 3): after changing data/test/ or data/manifest.json, delete
// src/.observablehq/cache/data/test-photos/.
import {deflateSync} from "node:zlib";
import {fileURLToPath} from "node:url";
import {loadSplit} from "../../lib/dataset.js";
import {toUint8} from "../../lib/degrade.js";
import {crc32} from "../../lib/pair-cache.js";

const arg = process.argv.find((a) => a.startsWith("--id="));
const id = arg?.slice("--id=".length) ?? "";
if (!/^[a-z0-9_.-]+$/i.test(id)) throw new Error(`test-photos loader: bad or missing --id (${JSON.stringify(id)})`);

const root = fileURLToPath(new URL("../../../", import.meta.url));
const [photo] = await loadSplit("test", {root, ids: [id]});
if (!photo) throw new Error(`test-photos loader: no test photograph with id "${id}" in data/manifest.json`);
const {width, height, data} = photo.image;
if (photo.image.channels !== 3) throw new Error(`test-photos loader: ${id} prepared with ${photo.image.channels} channels, expected 3`);

const rgb = toUint8(photo.image);
let grey = true;
for (let i = 0; i < rgb.length && grey; i += 3) grey = rgb[i] === rgb[i + 1] && rgb[i] === rgb[i + 2];
const channels = grey ? 1 : 3;
let samples = rgb;
if (grey) {
  samples = new Uint8Array(width * height);
  for (let p = 0; p < samples.length; p++) samples[p] = rgb[3 * p];
}
if (data.length !== width * height * 3) throw new Error(`test-photos loader: ${id} has a malformed pixel buffer`);

/** PNG filter types 0-4; each row takes the one with the smallest sum of |residual| (libpng's heuristic). */
function filteredRows(w: number, h: number, c: number, px: Uint8Array): Buffer {
  const stride = w * c;
  const out = Buffer.alloc((stride + 1) * h);
  const trial = Array.from({length: 5}, () => Buffer.alloc(stride));
  for (let y = 0; y < h; y++) {
    const row = px.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? px.subarray((y - 1) * stride, y * stride) : null;
    let best = 0;
    let bestCost = Infinity;
    for (let f = 0; f < 5; f++) {
      const t = trial[f];
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= c ? row[i - c] : 0;
        const b = up ? up[i] : 0;
        const d = up && i >= c ? up[i - c] : 0;
        let p: number;
        if (f === 0) p = 0;
        else if (f === 1) p = a;
        else if (f === 2) p = b;
        else if (f === 3) p = (a + b) >> 1;
        else {
          const pa = Math.abs(b - d);
          const pb = Math.abs(a - d);
          const pc = Math.abs(a + b - 2 * d);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : d;
        }
        const v = (row[i] - p) & 255;
        t[i] = v;
        cost += v < 128 ? v : 256 - v;
      }
      if (cost < bestCost) {
        bestCost = cost;
        best = f;
      }
    }
    out[y * (stride + 1)] = best;
    trial[best].copy(out, y * (stride + 1) + 1);
  }
  return out;
}

function chunk(type: string, body: Buffer): Buffer {
  const b = Buffer.alloc(12 + body.length);
  b.writeUInt32BE(body.length, 0);
  b.write(type, 4, "latin1");
  body.copy(b, 8);
  b.writeUInt32BE(crc32(b.subarray(4, 8 + body.length)), 8 + body.length);
  return b;
}

const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(width, 0);
ihdr.writeUInt32BE(height, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = grey ? 0 : 2; // colour type: grey or RGB
process.stdout.write(
  Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(filteredRows(width, height, channels, samples), {level: 6})),
    chunk("IEND", Buffer.alloc(0))
  ])
);
