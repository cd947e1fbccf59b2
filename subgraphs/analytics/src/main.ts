import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { createAnalyticsApp } from "./app";
import { analyticsConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(analyticsConfigSchema);
  const logger = createLogger("analytics", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("analytics", config);
  await runService(createAnalyticsApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
