// Web worker of the benchmark page: measures one backend (bench-engine.ts) and is then thrown away, so each
// backend starts in a fresh TF.js with nothing left over from another. Protocol: home-rpc.ts (method "bench").
import {BenchCancelledError, runBench} from "./bench-engine.js";
import {serveWorker} from "./home-rpc.js";

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  serveWorker({bench: (req, emit, signal) => runBench(req, emit, signal)}, (e) => e instanceof BenchCancelledError);
}
