import { createLogger, exitOnConfigError, runService } from "@startales/service-kit";
import { createGatewayApp } from "./app";
import { loadGatewayConfig } from "./config";

async function main() {
  const config = exitOnConfigError(() => loadGatewayConfig());
  const logger = createLogger("gateway", config.LOG_LEVEL);
  await runService(createGatewayApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
