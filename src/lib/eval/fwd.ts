/**
 * Fréchet Wavelet Distance (FWD): Veeramacheneni, Wolter, Kuehne, Garcke, "Fréchet Wavelet Distance: A
 * Domain-Agnostic Metric for Image Generation", ICLR 2025. Each image is split into wavelet packets; for every
 * packet the coefficient vectors of all samples are fitted with one Gaussian per image set; FWD is the mean over
 * packets of the Fréchet distance between the two sets' Gaussians:
 *   FD = |mu1 - mu2|^2 + Tr S1 + Tr S2 - 2 Tr sqrt(S1 S2).
 * It compares distributions of texture by frequency band, with no learned features.
 *
 * The lab's adaptation (named defaults in FWD_DEFAULTS, none of them the paper's):
 * - Samples are non-overlapping square patches of the images (tiled from the top-left corner, a remainder that
 *   does not fill a patch is dropped), not whole images: the test set has 14 photographs, too few for one
 *   Gaussian per packet across images. A packet's sample vector is its coefficients of all three RGB channels
 *   (channel-major, as the reference flattens C x H x W).
 * - Wavelet "haar", 3 levels, 32-pixel patches: 64 packets of 4 x 4 x 3 = 48 coefficients each, so that a few
 *   hundred patches already fit a 48-dimensional covariance. Haar tiles a patch exactly, with no boundary
 *   extension. The reference code's batched packet transform defaults to sym5 with 4 levels on whole images
 *   (with ptwt's boundary handling); numbers from the two are not comparable.
 * - Pixel values are scaled to 0..255 before the transform (valueScale; the reference uses [0, 1]): FD scales
 *   with the square of the value scale, so these numbers are 255^2 times those on [0, 1].
 * - Covariances are unbiased (divided by n - 1, as torch.cov in the reference). Tr sqrt(S1 S2) is computed as
 *   Tr sqrt(R S2 R) with R = sqrt(S1) (both symmetric positive semi-definite; the products have the same
 *   eigenvalues), each square root by a symmetric eigendecomposition written here (cyclic Jacobi), with
 *   negative rounding-level eigenvalues clamped to 0. A distance that rounding leaves slightly below 0 is
 *   reported as 0.
 * Pure JavaScript in float64, DOM-free.
 */
import type {ImageF32} from "../resize.js";
import {WAVELET_NAMES, waveletFilters, type WaveletName} from "../wavelets.js";

export interface FwdOptions {
  wavelet: WaveletName;
  /** Packet decomposition depth: 4^level packets per patch. */
  level: number;
  /** Patch side in pixels; must be a multiple of 2^level. */
  patch: number;
  /** Multiplies pixel values before the transform (255: the 0..255 scale). */
  valueScale: number;
}

/** The lab's FWD settings (see the module comment for why). */
export const FWD_DEFAULTS: Readonly<FwdOptions> = Object.freeze({wavelet: "haar", level: 3, patch: 32, valueScale: 255});

/** One line stating the FWD protocol, for printing beside the numbers. */
export function fwdProtocolText(o: FwdOptions = FWD_DEFAULTS): string {
  const side = o.patch >> o.level;
  return (
    `FWD (Veeramacheneni et al., ICLR 2025), lab adaptation: ${o.wavelet} wavelet packets, level ${o.level} ` +
    `(${4 ** o.level} packets of ${side}x${side}x3), non-overlapping ${o.patch}x${o.patch} RGB patches as samples, ` +
    `values x${o.valueScale}, periodic boundary, unbiased covariance, mean of per-packet Fréchet distances`
  );
}

function checkOptions(o: FwdOptions): void {
  if (!WAVELET_NAMES.includes(o.wavelet)) throw new Error(`FWD: unknown wavelet "${o.wavelet}"`);
  if (!Number.isInteger(o.level) || o.level < 1 || o.level > 6) throw new Error(`FWD: level must be 1..6, got ${o.level}`);
  if (!Number.isInteger(o.patch) || o.patch < 2 ** o.level || o.patch % 2 ** o.level !== 0)
    throw new Error(`FWD: patch ${o.patch} must be a positive multiple of 2^level = ${2 ** o.level}`);
  if (!(o.valueScale > 0)) throw new Error(`FWD: valueScale must be > 0, got ${o.valueScale}`);
}

// ---------------------------------------------------------------------------------------------------------
// Symmetric eigendecomposition and matrix square root (row-major n x n Float64Array)

export interface SymmetricEigen {
  /** Eigenvalues (unsorted). */
  values: Float64Array;
  /** Eigenvectors as columns: vectors[i * n + k] is component i of eigenvector k. */
  vectors: Float64Array;
}

/**
 * Cyclic Jacobi rotations (Golub and Van Loan, Matrix Computations, 4th ed., algorithm 8.5.3): slow for large n
 * but unconditionally stable and accurate to rounding for symmetric matrices, which is what the small packet
 * covariances need. Only the symmetric part (a + a^T) / 2 is used.
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new Error(`symmetricEigen: ${a.length} entries for a ${n}x${n} matrix`);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += m[i] * m[i];
  const tol = total * 1e-30;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * m[p * n + q] * m[p * n + q];
    if (off <= tol) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        const tau = (aqq - app) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // A <- J^T A J on rows/columns p and q.
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p];
          const akq = m[k * n + q];
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k];
          const aqk = m[q * n + k];
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
        m[p * n + q] = 0;
        m[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i];
  return {values, vectors: v};
}

/** Principal square root of a symmetric positive semi-definite matrix; negative eigenvalues are clamped to 0. */
export function sqrtmSymmetric(a: Float64Array, n: number): Float64Array {
  const {values, vectors} = symmetricEigen(a, n);
  const r = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) r[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return r;
}

function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  return c;
}

/** Tr sqrt(S1 S2) for symmetric PSD S1, S2, given R = sqrt(S1) (pass it to reuse one reference set's root). */
export function traceSqrtProduct(s2: Float64Array, n: number, rootS1: Float64Array): number {
  const m = matMul(matMul(rootS1, s2, n), rootS1, n);
  const {values} = symmetricEigen(m, n);
  let t = 0;
  for (const v of values) t += Math.sqrt(Math.max(v, 0));
  return t;
}

/** A Gaussian fit: mean (length n) and covariance (n x n, row-major). */
export interface Gaussian {
  mean: Float64Array;
  cov: Float64Array;
  n: number;
}

function trace(a: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i];
  return t;
}

/** Fréchet (2-Wasserstein) distance between two Gaussians; `rootA` may carry a precomputed sqrt(a.cov). */
export function frechetDistance(a: Gaussian, b: Gaussian, rootA?: Float64Array): number {
  const n = a.n;
  if (b.n !== n) throw new Error(`frechetDistance: dimensions differ (${n} vs ${b.n})`);
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (a.mean[i] - b.mean[i]) ** 2;
  const ts = traceSqrtProduct(b.cov, n, rootA ?? sqrtmSymmetric(a.cov, n));
  return Math.max(0, d2 + trace(a.cov, n) + trace(b.cov, n) - 2 * ts);
}

// ---------------------------------------------------------------------------------------------------------
// Wavelet packets

/** pywt node names of the packets at `level`, in natural order ("a" = LL, "h" = LH, "v" = HL, "d" = HH). */
export function packetNames(level: number): string[] {
  let names = [""];
  for (let l = 0; l < level; l++) names = names.flatMap((p) => ["a", "h", "v", "d"].map((c) => p + c));
  return names;
}

/**
 * One analysis level of an h x w plane (both even) into LL, LH, HL, HH of (h/2) x (w/2), periodic boundary, in
 * PyWavelets' "periodization" convention (the same as src/lib/wavelets.ts): with correlation filters
 * g = reversed decomposition filters and s = 1 - k/2, c[i] = sum_p g[p] x[(2i + p + s) mod N].
 */
function analyzePlane(x: Float64Array, h: number, w: number, glo: number[], ghi: number[]): Float64Array[] {
  const k = glo.length;
  const s = 1 - k / 2;
  const h2 = h / 2;
  const w2 = w / 2;
  // Along W first (rows), then along H (columns): the order does not change the result (separable filters).
  const lo = new Float64Array(h * w2);
  const hi = new Float64Array(h * w2);
  for (let r = 0; r < h; r++)
    for (let i = 0; i < w2; i++) {
      let a = 0;
      let b = 0;
      for (let p = 0; p < k; p++) {
        const c = (((2 * i + p + s) % w) + w) % w;
        const v = x[r * w + c];
        a += glo[p] * v;
        b += ghi[p] * v;
      }
      lo[r * w2 + i] = a;
      hi[r * w2 + i] = b;
    }
  const out = [0, 1, 2, 3].map(() => new Float64Array(h2 * w2));
  // Band order LL, LH (hi along H), HL (hi along W), HH, as wavelets.ts and pywt's a, h, v, d.
  const cols: [Float64Array, number, number][] = [
    [lo, 0, 1],
    [hi, 2, 3],
  ];
  for (const [src, loBand, hiBand] of cols)
    for (let i = 0; i < h2; i++)
      for (let c = 0; c < w2; c++) {
        let a = 0;
        let b = 0;
        for (let p = 0; p < k; p++) {
          const r = (((2 * i + p + s) % h) + h) % h;
          const v = src[r * w2 + c];
          a += glo[p] * v;
          b += ghi[p] * v;
        }
        out[loBand][i * w2 + c] = a;
        out[hiBand][i * w2 + c] = b;
      }
  return out;
}

/**
 * Full wavelet-packet tree of one square single-channel plane (size x size, a multiple of 2^level) down to
 * `level`: 4^level packets in natural order (packetNames), each (size/2^level)^2 coefficients.
 */
export function waveletPackets(plane: Float64Array, size: number, wavelet: WaveletName, level: number): Float64Array[] {
  if (plane.length !== size * size) throw new Error(`waveletPackets: ${plane.length} samples for ${size}x${size}`);
  if (size % 2 ** level !== 0) throw new Error(`waveletPackets: size ${size} is not a multiple of 2^${level}`);
  const {lo, hi} = waveletFilters(wavelet);
  const glo = lo.slice().reverse();
  const ghi = hi.slice().reverse();
  let nodes = [plane];
  let side = size;
  for (let l = 0; l < level; l++) {
    const next: Float64Array[] = [];
    for (const node of nodes) next.push(...analyzePlane(node, side, side, glo, ghi));
    nodes = next;
    side /= 2;
  }
  return nodes;
}

/** Top-left corners of the non-overlapping patch x patch tiles of an h x w image, row-major. */
export function patchGrid(h: number, w: number, patch: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r + patch <= h; r += patch) for (let c = 0; c + patch <= w; c += patch) out.push([r, c]);
  return out;
}

/**
 * Streaming per-packet Gaussian fit. Sums are taken relative to the first sample of each packet (a shift that
 * leaves the covariance unchanged and keeps the sums of products small).
 */
export class PacketStatistics {
  readonly packets: number;
  readonly dim: number;
  private count = 0;
  private shift: Float64Array[] = [];
  private readonly sum: Float64Array[];
  private readonly prod: Float64Array[];

  constructor(readonly options: FwdOptions = FWD_DEFAULTS) {
    checkOptions(options);
    this.packets = 4 ** options.level;
    const side = options.patch >> options.level;
    this.dim = 3 * side * side;
    this.sum = Array.from({length: this.packets}, () => new Float64Array(this.dim));
    this.prod = Array.from({length: this.packets}, () => new Float64Array(this.dim * this.dim));
  }

  get samples(): number {
    return this.count;
  }

  /** Adds every full patch of an RGB image (HWC in [0,1]); returns the number of patches added. */
  addImage(img: ImageF32): number {
    if (img.channels !== 3) throw new Error(`FWD: expected an RGB image, got ${img.channels} channels`);
    const {patch, wavelet, level, valueScale} = this.options;
    const grid = patchGrid(img.height, img.width, patch);
    const plane = new Float64Array(patch * patch);
    const vec = Array.from({length: this.packets}, () => new Float64Array(this.dim));
    const per = (patch >> level) ** 2;
    for (const [r0, c0] of grid) {
      for (let ch = 0; ch < 3; ch++) {
        for (let r = 0; r < patch; r++)
          for (let c = 0; c < patch; c++) plane[r * patch + c] = img.data[((r0 + r) * img.width + c0 + c) * 3 + ch] * valueScale;
        const packets = waveletPackets(plane, patch, wavelet, level);
        for (let p = 0; p < this.packets; p++) vec[p].set(packets[p], ch * per);
      }
      this.addSample(vec);
    }
    return grid.length;
  }

  /** Adds one sample: one coefficient vector (length dim) per packet. */
  addSample(vectors: Float64Array[]): void {
    if (vectors.length !== this.packets) throw new Error(`FWD: ${vectors.length} packet vectors, expected ${this.packets}`);
    if (this.count === 0) this.shift = vectors.map((v) => Float64Array.from(v));
    const d = this.dim;
    const x = new Float64Array(d);
    for (let p = 0; p < this.packets; p++) {
      const v = vectors[p];
      const sh = this.shift[p];
      const sum = this.sum[p];
      const prod = this.prod[p];
      for (let i = 0; i < d; i++) {
        x[i] = v[i] - sh[i];
        sum[i] += x[i];
      }
      // Upper triangle only; mirrored in gaussians().
      for (let i = 0; i < d; i++) {
        const xi = x[i];
        if (xi === 0) continue;
        const row = i * d;
        for (let j = i; j < d; j++) prod[row + j] += xi * x[j];
      }
    }
    this.count++;
  }

  /** One Gaussian per packet (needs at least two samples). */
  gaussians(): Gaussian[] {
    const n = this.count;
    if (n < 2) throw new Error(`FWD: need at least 2 patches for a covariance, got ${n}`);
    const d = this.dim;
    return this.sum.map((sum, p) => {
      const meanShifted = sum.map((s) => s / n);
      const cov = new Float64Array(d * d);
      const prod = this.prod[p];
      for (let i = 0; i < d; i++)
        for (let j = i; j < d; j++) {
          const c = (prod[i * d + j] - n * meanShifted[i] * meanShifted[j]) / (n - 1);
          cov[i * d + j] = c;
          cov[j * d + i] = c;
        }
      const mean = meanShifted.map((m, i) => m + this.shift[p][i]);
      return {mean, cov, n: d};
    });
  }
}

/** A reference set's Gaussians with their covariance square roots, to compare many sets against. */
export interface FwdReference {
  options: FwdOptions;
  gaussians: Gaussian[];
  roots: Float64Array[];
  samples: number;
}

export function fwdReference(stats: PacketStatistics): FwdReference {
  const gaussians = stats.gaussians();
  return {options: stats.options, gaussians, roots: gaussians.map((g) => sqrtmSymmetric(g.cov, g.n)), samples: stats.samples};
}

export interface FwdResult {
  /** Mean over packets of the Fréchet distances. */
  fwd: number;
  /** Per packet, in natural order (packetNames(level)). */
  perPacket: number[];
  samples: number;
}

/** FWD of a set (its packet statistics) against a reference set. */
export function fwdAgainst(reference: FwdReference, stats: PacketStatistics): FwdResult {
  const o = reference.options;
  const s = stats.options;
  if (o.wavelet !== s.wavelet || o.level !== s.level || o.patch !== s.patch || o.valueScale !== s.valueScale)
    throw new Error("FWD: the two sets were analysed with different options");
  const gs = stats.gaussians();
  const perPacket = gs.map((g, p) => frechetDistance(reference.gaussians[p], g, reference.roots[p]));
  return {fwd: perPacket.reduce((a, b) => a + b, 0) / perPacket.length, perPacket, samples: stats.samples};
}

/** FWD between two image sets (reference first). */
export function frechetWaveletDistance(reference: readonly ImageF32[], other: readonly ImageF32[], options: FwdOptions = FWD_DEFAULTS): FwdResult {
  const a = new PacketStatistics(options);
  for (const im of reference) a.addImage(im);
  const b = new PacketStatistics(options);
  for (const im of other) b.addImage(im);
  return fwdAgainst(fwdReference(a), b);
}
