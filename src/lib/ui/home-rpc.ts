// A small request/reply protocol between a page and a module worker, for the home and benchmark pages' workers
// (home-worker.ts, bench-worker.ts). Each request has an id; the worker answers with any number of events and
// then one "done" or "failed"; a "cancel" for that id aborts the handler's AbortSignal. Kept apart from the models
// page's infer-runner/infer-worker pair (owned elsewhere), which is specialised to its one job.

export type RpcRequest = {id: number; type: "call"; method: string; payload: unknown} | {id: number; type: "cancel"};

export type RpcReply =
  | {id: number; type: "event"; event: unknown}
  | {id: number; type: "done"; value: unknown}
  | {id: number; type: "failed"; error: string; cancelled: boolean};

/** Thrown by a handler, or by WorkerClient.call, for a request that was cancelled. */
export class RpcCancelledError extends Error {
  constructor(message = "cancelled") {
    super(message);
    this.name = "RpcCancelledError";
  }
}

/** Pixel buffers inside a value, so events and results are transferred rather than copied. */
export function buffersOf(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (depth > 4 || value === null || typeof value !== "object") return out;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && !out.includes(value.buffer)) out.push(value.buffer);
    return out;
  }
  for (const v of Object.values(value)) buffersOf(v, out, depth + 1);
  return out;
}

export type Handler = (payload: any, emit: (event: unknown) => void, signal: AbortSignal) => Promise<unknown> | unknown;

/**
 * Worker side: answers calls with `handlers[method]`. Handlers run one after another in arrival order would block
 * cancels, so each runs as soon as it arrives; a handler must yield (await) between long steps for a cancel to
 * get through.
 */
export function serveWorker(handlers: Record<string, Handler>, isCancelled: (e: unknown) => boolean = (e) => e instanceof RpcCancelledError): void {
  const scope = self as unknown as Worker;
  const controllers = new Map<number, AbortController>();
  scope.addEventListener("message", async (event: MessageEvent<RpcRequest>) => {
    const req = event.data;
    if (req.type === "cancel") {
      controllers.get(req.id)?.abort();
      return;
    }
    const ctrl = new AbortController();
    controllers.set(req.id, ctrl);
    try {
      const h = handlers[req.method];
      if (!h) throw new Error(`unknown method ${req.method}`);
      const value = await h(
        req.payload,
        (e) => scope.postMessage({id: req.id, type: "event", event: e} satisfies RpcReply, buffersOf(e)),
        ctrl.signal
      );
      scope.postMessage({id: req.id, type: "done", value} satisfies RpcReply, buffersOf(value));
    } catch (e) {
      const cancelled = isCancelled(e) || ctrl.signal.aborted;
      scope.postMessage({id: req.id, type: "failed", error: e instanceof Error ? e.message : String(e), cancelled} satisfies RpcReply);
    } finally {
      controllers.delete(req.id);
    }
  });
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: (e: any) => void;
}

/** Page side: one module worker; `call` returns the value, events stream to `onEvent`; `cancel` asks to stop. */
export class WorkerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: string | null = null;

  constructor(url: string) {
    this.worker = new Worker(url, {type: "module"});
    this.worker.addEventListener("message", (event: MessageEvent<RpcReply>) => this.reply(event.data));
    this.worker.addEventListener("error", (event) => this.die(`the worker stopped: ${event.message || "it could not load"}`));
    this.worker.addEventListener("messageerror", () => this.die("the worker sent a message that could not be decoded"));
  }

  /** Starts a call; `id` can be passed to cancel(). */
  start<T>(method: string, payload: unknown, opts: {transfer?: ArrayBuffer[]; onEvent?: (e: any) => void} = {}): {id: number; result: Promise<T>} {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      if (this.dead !== null) {
        reject(new Error(this.dead));
        return;
      }
      this.pending.set(id, {resolve: resolve as (v: unknown) => void, reject, onEvent: opts.onEvent});
      this.worker.postMessage({id, type: "call", method, payload} satisfies RpcRequest, opts.transfer ?? []);
    });
    return {id, result};
  }

  call<T>(method: string, payload: unknown, opts: {transfer?: ArrayBuffer[]; onEvent?: (e: any) => void} = {}): Promise<T> {
    return this.start<T>(method, payload, opts).result;
  }

  cancel(id: number): void {
    if (this.dead === null) this.worker.postMessage({id, type: "cancel"} satisfies RpcRequest);
  }

  terminate(): void {
    this.die("the worker was stopped");
  }

  private reply(r: RpcReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.type === "event") {
      p.onEvent?.(r.event);
      return;
    }
    this.pending.delete(r.id);
    if (r.type === "done") p.resolve(r.value);
    else p.reject(r.cancelled ? new RpcCancelledError(r.error) : new Error(r.error));
  }

  private die(reason: string): void {
    if (this.dead === null) this.dead = reason;
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }
}
