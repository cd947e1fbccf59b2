import { createLogger, loadConfigOrExit, runService } from "@startales/service-kit";
import { createRealtimeApp } from "./app";
import { realtimeConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(realtimeConfigSchema);
  const logger = createLogger("realtime", config.LOG_LEVEL);
  await runService(createRealtimeApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
