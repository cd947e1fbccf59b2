/**
 * `npm run bench`: every benchmark in bench/ (each `bench/<name>.ts`, also runnable alone as
 * `npm run bench:<name>`), one after the other so they never share the machine. Each prints
 * its table and writes bench/results/<name>-<time>.json; this prints which passed.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const only = process.argv.slice(2);
const benches = readdirSync(__dirname)
  .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts") && file !== "run.ts")
  .map((file) => file.slice(0, -3))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

const outcomes: [string, string][] = [];
for (const name of benches) {
  process.stderr.write(`\n=== bench:${name} ===\n`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ["--require", require.resolve("tsx/cjs"), join(__dirname, `${name}.ts`)], { stdio: "inherit" });
  const seconds = Math.round((Date.now() - started) / 1000);
  outcomes.push([name, `${run.status === 0 ? "ok" : `exit ${run.status ?? run.signal}`} (${seconds} s)`]);
}
console.log("\nbenchmarks:");
for (const [name, outcome] of outcomes) console.log(`  ${name.padEnd(16)} ${outcome}`);
if (outcomes.some(([, outcome]) => !outcome.startsWith("ok"))) process.exitCode = 1;
