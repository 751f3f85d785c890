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

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: (e: unknown) => void;
}

/** One job of one of the pages the worker serves. */
type Task = {type: "run"; job: InferJob} | {type: "teacher"; job: TeacherJob} | {type: "discrepancy"; job: DiscrepancyJob};

interface Job {
  task: Task;
  onEvent: (e: unknown) => void;
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  id: number;
  cancelled: boolean;
}

const KINDS: readonly ShippedKind[] = ["student", "teacher"];

export class InferRunner {
  private worker: Worker | null = null;
  private local: InferEngine | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private started = false;
  private broken: string | null = null;
  private inFlight: Job | null = null;
  private queued: Job | null = null;
  private disposed = false;
  /** Why runs happen on the main thread, or null while the worker serves them. */
  fallbackReason: string | null = null;

  constructor(private readonly workerUrl: string) {}

  async start(opts: StartOptions): Promise<Ready> {
    if (this.started) throw new Error("InferRunner.start: already started");
    const options: InitOptions = {override: opts.override, ...(opts.wasmPaths ? {wasmPaths: opts.wasmPaths} : {})};
    try {
      const w = new Worker(this.workerUrl, {type: "module"});
      w.addEventListener("message", (event: MessageEvent<InferReply>) => this.reply(event.data));
      w.addEventListener("error", (event) => this.workerDied(event.message || "it could not load"));
      w.addEventListener("messageerror", () => this.workerDied("a message could not be decoded"));
      this.worker = w;
    } catch (e) {
      this.fallbackReason = `no module worker could start: ${(e as Error).message}`;
    }
    if (this.worker) {
      try {
        const init = (await this.call({id: this.nextId++, type: "init", options})) as InitResult;
        const loads: LoadResult[] = [];
        for (const kind of KINDS) {
          if (!opts.models[kind]) continue;
          const bytes = opts.models[kind].slice(0);
          loads.push((await this.call({id: this.nextId++, type: "load", kind, bytes}, [bytes])) as LoadResult);
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
      this.queued = {task, onEvent, resolve, reject, id: this.nextId++, cancelled: false};
      if (this.inFlight) this.cancel(this.inFlight);
      this.pump();
    });
  }

  dispose(): void {
    this.disposed = true;
    this.queued?.reject(new SupersededError());
    this.inFlight?.reject(new SupersededError());
    this.queued = this.inFlight = null;
    for (const p of this.pending.values()) p.reject(new SupersededError());
    this.pending.clear();
    this.worker?.terminate();
    this.worker = null;
    this.local?.dispose();
    this.local = null;
  }

  private cancel(j: Job): void {
    j.cancelled = true;
    if (this.worker) this.post({id: j.id, type: "cancel"});
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
    if (this.broken !== null) result = Promise.reject(new Error(this.broken));
    else if (this.worker) {
      // The crop is copied: the page keeps its own for display.
      const t = j.task;
      const hr = {...t.job.hr, data: t.job.hr.data.slice()};
      const req: Exclude<InferRequest, {type: "cancel"}> =
        t.type === "run"
          ? {id: j.id, type: t.type, job: {...t.job, hr}}
          : t.type === "teacher"
            ? {id: j.id, type: t.type, job: {...t.job, hr}}
            : {id: j.id, type: t.type, job: {...t.job, hr}};
      result = this.call(req, [hr.data.buffer as ArrayBuffer], onEvent);
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

  private post(req: InferRequest, transfer: ArrayBuffer[] = []): void {
    this.worker!.postMessage(req, transfer);
  }

  private call(req: Exclude<InferRequest, {type: "cancel"}>, transfer: ArrayBuffer[] = [], onEvent?: (e: unknown) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!this.worker) {
        reject(new Error(this.broken ?? "the inference worker is not running"));
        return;
      }
      this.pending.set(req.id, {resolve, reject, onEvent});
      this.post(req, transfer);
    });
  }

  private reply(r: InferReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.type === "event") {
      p.onEvent?.(r.event);
      return;
    }
    this.pending.delete(r.id);
    if (r.type === "done") p.resolve(r.value);
    else p.reject(r.cancelled ? new SupersededError() : new Error(r.error));
  }

  /** Before start() finished: fall back to the main thread. After: report, and refuse later runs. */
  private workerDied(reason: string): void {
    this.worker?.terminate();
    this.worker = null;
    const message = `the inference worker stopped: ${reason}`;
    if (this.started) this.broken = `${message}. Reload the page to start a new one.`;
    else this.fallbackReason = message;
    for (const p of this.pending.values()) p.reject(new Error(this.broken ?? message));
    this.pending.clear();
  }
}
