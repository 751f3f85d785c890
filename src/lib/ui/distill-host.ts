// The live distillation page's worker side, DOM-free: the messages between the page (distill-runner.ts) and the
// worker (distill-worker.ts), and DistillHost, which answers them with one LiveDistillEngine (src/lib/live-distill.ts).
// The runner uses a DistillHost directly on the main thread where no module worker can start, so both paths share
// this code. Events (steps, validation, progress, state) are not tied to a request: a run's steps keep arriving
// while pause, slider and step requests come and go.
import type {StepResult} from "../distill.js";
import {cropPatch} from "../patches.js";
import {decodeImage, toRgb} from "../image-io.js";
import {
  LiveDistillEngine,
  photoFromBytes,
  type EvalResult,
  type ImportResult,
  type LiveSettings,
  type LiveState,
  type PrepareResult,
  type ValReference
} from "../live-distill.js";
import type {Schedule} from "../schedule.js";
import {InferEngine, type InitOptions, type InitResult} from "./infer-engine.js";

export interface NamedBytes {
  name: string;
  bytes: ArrayBuffer;
}

export interface LoadRequest {
  student: ArrayBuffer;
  teacher: ArrayBuffer;
  /** Photographs the training patches are cut from (PNG or JPEG bytes). */
  photos: NamedBytes[];
  /** The validation crop: a square of `size` px at (x, y) of this photograph. */
  val: NamedBytes & {x: number; y: number; size: number};
  settings: LiveSettings;
}

export interface LoadResult {
  studentParams: number;
  teacherParams: number;
  photos: {name: string; width: number; height: number}[];
  reference: ValReference;
  ms: number;
}

export type DistillRequest =
  | {id: number; type: "init"; options: InitOptions}
  | {id: number; type: "load"; load: LoadRequest}
  | {id: number; type: "prepare"; settings: LiveSettings}
  | {id: number; type: "start"}
  | {id: number; type: "pause"}
  | {id: number; type: "step"}
  | {id: number; type: "reset"}
  | {id: number; type: "live"; weights: Record<string, number>; schedule: Schedule}
  | {id: number; type: "export"; backend: string}
  | {id: number; type: "import"; name: string; bytes: ArrayBuffer}
  | {id: number; type: "shipped"};

/**
 * `gen` counts the trainer's restarts (prepare, reset, import): a step or validation sent by a run that a reset
 * overtook carries the old number, and the page drops it.
 */
export type DistillEvent =
  | {type: "progress"; text: string; done: number; total: number}
  | {type: "steps"; gen: number; results: StepResult[]}
  | {type: "eval"; gen: number; result: EvalResult}
  | {type: "reference"; reference: ValReference}
  | {type: "state"; gen: number; state: LiveState; step: number; source: string};

export type DistillReply =
  | {id: number; type: "done"; value: unknown}
  | {id: number; type: "failed"; error: string}
  | {id: 0; type: "event"; event: DistillEvent};

/** Pixel buffers of an event, handed over without copying (the host sends images it no longer needs). */
export function distillEventBuffers(e: DistillEvent): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const add = (d: Float32Array) => {
    if (d.buffer instanceof ArrayBuffer && !out.includes(d.buffer)) out.push(d.buffer);
  };
  if (e.type === "eval") add(e.result.image.data);
  if (e.type === "reference") for (const v of [e.reference.teacher, e.reference.start]) add(v.image.data);
  return out;
}

/** Lets queued messages in between two training steps (a macrotask, not a microtask). */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export class DistillHost {
  readonly engine = new LiveDistillEngine();
  private valSource: {gt: ReturnType<typeof cropPatch>} | null = null;
  private gen = 0;

  constructor(private readonly emit: (e: DistillEvent) => void) {}

  async handle(req: DistillRequest): Promise<unknown> {
    const e = this.engine;
    switch (req.type) {
      case "init":
        return (await new InferEngine().init(req.options)) satisfies InitResult;
      case "load":
        return this.load(req.load);
      case "prepare": {
        this.gen++;
        const valChanged = req.settings.degradation !== e.settings.degradation || req.settings.seed !== e.settings.seed;
        const r: PrepareResult = await e.prepare(req.settings, (p) =>
          this.emit({
            type: "progress",
            text: p.phase === "patches" ? `training patches: ${p.done} of ${p.total}` : `teacher targets: call ${p.done} of ${p.total}`,
            done: p.done,
            total: p.total
          })
        );
        if (valChanged && this.valSource) this.emit({type: "reference", reference: await e.setValidation(this.valSource.gt)});
        await this.report();
        return r;
      }
      case "start":
        return this.run();
      case "pause":
        await e.pause();
        return null;
      case "step": {
        const r = await e.step();
        this.emit({type: "steps", gen: this.gen, results: [r]});
        await this.report();
        return null;
      }
      case "reset":
        this.gen++;
        await e.reset();
        await this.report();
        return null;
      case "live":
        e.setLive(req.weights, req.schedule);
        return null;
      case "export": {
        const bytes = await e.exportWeights({backend: req.backend});
        return bytes.buffer;
      }
      case "import": {
        this.gen++;
        const r: ImportResult = await e.importWeights(req.bytes, req.name);
        await this.afterNewStart();
        return r;
      }
      case "shipped":
        this.gen++;
        await e.useShipped();
        await this.afterNewStart();
        return null;
    }
  }

  private async load(l: LoadRequest): Promise<LoadResult> {
    const t0 = Date.now();
    const e = this.engine;
    const say = (text: string, done: number) => this.emit({type: "progress", text, done, total: 4});
    say("loading the models", 0);
    const models = e.loadModels(l.student, l.teacher);
    say("decoding the photographs", 1);
    const photos = l.photos.map((p) => photoFromBytes(p.name, p.bytes));
    e.setPhotos(photos);
    const r = decodeImage(l.val.bytes, l.val.name);
    const gt = cropPatch({width: r.width, height: r.height, channels: 3, data: toRgb(r)}, l.val.x, l.val.y, l.val.size);
    this.valSource = {gt};
    e.settings = {...l.settings, weights: {...l.settings.weights}};
    say("the teacher and the student on the validation crop (the first run of each compiles shaders or warms up)", 2);
    const reference = await e.setValidation(gt);
    return {...models, photos: photos.map((p) => ({name: p.name, width: p.width, height: p.height})), reference, ms: Date.now() - t0};
  }

  /** New starting weights: the reference panels (their "start" changed) and, when prepared, the validation. */
  private async afterNewStart(): Promise<void> {
    if (this.valSource) this.emit({type: "reference", reference: await this.engine.reference()});
    await this.report();
  }

  /** The state, and the validation of the current weights when a trainer exists. */
  private async report(): Promise<void> {
    const e = this.engine;
    this.emit({type: "state", gen: this.gen, state: e.state, step: e.stepIndex, source: e.startSource});
    if (e.prepared) this.emit({type: "eval", gen: this.gen, result: await e.evaluate()});
  }

  /** Trains until paused or done; steps are sent in batches at every validation (every evalEvery steps). */
  private async run(): Promise<null> {
    const e = this.engine;
    const gen = this.gen;
    let batch: StepResult[] = [];
    const flush = async () => {
      if (gen !== this.gen) return;
      if (batch.length) this.emit({type: "steps", gen, results: batch});
      batch = [];
      const result = await e.evaluate();
      if (gen === this.gen) this.emit({type: "eval", gen, result});
    };
    const running = e.start(async (r) => {
      batch.push(r);
      if (e.stepIndex % e.settings.evalEvery === 0) await flush();
    }, macrotask);
    this.emit({type: "state", gen, state: e.state, step: e.stepIndex, source: e.startSource});
    await running;
    if (gen !== this.gen) return null;
    if (batch.length) await flush();
    this.emit({type: "state", gen, state: e.state, step: e.stepIndex, source: e.startSource});
    return null;
  }

  dispose(): void {
    this.engine.dispose();
  }
}
