import {describe, expect, it} from "vitest";
import {defaultState, field, formatHash, parseHash} from "../src/lib/hash-state.js";

const schema = {
  photo: field.enum(["astronaut", "rocket", "coffee"], "astronaut"),
  wavelet: field.enum(["haar", "db2", "sym4"], "haar"),
  levels: field.int(2, {min: 1, max: 3}),
  gain: field.float(1, {min: 0, max: 10}),
  shared: field.bool(false),
  note: field.string("", {maxLength: 12})
};

describe("parseHash", () => {
  it("gives the defaults for an empty hash, with or without '#'", () => {
    for (const h of ["", "#", "#&&"]) {
      const {state, errors} = parseHash(schema, h);
      expect(state).toEqual(defaultState(schema));
      expect(errors).toEqual([]);
    }
  });

  it("reads every type", () => {
    const {state, errors} = parseHash(schema, "#photo=rocket&wavelet=db2&levels=3&gain=2.5e-1&shared=1&note=a%20b%26c");
    expect(errors).toEqual([]);
    expect(state).toEqual({photo: "rocket", wavelet: "db2", levels: 3, gain: 0.25, shared: true, note: "a b&c"});
  });

  it("refuses malformed values one key at a time, keeping the good ones", () => {
    const {state, errors} = parseHash(schema, "wavelet=db7&levels=2.5&gain=abc&shared=yes&photo=coffee");
    expect(state).toEqual({...defaultState(schema), photo: "coffee"});
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/^wavelet="db7" refused: expected one of haar, db2, sym4; using the default haar$/);
    expect(errors[1]).toMatch(/^levels="2.5" refused: expected an integer from 1 to 3/);
    expect(errors[2]).toMatch(/^gain="abc" refused: expected a number from 0 to 10/);
    expect(errors[3]).toMatch(/^shared="yes" refused: expected 1 or 0/);
  });

  it("enforces ranges and refuses non-finite and blank numbers", () => {
    for (const bad of ["levels=0", "levels=4", "levels=", "levels=%202", "gain=-1", "gain=11", "gain=Infinity", "gain=NaN", "gain="]) {
      const {state, errors} = parseHash(schema, bad);
      expect(errors, bad).toHaveLength(1);
      expect(state).toEqual(defaultState(schema));
    }
    expect(parseHash(schema, "levels=1&gain=10").state).toMatchObject({levels: 1, gain: 10});
  });

  it("reports unknown keys, keys without a value, repeats and broken encoding", () => {
    const {state, errors} = parseHash(schema, "#colour=red&levels&wavelet=db2&wavelet=sym4&note=%E0%A4%A");
    expect(state.wavelet).toBe("sym4");
    expect(state.levels).toBe(2);
    expect(state.note).toBe("");
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/unknown key "colour"/);
    expect(errors[1]).toMatch(/^levels: no value given/);
    expect(errors[2]).toMatch(/^wavelet: given more than once/);
    expect(errors[3]).toMatch(/not valid URL encoding/);
  });

  it("does not treat prototype keys as known", () => {
    const {errors} = parseHash(schema, "toString=1&__proto__=x");
    expect(errors).toHaveLength(2);
  });

  it("applies string length limits and patterns", () => {
    expect(parseHash(schema, "note=0123456789abc").errors).toHaveLength(1);
    const s2 = {id: field.string("a1", {pattern: /[a-z][0-9]/})};
    expect(parseHash(s2, "id=b2").state.id).toBe("b2");
    expect(parseHash(s2, "id=b2x").errors).toHaveLength(1);
  });
});

describe("formatHash", () => {
  it("omits defaults and keeps schema order whatever the object's key order", () => {
    expect(formatHash(schema, defaultState(schema))).toBe("");
    expect(formatHash(schema, {levels: 3, wavelet: "db2", photo: "astronaut"})).toBe("wavelet=db2&levels=3");
    expect(formatHash(schema, {levels: 3, wavelet: "db2"}, {keepDefaults: true})).toBe("wavelet=db2&levels=3");
    expect(formatHash(schema, defaultState(schema), {keepDefaults: true})).toBe(
      "photo=astronaut&wavelet=haar&levels=2&gain=1&shared=0&note="
    );
  });

  it("throws on a value the schema would refuse", () => {
    expect(() => formatHash(schema, {levels: 7})).toThrow(/levels/);
    expect(() => formatHash(schema, {wavelet: "db9" as "haar"})).toThrow(/wavelet/);
    expect(() => formatHash(schema, {gain: Number.NaN})).toThrow(/gain/);
  });

  it("round-trips random states exactly", () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
    for (let i = 0; i < 200; i++) {
      const state = {
        photo: pick(schema.photo.allowed),
        wavelet: pick(schema.wavelet.allowed),
        levels: 1 + Math.floor(rand() * 3),
        gain: pick([0, 10, rand() * 10, 1e-9, 1 / 3]),
        shared: rand() < 0.5,
        note: pick(["", "a&b=c#d", "ünï cødé", "100% +1", "x".repeat(12)])
      };
      const text = formatHash(schema, state);
      const parsed = parseHash(schema, `#${text}`);
      expect(parsed.errors, text).toEqual([]);
      expect(parsed.state).toEqual(state);
    }
  });
});

describe("field builders", () => {
  it("refuse an enum default outside the allowed values", () => {
    expect(() => field.enum(["a", "b"], "c" as "a")).toThrow(/not one of a, b/);
  });
});
