// Debian package download and extraction for the data scripts: `apt-get download` (no root needed, nothing is
// installed) and `dpkg-deb -x` into a directory of our own.
import {spawnSync} from "node:child_process";
import {mkdirSync, readdirSync} from "node:fs";
import {mkdir} from "node:fs/promises";
import {join} from "node:path";

/** A problem the user must fix on their machine (missing tool, no package lists, no network). */
export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SetupError";
  }
}

function run(cmd: string, args: string[], cwd?: string): {status: number | null; stdout: string; stderr: string; missing: boolean} {
  const r = spawnSync(cmd, args, {cwd, encoding: "utf8", maxBuffer: 64 << 20});
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
  return {status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", missing};
}

/** Throws SetupError unless apt-get and dpkg-deb can be run. */
export function checkTools(): void {
  for (const [tool, args] of [
    ["apt-get", ["--version"]],
    ["dpkg-deb", ["--version"]],
  ] as const) {
    const r = run(tool, [...args]);
    if (r.missing)
      throw new SetupError(
        `\`${tool}\` was not found. \`npm run data\` fetches the photographs from Debian packages and needs a Debian or Ubuntu system with apt. ` +
          "Nothing was written; the lab still runs on the committed test set (data/test/).",
      );
  }
}

/** Installed-candidate version of a package according to the local package lists, or null. */
export function candidateVersion(pkg: string): string | null {
  const r = run("apt-cache", ["policy", pkg]);
  const m = /Candidate:\s*(\S+)/.exec(r.stdout);
  return m && m[1] !== "(none)" ? m[1] : null;
}

/**
 * Downloads `pkg` (at `version` when that is still available, otherwise the candidate) into `dir`. Returns the
 * .deb path and the version obtained. Runs `apt-get update` once if the package is unknown and we are root.
 */
export async function downloadPackage(pkg: string, version: string | null, dir: string, log: (s: string) => void): Promise<{deb: string; version: string}> {
  await mkdir(dir, {recursive: true});
  const attempt = (spec: string) => run("apt-get", ["download", "-q", spec], dir);
  let r = version ? attempt(`${pkg}=${version}`) : attempt(pkg);
  if (r.status !== 0 && version) {
    log(`  ${pkg}=${version} is not available; trying the current candidate (files are still checked against the manifest)`);
    r = attempt(pkg);
  }
  if (r.status !== 0 && /Unable to locate package|has no installation candidate/i.test(r.stderr)) {
    if (typeof process.getuid === "function" && process.getuid() === 0) {
      log("  package lists look empty or stale: running `apt-get update` once");
      const u = run("apt-get", ["update", "-q"]);
      if (u.status !== 0) throw new SetupError(`\`apt-get update\` failed:\n${u.stderr.trim()}`);
      r = version ? attempt(`${pkg}=${version}`) : attempt(pkg);
      if (r.status !== 0 && version) r = attempt(pkg);
    } else {
      throw new SetupError(`apt does not know ${pkg}. Run \`sudo apt-get update\` and try again.\n${r.stderr.trim()}`);
    }
  }
  if (r.status !== 0) throw new SetupError(`\`apt-get download ${pkg}\` failed (is the network or a Debian mirror reachable?):\n${r.stderr.trim()}`);
  const debs = readdirSync(dir).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
  if (debs.length !== 1) throw new SetupError(`expected one ${pkg}_*.deb in ${dir}, found ${debs.length}`);
  const got = decodeURIComponent(debs[0].slice(pkg.length + 1).split("_")[0]);
  return {deb: join(dir, debs[0]), version: got};
}

/** `dpkg-deb -x deb dir`. */
export function extractPackage(deb: string, dir: string): void {
  mkdirSync(dir, {recursive: true});
  const r = run("dpkg-deb", ["-x", deb, dir]);
  if (r.status !== 0) throw new SetupError(`\`dpkg-deb -x ${deb}\` failed:\n${r.stderr.trim()}`);
}

/** Estimated IJG quality of a JPEG from its first (luminance) quantisation table; null if none is found. */
export function estimateJpegQuality(bytes: Uint8Array): number | null {
  const STD = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22,
    37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
  ];
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    const len = (bytes[i + 2] << 8) | bytes[i + 3];
    if (marker === 0xdb) {
      const pq = bytes[i + 4] >> 4;
      let sum = 0;
      for (let k = 0; k < 64; k++) sum += pq ? (bytes[i + 5 + 2 * k] << 8) | bytes[i + 6 + 2 * k] : bytes[i + 5 + k];
      // The order of the table (zig-zag) does not matter for the sum.
      const s = (sum / STD.reduce((a, b) => a + b, 0)) * 100;
      return Math.round(s <= 100 ? (200 - s) / 2 : 5000 / s);
    }
    if (marker === 0xda) return null;
    i += 2 + len;
  }
  return null;
}
