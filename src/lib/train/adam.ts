/**
 * Adam (Kingma and Ba) over a named set of variables, with its state exposed so a checkpoint can save and
 * restore it exactly (tf.train.adam keeps its moments private). Optional global-norm gradient clipping.
 */
import * as tf from "@tensorflow/tfjs";

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Clip the global gradient norm to this value (0 or absent: no clipping). */
  clipNorm?: number;
}

export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly clipNorm: number;
  /** Number of updates applied so far (bias correction uses it). */
  t = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly vars: Map<string, tf.Variable>,
    opts: AdamOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.clipNorm = opts.clipNorm ?? 0;
    for (const [k, p] of vars) {
      // tf.variable copies its initial value; dispose the temporaries so construction leaks nothing.
      const zm = tf.zerosLike(p);
      this.m.set(k, tf.variable(zm, false));
      zm.dispose();
      const zv = tf.zerosLike(p);
      this.v.set(k, tf.variable(zv, false));
      zv.dispose();
    }
  }

  /**
   * Applies one update. `grads` maps variable names (as in `vars`) to gradients; names without a gradient are
   * left untouched. Returns the global gradient norm before clipping. A caller that has read that norm already
   * (asynchronously: see globalNorm) passes it as `knownNorm`, and no synchronous read happens here; on WebGPU
   * in a worker a synchronous read broke later reads ("A valid external Instance reference no longer exists").
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, knownNorm?: number): number {
    const names = Object.keys(grads).filter((k) => this.vars.has(k));
    let norm = knownNorm;
    if (norm === undefined) {
      const t = globalNorm(grads, names);
      norm = t.dataSync()[0];
      t.dispose();
    }
    const scale = this.clipNorm > 0 && norm > this.clipNorm ? this.clipNorm / norm : 1;
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    const stepSize = (lr * Math.sqrt(bc2)) / bc1;
    tf.tidy(() => {
      for (const k of names) {
        const g = scale === 1 ? grads[k] : tf.mul(grads[k], scale);
        const m = this.m.get(k)!;
        const v = this.v.get(k)!;
        const p = this.vars.get(k)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        p.assign(tf.sub(p, tf.div(tf.mul(m, stepSize), tf.add(tf.sqrt(v), this.eps * Math.sqrt(bc2)))));
      }
    });
    return norm;
  }

  dispose(): void {
    for (const x of this.m.values()) x.dispose();
    for (const x of this.v.values()) x.dispose();
  }
}

/** The global L2 norm of `grads[names]` (all of them by default), as a scalar tensor to read as one likes. */
export function globalNorm(grads: Record<string, tf.Tensor>, names: string[] = Object.keys(grads)): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k]))))) as tf.Scalar);
}
