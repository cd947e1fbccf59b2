import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "@startales/service-kit";
import { loadGatewayConfig, type GatewayConfig } from "../../gateway/src/config";
import { analyticsConfigSchema, type AnalyticsConfig } from "../../subgraphs/analytics/src/config";
import { campaignConfigSchema, type CampaignConfig } from "../../subgraphs/campaign/src/config";
import { contentConfigSchema, type ContentConfig } from "../../subgraphs/content/src/config";
import { loadIdentityConfig, type IdentityConfig } from "../../subgraphs/identity/src/config";
import { notificationConfigSchema, type NotificationConfig } from "../../subgraphs/notification/src/config";
import { providerConfigSchema, type ProviderConfig } from "../../subgraphs/provider/src/config";
import { realtimeConfigSchema, type RealtimeConfig } from "../../subgraphs/realtime/src/config";
import { simulationConfigSchema, type SimulationConfig } from "../../subgraphs/simulation/src/config";
import { simulationWorkerConfigSchema, type SimulationWorkerConfig } from "../../subgraphs/simulation/src/worker-config";
import { gatewayService, wiredUrls } from "./services";

/** The environment a test service runs with: port 0, the run's databases and secrets. */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    PORT: "0",
    GATEWAY_SIGNING_SECRET: required("TEST_GATEWAY_SIGNING_SECRET"),
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    // Never the real integration stream (a developer's worker pool would act on it); the
    // run's streams are deleted by global-teardown. Stacks use one of their own below it.
    NOTIFICATION_TOPIC: testNotificationTopic(),
    // This test file's own: its campaign apps and simulation worker pools pair with each
    // other and with no other suite's (a stack uses one of its own below the run's).
    LIFECYCLE_TOPIC: testLifecycleTopic(FILE_ID),
    // Likewise its identity's erasure requests and the campaign apps and notification pools that read them.
    ACCOUNT_ERASURE_TOPIC: testAccountErasureTopic(FILE_ID),
    // And its identity's account mail and the notification pools that send it.
    ACCOUNT_MAIL_TOPIC: testAccountMailTopic(FILE_ID),
    // And the file's own firehoses (written only where an analytics pool reads them).
    EVENT_FIREHOSE_PREFIX: testFirehosePrefix(FILE_ID),
    DATABASE_POOL_SIZE: TEST_POOL_SIZE,
    DATABASE_POOL_TIMEOUT_MS: TEST_POOL_WAIT_MS,
    // Every commit that writes an outbox wakes its relay (in the process, or over Redis from a
    // worker pool), so the poll only catches what a wake missed: at 200 ms a stack's six relays
    // were most of an idle stack's PostgreSQL transactions (30 a second), every suite long.
    OUTBOX_POLL_MS: "1000",
    ...extra,
  };
}

/**
 * Every service's database pool in tests. Two stacks run at once (jest's two workers), each
 * a dozen processes with a pool each, against one PostgreSQL that takes 100 connections. At
 * 4-5 a pool one stack (the authorization matrix) peaked at 64 connections, so two stacks
 * under load went past 100 and a service answered SERVICE_UNAVAILABLE (CI, twice). Tests
 * need few: a request waits for a connection rather than failing.
 */
export const TEST_POOL_SIZE = "2";
/**
 * Identity's: every suite signs its users up and in at once (the authorization matrix, seven
 * actors a row), each a transaction of several writes. At 2, on a loaded CI machine, sign-ups
 * waited past the pool's 5 s for a connection and identity answered SERVICE_UNAVAILABLE (CI;
 * retryAfter 5 says it was identity's own answer, not the gateway's timeout).
 */
export const IDENTITY_TEST_POOL_SIZE = "4";
/**
 * How long a stream consumer's read waits for new entries (notification's events, the
 * simulation's lifecycle changes, analytics' firehoses). A new entry ends the wait at once and
 * stop() disconnects a waiting read, so a short block only made idle stacks loop: at 200 ms a
 * stack's dozen consumers asked Redis some 60 times a second, every suite long.
 */
export const TEST_BLOCK_MS = "1000";
/**
 * How long a test service's query waits for a connection of its small pool (production: 5 s,
 * then SERVICE_UNAVAILABLE). Two suites at once on a loaded 2-core CI run saturate the CPU, and
 * the authorization matrix's seven actors at once waited past 5 s on campaign's pool of 3. A
 * test asserts what a request answers, not how fast: the request waits; the gateway's subgraph
 * timeout in tests is longer still (gatewayTestConfig). The outage suite sets its own short one.
 */
export const TEST_POOL_WAIT_MS = "15000";
/** Campaign's: likewise for campaigns made, joined and started by several actors at once (its outbox relay shares the pool). */
export const CAMPAIGN_TEST_POOL_SIZE = "3";

/** Jest loads this module once per test file: an id of the file's own. */
const FILE_ID = randomUUID();

/** The run's campaign-lifecycle topic, or a file's or a stack's own under it (`suffix`). */
export const testLifecycleTopic = (suffix?: string) => `integration:campaign-lifecycle:test:${required("TEST_RUN_ID")}${suffix ? `:${suffix}` : ""}`;

/** The run's account-erasure topic, or a file's or a stack's own under it (`suffix`). */
export const testAccountMailTopic = (suffix?: string) => `integration:account-mail:test:${required("TEST_RUN_ID")}${suffix ? `:${suffix}` : ""}`;
export const testAccountErasureTopic = (suffix?: string) => `integration:account-erasures:test:${required("TEST_RUN_ID")}${suffix ? `:${suffix}` : ""}`;

/** The run's firehose prefix, or a file's or a stack's own under it (`suffix`): its producers and its analytics pool share it. */
export const testFirehosePrefix = (suffix?: string) => `firehose:test:${required("TEST_RUN_ID")}${suffix ? `:${suffix}` : ""}`;

/** The run's notification-request topic, or a stack's own under it (`suffix`). */
export const testNotificationTopic = (suffix?: string) => `integration:notifications:test:${required("TEST_RUN_ID")}${suffix ? `:${suffix}` : ""}`;

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (test/testkit/global-setup.ts)`);
  return value;
}

/** The file's own: tests that read mail links sign and verify with the same one. */
export const TEST_EMAIL_LINK_SECRET = randomBytes(32).toString("base64url");

export const identityTestConfig = (extra: Record<string, string> = {}): IdentityConfig =>
  loadIdentityConfig(
    testEnv({
      DATABASE_URL: required("IDENTITY_DATABASE_URL"),
      JWT_PRIVATE_KEY: required("TEST_JWT_PRIVATE_KEY"),
      EMAIL_LINK_SECRET: TEST_EMAIL_LINK_SECRET,
      DATABASE_POOL_SIZE: IDENTITY_TEST_POOL_SIZE,
      ...extra,
    }),
  );

export const campaignTestConfig = (extra: Record<string, string> = {}): CampaignConfig =>
  parseConfig(campaignConfigSchema, testEnv({ DATABASE_URL: required("CAMPAIGN_DATABASE_URL"), DATABASE_POOL_SIZE: CAMPAIGN_TEST_POOL_SIZE, ...extra }));

/** Realtime asks the campaign subgraph at `campaignUrl` (its origin, as listen() returns it). */
export const realtimeTestConfig = (campaignUrl: string, extra: Record<string, string> = {}): RealtimeConfig =>
  parseConfig(realtimeConfigSchema, testEnv({ DATABASE_URL: required("REALTIME_DATABASE_URL"), CAMPAIGN_URL: `${campaignUrl}/graphql`, ...extra }));

/** Simulation asks the campaign subgraph at `campaignUrl` (its origin) about memberships. */
export const simulationTestConfig = (campaignUrl: string, extra: Record<string, string> = {}): SimulationConfig =>
  parseConfig(simulationConfigSchema, testEnv({ DATABASE_URL: required("SIMULATION_DATABASE_URL"), CAMPAIGN_URL: `${campaignUrl}/graphql`, ...extra }));

/**
 * The simulation worker pool, fast for tests: stalled jobs are noticed within a second or
 * two, lifecycle changes taken over after two seconds. Give each
 * suite its own QUEUE_PREFIX (queues are in the shared Redis).
 */
export const simulationWorkerTestEnv = (campaignUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  testEnv({
    DATABASE_URL: required("SIMULATION_DATABASE_URL"),
    CAMPAIGN_URL: `${campaignUrl}/graphql`,
    DATABASE_POOL_SIZE: TEST_POOL_SIZE,
    WORKER_LOCK_DURATION_MS: "2000",
    WORKER_STALLED_INTERVAL_MS: "1000",
    LIFECYCLE_BLOCK_MS: TEST_BLOCK_MS,
    LIFECYCLE_CLAIM_IDLE_MS: "2000",
    TICK_BACKOFF_MS: "100",
    ...extra,
  });

export const simulationWorkerTestConfig = (campaignUrl: string, extra: Record<string, string> = {}): SimulationWorkerConfig =>
  parseConfig(simulationWorkerConfigSchema, simulationWorkerTestEnv(campaignUrl, extra));

/**
 * The provider subgraph and its worker pool (same config): its own Redis namespace per call
 * (queue, cache, limits), so stacks never run each other's jobs; fast retries.
 */
export const providerTestConfig = (campaignUrl: string, extra: Record<string, string> = {}): ProviderConfig =>
  parseConfig(providerConfigSchema, providerTestEnv(campaignUrl, extra));

/** The environment of providerTestConfig, for a worker pool run as its own process: pass the same env to both sides (it holds the namespace). */
export const providerTestEnv = (campaignUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  testEnv({
    DATABASE_URL: required("PROVIDER_DATABASE_URL"),
    CAMPAIGN_URL: `${campaignUrl}/graphql`,
    DATABASE_POOL_SIZE: TEST_POOL_SIZE,
    PROVIDER_REDIS_PREFIX: `provider:test:${randomUUID()}:`,
    PROVIDER_RETRY_BASE_MS: "50",
    PROVIDER_RETRY_MAX_MS: "2000",
    // Content URLs name the provider itself, whose /content/ serves only its own store (the
    // generated bytes are in content): startProvider names its content's origin instead, and
    // startStack the gateway's. A test that checks the public origin passes PROVIDER_PUBLIC_URL.
    PROVIDER_PUBLIC_URL: "self",
    ...extra,
  });

/** One per test process: every notification app and worker pool a test starts must read the secrets the others sealed. */
const WEBHOOK_TEST_SECRET_KEY = randomBytes(32).toString("base64url");

/**
 * The notification subgraph and its worker pool (same config): its own queue namespace per
 * call, fast retries and sweeps, a short blocking read (so stop() is quick). Push is off
 * unless `extra` names a PUSH_URL (test/testkit/fake-push.ts).
 */
export const notificationTestConfig = (campaignUrl: string, extra: Record<string, string> = {}): NotificationConfig =>
  parseConfig(
    notificationConfigSchema,
    testEnv({
      DATABASE_URL: required("NOTIFICATION_DATABASE_URL"),
      CAMPAIGN_URL: `${campaignUrl}/graphql`,
      DATABASE_POOL_SIZE: TEST_POOL_SIZE,
      NOTIFICATION_REDIS_PREFIX: `notification:test:${randomUUID()}:`,
      UNSUBSCRIBE_SIGNING_SECRET: randomBytes(32).toString("base64url"),
      DELIVERY_RETRY_BASE_MS: "50",
      DELIVERY_RETRY_MAX_MS: "500",
      EVENTS_BLOCK_MS: TEST_BLOCK_MS,
      EVENTS_CLAIM_IDLE_MS: "2000",
      // Outgoing webhooks: a key of the run's own, fast retries, and receivers on loopback (test/testkit/fake-webhook-receiver.ts).
      WEBHOOK_SECRET_KEY: WEBHOOK_TEST_SECRET_KEY,
      WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "true",
      WEBHOOK_RETRY_BASE_MS: "50",
      WEBHOOK_RETRY_MAX_MS: "500",
      ...extra,
    }),
  );

/** The analytics subgraph and its worker pool (same config), reading the firehoses of `EVENT_FIREHOSE_PREFIX` (the file's unless `extra` names one). */
export const analyticsTestConfig = (extra: Record<string, string> = {}): AnalyticsConfig =>
  parseConfig(analyticsConfigSchema, testEnv({ DATABASE_URL: required("ANALYTICS_DATABASE_URL"), INGEST_BLOCK_MS: TEST_BLOCK_MS, ...extra }));

/**
 * Content on the run's database, asking the campaign subgraph at `campaignUrl` (its origin), its bytes in a directory of its own (under the system's temp
 * directory; `CONTENT_DIR` to choose), a URL-signing secret of its own, and URLs naming
 * `publicBaseUrl` (the gateway, where one runs: startStack picks its port first).
 */
export const contentTestConfig = (campaignUrl: string, publicBaseUrl: string, extra: Record<string, string> = {}): ContentConfig =>
  parseConfig(
    contentConfigSchema,
    testEnv({
      DATABASE_URL: required("CONTENT_DATABASE_URL"),
      CAMPAIGN_URL: `${campaignUrl}/graphql`,
      DATABASE_POOL_SIZE: TEST_POOL_SIZE,
      CONTENT_DIR: extra.CONTENT_DIR ?? mkdtempSync(join(tmpdir(), "startales-content-")),
      CONTENT_URL_SIGNING_SECRET: randomBytes(32).toString("base64url"),
      CONTENT_PUBLIC_BASE_URL: publicBaseUrl,
      ...extra,
    }),
  );

export const gatewayTestConfig = (subgraphs: Record<string, string>, jwksUrl: string, extra: Record<string, string> = {}): GatewayConfig =>
  loadGatewayConfig(
    testEnv({
      // What services.json tells the gateway about the subgraphs given (identity's internal
      // routes, realtime's presence, provider's content), as npm start does.
      ...wiredUrls(gatewayService, subgraphs),
      IDENTITY_JWKS_URL: jwksUrl,
      ...Object.fromEntries(Object.entries(subgraphs).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`])),
      // Its own rate-limit buckets: every suite calls from 127.0.0.1, in parallel, and would
      // otherwise share one per-address budget. Pass the same prefix to share on purpose.
      RATE_LIMIT_KEY_PREFIX: `rate-limit:test:${randomUUID()}:`,
      // Longer than a subgraph's wait for a database connection (TEST_POOL_WAIT_MS), so a slow
      // answer on a loaded run is the subgraph's, not the gateway giving up on it.
      SUBGRAPH_TIMEOUT_MS: "30000",
      ...extra,
    }),
  );
