/**
 * Orthonormal 2-D discrete wavelet transform (DWT) and its inverse on NHWC batches, differentiable on
 * every TF.js backend (wasm, cpu, webgl, webgpu).
 *
 * Conventions (matching PyWavelets, so results can be checked against `pywt.wavedec2`):
 * - Boundary: periodic, i.e. PyWavelets mode "periodization". Each level maps an H x W plane to four
 *   (H/2) x (W/2) bands with no extra boundary coefficients, so the transform is an orthogonal matrix:
 *   it preserves energy (sum of squares), it is non-expansive, and its inverse is its transpose. That is
 *   why the gradient of `dwt` is computed as `idwt` of the band gradients and vice versa
 *   (`tf.customGrad`), which is exact, fast, and needs no convolution-gradient kernel (wasm lacks some).
 * - Sizes that are not multiples of 2^levels: the bottom and right edges are padded to the next multiple
 *   by whole-sample symmetric extension (NumPy / PyWavelets "symmetric": ... c b a | a b c | c b a ...),
 *   which repeats the border and so creates no artificial edge (zero padding would create one, and
 *   periodic wrap-around would join unrelated borders). `idwt` crops back to the original size. Energy is
 *   preserved exactly only when no padding is needed (the padded copy adds energy).
 * - Bands: `wavedec2` returns [cA_J, (cH_J, cV_J, cD_J), ..., (cH_1, cV_1, cD_1)]. Here
 *   LL{J} = cA_J, LH{j} = cH_j, HL{j} = cV_j, HH{j} = cD_j; j = 1 is the finest level.
 *   LH = high-pass along H (rows, vertical direction), low-pass along W: responds to horizontal edges.
 *   HL = low-pass along H, high-pass along W: responds to vertical edges.
 *   HH = high-pass along both: responds to diagonal detail (and checkerboard texture).
 * - Each channel is transformed separately; a band has the input's batch and channel count.
 *
 * Implementation: NHWC is folded to [N*C, H, W, 1]. One analysis level is a periodic extension (tf.slice +
 * tf.concat) and a stride-2 'valid' conv2d with a constant [k, k, 1, 4] filter bank; one synthesis level
 * is a periodic extension and a stride-1 conv2d with a constant polyphase [t, t, 4, 4] filter bank,
 * followed by a reshape/transpose interleave of the four phases. Haar needs no extension (2x2 analysis,
 * 1x1 synthesis). Between levels the bands travel band-major ([4, N*C, h, w]) so that picking a band is a
 * contiguous slice. Measured on wasm (Node, one thread): this conv path beat a reshape/transpose + matMul
 * Haar and a separable (rows, then columns) variant; slicing or concatenating along the channel axis was
 * 10-50x slower than a transpose, hence the band-major layout. No StridedSlice, DepthToSpace or
 * convolution-gradient kernel is used anywhere. Outside the two custom-gradient level functions, padding
 * (slice + reverse + concat; not tf.mirrorPad, whose gradient in TF.js 4.22 is wrong, see
 * padSymmetricAxis), cropping (slice), band selection (unstack / stack) and the reshapes and transposes
 * keep their native gradients, all of which exist on every backend.
 */
import * as tf from "@tensorflow/tfjs";

export type WaveletName = "haar" | "db2" | "sym4";
export const WAVELET_NAMES: readonly WaveletName[] = ["haar", "db2", "sym4"];

export interface DwtOptions {
  /** Default "haar". */
  wavelet?: WaveletName;
  /** Decomposition depth 1..4; default 2. */
  levels?: number;
}

export interface Subbands {
  /** Keys LL{J}, LH{j}, HL{j}, HH{j}; each NHWC with the input's N and C. */
  bands: Record<string, tf.Tensor4D>;
  wavelet: WaveletName;
  levels: number;
  /** Original H, W; `idwt` crops back to it. */
  size: [number, number];
  /** H, W after symmetric padding to a multiple of 2^levels. */
  paddedSize: [number, number];
}

// PyWavelets' decomposition filters (`pywt.Wavelet(name).dec_lo / dec_hi`), in its convolution order.
const FILTERS: Record<WaveletName, {lo: number[]; hi: number[]}> = {
  haar: {
    lo: [0.7071067811865476, 0.7071067811865476],
    hi: [-0.7071067811865476, 0.7071067811865476]
  },
  db2: {
    lo: [-0.12940952255126037, 0.2241438680420134, 0.8365163037378079, 0.48296291314453416],
    hi: [-0.48296291314453416, 0.8365163037378079, -0.2241438680420134, -0.12940952255126037]
  },
  sym4: {
    lo: [
      -0.07576571478927333, -0.02963552764599851, 0.49761866763201545, 0.8037387518059161,
      0.29785779560527736, -0.09921954357684722, -0.012603967262037833, 0.0322231006040427
    ],
    hi: [
      -0.0322231006040427, -0.012603967262037833, 0.09921954357684722, 0.29785779560527736,
      -0.8037387518059161, 0.49761866763201545, 0.02963552764599851, -0.07576571478927333
    ]
  }
};

/** Decomposition low- and high-pass filters as PyWavelets lists them (convolution order). */
export function waveletFilters(name: WaveletName): {lo: number[]; hi: number[]} {
  const f = FILTERS[name];
  if (!f) throw new Error(`Unknown wavelet "${String(name)}"; expected one of ${WAVELET_NAMES.join(", ")}`);
  return {lo: [...f.lo], hi: [...f.hi]};
}

/** Band names from coarse to fine: LL{J}, LH{J}, HL{J}, HH{J}, ..., LH1, HL1, HH1. */
export function bandNames(levels: number): string[] {
  checkLevels(levels);
  const names = [`LL${levels}`];
  for (let j = levels; j >= 1; j--) names.push(`LH${j}`, `HL${j}`, `HH${j}`);
  return names;
}

function checkLevels(levels: number): void {
  if (!Number.isInteger(levels) || levels < 1 || levels > 4) {
    throw new Error(`DWT levels must be an integer from 1 to 4, got ${String(levels)}`);
  }
}

function checkWavelet(name: WaveletName): void {
  if (!WAVELET_NAMES.includes(name)) {
    throw new Error(`Unknown wavelet "${String(name)}"; expected one of ${WAVELET_NAMES.join(", ")}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Constant filter banks, built once per wavelet and backend. Per backend because a constant created on one
// backend and used on another is copied with a synchronous read, which WebGPU does not support (a
// bank made on webgpu read back as zeros on cpu in headless Chromium).
//
// With correlation filters g = reversed dec filters and offset s = 1 - k/2, PyWavelets' periodization
// is c[i] = sum_p g[p] x[(2i + p + s) mod N] (checked against pywt on impulses, including N < k).
// The inverse (= transpose) gives, for output phase a in {0, 1},
//   x[2m + a] = sum_{p : p+s-a even} g[p] c[(m - d_p) mod M],  d_p = (p + s - a) / 2,
// i.e. a stride-1 correlation over c extended periodically from index -dmax.

interface Bank {
  k: number;
  s: number;
  analysis: tf.Tensor4D; // [k, k, 1, 4]
  synthesis: tf.Tensor4D; // [t, t, 4, 4]; in = band, out = phase 2a + b
  t: number;
  dmax: number;
}

const BAND_FILTERS: ReadonlyArray<readonly [0 | 1, 0 | 1]> = [
  [0, 0], // LL: lo along H, lo along W
  [1, 0], // LH = cH: hi along H, lo along W
  [0, 1], // HL = cV: lo along H, hi along W
  [1, 1] // HH = cD
];

const banks = new Map<string, Bank>();

function bank(name: WaveletName): Bank {
  const key = `${tf.getBackend()}:${name}`;
  const cached = banks.get(key);
  if (cached && !cached.analysis.isDisposed && !cached.synthesis.isDisposed) return cached;
  const {lo, hi} = FILTERS[name];
  const k = lo.length;
  const s = 1 - k / 2;
  const g = [lo.slice().reverse(), hi.slice().reverse()];

  const ana = new Float32Array(k * k * 4);
  for (let p = 0; p < k; p++)
    for (let q = 0; q < k; q++)
      for (let b = 0; b < 4; b++) {
        const [fh, fw] = BAND_FILTERS[b];
        ana[(p * k + q) * 4 + b] = g[fh][p] * g[fw][q];
      }

  let dmin = Infinity;
  let dmax = -Infinity;
  for (let p = 0; p < k; p++)
    for (const a of [0, 1]) {
      if ((((p + s - a) % 2) + 2) % 2 !== 0) continue;
      const d = (p + s - a) / 2;
      dmin = Math.min(dmin, d);
      dmax = Math.max(dmax, d);
    }
  const t = dmax - dmin + 1;
  // h[f][a][tt]: 1-D synthesis taps of filter f for phase a.
  const h = [0, 1].map(() => [0, 1].map(() => new Array<number>(t).fill(0)));
  for (const f of [0, 1])
    for (let p = 0; p < k; p++)
      for (const a of [0, 1]) {
        if ((((p + s - a) % 2) + 2) % 2 !== 0) continue;
        const d = (p + s - a) / 2;
        h[f][a][dmax - d] += g[f][p];
      }
  const syn = new Float32Array(t * t * 16);
  for (let u = 0; u < t; u++)
    for (let v = 0; v < t; v++)
      for (let b = 0; b < 4; b++) {
        const [fh, fw] = BAND_FILTERS[b];
        for (let a = 0; a < 2; a++)
          for (let c = 0; c < 2; c++) syn[((u * t + v) * 4 + b) * 4 + a * 2 + c] = h[fh][a][u] * h[fw][c][v];
      }

  const made: Bank = {
    k,
    s,
    analysis: tf.keep(tf.tensor4d(ana, [k, k, 1, 4])),
    synthesis: tf.keep(tf.tensor4d(syn, [t, t, 4, 4])),
    t,
    dmax
  };
  banks.set(key, made);
  return made;
}

/** out[..., m, ...] = x[..., (m + start) mod n, ...] along `axis`, for m in [0, length). */
function periodicExtend(x: tf.Tensor4D, axis: 1 | 2, start: number, length: number): tf.Tensor4D {
  const n = x.shape[axis];
  if (start === 0 && length === n) return x;
  const pieces: tf.Tensor4D[] = [];
  let m = 0;
  while (m < length) {
    const idx = (((m + start) % n) + n) % n;
    const run = Math.min(n - idx, length - m);
    const begin: [number, number, number, number] = [0, 0, 0, 0];
    const size: [number, number, number, number] = [-1, -1, -1, -1];
    begin[axis] = idx;
    size[axis] = run;
    pieces.push(run === n ? x : tf.slice(x, begin, size));
    m += run;
  }
  return pieces.length === 1 ? pieces[0] : tf.concat(pieces, axis);
}

// Layout between levels: bands are band-major, [4, B, h, w] (LL, LH, HL, HH). Selecting a band is then a
// contiguous slice along axis 0; on wasm, slicing or concatenating along the last (channel) axis of a
// [B, h, w, 4] tensor is 10-50x slower than a transpose plus contiguous slices.

/** One analysis level, no gradient: [B, H, W, 1] (H, W even) -> [4, B, H/2, W/2]. */
function analyze(x: tf.Tensor4D, name: WaveletName): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, hgt, wid] = x.shape;
    const {k, s, analysis} = bank(name);
    let xe = periodicExtend(x, 1, s, hgt + k - 2);
    xe = periodicExtend(xe, 2, s, wid + k - 2);
    return tf.conv2d(xe, analysis, 2, "valid").transpose([3, 0, 1, 2]) as tf.Tensor4D;
  });
}

/** One synthesis level, no gradient: [4, B, h, w] -> [B, 2h, 2w, 1]. */
function synthesize(c: tf.Tensor4D, name: WaveletName): tf.Tensor4D {
  return tf.tidy(() => {
    const [, b, h, w] = c.shape;
    const {t, dmax, synthesis} = bank(name);
    let ce = c.transpose([1, 2, 3, 0]) as tf.Tensor4D;
    ce = periodicExtend(ce, 1, -dmax, h + t - 1);
    ce = periodicExtend(ce, 2, -dmax, w + t - 1);
    const phases = tf.conv2d(ce, synthesis, 1, "valid");
    // phases[b, m, n, 2a + c] = y[b, 2m + a, 2n + c]
    return phases
      .reshape([b, h, w, 2, 2])
      .transpose([0, 1, 3, 2, 4])
      .reshape([b, 2 * h, 2 * w, 1]) as tf.Tensor4D;
  });
}

// Gradients: analysis and synthesis are mutually transposed orthogonal maps, so each one's vector-Jacobian
// product is the other one applied to the incoming gradient.
const gradCache = new Map<WaveletName, {fwd: (x: tf.Tensor4D) => tf.Tensor4D; inv: (c: tf.Tensor4D) => tf.Tensor4D}>();

function levelOps(name: WaveletName) {
  let ops = gradCache.get(name);
  if (!ops) {
    const fwd = tf.customGrad<tf.Tensor4D>((...args) => ({
      value: analyze(args[0] as tf.Tensor4D, name),
      gradFunc: (dy) => synthesize(dy, name)
    }));
    const inv = tf.customGrad<tf.Tensor4D>((...args) => ({
      value: synthesize(args[0] as tf.Tensor4D, name),
      gradFunc: (dy) => analyze(dy, name)
    }));
    ops = {fwd: (x) => fwd(x), inv: (c) => inv(c)};
    gradCache.set(name, ops);
  }
  return ops;
}

/**
 * Whole-sample symmetric extension at the end of `axis`, repeated when the pad exceeds the size.
 * Built from slice + reverse + concat rather than tf.mirrorPad: TF.js 4.22's MirrorPad gradient only
 * slices the centre out of dy and drops the gradient that flows through the mirrored copies.
 */
function padSymmetricAxis(x: tf.Tensor4D, axis: 1 | 2, pad: number): tf.Tensor4D {
  let y = x;
  let rem = pad;
  while (rem > 0) {
    const n = y.shape[axis];
    const q = Math.min(rem, n);
    const begin: [number, number, number, number] = [0, 0, 0, 0];
    const size: [number, number, number, number] = [-1, -1, -1, -1];
    begin[axis] = n - q;
    size[axis] = q;
    y = tf.concat([y, tf.reverse(tf.slice(y, begin, size), axis)], axis);
    rem -= q;
  }
  return y;
}

/**
 * Multi-level 2-D DWT of an NHWC batch (any channel count). Bands are NHWC tensors owned by the caller.
 * Throws on levels outside 1..4 or an unknown wavelet.
 */
export function dwt(x: tf.Tensor4D, opts: DwtOptions = {}): Subbands {
  const wavelet = opts.wavelet ?? "haar";
  const levels = opts.levels ?? 2;
  checkWavelet(wavelet);
  checkLevels(levels);
  if (x.rank !== 4) throw new Error(`dwt expects an NHWC tensor, got rank ${x.rank}`);
  const [n, hgt, wid, ch] = x.shape;
  if (hgt < 1 || wid < 1) throw new Error(`dwt needs a non-empty image, got ${hgt}x${wid}`);
  const mult = 2 ** levels;
  const ph = Math.ceil(hgt / mult) * mult;
  const pw = Math.ceil(wid / mult) * mult;
  const {fwd} = levelOps(wavelet);

  const bands = tf.tidy(() => {
    const padded = padSymmetricAxis(padSymmetricAxis(x, 1, ph - hgt), 2, pw - wid);
    // [N, H, W, C] -> [N*C, H, W, 1]: channels become independent images.
    let ll: tf.Tensor4D =
      ch === 1
        ? padded.reshape([n, ph, pw, 1])
        : padded.transpose([0, 3, 1, 2]).reshape([n * ch, ph, pw, 1]);
    const out: Record<string, tf.Tensor4D> = {};
    const toNHWC = (t: tf.Tensor4D): tf.Tensor4D => {
      const [, h, w] = t.shape;
      return ch === 1 ? t.reshape([n, h, w, 1]) : t.reshape([n, ch, h, w]).transpose([0, 2, 3, 1]);
    };
    for (let j = 1; j <= levels; j++) {
      const [cLL, cLH, cHL, cHH] = tf.unstack(fwd(ll)) as tf.Tensor3D[];
      const [bc, h, w] = cLL.shape;
      out[`LH${j}`] = toNHWC(cLH.reshape([bc, h, w, 1]));
      out[`HL${j}`] = toNHWC(cHL.reshape([bc, h, w, 1]));
      out[`HH${j}`] = toNHWC(cHH.reshape([bc, h, w, 1]));
      ll = cLL.reshape([bc, h, w, 1]);
    }
    out[`LL${levels}`] = toNHWC(ll);
    return out;
  });
  return {bands, wavelet, levels, size: [hgt, wid], paddedSize: [ph, pw]};
}

/** Inverse of `dwt`: rebuilds the NHWC batch and crops it to `s.size`. */
export function idwt(s: Subbands): tf.Tensor4D {
  const {wavelet, levels, bands} = s;
  checkWavelet(wavelet);
  checkLevels(levels);
  for (const name of bandNames(levels)) {
    if (!bands[name]) throw new Error(`idwt: band ${name} is missing`);
  }
  const {inv} = levelOps(wavelet);
  return tf.tidy(() => {
    const ref = bands[`LL${levels}`];
    const [n, , , ch] = ref.shape;
    const fold = (t: tf.Tensor4D, j: string): tf.Tensor4D => {
      const [tn, h, w, tc] = t.shape;
      if (tn !== n || tc !== ch) {
        throw new Error(`idwt: band ${j} has shape ${t.shape.join("x")}, expected batch ${n} and ${ch} channels`);
      }
      return ch === 1 ? t.reshape([n, h, w, 1]) : t.transpose([0, 3, 1, 2]).reshape([n * ch, h, w, 1]);
    };
    let ll = fold(ref, `LL${levels}`);
    for (let j = levels; j >= 1; j--) {
      const parts = [ll, fold(bands[`LH${j}`], `LH${j}`), fold(bands[`HL${j}`], `HL${j}`), fold(bands[`HH${j}`], `HH${j}`)];
      const [, h, w] = parts[0].shape;
      for (const [i, p] of parts.entries()) {
        if (p.shape[1] !== h || p.shape[2] !== w) {
          throw new Error(`idwt: level ${j} band ${i} is ${p.shape[1]}x${p.shape[2]}, expected ${h}x${w}`);
        }
      }
      ll = inv(tf.stack(parts.map((p) => p.reshape([n * ch, h, w]))) as tf.Tensor4D);
    }
    const [, ph, pw] = ll.shape;
    const full = ch === 1 ? ll.reshape([n, ph, pw, 1]) : ll.reshape([n, ch, ph, pw]).transpose([0, 2, 3, 1]);
    const [hgt, wid] = s.size;
    if (hgt === ph && wid === pw) return full as tf.Tensor4D;
    return tf.slice(full, [0, 0, 0, 0], [n, hgt, wid, ch]) as tf.Tensor4D;
  });
}
