// Data loader: the speed figures the lab recorded in Node, for the benchmark page to show beside the visitor's.
// Latency: data/results/eval.json (npm run eval), each model's latencyMs per backend with its plan and protocol.
// Training speed: the shipped student's model card (data/models/student-tiny.ckpt header), written by
// npm run export-models from the training run. Nothing is computed here; absent figures stay absent.
import {readFileSync} from "node:fs";
import {fileURLToPath} from "node:url";
import {readShippedMeta, SHIPPED_MODELS} from "../../lib/models/shipped.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const evalJson = JSON.parse(readFileSync(`${root}data/results/eval.json`, "utf8"));
const models = Object.fromEntries(
  Object.entries(evalJson.models as Record<string, {label: string; latencyMs?: unknown}>)
    .filter(([, m]) => m.latencyMs)
    .map(([id, m]) => [id, {label: m.label, latencyMs: m.latencyMs}])
);
const card = readShippedMeta(readFileSync(`${root}data/models/${SHIPPED_MODELS.student.file}`)).card;
process.stdout.write(
  JSON.stringify({
    source: "data/results/eval.json",
    commit: evalJson.commit,
    createdAt: evalJson.createdAt,
    machine: evalJson.machine,
    backend: evalJson.backend,
    loadAverage1mAtStart: evalJson.runtime?.loadAverage1mAtStart ?? null,
    latencyProtocol: evalJson.protocol.latency,
    models,
    studentTraining: {
      source: `data/models/${SHIPPED_MODELS.student.file} (model card)`,
      id: card.id,
      steps: card.training.steps,
      wallSeconds: card.training.wallSeconds,
      batch: card.training.batch,
      hrPatch: card.training.data.hrPatch,
      backend: card.training.backend,
      machine: card.training.machine,
      loss: card.training.loss
    }
  })
);
