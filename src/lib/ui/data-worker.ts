// Web worker of the data page: runs one degradation at a time off the main thread, so the page stays responsive
// while a realistic run on a large patch takes its few hundred milliseconds. Same code as everywhere else
// (src/lib/degrade.ts), so the LR is the same bytes as on the main thread and in Node.
import {degrade, toUint8, type DegradeOptions, type DegradeResult, type ImageF32} from "../degrade.js";
import {fingerprint} from "./data-format.js";

export interface DegradeRequest {
  id: number;
  hr: ImageF32;
  options: DegradeOptions;
}

export type DegradeReply =
  | {id: number; ok: true; result: DegradeResult; degradeMs: number; fingerprint: string}
  | {id: number; ok: false; error: string};

/** Every distinct pixel buffer of a result, to hand over without copying. */
export function resultBuffers(result: DegradeResult): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  const add = (img: ImageF32 | undefined) => {
    if (img && img.data.buffer instanceof ArrayBuffer) set.add(img.data.buffer);
  };
  add(result.hr);
  add(result.lr);
  for (const t of result.trace) add(t.image);
  return [...set];
}

// Only when loaded as a worker (a module page importing this file for its types gets no handler).
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.addEventListener("message", (event: MessageEvent<DegradeRequest>) => {
    const {id, hr, options} = event.data;
    let reply: DegradeReply;
    try {
      const t0 = performance.now();
      const result = degrade(hr, options);
      const degradeMs = performance.now() - t0;
      reply = {id, ok: true, result, degradeMs, fingerprint: fingerprint(toUint8(result.lr))};
      (self as unknown as Worker).postMessage(reply, resultBuffers(result));
    } catch (e) {
      reply = {id, ok: false, error: e instanceof Error ? e.message : String(e)};
      (self as unknown as Worker).postMessage(reply);
    }
  });
}
