import { createLogger, loadConfigOrExit, runService } from "@startales/service-kit";
import { simulationWorkerConfigSchema } from "./worker-config";
import { createSimulationWorker } from "./worker-app";

/** The simulation worker pool's entry point: ticks and lifecycle jobs (BullMQ), health on PORT. */
async function main() {
  const config = loadConfigOrExit(simulationWorkerConfigSchema);
  const logger = createLogger("simulation-worker", config.LOG_LEVEL);
  await runService(createSimulationWorker(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
