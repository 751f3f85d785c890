// Web worker of the live distillation page: owns one DistillHost (distill-host.ts), so TF.js, the models, the teacher
// targets and every training step live off the main thread and the page stays responsive while the student trains.
// The worker chooses its own backend (the page passes the URL-hash override and absolute wasm file URLs, which a
// worker cannot look up). Requests are answered as they come: a training run yields between steps, so pause,
// slider and export requests are handled while it goes on.
import {DistillHost, distillEventBuffers, type DistillReply, type DistillRequest} from "./distill-host.js";

// Only when loaded as a worker (a page importing this file for its types gets no handler).
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  const scope = self as unknown as Worker;
  const post = (r: DistillReply, transfer: ArrayBuffer[] = []) => scope.postMessage(r, transfer);
  const host = new DistillHost((event) => post({id: 0, type: "event", event}, distillEventBuffers(event)));
  scope.addEventListener("message", async (event: MessageEvent<DistillRequest>) => {
    const req = event.data;
    try {
      const value = await host.handle(req);
      post({id: req.id, type: "done", value}, value instanceof ArrayBuffer ? [value] : []);
    } catch (e) {
      post({id: req.id, type: "failed", error: e instanceof Error ? e.message : String(e)});
    }
  });
}
