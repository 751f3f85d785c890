// Blur kernels of the Real-ESRGAN degradation model, written after basicsr/data/degradations.py (Wang et al.,
// "Real-ESRGAN", ICCVW 2021) and sampled the way realesrgan/data/realesrgan_dataset.py samples them, plus the
// 2-D filtering (reflect padding, cross-correlation) of basicsr's filter2D. Every kernel is normalised to sum 1.
//
// Coordinates: a kernel of odd size k is stored row-major (row = y, column = x), centred, with grid offsets
// -(k-1)/2 .. (k-1)/2 as in basicsr's mesh_grid (x runs along a row). The covariance of the anisotropic kernels
// is U diag(sigmaX^2, sigmaY^2) U^T with U the rotation by theta (sigma_matrix2).
import type {ImageF32} from "./resize.js";
import type {Rng} from "./rng.js";

/** Kernel families of Real-ESRGAN's random_mixed_kernels, plus the sinc (circular low-pass) kernel. */
export type KernelType =
  | "iso"
  | "aniso"
  | "generalized_iso"
  | "generalized_aniso"
  | "plateau_iso"
  | "plateau_aniso"
  | "sinc";

/** The mixed (non-sinc) families, in Real-ESRGAN's order. */
export const MIXED_KERNEL_TYPES: readonly Exclude<KernelType, "sinc">[] = [
  "iso",
  "aniso",
  "generalized_iso",
  "generalized_aniso",
  "plateau_iso",
  "plateau_aniso",
];

/** A blur kernel with the parameters that made it (for traces and for drawing). */
export interface BlurKernel {
  type: KernelType;
  size: number;
  /** size * size weights, row-major, summing to 1. */
  data: Float64Array;
  sigmaX?: number;
  sigmaY?: number;
  /** Rotation in radians. */
  theta?: number;
  beta?: number;
  /** Cut-off angular frequency of the sinc kernel, radians per pixel. */
  omegaC?: number;
}

function checkSize(size: number, who: string): void {
  if (!Number.isInteger(size) || size < 1 || size % 2 !== 1) throw new Error(`${who}: kernel size must be an odd positive integer, got ${size}`);
}

function normalise(k: Float64Array, who: string): Float64Array {
  let s = 0;
  for (let i = 0; i < k.length; i++) s += k[i];
  if (!(s > 0) || !Number.isFinite(s)) throw new Error(`${who}: kernel sums to ${s}; check its parameters`);
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/** Inverse of the covariance U diag(sx^2, sy^2) U^T, as [a, b, c] for the form a x^2 + 2 b x y + c y^2. */
function inverseCovariance(sigmaX: number, sigmaY: number, theta: number, isotropic: boolean): [number, number, number] {
  if (!(sigmaX > 0) || !(sigmaY > 0)) throw new Error(`kernel sigmas must be positive, got ${sigmaX}, ${sigmaY}`);
  if (isotropic) return [1 / (sigmaX * sigmaX), 0, 1 / (sigmaX * sigmaX)];
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const dx = sigmaX * sigmaX;
  const dy = sigmaY * sigmaY;
  // Sigma = [[c^2 dx + s^2 dy, c s (dx - dy)], [c s (dx - dy), s^2 dx + c^2 dy]]
  const m00 = c * c * dx + s * s * dy;
  const m01 = c * s * (dx - dy);
  const m11 = s * s * dx + c * c * dy;
  const det = m00 * m11 - m01 * m01;
  return [m11 / det, -m01 / det, m00 / det];
}

/** Quadratic form x^T Sigma^-1 x over the kernel grid. */
function quadraticForm(size: number, inv: [number, number, number]): Float64Array {
  const r = (size - 1) / 2;
  const q = new Float64Array(size * size);
  const [a, b, c] = inv;
  for (let row = 0; row < size; row++) {
    const y = row - r;
    for (let col = 0; col < size; col++) {
      const x = col - r;
      q[row * size + col] = a * x * x + 2 * b * x * y + c * y * y;
    }
  }
  return q;
}

/** Isotropic (sigmaY and theta ignored) or anisotropic Gaussian, as basicsr's bivariate_Gaussian. */
export function gaussianKernel(size: number, sigmaX: number, sigmaY: number, theta: number, isotropic: boolean): BlurKernel {
  checkSize(size, "gaussianKernel");
  const q = quadraticForm(size, inverseCovariance(sigmaX, isotropic ? sigmaX : sigmaY, theta, isotropic));
  for (let i = 0; i < q.length; i++) q[i] = Math.exp(-0.5 * q[i]);
  return {
    type: isotropic ? "iso" : "aniso",
    size,
    data: normalise(q, "gaussianKernel"),
    sigmaX,
    sigmaY: isotropic ? sigmaX : sigmaY,
    theta: isotropic ? 0 : theta,
  };
}

/** Generalized Gaussian exp(-0.5 (x^T S^-1 x)^beta), as bivariate_generalized_Gaussian. */
export function generalizedGaussianKernel(
  size: number,
  sigmaX: number,
  sigmaY: number,
  theta: number,
  beta: number,
  isotropic: boolean,
): BlurKernel {
  checkSize(size, "generalizedGaussianKernel");
  if (!(beta > 0)) throw new Error(`generalizedGaussianKernel: beta must be positive, got ${beta}`);
  const q = quadraticForm(size, inverseCovariance(sigmaX, isotropic ? sigmaX : sigmaY, theta, isotropic));
  for (let i = 0; i < q.length; i++) q[i] = Math.exp(-0.5 * Math.pow(q[i], beta));
  return {
    type: isotropic ? "generalized_iso" : "generalized_aniso",
    size,
    data: normalise(q, "generalizedGaussianKernel"),
    sigmaX,
    sigmaY: isotropic ? sigmaX : sigmaY,
    theta: isotropic ? 0 : theta,
    beta,
  };
}

/** Plateau kernel 1 / ((x^T S^-1 x)^beta + 1), as bivariate_plateau. */
export function plateauKernel(
  size: number,
  sigmaX: number,
  sigmaY: number,
  theta: number,
  beta: number,
  isotropic: boolean,
): BlurKernel {
  checkSize(size, "plateauKernel");
  if (!(beta > 0)) throw new Error(`plateauKernel: beta must be positive, got ${beta}`);
  const q = quadraticForm(size, inverseCovariance(sigmaX, isotropic ? sigmaX : sigmaY, theta, isotropic));
  for (let i = 0; i < q.length; i++) q[i] = 1 / (Math.pow(q[i], beta) + 1);
  return {
    type: isotropic ? "plateau_iso" : "plateau_aniso",
    size,
    data: normalise(q, "plateauKernel"),
    sigmaX,
    sigmaY: isotropic ? sigmaX : sigmaY,
    theta: isotropic ? 0 : theta,
    beta,
  };
}

/**
 * Bessel function of the first kind, order 1. Rational approximations of Numerical Recipes (bessj1), absolute
 * error below 1e-8 on the arguments a kernel of size <= 21 needs, far below what normalisation and 8-bit
 * rounding can show.
 */
export function besselJ1(x: number): number {
  const ax = Math.abs(x);
  if (ax < 8) {
    const y = x * x;
    const a1 = x * (72362614232.0 + y * (-7895059235.0 + y * (242396853.1 + y * (-2972611.439 + y * (15704.4826 + y * -30.16036606)))));
    const a2 = 144725228442.0 + y * (2300535178.0 + y * (18583304.74 + y * (99447.43394 + y * (376.9991397 + y))));
    return a1 / a2;
  }
  const z = 8 / ax;
  const y = z * z;
  const xx = ax - 2.356194491;
  const a1 = 1 + y * (0.183105e-2 + y * (-0.3516396496e-4 + y * (0.2457520174e-5 + y * -0.240337019e-6)));
  const a2 = 0.04687499995 + y * (-0.2002690873e-3 + y * (0.8449199096e-5 + y * (-0.88228987e-6 + y * 0.105787412e-6)));
  const ans = Math.sqrt(0.636619772 / ax) * (Math.cos(xx) * a1 - z * Math.sin(xx) * a2);
  return x < 0 ? -ans : ans;
}

/**
 * 2-D sinc (circular low-pass) kernel with cut-off `omegaC` (radians per pixel), as basicsr's
 * circular_lowpass_kernel; zero-padded to `padTo` when that is larger (Real-ESRGAN pads the final sinc to 21).
 */
export function sincKernel(size: number, omegaC: number, padTo = 0): BlurKernel {
  checkSize(size, "sincKernel");
  if (!(omegaC > 0)) throw new Error(`sincKernel: omegaC must be positive, got ${omegaC}`);
  const r = (size - 1) / 2;
  const k = new Float64Array(size * size);
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const d = Math.sqrt((row - r) * (row - r) + (col - r) * (col - r));
      k[row * size + col] = d === 0 ? (omegaC * omegaC) / (4 * Math.PI) : (omegaC * besselJ1(omegaC * d)) / (2 * Math.PI * d);
    }
  }
  normalise(k, "sincKernel");
  if (padTo > size) {
    checkSize(padTo, "sincKernel padTo");
    const p = (padTo - size) / 2;
    const out = new Float64Array(padTo * padTo);
    for (let row = 0; row < size; row++) for (let col = 0; col < size; col++) out[(row + p) * padTo + col + p] = k[row * size + col];
    return {type: "sinc", size: padTo, data: out, omegaC};
  }
  return {type: "sinc", size, data: k, omegaC};
}

/** The identity kernel (Real-ESRGAN's "pulse" when no final sinc is drawn). */
export function pulseKernel(size = 1): BlurKernel {
  checkSize(size, "pulseKernel");
  const data = new Float64Array(size * size);
  data[(size * size - 1) / 2] = 1;
  return {type: "sinc", size, data, omegaC: Math.PI};
}

/** How a blur stage draws its kernel (Real-ESRGAN's dataset options for one degradation order). */
export interface KernelSampling {
  /** Candidate odd sizes, drawn uniformly (Real-ESRGAN: 7, 9, ..., 21). */
  sizes: readonly number[];
  /** Families and their probabilities (Real-ESRGAN: .45, .25, .12, .03, .12, .03). */
  types: readonly Exclude<KernelType, "sinc">[];
  probs: readonly number[];
  /** Range of sigmaX and sigmaY (first order 0.2-3, second 0.2-1.5). */
  sigmaRange: readonly [number, number];
  /** Rotation range in radians (Real-ESRGAN: -pi..pi). */
  rotationRange: readonly [number, number];
  /** Shape range of the generalized Gaussian (0.5-4) and of the plateau (1-2). */
  betagRange: readonly [number, number];
  betapRange: readonly [number, number];
  /** Probability of a sinc kernel instead (0.1); omega_c from [pi/3, pi] for size < 13, else [pi/5, pi]. */
  sincProb: number;
}

/** Real-ESRGAN's first-order kernel settings (train_realesrgan_x4plus.yml). */
export const REALESRGAN_KERNEL1: KernelSampling = {
  sizes: [7, 9, 11, 13, 15, 17, 19, 21],
  types: MIXED_KERNEL_TYPES,
  probs: [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
  sigmaRange: [0.2, 3],
  rotationRange: [-Math.PI, Math.PI],
  betagRange: [0.5, 4],
  betapRange: [1, 2],
  sincProb: 0.1,
};

/** Real-ESRGAN's second-order kernel settings: as the first, sigma 0.2-1.5. */
export const REALESRGAN_KERNEL2: KernelSampling = {...REALESRGAN_KERNEL1, sigmaRange: [0.2, 1.5]};

/** Draws beta below or above 1 with equal odds, as basicsr does for both shape families. */
function drawBeta(rng: Rng, range: readonly [number, number]): number {
  return rng.uniform() < 0.5 ? rng.uniform(range[0], 1) : rng.uniform(1, range[1]);
}

/**
 * One random kernel, drawn as realesrgan_dataset.py draws kernel1/kernel2: a size, then a sinc with probability
 * `sincProb`, else a family by `probs` and its parameters (random_mixed_kernels). The kernel keeps its drawn
 * size (Real-ESRGAN zero-pads to 21, which filters identically).
 */
export function sampleBlurKernel(rng: Rng, cfg: KernelSampling): BlurKernel {
  const size = rng.choice(cfg.sizes);
  if (rng.uniform() < cfg.sincProb) {
    const omegaC = size < 13 ? rng.uniform(Math.PI / 3, Math.PI) : rng.uniform(Math.PI / 5, Math.PI);
    return sincKernel(size, omegaC);
  }
  const type = rng.choice(cfg.types, cfg.probs);
  const isotropic = type.endsWith("iso") && !type.endsWith("aniso");
  const sigmaX = rng.uniform(cfg.sigmaRange[0], cfg.sigmaRange[1]);
  let sigmaY = sigmaX;
  let theta = 0;
  if (!isotropic) {
    sigmaY = rng.uniform(cfg.sigmaRange[0], cfg.sigmaRange[1]);
    theta = rng.uniform(cfg.rotationRange[0], cfg.rotationRange[1]);
  }
  if (type === "iso" || type === "aniso") return gaussianKernel(size, sigmaX, sigmaY, theta, isotropic);
  // basicsr draws plateau beta with the same below/above-1 rule ("TODO: this may be not proper" there), so with
  // the published range [1, 2] half the plateau kernels have beta exactly 1.
  if (type === "generalized_iso" || type === "generalized_aniso")
    return generalizedGaussianKernel(size, sigmaX, sigmaY, theta, drawBeta(rng, cfg.betagRange), isotropic);
  return plateauKernel(size, sigmaX, sigmaY, theta, drawBeta(rng, cfg.betapRange), isotropic);
}

/** Real-ESRGAN's final sinc: size from `sizes`, omega_c from [pi/3, pi], zero-padded to 21 in the original. */
export function sampleFinalSinc(rng: Rng, sizes: readonly number[] = REALESRGAN_KERNEL1.sizes): BlurKernel {
  const size = rng.choice(sizes);
  const omegaC = rng.uniform(Math.PI / 3, Math.PI);
  return sincKernel(size, omegaC);
}

/**
 * Column and row factors (u, v) with kernel = u v^T when the kernel is rank one to within 1e-12 of its peak
 * (isotropic Gaussians and axis-aligned anisotropic ones), else null. Filtering with the factors takes 2k
 * multiplications per sample instead of k^2; results agree with the full 2-D sum to float rounding.
 */
export function separableFactors(kernel: BlurKernel): [Float64Array, Float64Array] | null {
  const k = kernel.size;
  const d = kernel.data;
  if (k < 5) return null;
  let pr = 0;
  let pc = 0;
  for (let i = 0; i < k * k; i++) if (Math.abs(d[i]) > Math.abs(d[pr * k + pc])) [pr, pc] = [Math.floor(i / k), i % k];
  const peak = d[pr * k + pc];
  if (peak === 0) return null;
  const u = new Float64Array(k);
  const v = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    u[i] = d[i * k + pc];
    v[i] = d[pr * k + i] / peak;
  }
  const tol = 1e-12 * Math.abs(peak);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (Math.abs(d[i * k + j] - u[i] * v[j]) > tol) return null;
  return [u, v];
}

function separableFilter(padded: Float32Array, w: number, h: number, c: number, k: number, u: Float64Array, v: Float64Array): ImageF32 {
  const pw = w + k - 1;
  const ph = h + k - 1;
  // rows (along x with v) over all padded rows, then columns (along y with u), both as contiguous row sweeps
  const rowLen = w * c;
  const tmp = new Float64Array(ph * rowLen);
  for (let y = 0; y < ph; y++) {
    const o = y * rowLen;
    for (let t = 0; t < k; t++) {
      const g = v[t];
      if (g === 0) continue;
      const base = (y * pw + t) * c;
      for (let i = 0; i < rowLen; i++) tmp[o + i] += g * padded[base + i];
    }
  }
  const out = new Float32Array(w * h * c);
  const acc = new Float64Array(rowLen);
  for (let y = 0; y < h; y++) {
    acc.fill(0);
    for (let t = 0; t < k; t++) {
      const g = u[t];
      if (g === 0) continue;
      const base = (y + t) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += g * tmp[base + i];
    }
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = acc[i];
  }
  return {width: w, height: h, channels: c, data: out};
}

/**
 * The kernel without its outer rings whose weights are all below 1e-12 (kernels sum to 1): a small-sigma
 * Gaussian drawn at size 21 has tails of 1e-20 that cannot change a float32 result but cost most of the time.
 */
export function trimKernel(kernel: BlurKernel): BlurKernel {
  const k = kernel.size;
  const d = kernel.data;
  let r = (k - 1) / 2;
  const ringSmall = (q: number) => {
    const lo = (k - 1) / 2 - q;
    const hi = (k - 1) / 2 + q;
    for (let i = lo; i <= hi; i++)
      if (Math.abs(d[lo * k + i]) > 1e-12 || Math.abs(d[hi * k + i]) > 1e-12 || Math.abs(d[i * k + lo]) > 1e-12 || Math.abs(d[i * k + hi]) > 1e-12)
        return false;
    return true;
  };
  while (r > 0 && ringSmall(r)) r--;
  const size = 2 * r + 1;
  if (size === k) return kernel;
  const off = (k - size) / 2;
  const data = new Float64Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[y * size + x] = d[(y + off) * k + x + off];
  return {...kernel, size, data};
}

/** Mirror index without repeating the edge sample (PyTorch/numpy "reflect"), for any offset. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

/**
 * basicsr's filter2D: reflect-pad by (k-1)/2, then cross-correlate every channel with the kernel (no flip).
 * PyTorch's reflect padding fails when the pad is not smaller than the image; here the mirror repeats, so tiny
 * images (a 64-pixel patch shrunk to 9 pixels by the first resize) still filter.
 */
export function filter2D(img: ImageF32, fullKernel: BlurKernel): ImageF32 {
  const {width: w, height: h, channels: c, data} = img;
  const kernel = trimKernel(fullKernel);
  const k = kernel.size;
  const r = (k - 1) / 2;
  if (k === 1) {
    const out = new Float32Array(data.length);
    const g = kernel.data[0];
    for (let i = 0; i < data.length; i++) out[i] = data[i] * g;
    return {width: w, height: h, channels: c, data: out};
  }
  const pw = w + 2 * r;
  const ph = h + 2 * r;
  const sep = separableFactors(kernel);
  const padded = new Float32Array(pw * ph * c);
  for (let y = 0; y < ph; y++) {
    const sy = reflectIndex(y - r, h);
    for (let x = 0; x < pw; x++) {
      const sx = reflectIndex(x - r, w);
      const s = (sy * w + sx) * c;
      const d = (y * pw + x) * c;
      for (let ch = 0; ch < c; ch++) padded[d + ch] = data[s + ch];
    }
  }
  if (sep) return separableFilter(padded, w, h, c, k, sep[0], sep[1]);
  // Row-wise accumulation: for every kernel tap, one contiguous multiply-add over a whole output row (the
  // loop the JIT handles best). Exact zeros of the kernel (padded sincs, underflowed Gaussian tails) are skipped.
  const out = new Float32Array(w * h * c);
  const rowLen = w * c;
  const acc = new Float64Array(rowLen);
  for (let y = 0; y < h; y++) {
    acc.fill(0);
    for (let ky = 0; ky < k; ky++) {
      const prow = (y + ky) * pw * c;
      for (let kx = 0; kx < k; kx++) {
        const g = kernel.data[ky * k + kx];
        if (g === 0) continue;
        const base = prow + kx * c;
        for (let i = 0; i < rowLen; i++) acc[i] += g * padded[base + i];
      }
    }
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = acc[i];
  }
  return {width: w, height: h, channels: c, data: out};
}
