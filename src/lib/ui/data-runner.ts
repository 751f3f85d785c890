// Main-thread side of the data page's degradation worker (data-worker.ts). One run at a time; requests that
// arrive meanwhile wait, and only the newest of them runs next (the others, and a finished run that a newer
// request already made stale, end with SupersededError). The worker is kept, not restarted: a fresh one would
// load its modules and warm up its JIT again, which costs more than finishing the current run.
// Where no module worker can start, or the worker dies, runs fall back to the main thread and say why.
import {degrade, toUint8, type DegradeOptions, type DegradeResult, type ImageF32} from "../degrade.js";
import {fingerprint} from "./data-format.js";
import type {DegradeReply, DegradeRequest} from "./data-worker.js";

export interface RunOutcome {
  result: DegradeResult;
  degradeMs: number;
  fingerprint: string;
  /** Where it ran. */
  where: "worker" | "main thread";
}

/** A run that a newer request replaced; its caller should drop it. */
export class SupersededError extends Error {
  constructor() {
    super("superseded by a newer run");
    this.name = "SupersededError";
  }
}

interface Job {
  id: number;
  hr: ImageF32;
  options: DegradeOptions;
  resolve: (r: RunOutcome) => void;
  reject: (e: Error) => void;
  /** A copy of the patch kept while the worker holds the original, for the main thread to redo if it dies. */
  backup?: ImageF32;
}

function onMainThread(hr: ImageF32, options: DegradeOptions): RunOutcome {
  const t0 = performance.now();
  const result = degrade(hr, options);
  const degradeMs = performance.now() - t0;
  return {result, degradeMs, fingerprint: fingerprint(toUint8(result.lr)), where: "main thread"};
}

export class DegradeRunner {
  private worker: Worker | null = null;
  private nextId = 1;
  private inFlight: Job | null = null;
  private queued: Job | null = null;
  /** Why runs happen on the main thread, or null while the worker serves them. */
  fallbackReason: string | null = null;

  constructor(private readonly workerUrl: string) {}

  /** Degrades `hr`. The worker takes the pixel buffer over: do not use `hr` afterwards. */
  run(hr: ImageF32, options: DegradeOptions): Promise<RunOutcome> {
    return new Promise<RunOutcome>((resolve, reject) => {
      this.queued?.reject(new SupersededError());
      this.queued = {id: this.nextId++, hr, options, resolve, reject};
      this.pump();
    });
  }

  dispose(): void {
    this.queued?.reject(new SupersededError());
    this.inFlight?.reject(new SupersededError());
    this.queued = this.inFlight = null;
    this.worker?.terminate();
    this.worker = null;
  }

  private startWorker(): Worker | null {
    if (this.fallbackReason !== null) return null;
    if (this.worker) return this.worker;
    try {
      const w = new Worker(this.workerUrl, {type: "module"});
      w.addEventListener("message", (event: MessageEvent<DegradeReply>) => this.reply(event.data));
      w.addEventListener("error", (event) => this.fail(`the worker failed: ${event.message || "it could not load"}`));
      this.worker = w;
      return w;
    } catch (e) {
      this.fallbackReason = `no module worker: ${(e as Error).message}`;
      return null;
    }
  }

  private pump(): void {
    if (this.inFlight || !this.queued) return;
    const job = this.queued;
    this.queued = null;
    const w = this.startWorker();
    if (!w) {
      try {
        job.resolve(onMainThread(job.hr, job.options));
      } catch (e) {
        job.reject(e as Error);
      }
      this.pump();
      return;
    }
    job.backup = {...job.hr, data: job.hr.data.slice()};
    this.inFlight = job;
    const request: DegradeRequest = {id: job.id, hr: job.hr, options: job.options};
    w.postMessage(request, [job.hr.data.buffer as ArrayBuffer]);
  }

  private reply(r: DegradeReply): void {
    const job = this.inFlight;
    if (!job || job.id !== r.id) return;
    this.inFlight = null;
    if (this.queued) job.reject(new SupersededError());
    else if (r.ok) job.resolve({result: r.result, degradeMs: r.degradeMs, fingerprint: r.fingerprint, where: "worker"});
    else job.reject(new Error(r.error));
    this.pump();
  }

  /** A worker that cannot load (or dies) stays off; the run it held is redone on the main thread. */
  private fail(reason: string): void {
    this.fallbackReason = reason;
    this.worker?.terminate();
    this.worker = null;
    const job = this.inFlight;
    this.inFlight = null;
    if (job && this.queued) job.reject(new SupersededError());
    else if (job?.backup) {
      try {
        job.resolve(onMainThread(job.backup, job.options));
      } catch (e) {
        job.reject(e as Error);
      }
    }
    this.pump();
  }
}
