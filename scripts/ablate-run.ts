/**
 * One run of the ablation grid, as its own process (started by scripts/ablate.ts; runnable by hand to redo a run):
 *
 *   node --import tsx scripts/ablate-run.ts SPEC.json
 *
 * SPEC.json: {id, backend, resultPath, options: DistillRunOptions}. Runs the distillation and writes the
 * DistillRunResult to resultPath atomically (a half-written result can never be mistaken for a finished run).
 * Exit status 0 only when the result was written.
 */
import {readFileSync} from "node:fs";
import {chooseBackend, describeBackend} from "../src/lib/backend.js";
import {writeFileAtomic} from "../src/lib/train/checkpoint-file.js";
import {runDistillation, type DistillRunOptions} from "../src/lib/train/distill-node.js";

export interface RunSpec {
  id: string;
  backend: string;
  resultPath: string;
  options: Omit<DistillRunOptions, "backend">;
}

async function main(): Promise<void> {
  const specPath = process.argv[2];
  if (!specPath) throw new Error("usage: node --import tsx scripts/ablate-run.ts SPEC.json");
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as RunSpec;
  // The backend must be ready before any tf.variable exists (NOTES 7).
  const report = await chooseBackend({override: spec.backend});
  console.error(`${spec.id}: backend ${describeBackend(report)}`);
  const res = await runDistillation({...spec.options, backend: report.chosen});
  writeFileAtomic(spec.resultPath, new TextEncoder().encode(JSON.stringify(res, null, 1)));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
