import { createLogger, loadConfigOrExit, runService } from "@startales/service-kit";
import { createCampaignApp } from "./app";
import { campaignConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(campaignConfigSchema);
  const logger = createLogger("campaign", config.LOG_LEVEL);
  await runService(createCampaignApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS });
}

void main();
