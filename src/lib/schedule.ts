// The distillation weight lambda(t) as a function of training progress t in [0,1].
//
// Why progress and not steps: the same schedule must mean the same thing for a 2-minute browser run and
// a 10-hour Node run, survive a change of batch size or step budget, and stay comparable across
// ablations; the trainer maps step -> t = step / totalSteps. Schedules are pure functions of
// (schedule, t): no state, so resuming a run reproduces the weights exactly.
//
// The DTKD paper (Park & Song 2026) says only that the distillation weight rises during training; it
// gives no formula. Every kind here, and DEFAULT_SCHEDULE, is a lab choice, not the paper's.
//
// Decreasing schedules (max < start) are allowed: annealing the teacher's influence away is a
// legitimate experiment. Every kind except "piecewise" is then non-increasing, just as it is
// non-decreasing when max >= start. A piecewise curve goes wherever its control points say.
// Negative weights are rejected: a negative distillation weight would reward moving away from the teacher.

export type ScheduleKind = "constant" | "linear" | "cosine" | "exp" | "sigmoid" | "step" | "piecewise";

export interface Schedule {
  kind: ScheduleKind;
  /** lambda at t = 0 (for constant: the value, and max and ramp are ignored). */
  start: number;
  /** Value reached at the end of the ramp; lambda stays there afterwards. */
  max: number;
  /** Ramp length as a fraction of training, in (0, 1]. */
  ramp: number;
  /** piecewise: control points (t, lambda), t strictly increasing in [0,1]; lambda is held flat before the
   * first and after the last point. For piecewise, start/max/ramp are derived from the points
   * (first lambda, last lambda, last t) and ignored by lambdaAt; see normalizeSchedule. */
  points?: [number, number][];
  /** exp: k in f(u) = expm1(k u) / expm1(k), default 3 (k > 0 starts slowly, k < 0 saturates early, 0 = linear);
   * sigmoid: steepness k of the logistic centred at ramp/2, default 10, must be > 0. */
  sharpness?: number;
}

export const SCHEDULE_KINDS: readonly ScheduleKind[] = Object.freeze([
  "constant",
  "linear",
  "cosine",
  "exp",
  "sigmoid",
  "step",
  "piecewise"
] as const);

export const DEFAULT_EXP_SHARPNESS = 3;
export const DEFAULT_SIGMOID_SHARPNESS = 10;
/** Bound on |sharpness|: beyond it the curves are numerically a step, and exp(k) nears overflow. */
export const MAX_SHARPNESS = 100;
export const MAX_POINTS = 64;

/**
 * Lab default (a choice; the paper gives no formula): a linear ramp of lambda from 0 to 1 over the first half of
 * training, then 1. The student first learns from the ground truth alone, the teacher's pull grows while the
 * student is still plastic, and the second half trains with the full weight, long enough for its effect to
 * show. Linear because it has no shape parameter to tune, and it is the natural default named in the notes.
 */
export const DEFAULT_SCHEDULE: Schedule = Object.freeze({kind: "linear", start: 0, max: 1, ramp: 0.5}) as Schedule;

export class ScheduleParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleParseError";
  }
}

function finite(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/** Throws a RangeError (TypeError for a wrong kind) saying what is wrong; returns normally if `s` is usable. */
export function validateSchedule(s: Schedule): void {
  if (s === null || typeof s !== "object") throw new TypeError("schedule must be an object");
  if (!SCHEDULE_KINDS.includes(s.kind)) {
    throw new TypeError(`unknown schedule kind ${JSON.stringify(s.kind)}; expected one of ${SCHEDULE_KINDS.join(", ")}`);
  }
  if (s.kind === "piecewise") {
    validatePoints(s.points);
  } else {
    if (s.points !== undefined) throw new RangeError(`points are only used by piecewise schedules, not ${s.kind}`);
  }
  for (const key of ["start", "max", "ramp"] as const) {
    if (!finite(s[key])) throw new RangeError(`${key} must be a finite number, got ${s[key]}`);
  }
  if (s.start < 0) throw new RangeError(`start must be >= 0 (a distillation weight), got ${s.start}`);
  if (s.max < 0) throw new RangeError(`max must be >= 0 (a distillation weight), got ${s.max}`);
  if (!(s.ramp > 0 && s.ramp <= 1)) throw new RangeError(`ramp must be in (0, 1] (a fraction of training), got ${s.ramp}`);
  if (s.sharpness !== undefined) {
    if (s.kind !== "exp" && s.kind !== "sigmoid") {
      throw new RangeError(`sharpness is only used by exp and sigmoid schedules, not ${s.kind}`);
    }
    if (!finite(s.sharpness)) throw new RangeError(`sharpness must be a finite number, got ${s.sharpness}`);
    if (Math.abs(s.sharpness) > MAX_SHARPNESS) {
      throw new RangeError(`sharpness must be within [-${MAX_SHARPNESS}, ${MAX_SHARPNESS}], got ${s.sharpness}`);
    }
    if (s.kind === "sigmoid" && s.sharpness <= 0) throw new RangeError(`sigmoid sharpness must be > 0, got ${s.sharpness}`);
  }
}

function validatePoints(points: unknown): asserts points is [number, number][] {
  if (!Array.isArray(points)) throw new RangeError("a piecewise schedule needs points: [t, lambda] pairs");
  if (points.length < 2) throw new RangeError(`a piecewise schedule needs at least 2 points, got ${points.length}`);
  if (points.length > MAX_POINTS) throw new RangeError(`a piecewise schedule takes at most ${MAX_POINTS} points, got ${points.length}`);
  let prev = -Infinity;
  points.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new RangeError(`point ${i} must be a [t, lambda] pair`);
    const [t, v] = p as unknown[];
    if (!finite(t) || !finite(v)) throw new RangeError(`point ${i} must hold finite numbers, got [${t}, ${v}]`);
    if (t < 0 || t > 1) throw new RangeError(`point ${i}: t must be in [0, 1], got ${t}`);
    if (t <= prev) throw new RangeError(`point ${i}: t must be strictly increasing, got ${t} after ${prev}`);
    if (v < 0) throw new RangeError(`point ${i}: lambda must be >= 0 (a distillation weight), got ${v}`);
    prev = t;
  });
}

/**
 * The canonical form: constant gets max = start and ramp = 1; piecewise gets start/max/ramp from its points;
 * -0 becomes 0. parseSchedule(formatSchedule(s)) deep-equals normalizeSchedule(s) for every valid s.
 */
export function normalizeSchedule(s: Schedule): Schedule {
  validateSchedule(s);
  const z = (x: number) => (x === 0 ? 0 : x);
  if (s.kind === "constant") return {kind: "constant", start: z(s.start), max: z(s.start), ramp: 1};
  if (s.kind === "piecewise") {
    const points = s.points!.map(([t, v]) => [z(t), z(v)] as [number, number]);
    const last = points[points.length - 1];
    return {kind: "piecewise", start: points[0][1], max: last[1], ramp: last[0], points};
  }
  const out: Schedule = {kind: s.kind, start: z(s.start), max: z(s.max), ramp: s.ramp};
  if (s.sharpness !== undefined) out.sharpness = z(s.sharpness);
  return out;
}

/** Shape of the ramp, f(0) = 0, f(1) = 1, non-decreasing in u (exactly, also in floating point for the grid). */
function rampShape(s: Schedule, u: number): number {
  switch (s.kind) {
    case "linear":
      return u;
    case "cosine":
      return (1 - Math.cos(Math.PI * u)) / 2;
    case "exp": {
      const k = s.sharpness ?? DEFAULT_EXP_SHARPNESS;
      // expm1 keeps small |k| accurate; k = 0 is the linear limit.
      return k === 0 ? u : Math.expm1(k * u) / Math.expm1(k);
    }
    case "sigmoid": {
      const k = s.sharpness ?? DEFAULT_SIGMOID_SHARPNESS;
      const lo = 1 / (1 + Math.exp(k / 2));
      const hi = 1 / (1 + Math.exp(-k / 2));
      // A logistic centred at u = 1/2 (t = ramp/2), shifted and scaled so it starts at 0 and ends at 1 exactly.
      return (1 / (1 + Math.exp(-k * (u - 0.5))) - lo) / (hi - lo);
    }
    case "step":
      return 0;
    default:
      throw new Error(`no ramp shape for ${s.kind}`);
  }
}

function piecewiseAt(points: [number, number][], t: number): number {
  if (t <= points[0][0]) return points[0][1];
  for (let i = 1; i < points.length; i++) {
    const [t1, v1] = points[i];
    if (t <= t1) {
      if (t === t1) return v1;
      const [t0, v0] = points[i - 1];
      const f = (t - t0) / (t1 - t0);
      const v = v0 + (v1 - v0) * f;
      // Keep the value inside the segment's range despite rounding, so monotone points give a monotone curve.
      return v0 <= v1 ? Math.min(Math.max(v, v0), v1) : Math.min(Math.max(v, v1), v0);
    }
  }
  return points[points.length - 1][1];
}

/** lambda at progress t; t is clamped to [0,1] (NaN throws: it means a bug upstream, not a position). */
export function lambdaAt(s: Schedule, t: number): number {
  if (Number.isNaN(t)) throw new RangeError("lambdaAt: t is NaN");
  const tc = Math.min(1, Math.max(0, t));
  if (s.kind === "constant") return s.start;
  if (s.kind === "piecewise") return piecewiseAt(s.points!, tc);
  if (tc >= s.ramp) return s.max;
  const f = rampShape(s, tc / s.ramp);
  const v = s.start + (s.max - s.start) * f;
  // Rounding of start + d*f may overshoot max by an ulp just before the ramp ends; clamping keeps monotonicity.
  return s.max >= s.start ? Math.min(v, s.max) : Math.max(v, s.max);
}

/** n >= 2 evenly spaced samples over [0,1], both ends included (for charts). */
export function sampleSchedule(s: Schedule, n: number): {t: number; lambda: number}[] {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`sampleSchedule: n must be an integer >= 2, got ${n}`);
  validateSchedule(s);
  return Array.from({length: n}, (_, i) => {
    const t = i === n - 1 ? 1 : i / (n - 1);
    return {t, lambda: lambdaAt(s, t)};
  });
}

// String form. Every character is one that neither encodeURIComponent nor URLSearchParams changes
// (letters, digits, "_", ".", "-"), so the text in the address bar is the text in the docs:
//   const_0.5            linear_0_1_0.5        cosine_0_1_0.5        step_0_1_0.3
//   exp_0_1_0.5          exp_0_1_0.5_-2        sigmoid_0_1_0.5_12
//   pw_0_0_0.3_1_1_1     (t, lambda pairs: (0,0) (0.3,1) (1,1))
// Numbers are JavaScript's shortest round-trip decimal form, with "e+" written "e" (1e21, 1e-7).
const CODE: Record<ScheduleKind, string> = {
  constant: "const",
  linear: "linear",
  cosine: "cosine",
  exp: "exp",
  sigmoid: "sigmoid",
  step: "step",
  piecewise: "pw"
};
const KIND_OF_CODE = new Map(Object.entries(CODE).map(([k, c]) => [c, k as ScheduleKind]));
const MAX_LENGTH = 2048;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

function num(x: number): string {
  return (x === 0 ? "0" : String(x)).replace("e+", "e");
}

/** Compact, URL-safe text form; round-trips through parseSchedule (to the normalised schedule). */
export function formatSchedule(s: Schedule): string {
  const n = normalizeSchedule(s);
  const code = CODE[n.kind];
  if (n.kind === "constant") return `${code}_${num(n.start)}`;
  if (n.kind === "piecewise") return `${code}_${n.points!.map(([t, v]) => `${num(t)}_${num(v)}`).join("_")}`;
  const parts = [n.start, n.max, n.ramp];
  if (n.sharpness !== undefined) parts.push(n.sharpness);
  return `${code}_${parts.map(num).join("_")}`;
}

function usage(code: string): string {
  switch (code) {
    case "const":
      return "const_VALUE";
    case "pw":
      return "pw_T1_L1_T2_L2... (at least 2 (t, lambda) pairs)";
    case "exp":
    case "sigmoid":
      return `${code}_START_MAX_RAMP or ${code}_START_MAX_RAMP_SHARPNESS`;
    default:
      return `${code}_START_MAX_RAMP`;
  }
}

/** Parses formatSchedule's text; throws ScheduleParseError saying what is wrong (never falls back to a default). */
export function parseSchedule(str: string): Schedule {
  if (typeof str !== "string") throw new ScheduleParseError(`schedule must be a string, got ${typeof str}`);
  const shown = str.length > 60 ? `${JSON.stringify(str.slice(0, 60))}...` : JSON.stringify(str);
  const fail: (why: string) => never = (why) => {
    throw new ScheduleParseError(`invalid schedule ${shown}: ${why}`);
  };
  if (str.length === 0) fail("empty string");
  if (str.length > MAX_LENGTH) fail(`longer than ${MAX_LENGTH} characters`);
  if (/[:,;\s%]/.test(str)) {
    fail(`separate the kind and the numbers with "_" (e.g. linear_0_1_0.5, pw_0_0_0.3_1_1_1); ` +
      `":", ",", ";", "%" and spaces are not part of the form (URLs would escape them)`);
  }
  const tokens = str.split("_");
  const code = tokens[0];
  const kind = KIND_OF_CODE.get(code);
  if (kind === undefined) {
    const hint = (SCHEDULE_KINDS as readonly string[]).includes(code) ? ` (write ${code} as ${CODE[code as ScheduleKind]})` : "";
    fail(`unknown kind ${JSON.stringify(code)}${hint}; expected one of ${[...KIND_OF_CODE.keys()].join(", ")}, followed by _-separated numbers`);
  }
  const args = tokens.slice(1);
  const values = args.map((a, i) => {
    if (a === "") fail(`number ${i + 1} is empty (doubled or trailing "_"?); form is ${usage(code)}`);
    if (!NUMBER.test(a)) fail(`number ${i + 1} ${JSON.stringify(a)} is not a decimal number; form is ${usage(code)}`);
    const v = Number(a);
    if (!Number.isFinite(v)) fail(`number ${i + 1} ${JSON.stringify(a)} is out of range`);
    return v;
  });
  let s: Schedule;
  if (kind === "constant") {
    if (values.length !== 1) fail(`expected 1 number, got ${values.length}; form is ${usage(code)}`);
    s = {kind, start: values[0], max: values[0], ramp: 1};
  } else if (kind === "piecewise") {
    if (values.length < 4 || values.length % 2 !== 0) {
      fail(`expected an even number (at least 4) of numbers, got ${values.length}; form is ${usage(code)}`);
    }
    const points: [number, number][] = [];
    for (let i = 0; i < values.length; i += 2) points.push([values[i], values[i + 1]]);
    s = {kind, start: 0, max: 0, ramp: 1, points};
  } else {
    const withSharpness = kind === "exp" || kind === "sigmoid";
    if (values.length !== 3 && !(withSharpness && values.length === 4)) {
      fail(`expected ${withSharpness ? "3 or 4" : "3"} numbers, got ${values.length}; form is ${usage(code)}`);
    }
    s = {kind, start: values[0], max: values[1], ramp: values[2]};
    if (values.length === 4) s.sharpness = values[3];
  }
  try {
    return normalizeSchedule(s);
  } catch (e) {
    return fail((e as Error).message);
  }
}
