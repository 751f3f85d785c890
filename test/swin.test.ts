// Swin pieces (src/lib/models/swin.ts): window partition and cyclic shift against JS references, the
// relative position bias against a gather, the shifted-window mask by its effect on a real attention layer,
// the six attention implementations against each other, and gradients against finite differences and against
// TF.js autodiff of the plain formulas.
import * as tf from "@tensorflow/tfjs";
import {afterAll, describe, expect, it} from "vitest";
import {NODE_BACKENDS, useBackend} from "./helpers/backends";
import {
  ATTENTION_IMPLS,
  ATTENTION_BY_BACKEND,
  FALLBACK_ATTENTION,
  defaultAttention,
  addBias,
  layerNormC,
  linear,
  relativePositionBias,
  relativePositionIndex,
  roll,
  windowAttention,
  windowAttentionCore,
  windowPartition,
  windowReverse,
  type AttentionImpl,
  type AttentionParams,
} from "../src/lib/models/swin";

/** Deterministic pseudo-random numbers in [-1, 1) (independent of TF.js RNG and backend). */
function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = scale * ((s / 4294967296) * 2 - 1);
  }
  return out;
}

function tensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed, scale), shape);
}

/** Long synchronous TF.js work starves vitest's worker RPC ("Timeout calling onTaskUpdate"); let it breathe. */
const yieldToEventLoop = () => new Promise<void>((r) => setTimeout(r, 0));

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function attnParams(c: number, heads: number, window: number, seed: number): AttentionParams {
  return {
    qkvW: tensor([3, c, c], seed, 0.5),
    qkvB: tensor([3, c], seed + 1, 0.1),
    relTable: tensor([(2 * window - 1) ** 2, heads], seed + 2, 0.5),
    projW: tensor([c, c], seed + 3, 0.5),
    projB: tensor([c], seed + 4, 0.1),
  };
}

afterAll(() => tf.disposeVariables());

for (const backend of NODE_BACKENDS) {
  describe(`swin pieces on ${backend}`, () => {
    it("starts the backend", async () => {
      await useBackend(backend);
      expect(tf.getBackend()).toBe(backend);
    });

    it("windowPartition orders tokens window by window (row-major), and windowReverse inverts it", () => {
      const [b, h, w, c, win] = [2, 8, 12, 3, 4];
      const data = rand(b * h * w * c, 7);
      const x = tf.tensor4d(data, [b, h, w, c]);
      const parts = windowPartition(x, win).arraySync();
      let row = 0;
      for (let n = 0; n < b; n++)
        for (let wy = 0; wy < h / win; wy++)
          for (let wx = 0; wx < w / win; wx++)
            for (let ty = 0; ty < win; ty++)
              for (let tx = 0; tx < win; tx++, row++)
                for (let ch = 0; ch < c; ch++) {
                  const idx = ((n * h + wy * win + ty) * w + wx * win + tx) * c + ch;
                  expect(parts[row][ch]).toBe(data[idx]);
                }
      expect(maxAbsDiff(windowReverse(windowPartition(x, win), b, h, w, win), x)).toBe(0);
    });

    it("roll matches torch.roll semantics out[y, x] = in[(y - dy) mod H, (x - dx) mod W]", () => {
      const [h, w] = [6, 7];
      const data = rand(h * w, 3);
      const x = tf.tensor4d(data, [1, h, w, 1]);
      for (const [dy, dx] of [
        [-2, -3],
        [2, 3],
        [0, 5],
        [13, -8],
      ]) {
        const y = roll(x, dy, dx).dataSync();
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++) {
            const si = (((i - dy) % h) + h) % h;
            const sj = (((j - dx) % w) + w) % w;
            expect(y[i * w + j]).toBe(data[si * w + sj]);
          }
      }
    });

    it("relative position bias equals SwinIR's gather of the table by relative_position_index", () => {
      const window = 4;
      const t = window * window;
      const idx = relativePositionIndex(window);
      // Independent statement of the index: same displacement -> same row; zero displacement -> the centre row.
      const centre = (window - 1) * (2 * window - 1) + (window - 1);
      for (let i = 0; i < t; i++) expect(idx[i * t + i]).toBe(centre);
      const pos = (i: number) => [Math.floor(i / window), i % window];
      let mismatches = 0;
      for (let a = 0; a < t; a++)
        for (let b = 0; b < t; b++)
          for (let c = 0; c < t; c++)
            for (let d = 0; d < t; d += 3) {
              const [ya, xa] = pos(a);
              const [yb, xb] = pos(b);
              const [yc, xc] = pos(c);
              const [yd, xd] = pos(d);
              const same = ya - yb === yc - yd && xa - xb === xc - xd;
              if ((idx[a * t + b] === idx[c * t + d]) !== same) mismatches++;
            }
      expect(mismatches).toBe(0);
      const table = tensor([(2 * window - 1) ** 2, 3], 11);
      const bias = relativePositionBias(table, window);
      const ref = tf.tidy(() =>
        tf.transpose(tf.reshape(tf.gather(table, tf.tensor1d(Array.from(idx), "int32")), [t, t, 3]), [2, 0, 1]),
      );
      expect(bias.shape).toEqual([3, t, t]);
      expect(maxAbsDiff(bias, ref)).toBeLessThan(1e-7);
    });

    /**
     * Perturb one token and see which outputs of a single attention layer move. Expected set, stated in image
     * coordinates independently of the implementation: with shift s, windows are the cells of a grid whose
     * lines sit at s, s + w, s + 2w, ... (the cyclic shift's wrap-around pieces are separate cells); without
     * shift, the cells of the grid 0, w, 2w, ...
     */
    function affectedCells(h: number, w: number, win: number, shift: number, py: number, px: number): boolean[] {
      const cell = (i: number) => (shift === 0 ? Math.floor(i / win) : i < shift ? 0 : 1 + Math.floor((i - shift) / win));
      const out: boolean[] = [];
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.push(cell(y) === cell(py) && cell(x) === cell(px));
      return out;
    }

    it("attention is confined to windows; shifted windows do not attend across borders (every implementation)", async () => {
      const [h, w, c, heads, win] = [16, 24, 4, 2, 8];
      const p = attnParams(c, heads, win, 100);
      const spots = [
        [1, 1],
        [14, 2],
        [5, 21],
        [12, 20],
      ];
      // Batch: the unperturbed grid, then one copy per spot with that token bumped by 1 in every channel.
      const x = tf.tidy(() => {
        const base = tensor([1, h, w, c], 5);
        const bump = tf.buffer([spots.length + 1, h, w, c]);
        spots.forEach(([py, px], s) => {
          for (let ch = 0; ch < c; ch++) bump.set(1, s + 1, py, px, ch);
        });
        return tf.add(base, bump.toTensor()) as tf.Tensor4D;
      });
      // The cpu backend is ~10x slower: there, the two implementations the lab uses (equality of the others
      // with "batched" is checked below).
      const impls = backend === "cpu" ? (["batched", "depthwise"] as AttentionImpl[]) : ATTENTION_IMPLS;
      for (const impl of impls) {
        await yieldToEventLoop();
        for (const shift of [0, win / 2]) {
          const delta = tf.tidy(() => {
            const y = windowAttention(x, p, {heads, window: win, shift, impl});
            const y0 = tf.slice(y, [0, 0, 0, 0], [1, h, w, c]);
            return tf.max(tf.abs(tf.sub(tf.slice(y, [1, 0, 0, 0], [spots.length, h, w, c]), y0)), -1).arraySync() as number[][][];
          });
          spots.forEach(([py, px], s) => {
            const expected = affectedCells(h, w, win, shift, py, px);
            let outside = 0;
            let inside = Infinity;
            expected.forEach((e, i) => {
              const d = delta[s][Math.floor(i / w)][i % w];
              if (e) inside = Math.min(inside, d);
              else outside = Math.max(outside, d);
            });
            expect(outside, `${impl} shift ${shift} spot ${py},${px}`).toBeLessThan(1e-6);
            expect(inside, `${impl} shift ${shift} spot ${py},${px}`).toBeGreaterThan(1e-4);
          });
        }
      }
    });

    it("all attention implementations agree with 'batched' (values and gradients) within 1e-5", async () => {
      const [b, h, w, c, heads, win] = [1, 16, 16, 6, 3, 8];
      const n = b * h * w;
      const q = tensor([n, c], 21, 0.5) as tf.Tensor2D;
      const k = tensor([n, c], 22, 0.5) as tf.Tensor2D;
      const v = tensor([n, c], 23) as tf.Tensor2D;
      const table = tensor([(2 * win - 1) ** 2, heads], 24, 0.5);
      const dy = tensor([n, c], 25);
      for (const shift of backend === "cpu" ? [win / 2] : [0, win / 2]) {
        const shape = {batch: b, height: h, width: w, heads, window: win, shift};
        const run = (impl: AttentionImpl) =>
          tf.tidy(() => {
            const f = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, tt: tf.Tensor) =>
              windowAttentionCore(qq as tf.Tensor2D, kk as tf.Tensor2D, vv as tf.Tensor2D, relativePositionBias(tt, win), shape, impl);
            const grads = tf.grads((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, tt: tf.Tensor) => tf.sum(tf.mul(f(qq, kk, vv, tt), dy)))([q, k, v, table]);
            return [f(q, k, v, table), ...grads];
          });
        const ref = run("batched");
        for (const impl of ATTENTION_IMPLS) {
          await yieldToEventLoop();
          const got = run(impl);
          got.forEach((g, i) => {
            const scale = Math.max(1, tf.tidy(() => tf.max(tf.abs(ref[i])).dataSync()[0]));
            expect(maxAbsDiff(g, ref[i]) / scale, `${impl} shift ${shift} output ${i}`).toBeLessThan(1e-5);
          });
          tf.dispose(got);
        }
        tf.dispose(ref);
      }
      for (const c of Object.values(ATTENTION_BY_BACKEND)) expect(ATTENTION_IMPLS).toEqual(expect.arrayContaining([c.train, c.infer]));
      expect(ATTENTION_IMPLS).toContain(FALLBACK_ATTENTION);
      expect(defaultAttention(true)).toBe(backend === "wasm" ? "depthwise" : "batched");
    });

    it.each(["batched", "depthwise", "loop"] as AttentionImpl[])(
      "gradients of a shifted attention layer (%s) match central finite differences",
      (impl) => {
        // A small layer: 8x8 grid, window 4, shift 2 (4 windows, masked wrap-around), 2 heads of width 3.
        const [h, w, c, heads, win, shift] = [8, 8, 6, 2, 4, 2];
        const p = attnParams(c, heads, win, 300);
        const x = tensor([1, h, w, c], 31);
        const r = tensor([1, h, w, c], 32);
        const loss = (xx: tf.Tensor, qkvW: tf.Tensor, table: tf.Tensor) =>
          tf.sum(tf.mul(windowAttention(xx as tf.Tensor4D, {...p, qkvW, relTable: table}, {heads, window: win, shift, impl}), r));
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => loss(a, b, d))([x, p.qkvW, p.relTable]);
        const inputs = [x, p.qkvW, p.relTable];
        const eps = 1e-2;
        inputs.forEach((t, which) => {
          const base = t.dataSync().slice();
          const g = grads[which].dataSync();
          const picks = Array.from({length: 8}, (_, i) => Math.floor(((i * 7919 + 13 * which) % 1000) / 1000 * base.length));
          for (const j of picks) {
            const at = (delta: number) =>
              tf.tidy(() => {
                const m = base.slice();
                m[j] += delta;
                const args = inputs.map((u, i) => (i === which ? tf.tensor(m, u.shape) : u));
                return loss(args[0], args[1], args[2]).dataSync()[0];
              });
            const fd = (at(eps) - at(-eps)) / (2 * eps);
            expect(Math.abs(fd - g[j]), `input ${which} index ${j}: fd ${fd} vs ${g[j]}`).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
          }
        });
      },
      60_000,
    );

    it("linear, addBias and layerNormC equal TF.js autodiff of the plain formulas", () => {
      const x = tensor([37, 10], 41, 2);
      const wt = tensor([10, 6], 42);
      const b6 = tensor([6], 43);
      const g10 = tensor([10], 44);
      const b10 = tensor([10], 45);
      const d6 = tensor([37, 6], 46);
      const d10 = tensor([37, 10], 47);
      const pairs: Array<[tf.Tensor[], tf.Tensor[]]> = [
        [
          tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(linear(a as tf.Tensor2D, ww, bb), d6)))([x, wt, b6]),
          tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.matMul(a as tf.Tensor2D, ww as tf.Tensor2D), bb), d6)))([x, wt, b6]),
        ],
        [
          tf.grads((a: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(addBias(a, bb), d10)))([x, b10]),
          tf.grads((a: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.add(a, bb), d10)))([x, b10]),
        ],
        [
          tf.grads((a: tf.Tensor, g: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(layerNormC(a, g, bb), d10)))([x, g10, b10]),
          tf.grads((a: tf.Tensor, g: tf.Tensor, bb: tf.Tensor) => {
            const {mean, variance} = tf.moments(a, 1, true);
            return tf.sum(tf.mul(tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), g), bb), d10));
          })([x, g10, b10]),
        ],
      ];
      for (const [got, want] of pairs) got.forEach((g, i) => expect(maxAbsDiff(g, want[i])).toBeLessThan(2e-5));
      // Forward values too.
      const {mean, variance} = tf.moments(x, 1, true);
      const lnRef = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g10), b10);
      expect(maxAbsDiff(layerNormC(x, g10, b10), lnRef)).toBeLessThan(1e-5);
    });
  });
}
