/** Learning-rate schedule: linear warm-up, then constant, or cosine decay to `minFactor` over `decaySteps`. */
export interface LrSchedule {
  base: number;
  warmupSteps: number;
  /** 0: constant after warm-up. */
  decaySteps: number;
  minFactor: number;
}

export function learningRate(s: LrSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.base * (step + 1)) / s.warmupSteps;
  if (s.decaySteps <= 0) return s.base;
  const p = Math.min(1, (step - s.warmupSteps) / s.decaySteps);
  return s.base * (s.minFactor + (1 - s.minFactor) * 0.5 * (1 + Math.cos(Math.PI * p)));
}
