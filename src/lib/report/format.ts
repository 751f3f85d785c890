// Number formatting of the report: one formatter per quantity, shared by the page, the unit tests and the
// end-to-end check, so a number on the page can be compared with the JSON it came from character for character.
import type {Stat} from "./types.js";

/** Decimals of the mean per metric (the metrics' own resolution on a 14-image or 64-patch set). */
export const METRIC_DECIMALS: Readonly<Record<string, number>> = Object.freeze({
  psnrY: 2,
  ssimY: 4,
  haarpsi: 4,
  fwd: 0,
  kurtosis: 1,
  energyRatio: 3,
});

/** A spread with two significant digits (0.0023, 1.6, 14), never in exponent notation. */
export function formatSpread(x: number): string {
  if (x === 0) return "0";
  // Round to two significant digits first, so 0.0999999 counts as 0.10 (two digits), not 0.100.
  const r = Number(x.toPrecision(2));
  const digits = Math.max(0, 1 - Math.floor(Math.log10(Math.abs(r))));
  return r.toFixed(Math.min(digits, 12));
}

export function formatNumber(x: number | null | undefined, decimals: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  return x.toFixed(decimals);
}

/** "26.73 ± 0.0023" for a seeded stat, "26.96" for a deterministic one (std null), "n/a" without a mean. */
export function formatStat(s: Stat | null | undefined, metric: string): string {
  const d = METRIC_DECIMALS[metric] ?? 3;
  if (!s || s.mean === null || !Number.isFinite(s.mean)) return "n/a";
  const m = formatNumber(s.mean, d);
  return s.std === null || s.std === undefined || !Number.isFinite(s.std) ? m : `${m} ± ${formatSpread(s.std)}`;
}

/** A signed difference with the metric's decimals (at least two significant digits when it is small). */
export function formatSigned(x: number, metric: string): string {
  const r = x === 0 ? 0 : Number(x.toPrecision(2));
  const d = Math.max(METRIC_DECIMALS[metric] ?? 3, r === 0 ? 0 : Math.min(12, 1 - Math.floor(Math.log10(Math.abs(r)))));
  const t = Math.abs(x).toFixed(d);
  return `${x < 0 ? "−" : "+"}${t}`;
}

export function formatInt(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "n/a" : Math.round(x).toLocaleString("en-US");
}

export function formatMs(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  return x >= 100 ? `${Math.round(x).toLocaleString("en-US")} ms` : `${x.toFixed(1)} ms`;
}

export function formatRatio(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "n/a" : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
}

/** "1, 2, 3" */
export function formatSeeds(seeds: readonly number[]): string {
  return seeds.join(", ");
}
