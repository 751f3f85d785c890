import {resolve} from "node:path";
import {describe, expect, it} from "vitest";
import {CRITERIA_BANDS, judgeTeacher, type CriteriaFigures} from "../src/lib/eval/teacher-criteria.js";
import {trendTable, TREND_SCHEMA, type TrendFigures, type TrendFile} from "../src/lib/eval/teacher-trend.js";
import {readTeacherTrendFile} from "../src/lib/report/files.js";
import {teacherTrendTableData} from "../src/lib/report/tables.js";
import {checkTeacherTrendJson, ResultFileError} from "../src/lib/report/types.js";

// Ground truth's band kurtosis on the committed test set (data/results/eval.json, 2-level Haar on luma).
const TRUTH = {LL2: 2.4, LH2: 15.5, HL2: 15.5, HH2: 16.9, LH1: 21.7, HL1: 22.3, HH1: 30.3};
const STUDENT: CriteriaFigures = {psnrY: 27.15, haarpsi: 0.6588, kurtosis: {LH2: 13.0, HL2: 13.5, HH2: 15.7, LH1: 15.1, HL1: 17.3, HH1: 19.3}};

describe("issue #4 teacher criteria", () => {
  it("judges each band by the absolute distance to the truth's kurtosis, on both sides of it", () => {
    // The teacher at step 24,618: overshoots the mid bands, undershoots HH1.
    const teacher: CriteriaFigures = {psnrY: 27.18, haarpsi: 0.667, kurtosis: {LH2: 18.7, HL2: 19.4, HH2: 34.4, LH1: 19.6, HL1: 19.2, HH1: 15.2}};
    const v = judgeTeacher(teacher, STUDENT, TRUTH);
    expect(v.kurtosisCloser).toEqual({LH2: false, HL2: false, HH2: false, LH1: true, HL1: true, HH1: false});
    expect(v.kurtosisBandsWon).toBe(2);
    expect(v.haarpsiHigher).toBe(true);
    expect(v.studentPsnrHigher).toBe(false);
    expect(v.met).toBe(false);
  });

  it("is met only when every band, HaarPSI and the student's PSNR-Y all hold", () => {
    const close: CriteriaFigures = {psnrY: 26.9, haarpsi: 0.67, kurtosis: {...TRUTH, HH2: 17.5, HH1: 29}};
    expect(judgeTeacher(close, STUDENT, TRUTH).met).toBe(true);
    expect(judgeTeacher({...close, psnrY: 27.2}, STUDENT, TRUTH).met).toBe(false);
    expect(judgeTeacher({...close, haarpsi: 0.65}, STUDENT, TRUTH).met).toBe(false);
    // Overshooting by more than the student undershoots loses the band.
    const over = judgeTeacher({...close, kurtosis: {...close.kurtosis, HH2: 16.9 + 1.3}}, STUDENT, TRUTH);
    expect(over.kurtosisCloser.HH2).toBe(false);
    expect(over.met).toBe(false);
  });

  it("counts a tie as not closer and refuses a missing band", () => {
    const tie = judgeTeacher({...STUDENT}, STUDENT, TRUTH);
    expect(tie.kurtosisBandsWon).toBe(0);
    const {HH1: _, ...noHH1} = STUDENT.kurtosis;
    expect(() => judgeTeacher({...STUDENT, kurtosis: noHH1}, STUDENT, TRUTH)).toThrow(/HH1/);
  });

  it("renders one table row per read with the verdict", () => {
    const fig = (f: CriteriaFigures): TrendFigures => ({...f, ssimY: 0.7, fwd: 6000, std: null, energyRatio: {}});
    const teacher: CriteriaFigures = {psnrY: 26.85, haarpsi: 0.6568, kurtosis: {LH2: 20.2, HL2: 20.7, HH2: 33.8, LH1: 19.6, HL1: 19.6, HH1: 5.9}};
    const trend: TrendFile = {
      schema: TREND_SCHEMA,
      note: "",
      backend: "wasm",
      protocol: {} as TrendFile["protocol"],
      truthKurtosis: TRUTH,
      reads: [
        {
          step: 9460,
          trainingHours: 4.82,
          source: "test",
          sha256: "0",
          evaluatedAt: "",
          evalCommit: null,
          teacher: fig(teacher),
          predictor: fig({...teacher, psnrY: 27.42}),
          student: fig(STUDENT),
          verdict: judgeTeacher(teacher, STUDENT, TRUTH),
        },
      ],
    };
    const md = trendTable(trend);
    const rows = md.split("\n").filter((l) => l.startsWith("| 9,460"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain("| 26.85 / 27.42 (27.15) |");
    expect(rows[0]).toContain("2 of 6 (LH1, HL1)");
    expect(rows[0]).toMatch(/\| no \|$/);
    expect(CRITERIA_BANDS).toHaveLength(6);
  });
});

describe("the committed teacher trend (data/results/teacher-trend.json)", () => {
  const file = readTeacherTrendFile(resolve("."));

  it("passes the report's check, and every stored verdict follows from its own figures", () => {
    expect(file.present).toBe(true);
    if (!file.present) return;
    const t = file.data;
    expect(t.reads.length).toBeGreaterThan(0);
    const steps = t.reads.map((r) => r.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    for (const r of t.reads) expect(judgeTeacher(r.teacher, r.student, t.truthKurtosis)).toEqual(r.verdict);
    expect(teacherTrendTableData(t).rows).toHaveLength(t.reads.length);
  });

  it("refuses a malformed file with the problem named", () => {
    expect(() => checkTeacherTrendJson({schema: TREND_SCHEMA, truthKurtosis: {}, reads: [{step: 1, trainingHours: 0, teacher: {}}]})).toThrow(/step 1: teacher figures missing/);
    expect(() => checkTeacherTrendJson({schema: 99})).toThrow(ResultFileError);
  });
});
