#!/usr/bin/env node
// `npm start`: prepares the databases, starts every subgraph and then the gateway, waits
// for each to be ready, prints the URLs, and stops everything cleanly on Ctrl-C.
// Each service is its own process, as in production. Everything can be overridden by env:
// <NAME>_PORT, <NAME>_DATABASE_URL, DATABASE_SERVER_URL, REDIS_URL, LOG_LEVEL, ...
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parse } from "yaml";
import { databaseUrlFor, prepareDatabases, servicesWithDatabases } from "../prisma/migrate-all.mjs";
import { devSecrets } from "./dev-secrets.mjs";
import { GATEWAY_NODE_FLAGS } from "../gateway/dist/node-flags.js";

const root = resolve(import.meta.dirname, "..");
const env = process.env;
const host = env.HOST ?? "127.0.0.1";
const secrets = { ...devSecrets(root), ...pick(env, ["GATEWAY_SIGNING_SECRET", "JWT_PRIVATE_KEY"]) };

function pick(source, keys) {
  return Object.fromEntries(keys.filter((k) => source[k]).map((k) => [k, source[k]]));
}

const supergraph = parse(readFileSync(join(root, "supergraph.yaml"), "utf8"));
const subgraphs = Object.entries(supergraph.subgraphs).map(([name, { routing_url }]) => {
  const port = Number(env[`${name.toUpperCase()}_PORT`] ?? new URL(routing_url).port);
  return { name, port, dir: join("subgraphs", name), url: `http://${host}:${port}` };
});
const gatewayPort = Number(env.GATEWAY_PORT ?? env.PORT ?? 4000);

const databases = Object.fromEntries(
  servicesWithDatabases().map((name) => [name, env[`${name.toUpperCase()}_DATABASE_URL`] ?? databaseUrlFor(name)]),
);

const children = [];
let stopping = false;

function startProcess(name, dir, port, extraEnv, entryFile = "main.js", nodeFlags = []) {
  const entry = join(root, dir, "dist", entryFile);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const child = spawn(process.execPath, [...nodeFlags, entry], {
    cwd: join(root, dir),
    env: { ...env, ...secrets, HOST: host, PORT: String(port), ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`start: ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push({ name, child });
  return child;
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
  // Gateway first, then the subgraphs: no request reaches a subgraph that is going away.
  for (const { name, child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
    console.log(`start: ${name} stopped`);
  }
  process.exit(code);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  await prepareDatabases(databases, (line) => console.log(`start: ${line}`));
  // Realtime asks campaign who belongs where: wherever this run puts campaign.
  const campaign = subgraphs.find((s) => s.name === "campaign");
  const campaignPeer = campaign ? { CAMPAIGN_URL: env.CAMPAIGN_URL ?? `${campaign.url}/graphql` } : {};
  // Provider asks campaign whether a job's caller belongs to the campaign it charges;
  // notification, which campaigns a game master runs and who is in them.
  const peers = { realtime: campaignPeer, simulation: campaignPeer, provider: campaignPeer, notification: campaignPeer };
  for (const s of subgraphs) {
    startProcess(s.name, s.dir, s.port, { ...(databases[s.name] ? { DATABASE_URL: databases[s.name] } : {}), ...peers[s.name] });
  }
  await Promise.all(subgraphs.map((s) => waitReady(s.name, s.url)));
  // Worker pools: every subgraph with a dist/worker.js runs one as its own process (health
  // and metrics on <NAME>_WORKER_PORT, default the subgraph's port + 10).
  const pools = subgraphs.filter((s) => existsSync(join(root, s.dir, "dist", "worker.js")));
  for (const s of pools) {
    const port = Number(env[`${s.name.toUpperCase()}_WORKER_PORT`] ?? s.port + 10);
    const dbEnv = databases[s.name] ? { DATABASE_URL: databases[s.name] } : {};
    startProcess(`${s.name}-worker`, s.dir, port, { ...dbEnv, ...peers[s.name] }, "worker.js");
    s.workerUrl = `http://${host}:${port}`;
  }
  // The gateway needs the subgraphs, not the worker pools: it starts while they do.
  const identity = subgraphs.find((s) => s.name === "identity");
  const realtime = subgraphs.find((s) => s.name === "realtime");
  const provider = subgraphs.find((s) => s.name === "provider");
  startProcess("gateway", "gateway", gatewayPort, {
    // The gateway reports its WebSocket connections to realtime (presence).
    ...(realtime ? { REALTIME_INTERNAL_URL: env.REALTIME_INTERNAL_URL ?? realtime.url } : {}),
    // Generated audio and images (GET /content/…) are served through the gateway from provider.
    ...(provider ? { PROVIDER_CONTENT_URL: env.PROVIDER_CONTENT_URL ?? provider.url } : {}),
    ...Object.fromEntries(subgraphs.map((s) => [`SUBGRAPH_${s.name.toUpperCase()}_URL`, `${s.url}/graphql`])),
    IDENTITY_JWKS_URL: env.IDENTITY_JWKS_URL ?? `${identity.url}/.well-known/jwks.json`,
    IDENTITY_INTERNAL_URL: env.IDENTITY_INTERNAL_URL ?? identity.url,
  }, "main.js", GATEWAY_NODE_FLAGS);
  const gatewayUrl = `http://${host}:${gatewayPort}`;
  await Promise.all([...pools.map((s) => waitReady(`${s.name}-worker`, s.workerUrl)), waitReady("gateway", gatewayUrl)]);
  console.log("\nStartales supergraph is ready:");
  console.log(`  gateway    ${gatewayUrl}/graphql   (health: ${gatewayUrl}/health/ready, metrics: ${gatewayUrl}/metrics)`);
  for (const s of subgraphs) console.log(`  ${s.name.padEnd(10)} ${s.url}/graphql   (internal: accepts only the gateway)`);
  for (const s of pools) console.log(`  ${`${s.name}-worker`.padEnd(10)} ${s.workerUrl}/health/ready   (worker pool)`);
  console.log("Press Ctrl-C to stop.\n");
} catch (error) {
  console.error(`start: ${error.message}`);
  await stopAll(1);
}
