import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { createNotificationApp } from "./app";
import { notificationConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(notificationConfigSchema);
  const logger = createLogger("notification", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("notification", config);
  await runService(createNotificationApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
