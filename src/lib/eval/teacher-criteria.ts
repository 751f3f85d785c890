/**
 * Issue #4's done criteria for the teacher, judged from test-set figures (one evaluation of the student and of a
 * teacher checkpoint under the same protocol): the teacher must show the perception-distortion trade-off that
 * DTKD depends on, by measures that added noise cannot fake.
 *
 * Lab readings of the issue's words (named so they can be changed, not the paper's):
 * - "mid- and high-band coefficient kurtosis closer to the ground truth's": every detail band of the 2-level Haar
 *   DWT of the luma (level 2 = mid, level 1 = high), closer meaning a smaller |kurtosis - truth's kurtosis|;
 * - "structure-aware perceptual distance lower": HaarPSI higher (no deep-feature network is available offline);
 * - "the student keeps the higher PSNR-Y": the student's PSNR-Y above the teacher's sampler mean.
 * The speed criterion (student at least 10x faster) does not change with training and is judged elsewhere.
 */

export const CRITERIA_BANDS = ["LH2", "HL2", "HH2", "LH1", "HL1", "HH1"] as const;
export type CriteriaBand = (typeof CRITERIA_BANDS)[number];

/** The figures the criteria use, for one model (the teacher: means over sampler seeds). */
export interface CriteriaFigures {
  psnrY: number;
  haarpsi: number;
  kurtosis: Readonly<Record<string, number>>;
}

export interface CriteriaVerdict {
  /** Per band: is the teacher's kurtosis strictly closer to the truth's than the student's? */
  kurtosisCloser: Record<CriteriaBand, boolean>;
  /** How many of the six detail bands the teacher wins. */
  kurtosisBandsWon: number;
  haarpsiHigher: boolean;
  studentPsnrHigher: boolean;
  /** All of the above: every band, HaarPSI and PSNR-Y. */
  met: boolean;
}

function band(k: Readonly<Record<string, number>>, b: CriteriaBand, who: string): number {
  const v = k[b];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`teacher criteria: ${who} has no finite kurtosis for ${b}`);
  return v;
}

/** The detail bands the teacher wins, in CRITERIA_BANDS order. */
export function bandsWon(v: Pick<CriteriaVerdict, "kurtosisCloser">): CriteriaBand[] {
  return CRITERIA_BANDS.filter((b) => v.kurtosisCloser[b]);
}

export function judgeTeacher(teacher: CriteriaFigures, student: CriteriaFigures, truthKurtosis: Readonly<Record<string, number>>): CriteriaVerdict {
  const kurtosisCloser = {} as Record<CriteriaBand, boolean>;
  for (const b of CRITERIA_BANDS) {
    const g = band(truthKurtosis, b, "the ground truth");
    kurtosisCloser[b] = Math.abs(band(teacher.kurtosis, b, "the teacher") - g) < Math.abs(band(student.kurtosis, b, "the student") - g);
  }
  const kurtosisBandsWon = bandsWon({kurtosisCloser}).length;
  const haarpsiHigher = teacher.haarpsi > student.haarpsi;
  const studentPsnrHigher = student.psnrY > teacher.psnrY;
  return {kurtosisCloser, kurtosisBandsWon, haarpsiHigher, studentPsnrHigher, met: kurtosisBandsWon === CRITERIA_BANDS.length && haarpsiHigher && studentPsnrHigher};
}
