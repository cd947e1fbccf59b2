import { randomUUID } from "node:crypto";
import { parseConfig } from "@startales/service-kit";
import { loadGatewayConfig, type GatewayConfig } from "../../gateway/src/config";
import { campaignConfigSchema, type CampaignConfig } from "../../subgraphs/campaign/src/config";
import { loadIdentityConfig, type IdentityConfig } from "../../subgraphs/identity/src/config";
import { realtimeConfigSchema, type RealtimeConfig } from "../../subgraphs/realtime/src/config";

/** The environment a test service runs with: port 0, the run's databases and secrets. */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    PORT: "0",
    GATEWAY_SIGNING_SECRET: required("TEST_GATEWAY_SIGNING_SECRET"),
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    ...extra,
  };
}

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (test/testkit/global-setup.ts)`);
  return value;
}

export const identityTestConfig = (extra: Record<string, string> = {}): IdentityConfig =>
  loadIdentityConfig(testEnv({ DATABASE_URL: required("IDENTITY_DATABASE_URL"), JWT_PRIVATE_KEY: required("TEST_JWT_PRIVATE_KEY"), ...extra }));

export const campaignTestConfig = (extra: Record<string, string> = {}): CampaignConfig =>
  parseConfig(campaignConfigSchema, testEnv({ DATABASE_URL: required("CAMPAIGN_DATABASE_URL"), ...extra }));

/** Realtime asks the campaign subgraph at `campaignUrl` (its origin, as listen() returns it). */
export const realtimeTestConfig = (campaignUrl: string, extra: Record<string, string> = {}): RealtimeConfig =>
  parseConfig(realtimeConfigSchema, testEnv({ DATABASE_URL: required("REALTIME_DATABASE_URL"), CAMPAIGN_URL: `${campaignUrl}/graphql`, ...extra }));

export const gatewayTestConfig = (subgraphs: Record<string, string>, jwksUrl: string, extra: Record<string, string> = {}): GatewayConfig =>
  loadGatewayConfig(
    testEnv({
      IDENTITY_JWKS_URL: jwksUrl,
      // Where the gateway verifies API keys: the identity subgraph's own origin.
      ...(subgraphs.identity ? { IDENTITY_INTERNAL_URL: subgraphs.identity } : {}),
      // Where the gateway reports its sockets for presence: the realtime subgraph's origin.
      ...(subgraphs.realtime ? { REALTIME_INTERNAL_URL: subgraphs.realtime } : {}),
      ...Object.fromEntries(Object.entries(subgraphs).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`])),
      // Its own rate-limit buckets: every suite calls from 127.0.0.1, in parallel, and would
      // otherwise share one per-address budget. Pass the same prefix to share on purpose.
      RATE_LIMIT_KEY_PREFIX: `rate-limit:test:${randomUUID()}:`,
      ...extra,
    }),
  );
