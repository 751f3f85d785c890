// Main-thread side of the live distillation worker (distill-worker.ts), modelled on infer-runner.ts: start() chooses
// the backend and loads the models, photographs and validation crop in the worker; the other methods send one
// request each and resolve with its answer, while events (steps, validation, progress, state) arrive through
// `onEvent`. Where no module worker can start, a DistillHost runs on the main thread instead (the page then freezes
// during steps, and says so via `where`); a worker that dies after starting is not replaced: its error is reported
// and later requests fail with it.
import type {ImportResult, LiveSettings, PrepareResult} from "../live-distill.js";
import type {Schedule} from "../schedule.js";
import {DistillHost, type DistillEvent, type DistillReply, type DistillRequest, type LoadRequest, type LoadResult} from "./distill-host.js";
import type {InitOptions, InitResult} from "./infer-engine.js";
import {FallbackWorker, type RequestBody} from "./worker-rpc.js";

export interface DistillReady extends InitResult, LoadResult {
  where: "worker" | "main thread";
  /** Why training runs on the main thread, or null. */
  fallbackReason: string | null;
}

type Body = RequestBody<DistillRequest>;

export class DistillRunner {
  private worker: FallbackWorker<DistillRequest, DistillReply> | null = null;
  private local: DistillHost | null = null;
  private started = false;

  constructor(
    private readonly workerUrl: string,
    private readonly onEvent: (e: DistillEvent) => void
  ) {}

  /** Why training runs on the main thread, or null. */
  get fallbackReason(): string | null {
    return this.worker?.fallbackReason ?? null;
  }

  /**
   * Chooses the backend, then loads. `onInit` hears the backend as soon as it is chosen (the page shows its badge
   * then, before the models' first runs, which compile shaders for minutes on a software GPU).
   */
  async start(options: InitOptions, load: LoadRequest, onInit?: (init: InitResult, where: "worker" | "main thread") => void): Promise<DistillReady> {
    if (this.started) throw new Error("DistillRunner.start: already started");
    // The host's events are not tied to requests (they carry id 0): all go to the page's onEvent.
    const worker = new FallbackWorker<DistillRequest, DistillReply>("distillation", this.workerUrl, () => this.started, {
      onEvent: this.onEvent as (e: unknown) => void
    });
    this.worker = worker;
    if (worker.rpc) {
      try {
        const init = await worker.call<InitResult>({type: "init", options});
        onInit?.(init, "worker");
        // Copies: the page keeps its buffers.
        const copy: LoadRequest = {
          ...load,
          student: load.student.slice(0),
          teacher: load.teacher.slice(0),
          photos: load.photos.map((p) => ({name: p.name, bytes: p.bytes.slice(0)})),
          val: {...load.val, bytes: load.val.bytes.slice(0)}
        };
        const transfer = [copy.student, copy.teacher, copy.val.bytes, ...copy.photos.map((p) => p.bytes)];
        const loaded = await worker.call<LoadResult>({type: "load", load: copy}, transfer);
        this.started = true;
        return {...init, ...loaded, where: "worker", fallbackReason: null};
      } catch (e) {
        // A worker that failed to load falls back below; an error the worker reported (a bad model file, no
        // backend at all) would recur on the main thread, so it is the answer.
        if (this.fallbackReason === null) throw e;
      }
    }
    const local = new DistillHost(this.onEvent);
    this.local = local;
    const init = (await local.handle({id: 0, type: "init", options})) as InitResult;
    onInit?.(init, "main thread");
    const loaded = (await local.handle({id: 0, type: "load", load})) as LoadResult;
    this.started = true;
    return {...init, ...loaded, where: "main thread", fallbackReason: this.fallbackReason};
  }

  prepare(settings: LiveSettings): Promise<PrepareResult> {
    return this.request({type: "prepare", settings}) as Promise<PrepareResult>;
  }

  /** Resolves when the run stops (paused, reset or done). */
  run(): Promise<void> {
    return this.request({type: "start"}) as Promise<void>;
  }

  pause(): Promise<void> {
    return this.request({type: "pause"}) as Promise<void>;
  }

  step(): Promise<void> {
    return this.request({type: "step"}) as Promise<void>;
  }

  reset(): Promise<void> {
    return this.request({type: "reset"}) as Promise<void>;
  }

  live(weights: Record<string, number>, schedule: Schedule): Promise<void> {
    return this.request({type: "live", weights, schedule}) as Promise<void>;
  }

  /** The current weights as a DTKDCKPT file. */
  exportWeights(backend: string): Promise<ArrayBuffer> {
    return this.request({type: "export", backend}) as Promise<ArrayBuffer>;
  }

  /** Makes a student checkpoint the starting weights (a copy is sent; the caller keeps its buffer). */
  importWeights(name: string, bytes: ArrayBuffer): Promise<ImportResult> {
    const copy = bytes.slice(0);
    return this.request({type: "import", name, bytes: copy}, [copy]) as Promise<ImportResult>;
  }

  useShipped(): Promise<void> {
    return this.request({type: "shipped"}) as Promise<void>;
  }

  dispose(): void {
    this.worker?.terminate("the page was closed");
    this.local?.dispose();
    this.local = null;
  }

  private request(body: Body, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (!this.started) return Promise.reject(new Error("DistillRunner: start() has not finished"));
    const broken = this.worker?.broken ?? null;
    if (broken !== null) return Promise.reject(new Error(broken));
    if (this.local) return this.local.handle({id: 0, ...body} as DistillRequest);
    return this.worker!.call(body, transfer);
  }
}
