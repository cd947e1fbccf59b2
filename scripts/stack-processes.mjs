// The processes of the local stack, shared by `npm start` (start.mjs, from dist/) and
// `npm run dev` (dev.mjs, from the TypeScript sources): which processes there are, in which
// order they start, their ports, URLs, environment and databases, how their output is shown
// and when they are ready. Everything can be overridden by env: <NAME>_PORT,
// <NAME>_WORKER_PORT, <NAME>_DATABASE_URL, DATABASE_SERVER_URL, HOST, GATEWAY_PORT (or PORT),
// START_ONLY, and whatever the services themselves read.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parse } from "yaml";
import { databaseUrlFor, servicesWithDatabases } from "../prisma/migrate-all.mjs";
import { devSecrets } from "./dev-secrets.mjs";

const SECRET_NAMES = ["GATEWAY_SIGNING_SECRET", "JWT_PRIVATE_KEY"];

function pick(source, keys) {
  return Object.fromEntries(keys.filter((k) => source[k]).map((k) => [k, source[k]]));
}

/**
 * The stack as `env` configures it. `hasWorker(dir)` says whether a subgraph has a worker
 * pool (start.mjs looks for dist/worker.js, dev.mjs for src/worker.ts). Each process is
 * { name, role (subgraph, worker or gateway), dir, entry (main or worker), port, url, env
 * (complete) }; `unknown` lists the names START_ONLY gives that are not processes of the stack.
 */
export function planStack({ root, env = process.env, hasWorker }) {
  const host = env.HOST ?? "127.0.0.1";
  // Secrets given by env need no .local/ file made for them.
  const secrets = { ...(SECRET_NAMES.every((k) => env[k]) ? {} : devSecrets(root)), ...pick(env, SECRET_NAMES) };
  const supergraph = parse(readFileSync(join(root, "supergraph.yaml"), "utf8"));
  const subgraphs = Object.entries(supergraph.subgraphs).map(([name, { routing_url }]) => {
    const port = Number(env[`${name.toUpperCase()}_PORT`] ?? new URL(routing_url).port);
    return { name, port, dir: join("subgraphs", name), url: `http://${host}:${port}` };
  });
  const gatewayPort = Number(env.GATEWAY_PORT ?? env.PORT ?? 4000);

  // Worker pools: every subgraph that has one runs it as its own process.
  const pools = subgraphs.filter((s) => hasWorker(s.dir));
  const processNames = [...subgraphs.map((s) => s.name), ...pools.map((s) => `${s.name}-worker`), "gateway"];
  const only = env.START_ONLY ? env.START_ONLY.split(",").map((name) => name.trim()).filter(Boolean) : processNames;
  const runs = (name) => only.includes(name);

  const databases = Object.fromEntries(
    servicesWithDatabases()
      .filter((name) => runs(name) || runs(`${name}-worker`))
      .map((name) => [name, env[`${name.toUpperCase()}_DATABASE_URL`] ?? databaseUrlFor(name)]),
  );
  const dbEnv = (name) => (databases[name] ? { DATABASE_URL: databases[name] } : {});

  // Realtime asks campaign who belongs where: wherever this run puts campaign.
  const campaign = subgraphs.find((s) => s.name === "campaign");
  const campaignPeer = campaign ? { CAMPAIGN_URL: env.CAMPAIGN_URL ?? `${campaign.url}/graphql` } : {};
  // Provider asks campaign whether a job's caller belongs to the campaign it charges;
  // notification, which campaigns a game master runs and who is in them.
  // Provider's content URLs point at the gateway's /content/ proxy: the public origin.
  const publicOrigin = { PROVIDER_PUBLIC_URL: env.PROVIDER_PUBLIC_URL ?? `http://${host}:${gatewayPort}` };
  const peers = { realtime: campaignPeer, simulation: campaignPeer, provider: { ...campaignPeer, ...publicOrigin }, notification: campaignPeer };

  const processOf = ({ name, role, dir, entry, port, url }, extraEnv) => ({
    name,
    role,
    dir,
    entry,
    port,
    url,
    env: { ...env, ...secrets, HOST: host, PORT: String(port), ...extraEnv },
  });

  const services = subgraphs
    .filter((s) => runs(s.name))
    .map((s) => processOf({ ...s, role: "subgraph", entry: "main" }, { ...dbEnv(s.name), ...peers[s.name] }));
  // Health and metrics of a worker pool on <NAME>_WORKER_PORT, default the subgraph's port + 10.
  const workers = pools
    .filter((s) => runs(`${s.name}-worker`))
    .map((s) => {
      const port = Number(env[`${s.name.toUpperCase()}_WORKER_PORT`] ?? s.port + 10);
      return processOf({ name: `${s.name}-worker`, role: "worker", dir: s.dir, entry: "worker", port, url: `http://${host}:${port}` }, { ...dbEnv(s.name), ...peers[s.name] });
    });
  const identity = subgraphs.find((s) => s.name === "identity");
  const realtime = subgraphs.find((s) => s.name === "realtime");
  const provider = subgraphs.find((s) => s.name === "provider");
  const gateway = runs("gateway")
    ? processOf(
        { name: "gateway", role: "gateway", dir: "gateway", entry: "main", port: gatewayPort, url: `http://${host}:${gatewayPort}` },
        {
          // The gateway reports its WebSocket connections to realtime (presence).
          ...(realtime ? { REALTIME_INTERNAL_URL: env.REALTIME_INTERNAL_URL ?? realtime.url } : {}),
          // Generated audio and images (GET /content/…) are served through the gateway from provider.
          ...(provider ? { PROVIDER_CONTENT_URL: env.PROVIDER_CONTENT_URL ?? provider.url } : {}),
          ...Object.fromEntries(subgraphs.map((s) => [`SUBGRAPH_${s.name.toUpperCase()}_URL`, `${s.url}/graphql`])),
          IDENTITY_JWKS_URL: env.IDENTITY_JWKS_URL ?? `${identity.url}/.well-known/jwks.json`,
          IDENTITY_INTERNAL_URL: env.IDENTITY_INTERNAL_URL ?? identity.url,
        },
      )
    : undefined;

  return {
    /** Every subgraph of supergraph.yaml, whether this run starts it or not. */
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
export const nodeArguments = (proc, file, gatewayNodeFlags) => [...(proc.role === "gateway" ? gatewayNodeFlags : []), file];

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

/** The URLs, once everything is ready. */
export function printReady(plan) {
  console.log("\nStartales supergraph is ready:");
  if (plan.gateway) {
    const { url, env } = plan.gateway;
    console.log(`  gateway    ${url}/graphql   (health: ${url}/health/ready, metrics: ${url}/metrics)`);
    if (!["false", "0"].includes(env.EXPLORER ?? (env.NODE_ENV === "production" ? "false" : "true"))) console.log(`  explorer   ${url}/explorer   (GraphiQL, offline)`);
    // The gateway's own default (its config.ts): on in development only.
    const adminPort = env.QUEUES_ADMIN_PORT ?? ((env.NODE_ENV ?? "development") === "development" ? "4010" : "off");
    if (adminPort !== "off") console.log(`  queues     http://${new URL(url).hostname}:${adminPort}/   (admins only: password = an ADMIN's API key)`);
  }
  for (const s of plan.subgraphs) console.log(`  ${s.name.padEnd(10)} ${s.url}/graphql   (internal: accepts only the gateway)`);
  for (const s of plan.workers) console.log(`  ${s.name.padEnd(10)} ${s.url}/health/ready   (worker pool)`);
  console.log("Press Ctrl-C to stop.\n");
}
