// The processes of the local stack, shared by `npm start` (start.mjs, from dist/) and
// `npm run dev` (dev.mjs, from the TypeScript sources): which processes there are, in which
// order they start, their ports, URLs, environment and databases, how their output is shown
// and when they are ready. The processes, ports, databases and who is told whose URL come
// from services.json. Everything can be overridden by env: <NAME>_PORT, <NAME>_WORKER_PORT,
// <NAME>_DATABASE_URL, DATABASE_SERVER_URL, HOST, GATEWAY_PORT (or PORT), START_ONLY, a
// variable services.json wires (CAMPAIGN_URL, …; not SUBGRAPH_<NAME>_URL, which follows
// <NAME>_PORT), and whatever the services themselves read.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { databaseUrlFor } from "../prisma/migrate-all.mjs";
import { DEV_SECRET_NAMES, devSecrets } from "./dev-secrets.mjs";
import { readServices, urlTarget } from "./services-manifest.mjs";

const SECRET_NAMES = DEV_SECRET_NAMES;

function pick(source, keys) {
  return Object.fromEntries(keys.filter((k) => source[k]).map((k) => [k, source[k]]));
}

/**
 * The stack as `env` configures it. Each process is { name, kind (subgraph, worker-pool or
 * gateway), dir, main (its built entry point), port, url, env (complete) }; `unknown` lists the
 * names START_ONLY gives that are not processes of the stack.
 */
export function planStack({ root, env = process.env }) {
  const host = env.HOST ?? "127.0.0.1";
  // Secrets given by env need no .local/ file made for them.
  const secrets = { ...(SECRET_NAMES.every((k) => env[k]) ? {} : devSecrets(root)), ...pick(env, SECRET_NAMES) };
  const manifest = readServices(root);
  const at = (port) => ({ port, url: `http://${host}:${port}` });
  const gatewayService = manifest.find((s) => s.kind === "gateway");
  const gatewayAt = at(Number(env.GATEWAY_PORT ?? env.PORT ?? gatewayService.port));
  const subgraphs = manifest.filter((s) => s.kind === "subgraph").map((s) => ({ ...s, ...at(Number(env[`${s.name.toUpperCase()}_PORT`] ?? s.port)) }));

  // A worker pool's port: <NAME>_WORKER_PORT, or as far from its subgraph's as services.json puts it.
  const pools = subgraphs
    .filter((s) => s.workerPool)
    .map((s) => {
      const offset = s.workerPool.healthPort - manifest.find((m) => m.name === s.name).port;
      return { name: s.workerPool.name, kind: "worker-pool", dir: s.dir, main: s.workerPool.main, subgraph: s, ...at(Number(env[`${s.name.toUpperCase()}_WORKER_PORT`] ?? s.port + offset)) };
    });
  const processNames = [...subgraphs.map((s) => s.name), ...pools.map((s) => s.name), gatewayService.name];
  const only = env.START_ONLY ? env.START_ONLY.split(",").map((name) => name.trim()).filter(Boolean) : processNames;
  const runs = (name) => only.includes(name);

  const databases = Object.fromEntries(
    subgraphs
      .filter((s) => s.database && (runs(s.name) || (s.workerPool && runs(s.workerPool.name))))
      .map((s) => [s.name, env[`${s.name.toUpperCase()}_DATABASE_URL`] ?? databaseUrlFor(s.name)]),
  );
  const dbEnv = (name) => (databases[name] ? { DATABASE_URL: databases[name] } : {});

  // Who is told whose URL (services.json `urls`): wherever this run puts them.
  const urlOf = (name) => {
    const target = name === gatewayService.name ? gatewayAt : subgraphs.find((s) => s.name === name);
    if (!target) throw new Error(`services.json: no service ${name}`);
    return target.url;
  };
  const wired = (urls) =>
    Object.fromEntries(
      Object.entries(urls).map(([variable, target]) => {
        const { service, path } = urlTarget(target);
        return [variable, env[variable] ?? `${urlOf(service)}${path}`];
      }),
    );

  const processOf = ({ name, kind, dir, main, port, url }, extraEnv) => ({
    name,
    kind,
    dir,
    main,
    port,
    url,
    env: { ...env, ...secrets, HOST: host, PORT: String(port), ...extraEnv },
  });

  const services = subgraphs.filter((s) => runs(s.name)).map((s) => processOf(s, { ...dbEnv(s.name), ...wired(s.urls) }));
  // A worker pool runs with its subgraph's database and URLs.
  const workers = pools.filter((p) => runs(p.name)).map((p) => processOf(p, { ...dbEnv(p.subgraph.name), ...wired(p.subgraph.urls) }));
  const gateway = runs(gatewayService.name)
    ? processOf(
        { ...gatewayService, ...gatewayAt },
        {
          ...wired(gatewayService.urls),
          ...Object.fromEntries(subgraphs.map((s) => [`SUBGRAPH_${s.name.toUpperCase()}_URL`, `${s.url}/graphql`])),
        },
      )
    : undefined;

  return {
    /** Every subgraph of services.json, whether this run starts it or not. */
    subgraphNames: subgraphs.map((s) => s.name),
    processNames,
    unknown: only.filter((name) => !processNames.includes(name)),
    databases,
    subgraphs: services,
    workers,
    gateway,
    all: [...services, ...workers, ...(gateway ? [gateway] : [])],
  };
}

/**
 * Starts the plan's processes (`launch(process)`) in the stack's order and resolves once
 * `ready(process)` has resolved for each: the subgraphs, then, once they are ready, the worker
 * pools and the gateway (which needs the subgraphs, not the worker pools: it starts while they do).
 */
export async function startInOrder(plan, { launch, ready }) {
  for (const proc of plan.subgraphs) launch(proc);
  await Promise.all(plan.subgraphs.map((proc) => ready(proc)));
  const rest = [...plan.workers, ...(plan.gateway ? [plan.gateway] : [])];
  for (const proc of rest) launch(proc);
  await Promise.all(rest.map((proc) => ready(proc)));
}

/** The node arguments that run `file` as `proc`: the gateway with its V8 flags, as wherever it runs (gateway/src/node-flags.ts). */
export const nodeArguments = (proc, file, gatewayNodeFlags) => [...(proc.kind === "gateway" ? gatewayNodeFlags : []), file];

/** Spawns a process whose every line of output is printed on stdout after `[name] `. */
export function spawnPrefixed(name, command, args, { cwd, env }) {
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  return child;
}

/**
 * Resolves true once `url`/health/ready answers 200, undefined as soon as `giveUp()` is true
 * (stopping, or the process is gone); rejects after `timeoutMs`, naming what was last answered.
 */
export async function waitReady(name, url, { timeoutMs = 60_000, pollMs = 200, giveUp = () => false } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (giveUp()) return undefined;
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) return true;
      last = await res.text();
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`${name} was not ready after ${timeoutMs / 1000} s: ${last}`);
}

/**
 * The URLs, once everything is ready. `gatewayConfig`: the gateway's own reading of its env
 * (loadGatewayConfig), which says whether its explorer and queues admin are on (without it,
 * they are not listed).
 */
export function printReady(plan, gatewayConfig) {
  console.log("\nStartales supergraph is ready:");
  if (plan.gateway) {
    const { url } = plan.gateway;
    console.log(`  gateway    ${url}/graphql   (health: ${url}/health/ready, metrics: ${url}/metrics)`);
    if (gatewayConfig?.EXPLORER) console.log(`  explorer   ${url}/explorer   (GraphiQL, offline)`);
    if (gatewayConfig?.QUEUES_ADMIN_PORT !== undefined) console.log(`  queues     http://${new URL(url).hostname}:${gatewayConfig.QUEUES_ADMIN_PORT}/   (admins only: password = an ADMIN's API key)`);
  }
  for (const s of plan.subgraphs) console.log(`  ${s.name.padEnd(10)} ${s.url}/graphql   (internal: accepts only the gateway)`);
  for (const s of plan.workers) console.log(`  ${s.name.padEnd(10)} ${s.url}/health/ready   (worker pool)`);
  console.log("Press Ctrl-C to stop.\n");
}
