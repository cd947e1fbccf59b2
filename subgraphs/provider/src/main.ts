import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { createProviderApp } from "./app";
import { providerConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(providerConfigSchema);
  const logger = createLogger("provider", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("provider", config);
  await runService(createProviderApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
