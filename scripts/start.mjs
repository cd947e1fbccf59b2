#!/usr/bin/env node
// `npm start`: prepares the databases, starts every subgraph and then the gateway, waits
// for each to be ready, prints the URLs, restarts a process that crashes (with backoff, see
// supervisor.mjs), and stops everything cleanly on Ctrl-C.
// Each service is its own process, as in production. Everything can be overridden by env:
// <NAME>_PORT, <NAME>_DATABASE_URL, DATABASE_SERVER_URL, REDIS_URL, LOG_LEVEL, ...
// START_ONLY=gateway,identity runs only the processes named (as the output names them),
// e.g. to run one service against the others started elsewhere.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parse } from "yaml";
import { databaseUrlFor, prepareDatabases, servicesWithDatabases } from "../prisma/migrate-all.mjs";
import { devSecrets } from "./dev-secrets.mjs";
import { createSupervisor } from "./supervisor.mjs";
import { GATEWAY_NODE_FLAGS } from "../gateway/dist/node-flags.js";

const root = resolve(import.meta.dirname, "..");
const env = process.env;
const host = env.HOST ?? "127.0.0.1";
const secretNames = ["GATEWAY_SIGNING_SECRET", "JWT_PRIVATE_KEY"];
// Secrets given by env need no .local/ file made for them.
const secrets = { ...(secretNames.every((k) => env[k]) ? {} : devSecrets(root)), ...pick(env, secretNames) };

function pick(source, keys) {
  return Object.fromEntries(keys.filter((k) => source[k]).map((k) => [k, source[k]]));
}

const supergraph = parse(readFileSync(join(root, "supergraph.yaml"), "utf8"));
const subgraphs = Object.entries(supergraph.subgraphs).map(([name, { routing_url }]) => {
  const port = Number(env[`${name.toUpperCase()}_PORT`] ?? new URL(routing_url).port);
  return { name, port, dir: join("subgraphs", name), url: `http://${host}:${port}` };
});
const gatewayPort = Number(env.GATEWAY_PORT ?? env.PORT ?? 4000);

// Worker pools: every subgraph with a dist/worker.js runs one as its own process.
const pools = subgraphs.filter((s) => existsSync(join(root, s.dir, "dist", "worker.js")));
const processNames = [...subgraphs.map((s) => s.name), ...pools.map((s) => `${s.name}-worker`), "gateway"];
const only = env.START_ONLY ? env.START_ONLY.split(",").map((name) => name.trim()).filter(Boolean) : processNames;
const runs = (name) => only.includes(name);

const databases = Object.fromEntries(
  servicesWithDatabases()
    .filter((name) => runs(name) || runs(`${name}-worker`))
    .map((name) => [name, env[`${name.toUpperCase()}_DATABASE_URL`] ?? databaseUrlFor(name)]),
);

const supervisor = createSupervisor();
let stopping = false;

function startProcess(name, dir, port, extraEnv, entryFile = "main.js", nodeFlags = []) {
  const entry = join(root, dir, "dist", entryFile);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  supervisor.supervise(name, () => {
    const child = spawn(process.execPath, [...nodeFlags, entry], {
      cwd: join(root, dir),
      env: { ...env, ...secrets, HOST: host, PORT: String(port), ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => process.stdout.write(`[${name}] ${line}\n`));
    }
    return child;
  });
}

async function waitReady(name, url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) return;
      last = await res.text();
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready after ${timeoutMs / 1000} s: ${last}`);
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  await supervisor.stop();
  process.exit(code);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  const unknown = only.filter((name) => !processNames.includes(name));
  if (unknown.length > 0) throw new Error(`START_ONLY: unknown process ${unknown.join(", ")} (npm start runs ${processNames.join(", ")})`);
  // A service that crashes while starting is restarted too; one that is still not ready
  // after waitReady's deadline stops everything: npm start did not start.
  await prepareDatabases(databases, (line) => console.log(`start: ${line}`));
  // Realtime asks campaign who belongs where: wherever this run puts campaign.
  const campaign = subgraphs.find((s) => s.name === "campaign");
  const campaignPeer = campaign ? { CAMPAIGN_URL: env.CAMPAIGN_URL ?? `${campaign.url}/graphql` } : {};
  // Provider asks campaign whether a job's caller belongs to the campaign it charges;
  // notification, which campaigns a game master runs and who is in them.
  const peers = { realtime: campaignPeer, simulation: campaignPeer, provider: campaignPeer, notification: campaignPeer };
  const started = subgraphs.filter((s) => runs(s.name));
  for (const s of started) {
    startProcess(s.name, s.dir, s.port, { ...(databases[s.name] ? { DATABASE_URL: databases[s.name] } : {}), ...peers[s.name] });
  }
  await Promise.all(started.map((s) => waitReady(s.name, s.url)));
  // Health and metrics of a worker pool on <NAME>_WORKER_PORT, default the subgraph's port + 10.
  const startedPools = pools.filter((s) => runs(`${s.name}-worker`));
  for (const s of startedPools) {
    const port = Number(env[`${s.name.toUpperCase()}_WORKER_PORT`] ?? s.port + 10);
    const dbEnv = databases[s.name] ? { DATABASE_URL: databases[s.name] } : {};
    startProcess(`${s.name}-worker`, s.dir, port, { ...dbEnv, ...peers[s.name] }, "worker.js");
    s.workerUrl = `http://${host}:${port}`;
  }
  // The gateway needs the subgraphs, not the worker pools: it starts while they do.
  const identity = subgraphs.find((s) => s.name === "identity");
  const realtime = subgraphs.find((s) => s.name === "realtime");
  const provider = subgraphs.find((s) => s.name === "provider");
  if (runs("gateway")) startProcess("gateway", "gateway", gatewayPort, {
    // The gateway reports its WebSocket connections to realtime (presence).
    ...(realtime ? { REALTIME_INTERNAL_URL: env.REALTIME_INTERNAL_URL ?? realtime.url } : {}),
    // Generated audio and images (GET /content/…) are served through the gateway from provider.
    ...(provider ? { PROVIDER_CONTENT_URL: env.PROVIDER_CONTENT_URL ?? provider.url } : {}),
    ...Object.fromEntries(subgraphs.map((s) => [`SUBGRAPH_${s.name.toUpperCase()}_URL`, `${s.url}/graphql`])),
    IDENTITY_JWKS_URL: env.IDENTITY_JWKS_URL ?? `${identity.url}/.well-known/jwks.json`,
    IDENTITY_INTERNAL_URL: env.IDENTITY_INTERNAL_URL ?? identity.url,
  }, "main.js", GATEWAY_NODE_FLAGS);
  const gatewayUrl = `http://${host}:${gatewayPort}`;
  await Promise.all([...startedPools.map((s) => waitReady(`${s.name}-worker`, s.workerUrl)), ...(runs("gateway") ? [waitReady("gateway", gatewayUrl)] : [])]);
  console.log("\nStartales supergraph is ready:");
  if (runs("gateway")) console.log(`  gateway    ${gatewayUrl}/graphql   (health: ${gatewayUrl}/health/ready, metrics: ${gatewayUrl}/metrics)`);
  for (const s of started) console.log(`  ${s.name.padEnd(10)} ${s.url}/graphql   (internal: accepts only the gateway)`);
  for (const s of startedPools) console.log(`  ${`${s.name}-worker`.padEnd(10)} ${s.workerUrl}/health/ready   (worker pool)`);
  console.log("Press Ctrl-C to stop.\n");
} catch (error) {
  console.error(`start: ${error.message}`);
  await stopAll(1);
}
