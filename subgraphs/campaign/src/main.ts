import { createLogger, loadConfigOrExit, runService, startTracing } from "@startales/service-kit";
import { createCampaignApp } from "./app";
import { campaignConfigSchema } from "./config";

async function main() {
  const config = loadConfigOrExit(campaignConfigSchema);
  const logger = createLogger("campaign", config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md); flushed when the service stops.
  const tracing = await startTracing("campaign", config);
  await runService(createCampaignApp(config, logger), logger, { graceMs: config.SHUTDOWN_GRACE_MS, tracing });
}

void main();
