// Test-only: start a named TF.js backend in Node. The lab's own chooser lives in src/lib/backend.ts.
import * as tf from "@tensorflow/tfjs";
import {setWasmPaths} from "@tensorflow/tfjs-backend-wasm";
import {createRequire} from "node:module";
import {dirname, join} from "node:path";
import {pathToFileURL} from "node:url";

const require = createRequire(import.meta.url);
let wasmPathsSet = false;

export type NodeBackend = "wasm" | "cpu";
export const NODE_BACKENDS: NodeBackend[] = ["wasm", "cpu"];

/** Sets the active backend and waits until it is ready; throws if it cannot start. */
export async function useBackend(name: NodeBackend): Promise<void> {
  if (name === "wasm" && !wasmPathsSet) {
    const dir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
    setWasmPaths(pathToFileURL(dir).href + "/");
    wasmPathsSet = true;
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`TF.js backend ${name} failed to start`);
  await tf.ready();
}
