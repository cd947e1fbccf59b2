import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { analyticsConfigSchema } from "./config";
import { createAnalyticsWorker } from "./worker-app";

const WORKER_PORT = 4015;

/** The analytics worker pool's entry point (the ingest): scale it apart from the subgraph (its own Deployment). */
async function main() {
  // The subgraph's variables; PORT (health and metrics) defaults to the subgraph's port + 10.
  const config = loadConfigOrExit(analyticsConfigSchema, { PORT: String(WORKER_PORT), ...process.env });
  const logger = createLogger("analytics-worker", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("analytics-worker", config);
  await runService(createAnalyticsWorker(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
