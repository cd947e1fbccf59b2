#!/usr/bin/env node
// `npm run dev`: the stack of `npm start` (same processes, databases, secrets, ports and
// URLs: stack-processes.mjs) run from the TypeScript sources with tsx, restarting only what a
// saved change concerns while the rest keeps running:
// - a source file: the processes that import it, directly or not (dev-sources.mjs), so a
//   change in packages/service-kit restarts every process; the gateway last;
// - a subgraph's schema.graphql: its resolver types are generated again, the supergraph
//   recomposed, the subgraph restarted, then the gateway;
// - the supergraph file itself: the gateway.
// Each restart prints `dev: restarted <name> (pid N) in X ms`, from the save to ready. A
// process that exits on its own (a syntax error, a throw at start-up) is left stopped, its
// error on screen, until the next save of a file it runs; `rs` + Enter restarts everything.
// No build is needed: what the build generates is generated here when missing or stale (and
// the explorer's bundle, which the gateway serves, built if its sources changed), and
// tsx compiles without type checking (run `npx tsc -b --watch` beside it for the types).
// Env as for npm start, plus SUPERGRAPH_PATH: where the supergraph is composed to and read from.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { tsImport } from "tsx/esm/api";
import { prepareDatabases } from "../prisma/migrate-all.mjs";
import { buildExplorer, composeSupergraph, generateResolverTypes, resolverTypeFiles, staleGenerated } from "./dev-generate.mjs";
import { createSourceGraph } from "./dev-sources.mjs";
import { createWatcher } from "./dev-watch.mjs";
import { sourceOf } from "./services-manifest.mjs";
import { nodeArguments, planStack, printReady, spawnPrefixed, startInOrder, waitReady } from "./stack-processes.mjs";
import { createSupervisor } from "./supervisor.mjs";

const root = resolve(import.meta.dirname, "..");
const supergraphPath = resolve(process.env.SUPERGRAPH_PATH ?? join(root, "supergraph.graphql"));
const schemaFile = (name) => join(root, "subgraphs", name, "schema.graphql");
const shown = (file) => (file.startsWith(`${root}/`) ? relative(root, file) : file);
const tsxLoader = import.meta.resolve("tsx");

// The services import @startales/service-kit, whose package points at its dist/: tsx maps
// it to the sources instead (compilerOptions.paths), so a change there needs no compiling.
const serviceKit = join(root, "packages", "service-kit", "src", "index.ts");
const tsconfig = join(root, ".local", "dev", "tsconfig.json");
mkdirSync(dirname(tsconfig), { recursive: true });
writeFileSync(tsconfig, JSON.stringify({ extends: join(root, "tsconfig.base.json"), compilerOptions: { paths: { "@startales/service-kit": [serviceKit] } } }, null, 2));

const { GATEWAY_NODE_FLAGS } = await tsImport(pathToFileURL(join(root, "gateway", "src", "node-flags.ts")).href, import.meta.url);
const plan = planStack({ root, env: { ...process.env, SUPERGRAPH_PATH: supergraphPath } });
// For printReady: the gateway's config module loads while the stack starts, and is awaited
// once everything is ready. With the service kit's sources, as the processes run them: tsx
// maps the require()s of a CommonJS module by the tsconfig the environment names.
process.env.TSX_TSCONFIG_PATH = tsconfig;
const gatewayConfigModule = tsImport(pathToFileURL(join(root, "gateway", "src", "config.ts")).href, import.meta.url);
gatewayConfigModule.catch(() => undefined);

const sources = createSourceGraph({ aliases: { "@startales/service-kit": serviceKit } });
const entryFile = (proc) => join(root, sourceOf(proc.main));
// Files a process reads rather than imports: a subgraph serves its schema, the gateway the supergraph.
const readFiles = (proc) => (proc.kind === "gateway" ? [supergraphPath] : proc.kind === "subgraph" ? [schemaFile(proc.name)] : []);
/** name → the files the process runs, with their hashes when it was started. */
const snapshots = new Map();
/** Each subgraph schema's hash when the supergraph was last composed from it. */
const schemaHashes = new Map(plan.subgraphNames.map((name) => [name, sources.hash(schemaFile(name))]));

const supervisor = createSupervisor({ label: "dev", onExit: "wait", graceMs: 5_000 });
let stopping = false;
let markStarted;
const started = new Promise((resolve) => (markStarted = resolve));

const watcher = createWatcher({
  accepts: (path) => path === supergraphPath || plan.subgraphNames.some((name) => schemaFile(name) === path) || [...snapshots.values()].some((files) => files.has(path)),
  onChanges: (paths, since) => started.then(() => serially(() => applyChanges(paths, since))),
  onError: (error) => console.error(`dev: ${error.stack ?? error.message}`),
});
watcher.add([dirname(supergraphPath), ...plan.subgraphNames.map((name) => dirname(schemaFile(name)))]);

// Restarts never overlap: a change that comes in during one is applied after it. A failure
// is printed, and the loop goes on with the next save.
let queue = Promise.resolve();
const serially = (work) => (queue = queue.then(work).catch((error) => console.error(`dev: ${error.stack ?? error.message}`)));

function launch(proc) {
  supervisor.supervise(proc.name, () => {
    const files = sources.closure([entryFile(proc), ...readFiles(proc)]);
    snapshots.set(proc.name, files);
    watcher.add(new Set([...files.keys()].map(dirname)));
    const child = spawnPrefixed(proc.name, process.execPath, ["--import", tsxLoader, ...nodeArguments(proc, entryFile(proc), GATEWAY_NODE_FLAGS)], {
      cwd: join(root, proc.dir),
      env: { ...proc.env, TSX_TSCONFIG_PATH: tsconfig },
    });
    console.log(`dev: started ${proc.name} (pid ${child.pid})`);
    return child;
  });
}

/** Waits for readiness, or for the process to be gone (its exit is printed by the supervisor). */
async function ready(proc, child) {
  const gone = () => stopping || (child ? child.exitCode !== null || child.signalCode !== null : !supervisor.isRunning(proc.name));
  try {
    // A restart is timed: ask often. At start-up everything starts at once: ask less.
    return await waitReady(proc.name, proc.url, { pollMs: child ? 25 : 100, giveUp: gone });
  } catch (error) {
    console.error(`dev: ${error.message}`);
    return undefined;
  }
}

async function restart(proc, since) {
  const child = await supervisor.restart(proc.name);
  if (child && (await ready(proc, child))) console.log(`dev: restarted ${proc.name} (pid ${child.pid}) in ${Date.now() - since} ms`);
}

/** Subgraphs and worker pools side by side, then the gateway, once what it routes to is back. */
async function restartAll(procs, since) {
  await Promise.all(procs.filter((proc) => proc.kind !== "gateway").map((proc) => restart(proc, since)));
  const gateway = procs.find((proc) => proc.kind === "gateway");
  if (gateway) await restart(gateway, since);
}

const listed = (files) => (files.length <= 3 ? files.map(shown).join(", ") : `${files.slice(0, 3).map(shown).join(", ")} and ${files.length - 3} more`);

function report(what, result) {
  if (result.ok) return;
  console.error(`dev: ${what} failed:`);
  for (const line of result.output.split("\n")) console.error(`dev:   ${line}`);
}

/** The schemas that changed since the last composition: their resolver types, then the supergraph. Resolves the files written. */
async function regenerate(paths) {
  const schemas = plan.subgraphNames.filter((name) => paths.has(schemaFile(name)) && sources.hash(schemaFile(name)) !== schemaHashes.get(name));
  if (schemas.length === 0) return [];
  for (const name of schemas) schemaHashes.set(name, sources.hash(schemaFile(name)));
  console.log(`dev: ${listed(schemas.map(schemaFile))} changed: generating resolver types, composing ${shown(supergraphPath)}`);
  const [composed, ...generated] = await Promise.all([composeSupergraph(root, supergraphPath), ...schemas.map((name) => generateResolverTypes(root, name))]);
  schemas.forEach((name, i) => report(`generating ${name}'s resolver types`, generated[i]));
  report("composing the supergraph (the gateway keeps the last one that composed)", composed);
  if (composed.changed) console.log(`dev: composed ${shown(supergraphPath)}`);
  return [supergraphPath, ...schemas.flatMap((name) => resolverTypeFiles(root, name))];
}

async function applyChanges(paths, since) {
  if (stopping) return;
  sources.forget(paths);
  const written = await regenerate(paths);
  sources.forget(written);
  const changed = [...new Set([...paths, ...written])].filter((file) => [...snapshots.values()].some((files) => files.has(file) && files.get(file) !== sources.hash(file)));
  const stale = plan.all.filter((proc) => changed.some((file) => snapshots.get(proc.name)?.has(file)));
  if (stale.length === 0) return;
  console.log(`dev: ${listed(changed)} changed: restarting ${stale.map((proc) => proc.name).join(", ")}`);
  await restartAll(stale, since);
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  watcher.close();
  await supervisor.stop();
  process.exit(code);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));
if (process.stdin.isTTY) {
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "rs") void started.then(() => serially(() => restartAll(plan.all, Date.now())));
  });
}

try {
  if (plan.unknown.length > 0) throw new Error(`START_ONLY: unknown process ${plan.unknown.join(", ")} (npm run dev runs ${plan.processNames.join(", ")})`);
  const generation = staleGenerated(root, plan.subgraphNames).map(async ({ name, what, run }) => {
    console.log(`dev: generating ${name}'s ${what}`);
    report(`generating ${name}'s ${what}`, await run());
  });
  // The supergraph the gateway runs is the composition of the schemas as they are now.
  const composition = composeSupergraph(root, supergraphPath).then((composed) => {
    report("composing the supergraph (the gateway starts with the last one that composed)", composed);
    if (composed.changed) console.log(`dev: composed ${shown(supergraphPath)}`);
  });
  // The gateway reads the explorer's bundle when it starts (without one, /explorer is a 503).
  const explorer = buildExplorer(root).then((built) => report("building the explorer", built));
  await Promise.all([prepareDatabases(plan.databases, (line) => console.log(`dev: ${line}`)), composition, explorer, ...generation]);
  // A process that does not get ready is reported, not fatal: the rest of the stack runs.
  await startInOrder(plan, { launch, ready: (proc) => ready(proc) });
  // A gateway whose env it refuses has printed why and is not running: its lines are left out.
  const gatewayConfig = plan.gateway && (await gatewayConfigModule.then(({ loadGatewayConfig }) => loadGatewayConfig(plan.gateway.env)).catch(() => undefined));
  printReady(plan, gatewayConfig);
  const down = plan.all.filter((proc) => !supervisor.isRunning(proc.name));
  if (down.length > 0) console.error(`dev: not running: ${down.map((proc) => proc.name).join(", ")} (see above); each starts again when a file it runs changes`);
  console.log("dev: watching the sources; a save restarts what it changes (rs + Enter restarts everything)");
  markStarted();
} catch (error) {
  console.error(`dev: ${error.message}`);
  await stopAll(1);
}
