// Web worker of the models page: owns one InferEngine (infer-engine.ts), so TF.js, its backend, the models'
// weights and every inference run live off the main thread and the page stays responsive while the teacher
// samples. The worker chooses its own backend (WebGPU is available in dedicated workers; WebGL through
// OffscreenCanvas); the page passes the URL-hash override and the wasm file URLs, which a worker cannot look up.
import {CancelledError, InferEngine, type InferEvent, type InferJob, type InitOptions} from "./infer-engine.js";
import type {ShippedKind} from "../models/shipped.js";

export type InferRequest =
  | {id: number; type: "init"; options: InitOptions}
  | {id: number; type: "load"; kind: ShippedKind; bytes: ArrayBuffer}
  | {id: number; type: "run"; job: InferJob}
  /** Stop run `id` at its next stage boundary. */
  | {id: number; type: "cancel"};

export type InferReply =
  | {id: number; type: "event"; event: InferEvent}
  | {id: number; type: "done"; value: unknown}
  | {id: number; type: "failed"; error: string; cancelled: boolean};

/** Pixel buffers of an event, handed over without copying (the engine sends copies it no longer needs). */
export function eventBuffers(e: InferEvent): ArrayBuffer[] {
  return e.type === "panel" && e.result.image.data.buffer instanceof ArrayBuffer ? [e.result.image.data.buffer] : [];
}

// Only when loaded as a worker (a page importing this file for its types gets no handler).
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  const scope = self as unknown as Worker;
  const engine = new InferEngine();
  const cancelled = new Set<number>();
  const post = (r: InferReply, transfer: ArrayBuffer[] = []) => scope.postMessage(r, transfer);
  scope.addEventListener("message", async (event: MessageEvent<InferRequest>) => {
    const req = event.data;
    if (req.type === "cancel") {
      cancelled.add(req.id);
      return;
    }
    try {
      let value: unknown;
      if (req.type === "init") value = await engine.init(req.options);
      else if (req.type === "load") value = engine.load(req.kind, req.bytes);
      else {
        value = await engine.run(
          req.job,
          (e) => post({id: req.id, type: "event", event: e}, eventBuffers(e)),
          () => cancelled.has(req.id)
        );
      }
      post({id: req.id, type: "done", value});
    } catch (e) {
      post({id: req.id, type: "failed", error: e instanceof Error ? e.message : String(e), cancelled: e instanceof CancelledError});
    } finally {
      cancelled.delete(req.id);
    }
  });
}
