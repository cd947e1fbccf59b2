import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { providerConfigSchema } from "./config";
import { createProviderWorker } from "./worker-app";

const WORKER_PORT = 4014;

/** The provider worker pool's entry point: scale it apart from the subgraph (its own Deployment). */
async function main() {
  // The subgraph's variables; PORT (health and metrics) defaults to the subgraph's port + 10.
  const config = loadConfigOrExit(providerConfigSchema, { PORT: String(WORKER_PORT), ...process.env });
  const logger = createLogger("provider-worker", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("provider-worker", config);
  await runService(createProviderWorker(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
