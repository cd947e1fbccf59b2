import { createLogger, exitOnConfigError, runService, startTracing } from "@startales/service-kit";
import { createIdentityApp } from "./app";
import { loadIdentityConfig } from "./config";

async function main() {
  const config = exitOnConfigError(() => loadIdentityConfig());
  const logger = createLogger("identity", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("identity", config);
  await runService(await createIdentityApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
