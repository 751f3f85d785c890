// URLs of files that scripts/bundle-vendor.mjs puts in src/_vendor/. Framework gives built files
// content-hashed names, so the wasm backend gets a map from the file names it asks for to their real URLs.
import {FileAttachment} from "observablehq:stdlib";

export function vendorWasmPaths(): Record<string, string> {
  return {
    "tfjs-backend-wasm.wasm": FileAttachment("../../_vendor/tfjs-backend-wasm.wasm").href,
    "tfjs-backend-wasm-simd.wasm": FileAttachment("../../_vendor/tfjs-backend-wasm-simd.wasm").href,
    "tfjs-backend-wasm-threaded-simd.wasm": FileAttachment("../../_vendor/tfjs-backend-wasm-threaded-simd.wasm").href
  };
}
