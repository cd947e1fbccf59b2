import { createLogger, loadConfigOrExit, runService } from "@startales/service-kit";
import { createNotificationApp } from "./app";
import { notificationConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(notificationConfigSchema);
  const logger = createLogger("notification", config.LOG_LEVEL);
  await runService(createNotificationApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
