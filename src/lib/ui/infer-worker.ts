// Web worker of the models, teacher and discrepancy pages: owns one InferEngine (infer-engine.ts), so TF.js, its backend, the models'
// weights and every inference run live off the main thread and the page stays responsive while the teacher
// samples. The worker chooses its own backend (WebGPU is available in dedicated workers; WebGL through
// OffscreenCanvas); the page passes the URL-hash override and the wasm file URLs, which a worker cannot look up.
import {CancelledError, InferEngine, type InferEvent, type InferJob, type InitOptions} from "./infer-engine.js";
import {runTeacherJob, type TeacherJob} from "./teacher-engine.js";
import {runDiscrepancyJob, type DiscrepancyJob} from "./discrepancy-engine.js";
import type {ShippedKind} from "../models/shipped.js";

export type InferRequest =
  | {id: number; type: "init"; options: InitOptions}
  | {id: number; type: "load"; kind: ShippedKind; bytes: ArrayBuffer}
  | {id: number; type: "run"; job: InferJob}
  /** The teacher page's job (teacher-engine.ts). */
  | {id: number; type: "teacher"; job: TeacherJob}
  /** The discrepancy page's job (discrepancy-engine.ts). */
  | {id: number; type: "discrepancy"; job: DiscrepancyJob}
  /** Stop run `id` at its next stage boundary. */
  | {id: number; type: "cancel"};

export type InferReply =
  /** An InferEvent for "run", a TeacherEvent or DiscrepancyEvent for the other jobs. */
  | {id: number; type: "event"; event: unknown}
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
      else if (req.type === "run") {
        value = await engine.run(
          req.job,
          (e) => post({id: req.id, type: "event", event: e}, eventBuffers(e)),
          () => cancelled.has(req.id)
        );
      } else {
        // These jobs' events are small (crops of at most 384 × 384): copied, not transferred.
        const emit = (e: unknown) => post({id: req.id, type: "event", event: e});
        const stop = () => cancelled.has(req.id);
        value = req.type === "teacher" ? await runTeacherJob(engine, req.job, emit, stop) : await runDiscrepancyJob(engine, req.job, emit, stop);
      }
      post({id: req.id, type: "done", value});
    } catch (e) {
      post({id: req.id, type: "failed", error: e instanceof Error ? e.message : String(e), cancelled: e instanceof CancelledError});
    } finally {
      cancelled.delete(req.id);
    }
  });
}
