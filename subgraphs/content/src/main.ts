import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { createContentApp } from "./app";
import { contentConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(contentConfigSchema);
  const logger = createLogger("content", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("content", config);
  await runService(createContentApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
