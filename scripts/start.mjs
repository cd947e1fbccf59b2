#!/usr/bin/env node
// `npm start`: prepares the databases, starts every subgraph and then the gateway, waits
// for each to be ready, prints the URLs, restarts a process that crashes (with backoff, see
// supervisor.mjs), and stops everything cleanly on Ctrl-C.
// Each service is its own process, as in production, run from its build (dist/). Which
// processes (services.json), ports, URLs and env: stack-processes.mjs, shared with `npm run
// dev`. Everything can be overridden by env: <NAME>_PORT, <NAME>_DATABASE_URL,
// DATABASE_SERVER_URL, REDIS_URL, LOG_LEVEL, ...
// START_ONLY=gateway,identity runs only the processes named (as the output names them),
// e.g. to run one service against the others started elsewhere.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { prepareDatabases } from "../prisma/migrate-all.mjs";
import { nodeArguments, planStack, printReady, spawnPrefixed, startInOrder, waitReady } from "./stack-processes.mjs";
import { createSupervisor } from "./supervisor.mjs";
import { GATEWAY_NODE_FLAGS } from "../gateway/dist/node-flags.js";

const root = resolve(import.meta.dirname, "..");
const plan = planStack({ root });
// For printReady: the gateway's config module loads while the stack starts (it pulls in the
// service kit), and is awaited once everything is ready.
const gatewayConfigModule = import("../gateway/dist/config.js");
gatewayConfigModule.catch(() => undefined);

const supervisor = createSupervisor();
let stopping = false;

function launch(proc) {
  const file = join(root, proc.main);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
  supervisor.supervise(proc.name, () => spawnPrefixed(proc.name, process.execPath, nodeArguments(proc, file, GATEWAY_NODE_FLAGS), { cwd: join(root, proc.dir), env: proc.env }));
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
  if (plan.unknown.length > 0) throw new Error(`START_ONLY: unknown process ${plan.unknown.join(", ")} (npm start runs ${plan.processNames.join(", ")})`);
  // A service that crashes while starting is restarted too; one that is still not ready
  // after waitReady's deadline stops everything: npm start did not start.
  await prepareDatabases(plan.databases, (line) => console.log(`start: ${line}`));
  await startInOrder(plan, { launch, ready: ({ name, url }) => waitReady(name, url, { giveUp: () => stopping }) });
  printReady(plan, plan.gateway && (await gatewayConfigModule).loadGatewayConfig(plan.gateway.env));
} catch (error) {
  console.error(`start: ${error.message}`);
  await stopAll(1);
}
