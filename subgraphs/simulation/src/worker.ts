import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { simulationWorkerConfigSchema } from "./worker-config";
import { createSimulationWorker } from "./worker-app";

/** The simulation worker pool's entry point: ticks and lifecycle jobs (BullMQ), health on PORT. */
async function main() {
  const config = loadConfigOrExit(simulationWorkerConfigSchema);
  const logger = createLogger("simulation-worker", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("simulation-worker", config);
  await runService(createSimulationWorker(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
