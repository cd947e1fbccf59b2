import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { createSimulationApp } from "./app";
import { simulationConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(simulationConfigSchema);
  const logger = createLogger("simulation", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("simulation", config);
  await runService(createSimulationApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
