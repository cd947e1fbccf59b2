import { createLogger, exitOnConfigError, runService, startTracing } from "@startales/service-kit";
import { createGatewayApp } from "./app";
import { loadGatewayConfig } from "./config";

async function main() {
  const config = exitOnConfigError(() => loadGatewayConfig());
  const logger = createLogger("gateway", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("gateway", config);
  // Building the app reads files the config names (the operation safelist): a bad one is a config error too.
  const app = exitOnConfigError(() => createGatewayApp(config, logger));
  await runService(app, logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
