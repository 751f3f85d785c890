// Picks the TF.js backend for the current environment and records why each better one was not used, so every
// page and script can tell the user what it runs on. Nothing here touches window/document at module load, so it
// imports safely in Node and in workers; optional backends are imported lazily, only where they can work.
import * as tf from "@tensorflow/tfjs";

export type BackendName = "webgpu" | "webgl" | "wasm" | "cpu";
export const BACKEND_NAMES: readonly BackendName[] = Object.freeze(["webgpu", "webgl", "wasm", "cpu"] as const);
/** Fastest first. webgl beats wasm for training in a browser; cpu is the always-available last resort. */
export const BROWSER_ORDER: readonly BackendName[] = Object.freeze(["webgpu", "webgl", "wasm", "cpu"] as const);
/** Node has no GPU backend without native add-ons (tfjs-node cannot be installed here; see NOTES 1). */
export const NODE_ORDER: readonly BackendName[] = Object.freeze(["wasm", "cpu"] as const);

export type Environment = "browser" | "worker" | "node";

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** Why it did not start; absent for the one that did. */
  reason?: string;
}

export interface BackendReport {
  chosen: BackendName;
  environment: Environment;
  /** Every backend tried, in order; the last one is `chosen`. */
  tried: BackendAttempt[];
  /** The requested override (validated), or null when none was given. */
  override: BackendName | null;
}

export interface ChooseOptions {
  /** A backend name to try first (from the URL hash or the command line). Invalid names throw BackendError. */
  override?: string | null;
  /** Candidates in order of preference; defaults to BROWSER_ORDER or NODE_ORDER by environment. */
  order?: readonly BackendName[];
  /**
   * Where the tfjs-backend-wasm .wasm files are served (a prefix URL ending in "/", or a map from file name to
   * URL), passed to setWasmPaths. Needed in the browser, where bundling renames files. In Node the package's
   * own dist/ folder is used when this is absent.
   */
  wasmPaths?: string | Record<string, string>;
}

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

/** Normalises and validates a user-supplied backend name. */
function parseOverride(value: string | null | undefined): BackendName | null {
  if (value === null || value === undefined) return null;
  const v = value.trim().toLowerCase();
  if (v === "") return null;
  if (!isBackendName(v))
    throw new BackendError(`Unknown TF.js backend "${value}". Valid backends: ${BACKEND_NAMES.join(", ")}.`);
  return v;
}

export function detectEnvironment(): Environment {
  const g = globalThis as {process?: {versions?: {node?: string}}; WorkerGlobalScope?: unknown; document?: unknown};
  if (typeof g.WorkerGlobalScope === "function" && globalThis instanceof (g.WorkerGlobalScope as new () => object))
    return "worker";
  if (typeof g.document === "undefined" && g.process?.versions?.node) return "node";
  return "browser";
}

/** Reads the override from a URL hash such as "#backend=wasm&levels=2". */
export function overrideFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const v = params.get("backend");
  return v === null || v.trim() === "" ? null : v.trim();
}

/** Reads the override from `--backend NAME` / `--backend=NAME`, else the DTKD_BACKEND environment variable. */
export function overrideFromNode(
  argv?: string[],
  env?: NodeJS.ProcessEnv | Record<string, string | undefined>,
): string | null {
  const proc = (globalThis as {process?: {argv?: string[]; env?: Record<string, string | undefined>}}).process;
  const args = argv ?? proc?.argv ?? [];
  const vars = env ?? proc?.env ?? {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--backend") {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--"))
        throw new BackendError(`--backend needs a value: one of ${BACKEND_NAMES.join(", ")}.`);
      return next;
    }
    if (a.startsWith("--backend=")) {
      const v = a.slice("--backend=".length);
      if (v === "") throw new BackendError(`--backend= needs a value: one of ${BACKEND_NAMES.join(", ")}.`);
      return v;
    }
  }
  const v = vars.DTKD_BACKEND;
  return v === undefined || v.trim() === "" ? null : v.trim();
}

/** The folder of the installed tfjs-backend-wasm .wasm files, as a file URL ending in "/" (Node only). */
async function nodeWasmDir(): Promise<string> {
  type ModuleApi = {createRequire(url: string): {resolve(id: string): string}};
  type UrlApi = {pathToFileURL(p: string): {href: string}};
  const proc = (globalThis as {process?: {getBuiltinModule?: (id: string) => unknown}}).process;
  // getBuiltinModule (Node >= 20.16) avoids an import statement that a browser bundler would try to follow;
  // the variable specifier keeps older Nodes working for the same reason.
  const load = async <T>(id: string): Promise<T> =>
    (proc?.getBuiltinModule?.(id) as T | undefined) ?? ((await import(/* @vite-ignore */ id)) as T);
  const {createRequire} = await load<ModuleApi>("node:module");
  const {pathToFileURL} = await load<UrlApi>("node:url");
  const pkg = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json");
  const dir = pkg.replace(/[\\/]package\.json$/, "") + "/dist/";
  return pathToFileURL(dir).href.replace(/\/?$/, "/");
}

/**
 * Registers a backend that @tensorflow/tfjs does not register by itself. Returns a reason string when the
 * backend cannot work here, so the caller can skip it without a noisy failure.
 */
async function prepare(name: BackendName, env: Environment, opts: ChooseOptions): Promise<string | null> {
  if (name === "webgpu") {
    const gpu = (globalThis as {navigator?: {gpu?: {requestAdapter(): Promise<unknown>}}}).navigator?.gpu;
    if (!gpu) return "WebGPU is not available here (navigator.gpu is missing)";
    let adapter: unknown = null;
    try {
      adapter = await gpu.requestAdapter();
    } catch (e) {
      return `WebGPU adapter request failed: ${(e as Error).message}`;
    }
    if (!adapter) return "no WebGPU adapter (navigator.gpu.requestAdapter() returned null)";
    try {
      await import("@tensorflow/tfjs-backend-webgpu");
    } catch (e) {
      return `could not load @tensorflow/tfjs-backend-webgpu: ${(e as Error).message}`;
    }
    return null;
  }
  if (name === "webgl") {
    if (env === "node") return "WebGL needs a browser (no WebGL context in Node)";
    return null;
  }
  if (name === "wasm") {
    try {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      const paths = opts.wasmPaths ?? (env === "node" ? await nodeWasmDir() : undefined);
      if (paths !== undefined) wasm.setWasmPaths(paths);
    } catch (e) {
      return `could not load @tensorflow/tfjs-backend-wasm: ${(e as Error).message}`;
    }
    return null;
  }
  return null;
}

/** tf.setBackend reports an init failure only through console.warn and `false`; keep that text as the reason. */
async function trySetBackend(name: BackendName): Promise<string | null> {
  const warnings: string[] = [];
  const originalWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(" "));
    originalWarn.apply(console, args);
  };
  try {
    const ok = await tf.setBackend(name);
    if (!ok) {
      const detail = warnings.join("; ").trim();
      return `failed to initialise${detail ? `: ${detail}` : ""}`;
    }
    await tf.ready();
    return null;
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (/not found in registry/.test(msg)) return `not registered in this environment (${msg})`;
    return msg;
  } finally {
    console.warn = originalWarn;
  }
}

/**
 * Starts the best available backend: the override first (if given), then the environment's order. A failing
 * override is recorded and the order continues, so a bad link never leaves the lab without a backend; callers
 * show describeBackend(report) so the user sees the fallback. Throws BackendError for an invalid override or
 * order name, and when nothing starts.
 */
export async function chooseBackend(opts: ChooseOptions = {}): Promise<BackendReport> {
  const override = parseOverride(opts.override);
  const environment = detectEnvironment();
  const order = opts.order ?? (environment === "node" ? NODE_ORDER : BROWSER_ORDER);
  for (const n of order)
    if (!isBackendName(n)) throw new BackendError(`Unknown backend "${n}" in order. Valid backends: ${BACKEND_NAMES.join(", ")}.`);
  const candidates = override ? [override, ...order.filter((n) => n !== override)] : [...order];

  const tried: BackendAttempt[] = [];
  for (const backend of candidates) {
    const reason = (await prepare(backend, environment, opts)) ?? (await trySetBackend(backend));
    if (reason === null) {
      tried.push({backend, ok: true});
      return {chosen: backend, environment, tried, override};
    }
    tried.push({backend, ok: false, reason});
  }
  throw new BackendError(
    `No TF.js backend could start (${environment}): ${tried.map((t) => `${t.backend}: ${t.reason}`).join("; ")}`,
  );
}

/** One line for a page header or a log, e.g. "wasm (node; override: none; skipped webgpu: no WebGPU adapter)". */
export function describeBackend(r: BackendReport): string {
  const parts: string[] = [r.environment];
  if (r.override === null) parts.push("override: none");
  else if (r.override === r.chosen) parts.push(`override: ${r.override}`);
  else parts.push(`override ${r.override} FAILED, fell back`);
  const skipped = r.tried.filter((t) => !t.ok).map((t) => `${t.backend}: ${t.reason}`);
  if (skipped.length) parts.push(`skipped ${skipped.join("; ")}`);
  return `${r.chosen} (${parts.join("; ")})`;
}
