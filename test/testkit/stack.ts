import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import type { Logger, SubgraphApp } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { createAnalyticsApp } from "../../subgraphs/analytics/src/app";
import { createAnalyticsWorker, type AnalyticsWorker } from "../../subgraphs/analytics/src/worker-app";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createContentApp } from "../../subgraphs/content/src/app";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { createNotificationApp } from "../../subgraphs/notification/src/app";
import { queuePrefix as notificationQueuePrefix } from "../../subgraphs/notification/src/delivery/queue";
import { createNotificationWorker, type NotificationWorker } from "../../subgraphs/notification/src/worker-app";
import { createProviderApp } from "../../subgraphs/provider/src/app";
import { queuePrefix as providerQueuePrefix } from "../../subgraphs/provider/src/queue";
import { createProviderWorker, type ProviderWorker } from "../../subgraphs/provider/src/worker-app";
import { createRealtimeApp, type RealtimeApp } from "../../subgraphs/realtime/src/app";
import { createSimulationApp } from "../../subgraphs/simulation/src/app";
import { createSimulationWorker, type SimulationWorkerApp } from "../../subgraphs/simulation/src/worker-app";
import {
  analyticsTestConfig,
  campaignTestConfig,
  contentTestConfig,
  gatewayTestConfig,
  identityTestConfig,
  notificationTestConfig,
  providerTestConfig,
  realtimeTestConfig,
  simulationTestConfig,
  simulationWorkerTestConfig,
  testFirehosePrefix,
  testLifecycleTopic,
  testAccountErasureTopic,
  testAccountMailTopic,
  testNotificationTopic,
} from "./config";
import { stackDatabase } from "./databases";
import { captureLogs } from "./logs";
import { unusedPort } from "./ports";
import { untilReady } from "./ready";
import { processes } from "./services";

export type Stack = {
  gatewayUrl: string;
  graphqlUrl: string;
  identityUrl: string;
  campaignUrl: string;
  realtimeUrl: string;
  simulationUrl: string;
  providerUrl: string;
  notificationUrl: string;
  analyticsUrl: string;
  contentUrl: string;
  /** Where the stack's content keeps the bytes (its filesystem driver's directory). */
  contentDir: string;
  /** The stack's own analytics database (what its ingest wrote). */
  analyticsDatabaseUrl: string;
  logs: Record<
    "gateway" | "identity" | "campaign" | "realtime" | "simulation" | "simulationWorker" | "provider" | "providerWorker" | "notification" | "notificationWorker" | "analytics" | "analyticsWorker" | "content",
    ReturnType<typeof captureLogs>
  >;
  apps: {
    gateway: GatewayApp;
    identity: SubgraphApp;
    campaign: SubgraphApp;
    realtime: RealtimeApp;
    simulation: SubgraphApp;
    simulationWorker: SimulationWorkerApp;
    provider: SubgraphApp;
    providerWorker: ProviderWorker;
    notification: SubgraphApp;
    notificationWorker: NotificationWorker;
    analytics: SubgraphApp;
    analyticsWorker: AnalyticsWorker;
    content: SubgraphApp;
  };
  stop: () => Promise<void>;
};

/**
 * Each process of services.json by its key in a stack's `logs` and `apps`. A process the
 * manifest has and the stack does not start fails every suite that starts one, naming it.
 */
const STACK_KEYS = {
  gateway: "gateway",
  identity: "identity",
  campaign: "campaign",
  realtime: "realtime",
  simulation: "simulation",
  "simulation-worker": "simulationWorker",
  provider: "provider",
  "provider-worker": "providerWorker",
  notification: "notification",
  "notification-worker": "notificationWorker",
  analytics: "analytics",
  "analytics-worker": "analyticsWorker",
  content: "content",
} as const satisfies Record<string, keyof Stack["apps"]>;

function checkCoversManifest(): void {
  const missing = processes.map((p) => p.name).filter((name) => !(name in STACK_KEYS));
  const unknown = Object.keys(STACK_KEYS).filter((name) => !processes.some((p) => p.name === name));
  const problems = [...missing.map((name) => `it does not start ${name}`), ...unknown.map((name) => `it starts ${name}, which services.json does not list`)];
  if (problems.length) throw new Error(`test/testkit/stack.ts disagrees with services.json: ${problems.join("; ")}`);
}

/**
 * The real services on port 0 with real HTTP between them: identity, campaign, realtime and
 * simulation (which ask campaign about memberships), the simulation worker pool (its own
 * BullMQ queue prefix, so stacks do not share jobs), the provider subgraph and its worker
 * pool (offline engines unless `providerEnv` names vendors; its own Redis namespace) against
 * the run's PostgreSQL databases and Redis, the notification subgraph and its worker pool
 * (its own queue, and its own notification-request topic shared with this stack's campaign;
 * push only where `notificationEnv` names a PUSH_URL), the analytics subgraph and its ingest
 * pool (a database of its own, reading the firehoses this stack's producers write), and a gateway in front (`gatewayEnv`
 * adds to its config; its queues admin, off unless that sets QUEUES_ADMIN_PORT, shows this
 * stack's queues). Logs are captured.
 */
export async function startStack(
  options: { logLevel?: string; identityEnv?: Record<string, string>; campaignEnv?: Record<string, string>; realtimeEnv?: Record<string, string>; simulationWorkerEnv?: Record<string, string>; providerEnv?: Record<string, string>; notificationEnv?: Record<string, string>; analyticsEnv?: Record<string, string>; contentEnv?: Record<string, string>; gatewayEnv?: Record<string, string> } = {},
): Promise<Stack> {
  checkCoversManifest();
  const level = options.logLevel ?? "debug";
  const logs = Object.fromEntries(Object.entries(STACK_KEYS).map(([process, key]) => [key, captureLogs(process, level)])) as Stack["logs"];
  // This stack's campaign asks this stack's notification pool, and no other.
  const NOTIFICATION_TOPIC = testNotificationTopic(randomUUID());
  // And its campaign tells this stack's simulation worker pool of lifecycle changes, and no other.
  const LIFECYCLE_TOPIC = testLifecycleTopic(randomUUID());
  // And its identity asks this stack's campaign and notification pool to erase deleted accounts, and no other.
  const ACCOUNT_ERASURE_TOPIC = testAccountErasureTopic(randomUUID());
  // And its identity's account mail goes to this stack's notification pool, and no other.
  const ACCOUNT_MAIL_TOPIC = testAccountMailTopic(randomUUID());
  // And every producer of the stack writes the firehoses this stack's analytics reads, and no other's.
  const EVENT_FIREHOSE_PREFIX = testFirehosePrefix(randomUUID());
  const identity = await createIdentityApp(identityTestConfig({ EVENT_FIREHOSE_PREFIX, ACCOUNT_ERASURE_TOPIC, ACCOUNT_MAIL_TOPIC, ...options.identityEnv }), logs.identity.logger as Logger);
  const campaign = createCampaignApp(campaignTestConfig({ NOTIFICATION_TOPIC, LIFECYCLE_TOPIC, ACCOUNT_ERASURE_TOPIC, EVENT_FIREHOSE_PREFIX, ...options.campaignEnv }), logs.campaign.logger as Logger);
  const started: { stop: () => Promise<void> }[] = [];
  try {
    // The stack's own simulation database, dropped after everything else has stopped.
    const simulationDb = await stackDatabase("simulation");
    started.push({ stop: simulationDb.drop });
    const identityUrl = await identity.listen();
    started.push(identity);
    const campaignUrl = await campaign.listen();
    started.push(campaign);
    const realtime = createRealtimeApp(realtimeTestConfig(campaignUrl, { EVENT_FIREHOSE_PREFIX, ...options.realtimeEnv }), logs.realtime.logger as Logger);
    const realtimeUrl = await realtime.listen();
    started.push(realtime);
    const simulation = createSimulationApp(simulationTestConfig(campaignUrl, { DATABASE_URL: simulationDb.url }), logs.simulation.logger as Logger);
    const simulationUrl = await simulation.listen();
    started.push(simulation);
    const simulationWorkerConfig = simulationWorkerTestConfig(campaignUrl, {
      QUEUE_PREFIX: `test-stack-${randomUUID()}`,
      LIFECYCLE_TOPIC,
      EVENT_FIREHOSE_PREFIX,
      DATABASE_URL: simulationDb.url,
      ...options.simulationWorkerEnv,
    });
    const simulationWorker = createSimulationWorker(simulationWorkerConfig, logs.simulationWorker.logger as Logger);
    await simulationWorker.listen();
    started.push(simulationWorker);
    // Content's URLs name the gateway's public origin, so the gateway's port is chosen before content starts;
    // content starts before the provider, whose worker pool stores generated audio and images in it.
    const gatewayPort = options.gatewayEnv?.PORT ?? String(await unusedPort());
    const contentConfig = contentTestConfig(campaignUrl, `http://127.0.0.1:${gatewayPort}`, { ACCOUNT_ERASURE_TOPIC, EVENT_FIREHOSE_PREFIX, ...options.contentEnv });
    if (!options.contentEnv?.CONTENT_DIR) started.push({ stop: () => rm(contentConfig.CONTENT_DIR, { recursive: true, force: true }) });
    const content = createContentApp(contentConfig, logs.content.logger as Logger);
    const contentUrl = await content.listen();
    started.push(content);
    // The provider subgraph and its worker pool share one config (and so one Redis namespace);
    // the URLs of what it generated name the gateway's public origin, like content's.
    const providerConfig = providerTestConfig(campaignUrl, { EVENT_FIREHOSE_PREFIX, CONTENT_URL: contentUrl, PROVIDER_PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`, ...options.providerEnv });
    const provider = createProviderApp(providerConfig, logs.provider.logger as Logger);
    const providerUrl = await provider.listen();
    started.push(provider);
    const providerWorker = createProviderWorker(providerConfig, logs.providerWorker.logger as Logger);
    await providerWorker.listen();
    started.push(providerWorker);
    const notificationConfig = notificationTestConfig(campaignUrl, {
      IDENTITY_URL: identityUrl,
      NOTIFICATION_TOPIC,
      ACCOUNT_ERASURE_TOPIC,
      ACCOUNT_MAIL_TOPIC,
      EVENT_FIREHOSE_PREFIX,
      // Mails' unsubscribe links name the gateway's public origin, like content's URLs.
      NOTIFICATION_PUBLIC_BASE_URL: `http://127.0.0.1:${gatewayPort}`,
      ...options.notificationEnv,
    });
    const notification = createNotificationApp(notificationConfig, logs.notification.logger as Logger);
    const notificationUrl = await notification.listen();
    started.push(notification);
    const notificationWorker = createNotificationWorker(notificationConfig, logs.notificationWorker.logger as Logger);
    await notificationWorker.listen();
    started.push(notificationWorker);
    // Analytics on a database of its own (its figures are this stack's alone), reading this stack's firehoses.
    const analyticsDb = await stackDatabase("analytics");
    started.push({ stop: analyticsDb.drop });
    const analyticsConfig = analyticsTestConfig({ EVENT_FIREHOSE_PREFIX, DATABASE_URL: analyticsDb.url, ...options.analyticsEnv });
    const analytics = createAnalyticsApp(analyticsConfig, logs.analytics.logger as Logger);
    const analyticsUrl = await analytics.listen();
    started.push(analytics);
    const analyticsWorker = createAnalyticsWorker(analyticsConfig, logs.analyticsWorker.logger as Logger);
    await analyticsWorker.listen();
    started.push(analyticsWorker);
    const gateway = createGatewayApp(
      gatewayTestConfig({ identity: identityUrl, campaign: campaignUrl, realtime: realtimeUrl, simulation: simulationUrl, provider: providerUrl, notification: notificationUrl, analytics: analyticsUrl, content: contentUrl }, `${identityUrl}/.well-known/jwks.json`, {
        PORT: gatewayPort,
        // The queues admin (off unless gatewayEnv sets QUEUES_ADMIN_PORT) shows this stack's queues.
        QUEUES_ADMIN_PREFIXES: [simulationWorkerConfig.QUEUE_PREFIX, providerQueuePrefix(providerConfig.PROVIDER_REDIS_PREFIX), notificationQueuePrefix(notificationConfig.NOTIFICATION_REDIS_PREFIX)].join(","),
        // Its usage statistics go to this stack's analytics, a window a second so tests need not wait a minute.
        EVENT_FIREHOSE_PREFIX,
        OPERATION_STATS_WINDOW_MS: "1000",
        ...options.gatewayEnv,
      }),
      logs.gateway.logger as Logger,
    );
    const gatewayUrl = await gateway.listen();
    started.push(gateway);
    await Promise.all([identityUrl, campaignUrl, realtimeUrl, simulationUrl, providerUrl, notificationUrl, analyticsUrl, contentUrl, gatewayUrl].map((url) => untilReady(url)));
    return {
      gatewayUrl,
      graphqlUrl: `${gatewayUrl}/graphql`,
      identityUrl,
      campaignUrl,
      realtimeUrl,
      simulationUrl,
      providerUrl,
      notificationUrl,
      analyticsUrl,
      contentUrl,
      contentDir: contentConfig.CONTENT_DIR,
      analyticsDatabaseUrl: analyticsDb.url,
      logs,
      apps: { gateway, identity, campaign, realtime, simulation, simulationWorker, provider, providerWorker, notification, notificationWorker, analytics, analyticsWorker, content },
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
