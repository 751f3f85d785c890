// A small request/reply protocol between a page and a module worker, for the home and benchmark pages' workers
// (home-worker.ts, bench-worker.ts). Each request has an id; the worker answers with any number of events and
// then one "done" or "failed"; a "cancel" for that id aborts the handler's AbortSignal. The page side's numbering,
// waiting requests and worker death are worker-rpc.ts, shared with the models and distillation pages' runners.
import {WorkerRpc} from "./worker-rpc.js";

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

/** Page side: one module worker; `call` returns the value, events stream to `onEvent`; `cancel` asks to stop. */
export class WorkerClient {
  private readonly rpc: WorkerRpc<RpcRequest, RpcReply>;

  constructor(url: string) {
    this.rpc = new WorkerRpc<RpcRequest, RpcReply>(url, {
      cancelledError: (message) => new RpcCancelledError(message),
      onDied: (reason, kind) => (kind === "error" ? `the worker stopped: ${reason}` : "the worker sent a message that could not be decoded")
    });
  }

  /** Starts a call; `id` can be passed to cancel(). */
  start<T>(method: string, payload: unknown, opts: {transfer?: ArrayBuffer[]; onEvent?: (e: any) => void} = {}): {id: number; result: Promise<T>} {
    return this.rpc.start<T>({type: "call", method, payload}, opts.transfer ?? [], opts.onEvent);
  }

  call<T>(method: string, payload: unknown, opts: {transfer?: ArrayBuffer[]; onEvent?: (e: any) => void} = {}): Promise<T> {
    return this.start<T>(method, payload, opts).result;
  }

  cancel(id: number): void {
    this.rpc.post({id, type: "cancel"});
  }

  terminate(): void {
    this.rpc.terminate("the worker was stopped");
  }
}
