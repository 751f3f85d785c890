// Benchmark: (HR, LR) training pairs produced per second in Node, 64x64 HR patches -> 16x16 LR, per
// degradation preset. Uses only the committed test set (data/test/), so it runs without `npm run data`.
//
// Run: npm run bench:pairs   (tsx bench/pairs.bench.ts [--seconds S] [--size N])
//
// Method: 64 HR patches are drawn once by the seeded sampler (flat patches rejected) and kept in memory; each
// timed pair degrades one of them with its own seed and converts HR and LR to uint8 (what the pair cache
// stores), i.e. the cost a training loop or a cache writer pays per pair after the photographs are loaded.
// Warm-up for 1 s, then S seconds (default 5) per preset on one thread. Reported: pairs per wall-clock second,
// and pairs per CPU second (process.cpuUsage), which is steadier when other processes share the machine.
// The load average at the start is printed so a reader can judge the wall-clock figure.
import os from "node:os";
import {loadSplit} from "../src/lib/dataset.js";
import {degrade, PRESETS, toUint8, type Preset} from "../src/lib/degrade.js";
import {takePatches} from "../src/lib/patches.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SECONDS = arg("--seconds", 5);
const SIZE = arg("--size", 64);

async function main(): Promise<void> {
  const photos = await loadSplit("test", {ids: ["skimage-astronaut", "skimage-coffee", "skimage-chelsea", "sklearn-china", "mpl-grace_hopper", "skimage-gravel"]});
  const patches = takePatches(
    photos.map((p) => p.image),
    64,
    {size: SIZE, seed: 2024},
  ).map((p) => p.image);

  const rows: string[] = [];
  for (const preset of PRESETS as readonly Preset[]) {
    let seed = 0;
    const one = () => {
      const r = degrade(patches[seed % patches.length], {preset, seed});
      seed++;
      toUint8(r.hr);
      return toUint8(r.lr);
    };
    const warm = performance.now();
    while (performance.now() - warm < 1000) one();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      one();
      n++;
    }
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    rows.push(`| ${preset} | ${(n / wall).toFixed(0)} | ${(n / cpu).toFixed(0)} | ${((cpu / n) * 1000).toFixed(2)} | ${n} |`);
    console.error(`${preset}: ${n} pairs`);
  }
  const cpus = os.cpus();
  console.log(`\nPairs per second, ${SIZE}x${SIZE} HR -> ${SIZE / 4}x${SIZE / 4} LR, one thread, Node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? "?"}`);
  console.log(`load average at start: ${os.loadavg().map((v) => v.toFixed(1)).join(", ")}\n`);
  console.log("| preset | pairs/s (wall) | pairs per CPU-second | CPU ms per pair | pairs timed |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
