/**
 * The teacher's test-set trend file (data/results/teacher-trend.json, written by scripts/teacher-trend.ts): one
 * evaluation per training checkpoint, with issue #4's verdict, and its rendering as a Markdown table (README,
 * the teacher's model card).
 */
import type {EvalJson} from "./report.js";
import {bandsWon, type CriteriaVerdict} from "./teacher-criteria.js";

export const TREND_SCHEMA = 1;

export interface TrendFigures {
  psnrY: number;
  ssimY: number;
  haarpsi: number;
  fwd: number;
  /** Std over sampler seeds (teacher only; null for deterministic models). */
  std: {psnrY: number; haarpsi: number; fwd: number} | null;
  kurtosis: Record<string, number>;
  energyRatio: Record<string, number>;
}

export interface TrendRead {
  step: number;
  trainingHours: number;
  source: string;
  sha256: string;
  evaluatedAt: string;
  evalCommit: string | null;
  teacher: TrendFigures;
  predictor: TrendFigures;
  student: TrendFigures;
  verdict: CriteriaVerdict;
}

export interface TrendFile {
  schema: number;
  note: string;
  /** The evaluation protocol every read shares (eval.json's, from the first read). */
  backend: string;
  protocol: EvalJson["protocol"];
  truthKurtosis: Record<string, number>;
  reads: TrendRead[];
}

const f1 = (x: number) => x.toFixed(1);
const yes = (b: boolean) => (b ? "yes" : "no");

/** The trend as a Markdown table (also what the teacher's model card shows). */
export function trendTable(t: TrendFile): string {
  const g = t.truthKurtosis;
  const head = [
    "| step | hours | PSNR-Y: teacher / its predictor (student) | HaarPSI: teacher / predictor (student) | FWD: teacher / predictor (student) | teacher kurtosis LH2/HL2/HH2 | LH1/HL1/HH1 | bands closer than the student's | criteria met |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const rows = t.reads.map((r) => {
    const k = r.teacher.kurtosis;
    return (
      `| ${r.step.toLocaleString("en-US")} | ${r.trainingHours.toFixed(1)} | ${r.teacher.psnrY.toFixed(2)} / ${r.predictor.psnrY.toFixed(2)} (${r.student.psnrY.toFixed(2)}) | ` +
      `${r.teacher.haarpsi.toFixed(4)} / ${r.predictor.haarpsi.toFixed(4)} (${r.student.haarpsi.toFixed(4)}) | ` +
      `${Math.round(r.teacher.fwd)} / ${Math.round(r.predictor.fwd)} (${Math.round(r.student.fwd)}) | ` +
      `${f1(k.LH2)} / ${f1(k.HL2)} / ${f1(k.HH2)} | ${f1(k.LH1)} / ${f1(k.HL1)} / ${f1(k.HH1)} | ` +
      `${r.verdict.kurtosisBandsWon} of 6 (${bandsWon(r.verdict).join(", ") || "none"}) | ${yes(r.verdict.met)} |`
    );
  });
  const s = t.reads[0]?.student.kurtosis;
  const truth =
    `Truth's kurtosis LH2/HL2/HH2 ${f1(g.LH2)} / ${f1(g.HL2)} / ${f1(g.HH2)}, LH1/HL1/HH1 ${f1(g.LH1)} / ${f1(g.HL1)} / ${f1(g.HH1)}` +
    (s ? `; the shipped student's ${f1(s.LH2)} / ${f1(s.HL2)} / ${f1(s.HH2)} and ${f1(s.LH1)} / ${f1(s.HL1)} / ${f1(s.HH1)}.` : ".");
  return [...head, ...rows, "", truth].join("\n");
}
