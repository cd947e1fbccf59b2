import type { Logger, SubgraphApp } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { createRealtimeApp, type RealtimeApp } from "../../subgraphs/realtime/src/app";
import { campaignTestConfig, gatewayTestConfig, identityTestConfig, realtimeTestConfig } from "./config";
import { captureLogs } from "./logs";
import { untilReady } from "./ready";

export type Stack = {
  gatewayUrl: string;
  graphqlUrl: string;
  identityUrl: string;
  campaignUrl: string;
  realtimeUrl: string;
  logs: Record<"gateway" | "identity" | "campaign" | "realtime", ReturnType<typeof captureLogs>>;
  apps: { gateway: GatewayApp; identity: SubgraphApp; campaign: SubgraphApp; realtime: RealtimeApp };
  stop: () => Promise<void>;
};

/**
 * The real services on port 0 with real HTTP between them: identity, campaign and realtime
 * (which asks campaign about memberships) against the run's PostgreSQL databases and Redis,
 * and a gateway in front. Logs are captured.
 */
export async function startStack(
  options: { logLevel?: string; identityEnv?: Record<string, string>; realtimeEnv?: Record<string, string> } = {},
): Promise<Stack> {
  const level = options.logLevel ?? "debug";
  const logs = {
    gateway: captureLogs("gateway", level),
    identity: captureLogs("identity", level),
    campaign: captureLogs("campaign", level),
    realtime: captureLogs("realtime", level),
  };
  const identity = await createIdentityApp(identityTestConfig(options.identityEnv), logs.identity.logger as Logger);
  const campaign = createCampaignApp(campaignTestConfig(), logs.campaign.logger as Logger);
  const started: { stop: () => Promise<void> }[] = [];
  try {
    const identityUrl = await identity.listen();
    started.push(identity);
    const campaignUrl = await campaign.listen();
    started.push(campaign);
    const realtime = createRealtimeApp(realtimeTestConfig(campaignUrl, options.realtimeEnv), logs.realtime.logger as Logger);
    const realtimeUrl = await realtime.listen();
    started.push(realtime);
    const gateway = createGatewayApp(
      gatewayTestConfig({ identity: identityUrl, campaign: campaignUrl, realtime: realtimeUrl }, `${identityUrl}/.well-known/jwks.json`),
      logs.gateway.logger as Logger,
    );
    const gatewayUrl = await gateway.listen();
    started.push(gateway);
    await Promise.all([identityUrl, campaignUrl, realtimeUrl, gatewayUrl].map((url) => untilReady(url)));
    return {
      gatewayUrl,
      graphqlUrl: `${gatewayUrl}/graphql`,
      identityUrl,
      campaignUrl,
      realtimeUrl,
      logs,
      apps: { gateway, identity, campaign, realtime },
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

async function stopAll(services: { stop: () => Promise<void> }[]): Promise<void> {
  for (const service of [...services].reverse()) await service.stop();
}
