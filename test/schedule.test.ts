import {describe, it, expect} from "vitest";
import {
  SCHEDULE_KINDS,
  DEFAULT_SCHEDULE,
  DEFAULT_EXP_SHARPNESS,
  lambdaAt,
  sampleSchedule,
  formatSchedule,
  parseSchedule,
  validateSchedule,
  normalizeSchedule,
  ScheduleParseError,
  type Schedule,
  type ScheduleKind
} from "../src/lib/schedule.js";

/** Mulberry32: a seeded generator so the property tests are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random valid, already-normalised schedule; numbers of assorted magnitudes and decimal lengths. */
function randomSchedule(r: () => number, kind: ScheduleKind): Schedule {
  const pick = (): number => {
    const c = r();
    if (c < 0.15) return 0;
    if (c < 0.3) return Math.round(r() * 10) / 10;
    if (c < 0.4) return r() * 1e-6;
    if (c < 0.45) return r() * 1e22;
    return r() * 5;
  };
  const ramp = r() < 0.2 ? 1 : Math.max(r(), 1e-9);
  if (kind === "constant") {
    const v = pick();
    return {kind, start: v, max: v, ramp: 1};
  }
  if (kind === "piecewise") {
    const n = 2 + Math.floor(r() * 6);
    const ts = new Set<number>();
    if (r() < 0.5) ts.add(0);
    if (r() < 0.5) ts.add(1);
    while (ts.size < n) ts.add(r());
    const points = [...ts].sort((a, b) => a - b).map((t) => [t, pick()] as [number, number]);
    return {kind, start: points[0][1], max: points[points.length - 1][1], ramp: points[points.length - 1][0], points};
  }
  const s: Schedule = {kind, start: pick(), max: pick(), ramp};
  if (kind === "exp" && r() < 0.6) s.sharpness = (r() - 0.5) * 40;
  if (kind === "sigmoid" && r() < 0.6) s.sharpness = 0.01 + r() * 50;
  return s;
}

const base = (kind: ScheduleKind, extra: Partial<Schedule> = {}): Schedule => ({kind, start: 0.2, max: 1.5, ramp: 0.6, ...extra});

describe("lambdaAt endpoints and shapes", () => {
  it("every ramped kind starts at start, reaches max at t = ramp and stays there", () => {
    for (const kind of ["linear", "cosine", "exp", "sigmoid", "step"] as const) {
      for (const sharpness of kind === "exp" ? [undefined, -7, 0, 1e-9, 30] : kind === "sigmoid" ? [undefined, 0.5, 80] : [undefined]) {
        const s = base(kind, sharpness === undefined ? {} : {sharpness});
        expect(lambdaAt(s, 0)).toBe(0.2);
        expect(lambdaAt(s, 0.6)).toBe(1.5);
        for (const t of [0.6000001, 0.7, 0.99, 1, 3]) expect(lambdaAt(s, t)).toBe(1.5);
        expect(lambdaAt(s, -5)).toBe(0.2); // clamped
      }
    }
  });

  it("constant ignores max and ramp", () => {
    const s: Schedule = {kind: "constant", start: 0.7, max: 3, ramp: 0.1};
    for (const t of [0, 0.05, 0.5, 1]) expect(lambdaAt(s, t)).toBe(0.7);
  });

  it("formulas: linear, cosine, sigmoid centred at ramp/2, exp as documented, step jumps at ramp", () => {
    const lin = base("linear");
    expect(lambdaAt(lin, 0.3)).toBeCloseTo(0.2 + 1.3 * 0.5, 12);
    const cos = base("cosine");
    expect(lambdaAt(cos, 0.15)).toBeCloseTo(0.2 + 1.3 * (1 - Math.cos(Math.PI * 0.25)) / 2, 12);
    expect(lambdaAt(cos, 0.3)).toBeCloseTo(0.85, 12);
    const sig = base("sigmoid", {sharpness: 8});
    expect(lambdaAt(sig, 0.3)).toBeCloseTo(0.85, 12); // symmetric about the centre
    expect(lambdaAt(sig, 0.15) - 0.2).toBeCloseTo(1.5 - lambdaAt(sig, 0.45), 12);
    const ex = base("exp");
    const k = DEFAULT_EXP_SHARPNESS;
    expect(lambdaAt(ex, 0.3)).toBeCloseTo(0.2 + 1.3 * Math.expm1(k * 0.5) / Math.expm1(k), 12);
    expect(lambdaAt(ex, 0.3)).toBeLessThan(lambdaAt(lin, 0.3)); // k > 0: slow start
    expect(lambdaAt(base("exp", {sharpness: -3}), 0.3)).toBeGreaterThan(lambdaAt(lin, 0.3)); // k < 0: early rise
    expect(lambdaAt(base("exp", {sharpness: 0}), 0.3)).toBeCloseTo(lambdaAt(lin, 0.3), 12);
    expect(lambdaAt(base("exp", {sharpness: 1e-10}), 0.3)).toBeCloseTo(lambdaAt(lin, 0.3), 8);
    const st = base("step");
    expect(lambdaAt(st, 0.5999)).toBe(0.2);
    expect(lambdaAt(st, 0.6)).toBe(1.5);
  });

  it("piecewise passes through its points, interpolates linearly and holds flat outside them", () => {
    const s = normalizeSchedule({kind: "piecewise", start: 0, max: 0, ramp: 1, points: [[0.1, 0.5], [0.4, 2], [0.7, 1], [0.9, 1]]});
    for (const [t, v] of s.points!) expect(lambdaAt(s, t)).toBe(v);
    expect(lambdaAt(s, 0)).toBe(0.5);
    expect(lambdaAt(s, 0.25)).toBeCloseTo(1.25, 12);
    expect(lambdaAt(s, 0.55)).toBeCloseTo(1.5, 12);
    expect(lambdaAt(s, 1)).toBe(1);
    expect([s.start, s.max, s.ramp]).toEqual([0.5, 1, 0.9]);
  });

  it("DEFAULT_SCHEDULE is the documented linear 0 -> 1 ramp over the first half", () => {
    expect(DEFAULT_SCHEDULE).toEqual({kind: "linear", start: 0, max: 1, ramp: 0.5});
    expect(lambdaAt(DEFAULT_SCHEDULE, 0.25)).toBe(0.5);
    expect(formatSchedule(DEFAULT_SCHEDULE)).toBe("linear_0_1_0.5");
  });

  it("NaN progress is an error, not a position", () => {
    expect(() => lambdaAt(DEFAULT_SCHEDULE, NaN)).toThrow(/NaN/);
  });
});

describe("monotonicity on a fine grid", () => {
  const grid = Array.from({length: 10001}, (_, i) => i / 10000);
  const r = rng(42);
  const cases: Schedule[] = [];
  for (const kind of SCHEDULE_KINDS) {
    if (kind === "piecewise") continue;
    cases.push(base(kind), base(kind, {start: 1.5, max: 0.2}), base(kind, {start: 0.1, max: 0.3, ramp: 1}));
    for (let i = 0; i < 25; i++) cases.push(randomSchedule(r, kind));
  }
  // A piecewise curve is monotone when its control values are.
  for (let i = 0; i < 25; i++) {
    const s = randomSchedule(r, "piecewise");
    const vals = s.points!.map((p) => p[1]).sort((a, b) => a - b);
    if (i % 2) vals.reverse();
    cases.push(normalizeSchedule({...s, points: s.points!.map((p, j) => [p[0], vals[j]] as [number, number])}));
  }

  it(`every kind is non-decreasing when max >= start and non-increasing when max < start (${cases.length} schedules)`, () => {
    for (const s of cases) {
      const ys = grid.map((t) => lambdaAt(s, t));
      const up = s.max >= s.start;
      for (let i = 1; i < ys.length; i++) {
        if (up ? ys[i] < ys[i - 1] : ys[i] > ys[i - 1]) {
          throw new Error(`${formatSchedule(s)} not monotone at t=${grid[i]}: ${ys[i - 1]} -> ${ys[i]}`);
        }
      }
      const lo = Math.min(s.start, s.max);
      const hi = Math.max(s.start, s.max);
      const outside = ys.filter((y) => !(y >= lo && y <= hi));
      expect(outside, formatSchedule(s)).toEqual([]);
    }
  });

  it("sampleSchedule covers [0,1] with both ends and matches lambdaAt", () => {
    const pts = sampleSchedule(base("cosine"), 11);
    expect(pts.length).toBe(11);
    expect(pts[0]).toEqual({t: 0, lambda: 0.2});
    expect(pts[10]).toEqual({t: 1, lambda: 1.5});
    for (const p of pts) expect(p.lambda).toBe(lambdaAt(base("cosine"), p.t));
    expect(() => sampleSchedule(base("cosine"), 1)).toThrow(/integer >= 2/);
    expect(() => sampleSchedule(base("cosine"), 2.5)).toThrow(/integer >= 2/);
  });
});

describe("string form", () => {
  it("documented examples", () => {
    expect(formatSchedule({kind: "constant", start: 0.5, max: 9, ramp: 0.3})).toBe("const_0.5");
    expect(formatSchedule({kind: "exp", start: 0, max: 1, ramp: 0.5, sharpness: -2})).toBe("exp_0_1_0.5_-2");
    expect(formatSchedule({kind: "sigmoid", start: 0, max: 1e21, ramp: 1e-7})).toBe("sigmoid_0_1e21_1e-7");
    const pw = parseSchedule("pw_0_0_0.3_1_1_1");
    expect(pw).toEqual({kind: "piecewise", start: 0, max: 1, ramp: 1, points: [[0, 0], [0.3, 1], [1, 1]]});
    expect(parseSchedule("linear_0_1_0.5")).toEqual(DEFAULT_SCHEDULE);
    expect(parseSchedule("exp_0_1_.5_1E+2")).toEqual({kind: "exp", start: 0, max: 1, ramp: 0.5, sharpness: 100});
  });

  it("round-trips 1400 seeded random valid schedules, and the text survives URL encoding unchanged", () => {
    const r = rng(2024);
    for (let i = 0; i < 200; i++) {
      for (const kind of SCHEDULE_KINDS) {
        const s = randomSchedule(r, kind);
        validateSchedule(s);
        const text = formatSchedule(s);
        expect(parseSchedule(text)).toEqual(s);
        expect(formatSchedule(parseSchedule(text))).toBe(text);
        expect(encodeURIComponent(text)).toBe(text);
        expect(new URLSearchParams({s: text}).toString()).toBe(`s=${text}`);
      }
    }
  });

  it("a non-canonical schedule round-trips to its normal form with the same curve", () => {
    const s: Schedule = {kind: "piecewise", start: 7, max: 7, ramp: 0.1, points: [[0.2, 1], [0.8, 3]]};
    const back = parseSchedule(formatSchedule(s));
    expect(back).toEqual(normalizeSchedule(s));
    for (let t = 0; t <= 1; t += 0.05) expect(lambdaAt(back, t)).toBe(lambdaAt(s, t));
  });

  const malformed: [string, RegExp][] = [
    ["", /empty string/],
    ["linear", /expected 3 numbers, got 0; form is linear_START_MAX_RAMP/],
    ["linear_0_1", /expected 3 numbers, got 2/],
    ["linear_0_1_0.5_3", /expected 3 numbers, got 4/],
    ["exp_0_1_0.5_3_4", /expected 3 or 4 numbers, got 5/],
    ["ramp_0_1_0.5", /unknown kind "ramp"; expected one of const, linear, cosine, exp, sigmoid, step, pw/],
    ["piecewise_0_0_1_1", /unknown kind "piecewise" \(write piecewise as pw\)/],
    ["constant_1", /unknown kind "constant" \(write constant as const\)/],
    ["Linear_0_1_0.5", /unknown kind "Linear"/],
    ["linear:0,1,0.5", /separate the kind and the numbers with "_" \(e\.g\. linear_0_1_0\.5/],
    ["linear_0%2C1_0.5", /separate the kind and the numbers with "_"/],
    ["linear_0_one_0.5", /number 2 "one" is not a decimal number/],
    ["linear_0__0.5", /number 2 is empty/],
    ["linear_0_1_0.5_", /number 4 is empty/],
    ["linear_0_1_NaN", /number 3 "NaN" is not a decimal number/],
    ["linear_0_Infinity_1", /number 2 "Infinity" is not a decimal number/],
    ["linear_0_1e400_1", /number 2 "1e400" is out of range/],
    ["linear_0x1_1_1", /number 1 "0x1" is not a decimal number/],
    ["linear_+1_1_1", /number 1 "\+1" is not a decimal number/],
    ["linear_1.2.3_1_1", /number 1 "1\.2\.3" is not a decimal number/],
    ["linear_0_1_0.5 ", /spaces are not part of the form/],
    ["linear_0_1_0", /ramp must be in \(0, 1\]/],
    ["linear_0_1_1.5", /ramp must be in \(0, 1\]/],
    ["linear_-1_1_0.5", /start must be >= 0/],
    ["cosine_0_-2_0.5", /max must be >= 0/],
    ["sigmoid_0_1_0.5_0", /sigmoid sharpness must be > 0/],
    ["exp_0_1_0.5_1000", /sharpness must be within \[-100, 100\]/],
    ["const", /expected 1 number, got 0/],
    ["const_1_2", /expected 1 number, got 2/],
    ["pw_0_0", /at least 4\) of numbers, got 2/],
    ["pw_0_0_1", /even number .* got 3/],
    ["pw_0_0_0.5_1_0.5_2", /point 2: t must be strictly increasing, got 0.5 after 0.5/],
    ["pw_0.5_1_0.2_2", /point 1: t must be strictly increasing/],
    ["pw_0_0_1.5_1", /point 1: t must be in \[0, 1\], got 1.5/],
    ["pw_0_0_1_-1", /point 1: lambda must be >= 0/],
    [`pw${"_0.5_1".repeat(400)}`, /longer than 2048 characters/],
    [`pw${Array.from({length: 70}, (_, i) => `_${i / 100}_1`).join("")}`, /at most 64 points, got 70/]
  ];

  it(`each of ${malformed.length} malformed strings gives a ScheduleParseError that says what is wrong`, () => {
    for (const [text, why] of malformed) {
      let err: unknown;
      try {
        parseSchedule(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ScheduleParseError);
      const msg = (err as Error).message;
      expect(msg, text).toMatch(why);
      expect(msg.startsWith("invalid schedule "), text).toBe(true);
    }
    expect(() => parseSchedule(42 as unknown as string)).toThrow(ScheduleParseError);
  });
});

describe("validateSchedule", () => {
  it("rejects NaN, infinities and misplaced fields with a message naming the field", () => {
    expect(() => validateSchedule(base("linear", {start: NaN}))).toThrow(/start must be a finite number, got NaN/);
    expect(() => validateSchedule(base("linear", {max: Infinity}))).toThrow(/max must be a finite number/);
    expect(() => validateSchedule(base("cosine", {ramp: -Infinity}))).toThrow(/ramp must be a finite number/);
    expect(() => validateSchedule(base("exp", {sharpness: NaN}))).toThrow(/sharpness must be a finite number/);
    expect(() => validateSchedule(base("linear", {sharpness: 2}))).toThrow(/only used by exp and sigmoid/);
    expect(() => validateSchedule(base("linear", {points: [[0, 0], [1, 1]]}))).toThrow(/only used by piecewise/);
    expect(() => validateSchedule(base("piecewise"))).toThrow(/needs points/);
    expect(() => validateSchedule(base("piecewise", {points: [[0, 1]]}))).toThrow(/at least 2 points, got 1/);
    expect(() => validateSchedule(base("piecewise", {points: [[0, 1], [NaN, 1]]}))).toThrow(/point 1 must hold finite numbers/);
    expect(() => validateSchedule({...base("linear"), kind: "quadratic" as ScheduleKind})).toThrow(/unknown schedule kind "quadratic"/);
    for (const kind of SCHEDULE_KINDS) {
      expect(() => validateSchedule(kind === "piecewise" ? normalizeSchedule({...base(kind), points: [[0, 0], [1, 1]]}) : base(kind))).not.toThrow();
    }
  });
});
