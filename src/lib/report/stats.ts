// Comparing two means that each come with a sample standard deviation over seeds.
import type {Stat} from "./types.js";

/** Which way is better for a metric; "none" where neither is (e.g. kurtosis without a truth to compare with). */
export type Direction = "higher" | "lower" | "none";

export const METRIC_DIRECTION: Readonly<Record<string, Direction>> = Object.freeze({
  psnrY: "higher",
  ssimY: "higher",
  haarpsi: "higher",
  fwd: "lower",
});

export interface Difference {
  /** a.mean - b.mean. */
  diff: number;
  stdA: number | null;
  stdB: number | null;
  nA: number;
  nB: number;
  /**
   * Standard error of the difference of two independent means, sqrt(sA^2/nA + sB^2/nB) (Welch). Null when a
   * side has no spread (a deterministic model, or a single seed).
   */
  se: number | null;
  /** "gain" / "loss" when |diff| > 2 se (about a 95% interval), "within spread" otherwise; "no verdict" without se
   *  or without a direction. A deterministic pair (no spread at all) is judged on the sign alone, and says so. */
  verdict: "gain" | "loss" | "within spread" | "no verdict";
}

/**
 * Difference a - b of two stats with their seed counts. `direction` turns the sign into gain or loss for a;
 * for "lower is better" metrics a negative difference is a gain.
 */
export function difference(a: Stat, nA: number, b: Stat, nB: number, direction: Direction): Difference | null {
  if (a.mean === null || b.mean === null || !Number.isFinite(a.mean) || !Number.isFinite(b.mean)) return null;
  const diff = a.mean - b.mean;
  const sA = a.std ?? null;
  const sB = b.std ?? null;
  const se = sA !== null && sB !== null && nA > 1 && nB > 1 ? Math.sqrt((sA * sA) / nA + (sB * sB) / nB) : null;
  let verdict: Difference["verdict"] = "no verdict";
  if (direction !== "none" && se !== null) {
    if (Math.abs(diff) <= 2 * se) verdict = "within spread";
    else verdict = (direction === "higher") === diff > 0 ? "gain" : "loss";
  }
  return {diff, stdA: sA, stdB: sB, nA, nB, se, verdict};
}

/** The mean and sample std (n - 1) of numbers: the same reduction scripts/ablate.ts and eval use. */
export function meanStd(xs: readonly number[]): Stat {
  if (xs.length === 0) return {mean: null, std: null};
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) : null;
  return {mean, std};
}
