import { createLogger, loadConfigOrExit, runService } from "@startales/service-kit";
import { createIdentityApp } from "./app";
import { identityConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(identityConfigSchema);
  const logger = createLogger("identity", config.LOG_LEVEL);
  await runService(await createIdentityApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
