/**
 * ResShift residual-shifting diffusion (Yue et al., NeurIPS 2023), on any tensor shape.
 *
 * Forward process (closed form), with y the conditioning image (upsampled LR or a predictor's output):
 *   q(x_t | x_0, y) = N(x_0 + eta_t (y - x_0), kappa^2 eta_t I),  t = 1..T,  eta_0 = 0
 * One-step transition: q(x_t | x_{t-1}, x_0, y) = N(x_{t-1} + alpha_t (y - x_0), kappa^2 alpha_t I),
 *   alpha_t = eta_t - eta_{t-1}
 * Posterior: q(x_{t-1} | x_t, x_0) = N((eta_{t-1}/eta_t) x_t + (alpha_t/eta_t) x_0, kappa^2 eta_{t-1} alpha_t / eta_t I)
 * Schedule: sqrt(eta_t) = sqrt(eta_1) * b^(((t-1)/(T-1))^p * (T-1)), b = (sqrt(eta_T)/sqrt(eta_1))^(1/(T-1)).
 * The network predicts x_0; the sampler starts from x_T = y + kappa sqrt(eta_T) eps (ResShift's prior).
 *
 * Randomness comes from a caller-supplied seeded JS generator turned into tensors, so a given seed gives the
 * same sample on every backend.
 */
import * as tf from "@tensorflow/tfjs";

export interface ResShiftConfig {
  /** Number of diffusion steps. */
  T: number;
  /** Noise scale. ResShift uses 2 in a VQ latent space; in [0,1] pixels it must be of the order of the residual's std. */
  kappa: number;
  /** Exponent shaping the eta schedule (ResShift: 0.3). */
  p: number;
  sqrtEta1: number;
  sqrtEtaT: number;
}

export interface Schedule extends ResShiftConfig {
  /** eta[t] for t = 0..T (eta[0] = 0). */
  eta: number[];
  /** alpha[t] = eta[t] - eta[t-1] for t = 1..T (alpha[0] = 0). */
  alpha: number[];
}

/** Anything that yields standard-normal numbers (src/lib/rng.ts's generators satisfy it). */
export interface NormalSource {
  normal(): number;
}

export function makeSchedule(cfg: ResShiftConfig): Schedule {
  const {T, p, sqrtEta1, sqrtEtaT, kappa} = cfg;
  if (!Number.isInteger(T) || T < 1) throw new Error(`ResShift: T must be a positive integer, got ${T}`);
  if (!(kappa > 0)) throw new Error(`ResShift: kappa must be > 0, got ${kappa}`);
  if (!(sqrtEta1 > 0 && sqrtEtaT < 1 && sqrtEta1 <= sqrtEtaT))
    throw new Error(`ResShift: need 0 < sqrt(eta_1) <= sqrt(eta_T) < 1, got ${sqrtEta1}, ${sqrtEtaT}`);
  const eta = [0];
  if (T === 1) eta.push(sqrtEtaT * sqrtEtaT);
  else {
    const b = Math.exp(Math.log(sqrtEtaT / sqrtEta1) / (T - 1));
    for (let t = 1; t <= T; t++) {
      const s = sqrtEta1 * Math.pow(b, Math.pow((t - 1) / (T - 1), p) * (T - 1));
      eta.push(s * s);
    }
  }
  const alpha = eta.map((e, t) => (t === 0 ? 0 : e - eta[t - 1]));
  return {...cfg, eta, alpha};
}

/** Coefficients of q(x_t | x_0, y): mean = cX0 x_0 + cY y, standard deviation std. */
export function marginalCoefs(s: Schedule, t: number): {cX0: number; cY: number; std: number} {
  checkT(s, t);
  const e = s.eta[t];
  return {cX0: 1 - e, cY: e, std: s.kappa * Math.sqrt(e)};
}

/** Coefficients of q(x_{t-1} | x_t, x_0): mean = cXt x_t + cX0 x_0, variance. */
export function posteriorCoefs(s: Schedule, t: number): {cXt: number; cX0: number; variance: number} {
  checkT(s, t);
  const e = s.eta[t];
  const ep = s.eta[t - 1];
  const a = s.alpha[t];
  return {cXt: ep / e, cX0: a / e, variance: (s.kappa * s.kappa * ep * a) / e};
}

function checkT(s: Schedule, t: number): void {
  if (!Number.isInteger(t) || t < 1 || t > s.T) throw new Error(`ResShift: step ${t} outside 1..${s.T}`);
}

/** Per-sample column [N,1,1,...] of a per-step quantity, for broadcasting against [N,...] tensors. */
function perSample(values: number[], rank: number): tf.Tensor {
  return tf.tensor(values, [values.length, ...new Array(rank - 1).fill(1)], "float32");
}

/**
 * Closed-form forward sample x_t = x_0 + eta_t (y - x_0) + kappa sqrt(eta_t) noise.
 * `t` is one step for the whole batch or one per sample; `noise` is standard normal with x0's shape.
 */
export function qSample<R extends tf.Rank>(
  s: Schedule,
  x0: tf.Tensor<R>,
  y: tf.Tensor<R>,
  t: number | number[],
  noise: tf.Tensor<R>,
): tf.Tensor<R> {
  return tf.tidy(() => {
    const n = x0.shape[0] as number;
    const ts = typeof t === "number" ? new Array(n).fill(t) : t;
    if (ts.length !== n) throw new Error(`qSample: ${ts.length} steps for a batch of ${n}`);
    const c = ts.map((tt) => marginalCoefs(s, tt));
    const eta = perSample(
      c.map((k) => k.cY),
      x0.rank,
    );
    const std = perSample(
      c.map((k) => k.std),
      x0.rank,
    );
    return tf.add(tf.add(x0, tf.mul(eta, tf.sub(y, x0))), tf.mul(std, noise)) as tf.Tensor<R>;
  });
}

/** One forward transition x_{t-1} -> x_t: x_{t-1} + alpha_t (y - x_0) + kappa sqrt(alpha_t) noise (t >= 1). */
export function qStep<R extends tf.Rank>(
  s: Schedule,
  xPrev: tf.Tensor<R>,
  x0: tf.Tensor<R>,
  y: tf.Tensor<R>,
  t: number,
  noise: tf.Tensor<R>,
): tf.Tensor<R> {
  checkT(s, t);
  return tf.tidy(() => {
    const a = s.alpha[t];
    return tf.add(tf.add(xPrev, tf.mul(a, tf.sub(y, x0))), tf.mul(s.kappa * Math.sqrt(a), noise)) as tf.Tensor<R>;
  });
}

/** Mean of q(x_{t-1} | x_t, x_0). */
export function posteriorMean<R extends tf.Rank>(s: Schedule, xt: tf.Tensor<R>, x0: tf.Tensor<R>, t: number): tf.Tensor<R> {
  const {cXt, cX0} = posteriorCoefs(s, t);
  return tf.tidy(() => tf.add(tf.mul(cXt, xt), tf.mul(cX0, x0)) as tf.Tensor<R>);
}

/** A standard-normal tensor filled from a seeded JS generator (same values on every backend). */
export function normalTensor(shape: number[], rng: NormalSource): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.normal();
  return tf.tensor(data, shape, "float32");
}

/** x_0 prediction for the whole batch at step t (1..T). Must not dispose its inputs. */
export type X0Predictor = (xt: tf.Tensor, t: number) => tf.Tensor;

export type SamplerMode =
  /** ResShift's ancestral sampler: prior noise plus posterior noise at every step but the last. */
  | "stochastic"
  /** DDIM-like: seeded prior noise, then the implied noise is reused (deterministic given x_T). */
  | "ddim"
  /** No noise at all: x_T = y, posterior means only (the regression-like mean path). */
  | "mean";

export interface SampleOptions {
  mode?: SamplerMode;
  /** Also return x_T, ..., x_0 (T + 1 tensors; the caller disposes them). */
  trajectory?: boolean;
  /**
   * Called once per reverse step, right after x_{t-1} has been computed (on GPU backends: queued), so callers
   * can report progress. `step` counts the steps done (1..T), `t` is the step just taken (T..1). It must not
   * dispose or keep `xt` past the call (clone it to keep it); it does not change the sample.
   */
  onStep?: (info: StepInfo) => void;
}

export interface StepInfo {
  /** Steps done so far, 1..T. */
  step: number;
  /** The diffusion step just taken (T..1): x_{t-1} was made from x_t. */
  t: number;
  /** Total number of steps (T). */
  of: number;
  /** x_{t-1}, the new state (owned by the sampler). */
  xt: tf.Tensor;
}

export interface SampleResult {
  x0: tf.Tensor;
  /** x_T first, x_0 last; present when asked for. */
  trajectory?: tf.Tensor[];
}

/**
 * Runs the reverse process from y. `rng` supplies all randomness (ignored in "mean" mode).
 * The last step returns the network's x_0 prediction (eta_0 = 0, so the posterior is exact there).
 */
export function sample(
  s: Schedule,
  predictX0: X0Predictor,
  y: tf.Tensor,
  rng: NormalSource,
  opts: SampleOptions = {},
): SampleResult {
  const mode = opts.mode ?? "stochastic";
  const traj: tf.Tensor[] = [];
  let xt: tf.Tensor = tf.tidy(() =>
    mode === "mean" ? tf.clone(y) : tf.add(y, tf.mul(s.kappa * Math.sqrt(s.eta[s.T]), normalTensor(y.shape, rng))),
  );
  if (opts.trajectory) traj.push(tf.clone(xt));
  for (let t = s.T; t >= 1; t--) {
    const next = tf.tidy(() => {
      const x0 = predictX0(xt, t);
      if (t === 1) return tf.clone(x0);
      if (mode === "ddim") {
        // x_t = x0 + eta_t (y - x0) + kappa sqrt(eta_t) eps  =>  reuse eps at eta_{t-1}.
        const r = tf.sub(y, x0);
        const eps = tf.sub(tf.sub(xt, x0), tf.mul(s.eta[t], r));
        return tf.add(tf.add(x0, tf.mul(s.eta[t - 1], r)), tf.mul(Math.sqrt(s.eta[t - 1] / s.eta[t]), eps));
      }
      const mean = posteriorMean(s, xt, x0, t);
      if (mode === "mean") return mean;
      const sd = Math.sqrt(posteriorCoefs(s, t).variance);
      return tf.add(mean, tf.mul(sd, normalTensor(y.shape, rng)));
    });
    xt.dispose();
    xt = next;
    if (opts.trajectory) traj.push(tf.clone(xt));
    opts.onStep?.({step: s.T - t + 1, t, of: s.T, xt});
  }
  return opts.trajectory ? {x0: xt, trajectory: traj} : {x0: xt};
}
