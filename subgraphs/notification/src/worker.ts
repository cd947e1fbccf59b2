import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { notificationConfigSchema } from "./config";
import { createNotificationWorker } from "./worker-app";

const WORKER_PORT = 4017;

/** The notification worker pool's entry point: scale it apart from the subgraph (its own Deployment). */
async function main() {
  // The subgraph's variables; PORT (health and metrics) defaults to the subgraph's port + 10.
  const config = loadConfigOrExit(notificationConfigSchema, { PORT: String(WORKER_PORT), ...process.env });
  const logger = createLogger("notification-worker", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("notification-worker", config);
  await runService(createNotificationWorker(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
