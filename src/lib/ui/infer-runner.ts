// Main-thread side of the inference worker (infer-worker.ts) of the models, teacher and discrepancy pages. start() chooses the backend and loads
// both models in the worker; run() sends one crop at a time. A request that arrives during a run asks the worker
// to stop that run at its next stage boundary (its finished panels stay cached there), and only the newest
// waiting request runs next; the others end with SupersededError. Where no module worker can start, everything
// runs on the main thread instead (the page then freezes during runs, and says so via `where`); a worker that
// dies after starting is not replaced: its error is reported and later runs fail with it, since redoing the run
// on the main thread would likely repeat the failure with the page frozen.
import {InferEngine, type InferEvent, type InferJob, type InitOptions, type InitResult, type LoadResult, type RunSummary} from "./infer-engine.js";
import type {InferReply, InferRequest} from "./infer-worker.js";
import {runTeacherJob, type TeacherEvent, type TeacherJob, type TeacherSummary} from "./teacher-engine.js";
import {runDiscrepancyJob, type DiscrepancyEvent, type DiscrepancyJob, type DiscrepancySummary} from "./discrepancy-engine.js";
import type {ShippedKind} from "../models/shipped.js";
import {FallbackWorker, type RequestBody} from "./worker-rpc.js";

export interface StartOptions extends InitOptions {
  /** DTKDCKPT bytes of the shipped models to load (copied to the worker; the caller keeps its buffers). */
  models: Partial<Record<ShippedKind, ArrayBuffer>>;
}

export interface Ready extends InitResult {
  where: "worker" | "main thread";
  /** Why the models run on the main thread, or null. */
  fallbackReason: string | null;
  loads: LoadResult[];
}

/** A run that a newer request replaced; its caller should drop it. */
export class SupersededError extends Error {
  constructor() {
    super("superseded by a newer run");
    this.name = "SupersededError";
  }
}

/** One job of one of the pages the worker serves. */
type Task = {type: "run"; job: InferJob} | {type: "teacher"; job: TeacherJob} | {type: "discrepancy"; job: DiscrepancyJob};

/** A request that the worker answers. */
type Call = RequestBody<Exclude<InferRequest, {type: "cancel"}>>;

interface Job {
  task: Task;
  onEvent: (e: unknown) => void;
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  /** The worker's request id, once sent (0 before). */
  id: number;
  cancelled: boolean;
}

const KINDS: readonly ShippedKind[] = ["student", "teacher"];

export class InferRunner {
  private worker: FallbackWorker<InferRequest, InferReply> | null = null;
  private local: InferEngine | null = null;
  private started = false;
  private inFlight: Job | null = null;
  private queued: Job | null = null;
  private disposed = false;

  constructor(private readonly workerUrl: string) {}

  /** Why runs happen on the main thread, or null while the worker serves them. */
  get fallbackReason(): string | null {
    return this.worker?.fallbackReason ?? null;
  }

  async start(opts: StartOptions): Promise<Ready> {
    if (this.started) throw new Error("InferRunner.start: already started");
    const options: InitOptions = {override: opts.override, ...(opts.wasmPaths ? {wasmPaths: opts.wasmPaths} : {})};
    const worker = new FallbackWorker<InferRequest, InferReply>("inference", this.workerUrl, () => this.started, {
      cancelledError: () => new SupersededError()
    });
    this.worker = worker;
    if (worker.rpc) {
      try {
        const init = await worker.call<InitResult>({type: "init", options});
        const loads: LoadResult[] = [];
        for (const kind of KINDS) {
          if (!opts.models[kind]) continue;
          const bytes = opts.models[kind].slice(0);
          loads.push(await worker.call<LoadResult>({type: "load", kind, bytes}, [bytes]));
        }
        this.started = true;
        return {...init, where: "worker", fallbackReason: null, loads};
      } catch (e) {
        // A worker that failed to load falls back below; an error the worker reported (a bad model file, no
        // backend at all) would recur on the main thread, so it is the answer.
        if (this.fallbackReason === null) throw e;
      }
    }
    if (this.disposed) throw new SupersededError();
    const local = new InferEngine();
    this.local = local;
    const init = await local.init(options);
    const loads = KINDS.filter((kind) => opts.models[kind]).map((kind) => local.load(kind, opts.models[kind]!));
    this.started = true;
    return {...init, where: "main thread", fallbackReason: this.fallbackReason, loads};
  }

  /** Runs one crop; events (finished panels, progress) arrive through `onEvent` until the promise settles. */
  run(job: InferJob, onEvent: (e: InferEvent) => void): Promise<RunSummary> {
    return this.submit({type: "run", job}, onEvent as (e: unknown) => void) as Promise<RunSummary>;
  }

  /** The teacher page's job (teacher-engine.ts); same queueing and cancelling as run(). */
  runTeacher(job: TeacherJob, onEvent: (e: TeacherEvent) => void): Promise<TeacherSummary> {
    return this.submit({type: "teacher", job}, onEvent as (e: unknown) => void) as Promise<TeacherSummary>;
  }

  /** The discrepancy page's job (discrepancy-engine.ts); same queueing and cancelling as run(). */
  runDiscrepancy(job: DiscrepancyJob, onEvent: (e: DiscrepancyEvent) => void): Promise<DiscrepancySummary> {
    return this.submit({type: "discrepancy", job}, onEvent as (e: unknown) => void) as Promise<DiscrepancySummary>;
  }

  private submit(task: Task, onEvent: (e: unknown) => void): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      if (!this.started) {
        reject(new Error("InferRunner: start() has not finished"));
        return;
      }
      this.queued?.reject(new SupersededError());
      this.queued = {task, onEvent, resolve, reject, id: 0, cancelled: false};
      if (this.inFlight) this.cancel(this.inFlight);
      this.pump();
    });
  }

  dispose(): void {
    this.disposed = true;
    this.queued?.reject(new SupersededError());
    this.inFlight?.reject(new SupersededError());
    this.queued = this.inFlight = null;
    this.worker?.terminate("the page was closed", () => new SupersededError());
    this.local?.dispose();
    this.local = null;
  }

  private cancel(j: Job): void {
    j.cancelled = true;
    this.worker?.rpc?.post({id: j.id, type: "cancel"});
  }

  private pump(): void {
    if (this.inFlight || !this.queued) return;
    const j = this.queued;
    this.queued = null;
    this.inFlight = j;
    const onEvent = (e: unknown) => {
      if (!j.cancelled) j.onEvent(e);
    };
    const settle = (ok: boolean, value: unknown) => {
      if (this.inFlight === j) this.inFlight = null;
      if (ok) j.resolve(value);
      else j.reject(j.cancelled ? new SupersededError() : (value as Error));
      this.pump();
    };
    let result: Promise<unknown>;
    const broken = this.worker?.broken ?? null;
    const rpc = this.worker?.rpc ?? null;
    if (broken !== null) result = Promise.reject(new Error(broken));
    else if (rpc) {
      // The crop is copied: the page keeps its own for display.
      const t = j.task;
      const hr = {...t.job.hr, data: t.job.hr.data.slice()};
      const req: Call =
        t.type === "run"
          ? {type: t.type, job: {...t.job, hr}}
          : t.type === "teacher"
            ? {type: t.type, job: {...t.job, hr}}
            : {type: t.type, job: {...t.job, hr}};
      const sent = rpc.start(req, [hr.data.buffer as ArrayBuffer], onEvent);
      j.id = sent.id;
      result = sent.result;
    } else if (this.local) {
      const t = j.task;
      const stop = () => j.cancelled;
      result =
        t.type === "run"
          ? this.local.run(t.job, onEvent, stop)
          : t.type === "teacher"
            ? runTeacherJob(this.local, t.job, onEvent, stop)
            : runDiscrepancyJob(this.local, t.job, onEvent, stop);
    }
    else result = Promise.reject(new Error("InferRunner: no engine (disposed?)"));
    result.then(
      (v) => settle(true, v),
      (e) => settle(false, e)
    );
  }
}
