/**
 * Exponential moving average of weights: diffusion models are sampled with EMA weights (DDPM, EDM), which are
 * markedly better than the raw weights for the same training time. A warm-up keeps early averages from
 * being dominated by the random initialisation.
 */
import * as tf from "@tensorflow/tfjs";

export class Ema {
  readonly shadow = new Map<string, tf.Variable>();

  constructor(
    private readonly vars: Map<string, tf.Variable>,
    readonly decay = 0.999,
  ) {
    for (const [k, p] of vars) {
      const c = tf.clone(p);
      this.shadow.set(k, tf.variable(c, false));
      c.dispose();
    }
  }

  /** Decay used after `updates` updates: min(decay, (1 + n) / (10 + n)). */
  effectiveDecay(updates: number): number {
    return Math.min(this.decay, (1 + updates) / (10 + updates));
  }

  update(updates: number): void {
    const d = this.effectiveDecay(updates);
    tf.tidy(() => {
      for (const [k, s] of this.shadow) s.assign(tf.add(tf.mul(s, d), tf.mul(this.vars.get(k)!, 1 - d)));
    });
  }

  /** Copies the shadow weights into `target` (e.g. a second model used for evaluation). */
  copyTo(target: Map<string, tf.Variable>): void {
    for (const [k, s] of this.shadow) target.get(k)?.assign(s);
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
  }
}
