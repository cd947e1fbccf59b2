import { createLogger, loadConfigOrExit, runService } from "@startales/service-kit";
import { createProviderApp } from "./app";
import { providerConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(providerConfigSchema);
  const logger = createLogger("provider", config.LOG_LEVEL);
  await runService(createProviderApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
