/**
 * What every long Node training job shares: stop on SIGINT/SIGTERM after the current step, and progress toward
 * a step or minute limit, whichever comes first.
 */

/** Records the first SIGINT/SIGTERM; the loop polls `signal` and exits cleanly (checkpoint first). */
export class StopOnSignal {
  signal: string | null = null;
  private readonly handler = (sig: NodeJS.Signals) => {
    if (this.signal) return;
    this.signal = sig;
    console.error(`\n${sig}: finishing the current step, then saving a checkpoint`);
  };

  constructor() {
    process.on("SIGINT", this.handler);
    process.on("SIGTERM", this.handler);
  }

  dispose(): void {
    process.off("SIGINT", this.handler);
    process.off("SIGTERM", this.handler);
  }
}

export interface RunLimits {
  steps?: number;
  minutes?: number;
}

/** True when either limit is reached. */
export function limitReached(l: RunLimits, step: number, runSeconds: number): boolean {
  return (l.steps !== undefined && step >= l.steps) || (l.minutes !== undefined && runSeconds >= l.minutes * 60);
}

/** Fraction done and seconds left toward the nearer of the two limits (NaN when neither is set). */
export function progressToward(l: RunLimits, step: number, startStep: number, runSeconds: number): {fraction: number; eta: number} {
  const rate = (step - startStep) / Math.max(1e-9, runSeconds);
  let fraction = NaN;
  let eta = NaN;
  if (l.steps !== undefined) {
    fraction = step / l.steps;
    eta = (l.steps - step) / rate;
  }
  if (l.minutes !== undefined) {
    const etaM = l.minutes * 60 - runSeconds;
    if (!Number.isFinite(eta) || etaM < eta) {
      eta = etaM;
      fraction = runSeconds / (l.minutes * 60);
    }
  }
  return {fraction, eta};
}

/** Lets signal handlers and timers run: on wasm/cpu every await inside a step resolves as a microtask. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
