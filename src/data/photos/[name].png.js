// Data loader: serves data/photos/NAME.png (outside Framework's source root) as src/data/photos/NAME.png.
// Framework runs it with --name=NAME for each literal FileAttachment a page references. Note that Framework
// caches loader output by its presence, not by the input: after replacing a photo, delete
// src/.observablehq/cache/data/photos/ (or the whole cache) so it is read again.
import {readFileSync} from "node:fs";
import {fileURLToPath} from "node:url";

const arg = process.argv.find((a) => a.startsWith("--name="));
const name = arg?.slice("--name=".length) ?? "";
if (!/^[a-z0-9_-]+$/i.test(name)) throw new Error(`photo loader: bad or missing --name (${JSON.stringify(name)})`);
process.stdout.write(readFileSync(fileURLToPath(new URL(`../../../data/photos/${name}.png`, import.meta.url))));
