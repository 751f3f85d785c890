import {afterEach, describe, expect, it} from "vitest";
import * as tf from "@tensorflow/tfjs";
import {
  BACKEND_NAMES,
  BackendError,
  BROWSER_ORDER,
  chooseBackend,
  describeBackend,
  detectEnvironment,
  NODE_ORDER,
  overrideFromHash,
  overrideFromNode,
} from "../src/lib/backend";

async function sumOnActiveBackend(): Promise<number> {
  const t = tf.add(tf.tensor1d([1, 2, 3]), tf.tensor1d([10, 20, 30])).sum();
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

describe("orders and parsing", () => {
  it("lists the backends and orders the issue asks for", () => {
    expect([...BACKEND_NAMES]).toEqual(["webgpu", "webgl", "wasm", "cpu"]);
    expect([...BROWSER_ORDER]).toEqual(["webgpu", "webgl", "wasm", "cpu"]);
    expect([...NODE_ORDER]).toEqual(["wasm", "cpu"]);
    expect(detectEnvironment()).toBe("node");
  });

  it("reads the override from a URL hash", () => {
    expect(overrideFromHash("#backend=wasm&levels=2")).toBe("wasm");
    expect(overrideFromHash("#levels=2&backend=cpu")).toBe("cpu");
    expect(overrideFromHash("backend=webgpu")).toBe("webgpu");
    expect(overrideFromHash("#levels=2")).toBeNull();
    expect(overrideFromHash("#backend=")).toBeNull();
    expect(overrideFromHash("")).toBeNull();
    expect(overrideFromHash("#")).toBeNull();
  });

  it("reads the override from a flag or the environment, flag first", () => {
    expect(overrideFromNode(["node", "x.ts", "--backend", "cpu"], {})).toBe("cpu");
    expect(overrideFromNode(["node", "x.ts", "--backend=cpu"], {})).toBe("cpu");
    expect(overrideFromNode(["node", "x.ts"], {DTKD_BACKEND: "cpu"})).toBe("cpu");
    expect(overrideFromNode(["--backend", "wasm"], {DTKD_BACKEND: "cpu"})).toBe("wasm");
    expect(overrideFromNode(["node", "x.ts"], {})).toBeNull();
    expect(overrideFromNode([], {DTKD_BACKEND: "  "})).toBeNull();
    expect(() => overrideFromNode(["--backend"], {})).toThrow(BackendError);
    expect(() => overrideFromNode(["--backend", "--other"], {})).toThrow(/needs a value/);
  });
});

describe("chooseBackend in Node", () => {
  it("picks wasm by default, with nothing skipped", async () => {
    const r = await chooseBackend();
    expect(r).toEqual({chosen: "wasm", environment: "node", tried: [{backend: "wasm", ok: true}], override: null});
    expect(tf.getBackend()).toBe("wasm");
    expect(await sumOnActiveBackend()).toBe(66);
    expect(describeBackend(r)).toBe("wasm (node; override: none)");
  });

  it("honours --backend cpu and DTKD_BACKEND=cpu", async () => {
    const byFlag = await chooseBackend({override: overrideFromNode(["node", "s.ts", "--backend", "cpu"], {})});
    expect(byFlag.chosen).toBe("cpu");
    expect(byFlag.override).toBe("cpu");
    expect(byFlag.tried).toEqual([{backend: "cpu", ok: true}]);
    expect(tf.getBackend()).toBe("cpu");
    expect(await sumOnActiveBackend()).toBe(66);

    await chooseBackend(); // back to wasm, so the env case below really switches
    expect(tf.getBackend()).toBe("wasm");
    const byEnv = await chooseBackend({override: overrideFromNode([], {DTKD_BACKEND: "CPU"})});
    expect(byEnv.chosen).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    expect(describeBackend(byEnv)).toBe("cpu (node; override: cpu)");
  });

  it("rejects an invalid override with the list of valid names", async () => {
    const err = await chooseBackend({override: "gpu"}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    const msg = (err as Error).message;
    expect(msg).toContain('"gpu"');
    for (const n of BACKEND_NAMES) expect(msg).toContain(n);
    await expect(chooseBackend({order: ["wasm", "tpu" as never]})).rejects.toThrow(BackendError);
  });

  it("skips a backend that cannot start, records why, and falls back", async () => {
    const r = await chooseBackend({order: ["webgpu", "cpu"]});
    expect(r.chosen).toBe("cpu");
    expect(r.tried.map((t) => [t.backend, t.ok])).toEqual([["webgpu", false], ["cpu", true]]);
    expect(r.tried[0].reason).toMatch(/navigator\.gpu/);
    expect(tf.getBackend()).toBe("cpu");
    expect(describeBackend(r)).toMatch(/^cpu \(node; override: none; skipped webgpu: .*navigator\.gpu/);
  });

  it("falls back down the order when the override fails, and says so", async () => {
    const r = await chooseBackend({override: "webgl"});
    expect(r.override).toBe("webgl");
    expect(r.chosen).toBe("wasm");
    expect(r.tried.map((t) => t.backend)).toEqual(["webgl", "wasm"]);
    expect(r.tried[0].ok).toBe(false);
    expect(r.tried[0].reason).toMatch(/browser/);
    expect(describeBackend(r)).toMatch(/override webgl FAILED/);
  });

  it("throws when nothing in the order can start", async () => {
    await expect(chooseBackend({order: ["webgpu", "webgl"]})).rejects.toThrow(/No TF.js backend could start.*webgpu.*webgl/);
  });
});

describe("a registered backend whose initialisation fails (tf.setBackend returns false)", () => {
  const g = globalThis as {navigator?: unknown};
  const hadNavigator = Object.prototype.hasOwnProperty.call(globalThis, "navigator");
  const savedNavigator = Object.getOwnPropertyDescriptor(globalThis, "navigator");
  afterEach(() => {
    if (hadNavigator && savedNavigator) Object.defineProperty(globalThis, "navigator", savedNavigator);
    else delete g.navigator;
    if (tf.engine().registryFactory["webgpu"]) tf.removeBackend("webgpu");
  });

  it("reports a missing adapter", async () => {
    Object.defineProperty(globalThis, "navigator", {
      value: {gpu: {requestAdapter: async () => null}},
      configurable: true,
      writable: true,
    });
    const r = await chooseBackend({order: ["webgpu", "cpu"]});
    expect(r.chosen).toBe("cpu");
    expect(r.tried[0]).toEqual({backend: "webgpu", ok: false, reason: expect.stringMatching(/no WebGPU adapter/)});
  });

  it("imports the WebGPU backend in Node without breaking, and records the init failure", async () => {
    // A fake adapter passes the pre-check, so the real @tensorflow/tfjs-backend-webgpu registers itself and its
    // factory then fails in requestDevice: the path where tf.setBackend resolves to false instead of throwing.
    const adapter = {
      features: new Set<string>(),
      limits: {},
      requestDevice: async () => {
        throw new Error("fake device refused");
      },
    };
    Object.defineProperty(globalThis, "navigator", {
      value: {gpu: {requestAdapter: async () => adapter}},
      configurable: true,
      writable: true,
    });
    const r = await chooseBackend({order: ["webgpu", "wasm"]});
    expect(tf.engine().registryFactory["webgpu"]).toBeDefined();
    expect(r.chosen).toBe("wasm");
    expect(r.tried[0].backend).toBe("webgpu");
    expect(r.tried[0].ok).toBe(false);
    expect(r.tried[0].reason).toMatch(/failed to initialise.*fake device refused/);
    expect(await sumOnActiveBackend()).toBe(66);
  });
});
