import { z } from "zod";
import { campaignReadAccessShape, outboxConfigShape, positiveInt, subgraphConfigShape, url } from "@startales/service-kit";

export const realtimeConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4008, database: "startales_realtime" }),
  /** The campaign subgraph's GraphQL endpoint: who belongs to which campaign is asked there. */
  CAMPAIGN_URL: url("http://127.0.0.1:4002/graphql"),
  /** How long a call to the campaign subgraph may take before it is SERVICE_UNAVAILABLE. */
  CAMPAIGN_TIMEOUT_MS: positiveInt(5_000),
  /** Who may read a campaign's chat and presence, kept per caller and membership version; posts always ask campaign. */
  ...campaignReadAccessShape,
  /** A connection counts as alive this long after its last connect or heartbeat. */
  PRESENCE_TTL_MS: positiveInt(60_000),
  /** Someone connected but inactive (no post, no setPresence ONLINE, no new connection) this long is AWAY. */
  PRESENCE_AWAY_AFTER_MS: positiveInt(300_000),
  /** How often the sweeper looks for lapsed connections and idle users. */
  PRESENCE_SWEEP_MS: positiveInt(5_000),
  /** Prefix of every presence key in Redis (replicas sharing presence must share it). */
  PRESENCE_KEY_PREFIX: z.string().min(1).default("presence:"),
  /** Approximate length each `events:presence:<campaignId>` stream is trimmed to. */
  PRESENCE_STREAM_MAX_LEN: positiveInt(10_000),
  ...outboxConfigShape,
});

export type RealtimeConfig = z.infer<typeof realtimeConfigSchema>;
