// Data loader: serves a shipped model, data/models/NAME.ckpt (outside Framework's source root), byte for byte as
// src/data/models/NAME.ckpt, so a page reaches its weights with FileAttachment on the site's own origin.
// Framework runs it with --name=NAME for each literal FileAttachment a page references (the models page names
// both SHIPPED_MODELS files). Only the names in SHIPPED_MODELS and SHIPPED_DISTILLED are served: a typo in a page
// fails the build instead of shipping an unrelated file.
//
// Framework caches the output by its presence (NOTES section 3); scripts/bundle-vendor.mjs (run by every build)
// drops a cached output older than anything in data/models/ or src/data/models/, so replaced weights reach
// the next build.
import {readFileSync} from "node:fs";
import {fileURLToPath} from "node:url";
import {readShippedMeta, SHIPPED_DISTILLED, SHIPPED_MODELS} from "../../lib/models/shipped.js";

const arg = process.argv.find((a) => a.startsWith("--name="));
const name = arg?.slice("--name=".length) ?? "";
// File name (without .ckpt) -> the card id its header must hold: the id itself, except for the distilled
// student, a byte copy of an ablation run's artefact that keeps the run's card id (see SHIPPED_DISTILLED).
const cardIds = new Map<string, string>([
  ...Object.values(SHIPPED_MODELS).map((m) => [m.file.replace(/\.ckpt$/, ""), m.id] as [string, string]),
  [SHIPPED_DISTILLED.file.replace(/\.ckpt$/, ""), SHIPPED_DISTILLED.cardId]
]);
const known = [...cardIds.keys()];
if (!known.includes(name)) throw new Error(`models loader: --name=${JSON.stringify(name)} is not a shipped model (${known.join(", ")})`);
const bytes = readFileSync(fileURLToPath(new URL(`../../../data/models/${name}.ckpt`, import.meta.url)));
// A truncated or foreign file fails here, at build time, rather than in every visitor's browser.
const meta = readShippedMeta(bytes);
const cardId = cardIds.get(name);
if (meta.card?.id !== cardId) throw new Error(`models loader: data/models/${name}.ckpt holds model card "${meta.card?.id}", expected "${cardId}"`);
process.stdout.write(bytes);
