import { createLogger, exitOnConfigError, runService } from "@startales/service-kit";
import { createIdentityApp } from "./app";
import { loadIdentityConfig } from "./config";

async function main() {
  const config = exitOnConfigError(() => loadIdentityConfig());
  const logger = createLogger("identity", config.LOG_LEVEL);
  await runService(await createIdentityApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
