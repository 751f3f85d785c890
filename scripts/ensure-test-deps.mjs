#!/usr/bin/env node
// Makes sure what `npm test` needs beyond node_modules is present: Debian's chromium, which the end-to-end
// test drives through playwright-core (`npx playwright install` downloads a browser and cannot work offline).
// Fast no-op when chromium is there. As root it installs the package with apt; otherwise it prints the one
// command to run and exits non-zero. Python is not needed: test fixtures are committed JSON.
import {spawnSync} from "node:child_process";
import {accessSync, constants} from "node:fs";
import {delimiter, join} from "node:path";

const INSTALL = "apt-get update && apt-get install -y chromium";

export function findChromium() {
  const candidates = ["/usr/bin/chromium"];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir) candidates.push(join(dir, "chromium"));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here; try the next place
    }
  }
  return null;
}

function main() {
  const found = findChromium();
  if (found) return 0;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot) {
    console.error("ensure-test-deps: chromium is missing (needed by test/e2e.test.ts). Install it with:");
    console.error(`  sudo sh -c '${INSTALL}'`);
    return 1;
  }
  console.log(`ensure-test-deps: chromium is missing; running: ${INSTALL}`);
  const result = spawnSync("sh", ["-c", INSTALL], {
    stdio: "inherit",
    env: {...process.env, DEBIAN_FRONTEND: "noninteractive"}
  });
  if (result.status !== 0 || !findChromium()) {
    console.error(`ensure-test-deps: installing chromium failed (exit ${result.status}); run it by hand: ${INSTALL}`);
    return 1;
  }
  console.log(`ensure-test-deps: chromium installed at ${findChromium()}`);
  return 0;
}

process.exitCode = main();
