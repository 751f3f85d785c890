// View state in the URL hash, so a link reproduces a view. DOM-free: callers pass `location.hash` in and
// write the formatted string back themselves.
//
// Format: `key=value&key=value` (URL-encoded values, keys in schema order, defaults omitted), e.g.
// `#photo=rocket&wavelet=db2&levels=3`. Parsing never throws on user input: every malformed value is
// refused with a message and that key falls back to its default, so a bad link still opens a working view.

export interface EnumField<T extends string = string> {
  type: "enum";
  default: T;
  allowed: readonly T[];
}
export interface IntField {
  type: "int";
  default: number;
  min?: number;
  max?: number;
}
export interface FloatField {
  type: "float";
  default: number;
  min?: number;
  max?: number;
}
export interface BoolField {
  type: "bool";
  default: boolean;
}
export interface StringField {
  type: "string";
  default: string;
  /** Longest accepted value (default 200): a URL is no place for documents. */
  maxLength?: number;
  /** Whole-value pattern the string must match, if given. */
  pattern?: RegExp;
}
export type Field = EnumField | IntField | FloatField | BoolField | StringField;
export type HashSchema = Record<string, Field>;

type ValueOf<F extends Field> = F extends EnumField<infer T>
  ? T
  : F extends IntField | FloatField
    ? number
    : F extends BoolField
      ? boolean
      : string;
export type HashState<S extends HashSchema> = {[K in keyof S]: ValueOf<S[K]>};

/** Builders that keep literal types, so `state.wavelet` is typed `"haar" | "db2"` rather than string. */
export const field = {
  enum<const T extends string>(allowed: readonly T[], defaultValue: T): EnumField<T> {
    if (!allowed.includes(defaultValue)) throw new Error(`enum default "${defaultValue}" is not one of ${allowed.join(", ")}`);
    return {type: "enum", default: defaultValue, allowed};
  },
  int(defaultValue: number, range: {min?: number; max?: number} = {}): IntField {
    return {type: "int", default: defaultValue, ...range};
  },
  float(defaultValue: number, range: {min?: number; max?: number} = {}): FloatField {
    return {type: "float", default: defaultValue, ...range};
  },
  bool(defaultValue: boolean): BoolField {
    return {type: "bool", default: defaultValue};
  },
  string(defaultValue: string, options: {maxLength?: number; pattern?: RegExp} = {}): StringField {
    return {type: "string", default: defaultValue, ...options};
  }
};

export interface ParseResult<S extends HashSchema> {
  state: HashState<S>;
  /** One human-readable message per refused value, unknown key or malformed pair; empty when clean. */
  errors: string[];
}

type Checked = {ok: true; value: string | number | boolean} | {ok: false; expected: string};

function rangeText(f: IntField | FloatField): string {
  if (f.min !== undefined && f.max !== undefined) return ` from ${f.min} to ${f.max}`;
  if (f.min !== undefined) return ` >= ${f.min}`;
  if (f.max !== undefined) return ` <= ${f.max}`;
  return "";
}

function checkValue(f: Field, raw: string): Checked {
  switch (f.type) {
    case "enum":
      return (f.allowed as readonly string[]).includes(raw)
        ? {ok: true, value: raw}
        : {ok: false, expected: `one of ${f.allowed.join(", ")}`};
    case "int": {
      const expected = `an integer${rangeText(f)}`;
      if (!/^[+-]?\d{1,15}$/.test(raw)) return {ok: false, expected};
      const v = Number(raw);
      if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) return {ok: false, expected};
      return {ok: true, value: v};
    }
    case "float": {
      const expected = `a number${rangeText(f)}`;
      // Number("") is 0 and Number(" 1") is 1: insist on the literal forms formatHash writes.
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw)) return {ok: false, expected};
      const v = Number(raw);
      if (!Number.isFinite(v)) return {ok: false, expected};
      if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) return {ok: false, expected};
      return {ok: true, value: v};
    }
    case "bool":
      if (raw === "1" || raw === "true") return {ok: true, value: true};
      if (raw === "0" || raw === "false") return {ok: true, value: false};
      return {ok: false, expected: "1 or 0"};
    case "string": {
      const maxLength = f.maxLength ?? 200;
      if (raw.length > maxLength) return {ok: false, expected: `a string of at most ${maxLength} characters`};
      if (f.pattern && !new RegExp(`^(?:${f.pattern.source})$`, f.pattern.flags).test(raw)) {
        return {ok: false, expected: `a string matching ${f.pattern}`};
      }
      return {ok: true, value: raw};
    }
  }
}

function show(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

/** The schema's defaults as a state object. */
export function defaultState<S extends HashSchema>(schema: S): HashState<S> {
  const state: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(schema)) state[key] = f.default;
  return state as HashState<S>;
}

/**
 * Reads `hash` (with or without the leading "#"). Keys absent from the hash take their defaults.
 * Refused values, unknown keys, repeated keys and pairs without "=" are reported in `errors`.
 */
export function parseHash<S extends HashSchema>(schema: S, hash: string): ParseResult<S> {
  const state: Record<string, unknown> = defaultState(schema);
  const errors: string[] = [];
  const seen = new Set<string>();
  const body = hash.startsWith("#") ? hash.slice(1) : hash;
  for (const pair of body.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    let key: string;
    let raw: string;
    try {
      key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      raw = eq < 0 ? "" : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
    } catch {
      errors.push(`${show(pair)}: not valid URL encoding; ignored`);
      continue;
    }
    if (!Object.hasOwn(schema, key)) {
      errors.push(`unknown key ${show(key)} ignored (known keys: ${Object.keys(schema).join(", ")})`);
      continue;
    }
    const f = schema[key];
    if (eq < 0) {
      errors.push(`${key}: no value given; using the default ${String(f.default)}`);
      continue;
    }
    if (seen.has(key)) errors.push(`${key}: given more than once; the last value counts`);
    seen.add(key);
    const checked = checkValue(f, raw);
    if (checked.ok) {
      state[key] = checked.value;
    } else {
      state[key] = f.default;
      errors.push(`${key}=${show(raw)} refused: expected ${checked.expected}; using the default ${String(f.default)}`);
    }
  }
  return {state: state as HashState<S>, errors};
}

function formatValue(f: Field, value: unknown): string {
  if (f.type === "bool") return value ? "1" : "0";
  return encodeURIComponent(String(value));
}

/**
 * Writes `state` as `key=value&...` (no leading "#"), keys in schema order. Defaults are omitted unless
 * `keepDefaults` is set, so an untouched view has an empty hash. Throws on a value the schema would refuse:
 * that is a programming error, not user input.
 */
export function formatHash<S extends HashSchema>(
  schema: S,
  state: Partial<HashState<S>>,
  options: {keepDefaults?: boolean} = {}
): string {
  const parts: string[] = [];
  for (const [key, f] of Object.entries(schema)) {
    const value = (state as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const text = f.type === "bool" ? (value ? "1" : "0") : String(value);
    const checked = checkValue(f, text);
    if (!checked.ok || (f.type === "bool" && typeof value !== "boolean")) {
      throw new Error(`formatHash: ${key}=${show(String(value))} is not ${checked.ok ? "a boolean" : checked.expected}`);
    }
    if (!options.keepDefaults && value === f.default) continue;
    parts.push(`${encodeURIComponent(key)}=${formatValue(f, value)}`);
  }
  return parts.join("&");
}
