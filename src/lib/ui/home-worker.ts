// Web worker of the home page: one HomeEngine (home-engine.ts) with the shipped models (the distilled student
// included), so TF.js and every tiled run stay off the main thread. Protocol: home-rpc.ts (methods init, load,
// run; a cancel aborts a run between tiles).
import {TilingAbortedError} from "../tiling.js";
import {HomeEngine, type HomeJob, type HomeModel} from "./home-engine.js";
import {serveWorker} from "./home-rpc.js";
import type {InitOptions} from "./infer-engine.js";

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  const engine = new HomeEngine();
  serveWorker(
    {
      init: (options: InitOptions) => engine.init(options),
      load: (p: {kind: HomeModel; bytes: ArrayBuffer}) => engine.load(p.kind, p.bytes),
      run: (job: HomeJob, emit, signal) => engine.run(job, emit, signal)
    },
    (e) => e instanceof TilingAbortedError
  );
}
