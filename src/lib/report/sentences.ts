// The report's prose, generated from the numbers so that no sentence can outlive the data it describes.
import type {AblationView} from "./ablations.js";
import {ABLATION_METRIC_TITLES} from "./ablations.js";
import {formatRatio, formatSigned, formatSpread, formatStat} from "./format.js";
import type {ComparisonRow, Efficiency, MainTable} from "./main-table.js";
import type {Difference} from "./stats.js";

const UNIT: Readonly<Record<string, string>> = Object.freeze({psnrY: " dB"});
const NAME: Readonly<Record<string, string>> = Object.freeze({psnrY: "PSNR-Y", ssimY: "SSIM-Y", haarpsi: "HaarPSI", fwd: "FWD", kurtosisHH1: "HH1 kurtosis"});

/** "gain (difference +0.05 dB, more than twice its standard error 0.012)" and the like. */
export function verdictText(d: Difference, metric: string): string {
  const diff = `${formatSigned(d.diff, metric)}${UNIT[metric] ?? ""}`;
  if (d.se === null) return `difference ${diff}; no spread on one side, so no verdict`;
  const se = formatSpread(d.se);
  switch (d.verdict) {
    case "gain":
      return `a gain: difference ${diff}, more than twice its standard error ${se}`;
    case "loss":
      return `a loss: difference ${diff}, more than twice its standard error ${se}`;
    case "within spread":
      return `within the spread: difference ${diff}, standard error ${se}`;
    default:
      return `difference ${diff} (standard error ${se}); no better direction for this measure`;
  }
}

/** One sentence per compared metric: "the distilled student's PSNR-Y is X ± s dB vs Y ± s for the standalone: ...". */
export function comparisonSentences(rows: ComparisonRow[], nameA: string, nameB: string): string[] {
  return rows.flatMap((r) => {
    if (!r.d) return [];
    return [`The ${nameA}'s ${NAME[r.metric] ?? r.metric} is ${formatStat(r.a, r.metric === "kurtosisHH1" ? "kurtosis" : r.metric)}${UNIT[r.metric] ?? ""} vs ${formatStat(r.b, r.metric === "kurtosisHH1" ? "kurtosis" : r.metric)} for the ${nameB}: ${verdictText(r.d, r.metric)}.`];
  });
}

/** What the main table holds and lacks. */
export function mainTableSentences(t: MainTable): string[] {
  const out: string[] = [];
  if (t.missing.length) {
    out.push(`eval.json has no row for: ${t.missing.map((m) => `${m.short} ("${m.key}")`).join(", ")}. Those rows are left out until \`npm run eval\` writes them.`);
  }
  const by = new Map(t.rows.map((r) => [r.key, r]));
  const best = (metric: "psnrY" | "fwd", higher: boolean) => {
    const rs = t.rows.filter((r) => r.metrics[metric].mean !== null);
    if (!rs.length) return null;
    return rs.reduce((a, b) => ((higher ? b.metrics[metric].mean! > a.metrics[metric].mean! : b.metrics[metric].mean! < a.metrics[metric].mean!) ? b : a));
  };
  const p = best("psnrY", true);
  const f = best("fwd", false);
  if (p) out.push(`Highest PSNR-Y on the test set: ${p.short} (${formatStat(p.metrics.psnrY, "psnrY")} dB).`);
  if (f) out.push(`Lowest FWD (the output distribution closest to the truth's): ${f.short} (${formatStat(f.metrics.fwd, "fwd")}).`);
  const hh1 = t.truthKurtosis.HH1;
  if (hh1 !== undefined) {
    const near = t.rows
      .filter((r) => r.kurtosis.HH1?.mean !== null && r.kurtosis.HH1?.mean !== undefined)
      .reduce<typeof t.rows[number] | null>((a, b) => (!a || Math.abs(b.kurtosis.HH1.mean! - hh1) < Math.abs(a.kurtosis.HH1.mean! - hh1) ? b : a), null);
    if (near) out.push(`HH1 kurtosis closest to the truth's ${hh1.toFixed(1)}: ${near.short} (${formatStat(near.kurtosis.HH1, "kurtosis")}); a value near 3 means Gaussian-like grain.`);
  }
  if (by.has("distilled") && by.has("standalone")) out.push("The distilled and standalone students are compared metric by metric below.");
  return out;
}

/** Per axis: which level leads on each metric, and how the levels stand against the reconstruction-only run. */
export function ablationSentences(v: AblationView): string[] {
  const out: string[] = [];
  out.push(`${v.finishedRuns} of ${v.plannedRuns} planned runs have finished (${v.seedsPlanned} seed${v.seedsPlanned === 1 ? "" : "s"} per cell).`);
  for (const s of v.axes) {
    if (!s.points.length) {
      out.push(`${s.title}: no finished run yet.`);
      continue;
    }
    const parts: string[] = [];
    for (const [m, higher] of [["psnrY", true], ["fwd", false]] as const) {
      const pts = s.points.filter((p) => p.values[m].mean !== null);
      if (!pts.length) continue;
      const b = pts.reduce((x, y) => ((higher ? y.values[m].mean! > x.values[m].mean! : y.values[m].mean! < x.values[m].mean!) ? y : x));
      parts.push(`${higher ? "highest" : "lowest"} ${ABLATION_METRIC_TITLES[m].split(" (")[0]}: ${b.level} (${formatStat(b.values[m], m)}, n=${b.n})`);
      if (v.baseline && v.baseline.values[m].mean !== null) {
        const beat = pts.filter((p) => (higher ? p.values[m].mean! > v.baseline!.values[m].mean! : p.values[m].mean! < v.baseline!.values[m].mean!)).length;
        parts.push(`${beat} of ${pts.length} levels ${higher ? "above" : "below"} recon-only's ${formatStat(v.baseline.values[m], m)}`);
      }
    }
    const pend = s.pending.length ? ` Not run yet: ${s.pending.join(", ")}.` : "";
    out.push(`${s.title}: ${parts.join("; ")}.${pend}`);
  }
  return out;
}

export function efficiencySentences(e: Efficiency): string[] {
  const r = e.teacherOverStudent;
  if (!r) return ["The teacher or the shipped student lacks a row in eval.json, so no speed ratio is given."];
  const parts = e.backends.map((b) => `${formatRatio(r.cpu[b])} the student's CPU time on ${b}`).filter((x) => !x.startsWith("n/a"));
  return [`The teacher (one stochastic sample) needs ${formatRatio(r.flops)} the student's FLOPs per output pixel${parts.length ? ` and ${parts.join(", ")}` : ""}.`];
}
