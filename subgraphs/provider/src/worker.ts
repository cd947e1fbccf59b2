import { createLogger, loadConfigOrExit, runService } from "@startales/service-kit";
import { providerConfigSchema } from "./config";
import { createProviderWorker } from "./worker-app";

const WORKER_PORT = 4014;

/** The provider worker pool's entry point: scale it apart from the subgraph (its own Deployment). */
async function main() {
  // The subgraph's variables; PORT (health and metrics) defaults to the subgraph's port + 10.
  const config = loadConfigOrExit(providerConfigSchema, { PORT: String(WORKER_PORT), ...process.env });
  const logger = createLogger("provider-worker", config.LOG_LEVEL);
  await runService(createProviderWorker(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
