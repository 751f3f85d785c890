// Page side of a module worker that answers numbered requests, shared by infer-runner.ts, distill-runner.ts and
// home-rpc.ts (their workers speak different requests but the same replies: any number of "event"s for a request,
// then one "done" or "failed"). It numbers the requests, keeps the waiting ones, forwards their events, and turns a
// worker that fails on its own (it could not load, or a message could not be decoded) into rejected requests.
// WorkerRpc leaves what happens then to its owner, which hears the death through `onDied` and chooses the message;
// FallbackWorker is that owner for the runners that fall back to the main thread. DOM-light: only Worker and
// MessageEvent.

/** What the workers send back for request `id`. */
export type WorkerReply =
  | {id: number; type: "event"; event: unknown}
  | {id: number; type: "done"; value: unknown}
  | {id: number; type: "failed"; error: string; cancelled?: boolean};

/** A request without its id (WorkerRpc numbers it); distributes over a union of requests. */
export type RequestBody<Req> = Req extends {id: number} ? Omit<Req, "id"> : never;

/** How the worker failed: an "error" event (with its message, or "it could not load"), or a "messageerror". */
export type WorkerDeathKind = "error" | "messageerror";

export interface WorkerRpcOptions {
  /** The error of a request the worker answers as cancelled (its "failed" reply has `cancelled: true`). */
  cancelledError?: (message: string) => Error;
  /**
   * The worker failed on its own; it is terminated already. Returns the message that the waiting requests, and
   * every later one, fail with.
   */
  onDied: (reason: string, kind: WorkerDeathKind) => string;
  /** Hears every event, whatever its id (for workers that broadcast events instead of tying them to requests). */
  onEvent?: (event: unknown) => void;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: (e: unknown) => void;
}

/** One module worker; `Req` is its request union (each with an id), `Reply` its replies. */
export class WorkerRpc<Req extends {id: number}, Reply extends WorkerReply = WorkerReply> {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: string | null = null;

  /** Throws where no module worker can start, so that the caller can fall back to the main thread. */
  constructor(
    url: string,
    private readonly options: WorkerRpcOptions
  ) {
    this.worker = new Worker(url, {type: "module"});
    this.worker.addEventListener("message", (event: MessageEvent<Reply>) => this.reply(event.data));
    this.worker.addEventListener("error", (event) => this.died(event.message || "it could not load", "error"));
    this.worker.addEventListener("messageerror", () => this.died("a message could not be decoded", "messageerror"));
  }

  /** Why the worker no longer answers (it failed, or was terminated), or null while it does. */
  get deadReason(): string | null {
    return this.dead;
  }

  /** Sends a request; `id` names it for a later cancel request. A dead worker's requests fail at once. */
  start<T = unknown>(body: RequestBody<Req>, transfer: Transferable[] = [], onEvent?: (e: any) => void): {id: number; result: Promise<T>} {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      if (this.dead !== null) {
        reject(new Error(this.dead));
        return;
      }
      this.pending.set(id, {resolve: resolve as (v: unknown) => void, reject, onEvent});
      this.worker.postMessage({id, ...body} as unknown as Req, transfer);
    });
    return {id, result};
  }

  call<T = unknown>(body: RequestBody<Req>, transfer: Transferable[] = [], onEvent?: (e: any) => void): Promise<T> {
    return this.start<T>(body, transfer, onEvent).result;
  }

  /** Sends a message that expects no answer (a cancel); dropped once the worker is dead. */
  post(req: Req, transfer: Transferable[] = []): void {
    if (this.dead === null) this.worker.postMessage(req, transfer);
  }

  /** Stops the worker; the waiting requests fail with `error()` (by default an Error saying `reason`). */
  terminate(reason: string, error: () => Error = () => new Error(reason)): void {
    if (this.dead === null) this.dead = reason;
    this.worker.terminate();
    this.rejectAll(error);
  }

  private reply(data: Reply): void {
    const r = data as WorkerReply;
    if (r.type === "event" && this.options.onEvent) {
      this.options.onEvent(r.event);
      return;
    }
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.type === "event") {
      p.onEvent?.(r.event);
      return;
    }
    this.pending.delete(r.id);
    if (r.type === "done") p.resolve(r.value);
    else p.reject(r.cancelled && this.options.cancelledError ? this.options.cancelledError(r.error) : new Error(r.error));
  }

  private died(reason: string, kind: WorkerDeathKind): void {
    if (this.dead !== null) return;
    this.worker.terminate();
    const message = this.options.onDied(reason, kind);
    this.dead = message;
    this.rejectAll(() => new Error(message));
  }

  private rejectAll(error: () => Error): void {
    for (const p of this.pending.values()) p.reject(error());
    this.pending.clear();
  }
}

/**
 * The worker of a runner that falls back to the main thread (infer-runner.ts, distill-runner.ts). A worker that
 * cannot start, or fails before the runner has started, gives the runner its `fallbackReason`; one that fails after
 * is not replaced (redoing the work on the main thread would likely repeat the failure with the page frozen): it is
 * `broken`, and later requests fail with that message.
 */
export class FallbackWorker<Req extends {id: number}, Reply extends WorkerReply = WorkerReply> {
  /** The worker, or null where none serves (it could not start, it died, or it was terminated). */
  rpc: WorkerRpc<Req, Reply> | null = null;
  /** Why the runner works on the main thread, or null. */
  fallbackReason: string | null = null;
  /** Why the worker stopped after the runner started, or null. */
  broken: string | null = null;

  /** `name` names the worker in messages ("the inference worker stopped: …"); `started` asks the runner. */
  constructor(
    private readonly name: string,
    url: string,
    private readonly started: () => boolean,
    options: Omit<WorkerRpcOptions, "onDied"> = {}
  ) {
    try {
      this.rpc = new WorkerRpc<Req, Reply>(url, {...options, onDied: (reason) => this.died(`the ${name} worker stopped: ${reason}`)});
    } catch (e) {
      this.fallbackReason = `no module worker could start: ${(e as Error).message}`;
    }
  }

  call<T = unknown>(body: RequestBody<Req>, transfer: Transferable[] = []): Promise<T> {
    if (!this.rpc) return Promise.reject(new Error(this.broken ?? `the ${this.name} worker is not running`));
    return this.rpc.call<T>(body, transfer);
  }

  terminate(reason: string, error?: () => Error): void {
    this.rpc?.terminate(reason, error);
    this.rpc = null;
  }

  private died(message: string): string {
    this.rpc = null;
    if (this.started()) this.broken = `${message}. Reload the page to start a new one.`;
    else this.fallbackReason = message;
    return this.broken ?? message;
  }
}
