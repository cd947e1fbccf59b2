import { createLogger, loadConfigOrExit, runService } from "@startales/service-kit";
import { createSimulationApp } from "./app";
import { simulationConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(simulationConfigSchema);
  const logger = createLogger("simulation", config.LOG_LEVEL);
  await runService(createSimulationApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
