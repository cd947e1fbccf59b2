import { createLogger, exitOnConfigError, runService } from "@startales/service-kit";
import { createGatewayApp } from "./app";
import { loadGatewayConfig } from "./config";

async function main() {
  const config = exitOnConfigError(() => loadGatewayConfig());
  const logger = createLogger("gateway", config.LOG_LEVEL);
  // Building the app reads files the config names (the operation safelist): a bad one is a config error too.
  const app = exitOnConfigError(() => createGatewayApp(config, logger));
  await runService(app, logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
