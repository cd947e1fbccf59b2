import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { createRealtimeApp } from "./app";
import { realtimeConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(realtimeConfigSchema);
  const logger = createLogger("realtime", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("realtime", config);
  await runService(createRealtimeApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
