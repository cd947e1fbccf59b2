import { z } from "zod";
import { positiveInt, subgraphConfigShape } from "@startales/service-kit";

export const campaignConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4002, database: "startales_campaign" }),
  /** How often the outbox relay looks for unpublished events (it is also woken after each change). */
  OUTBOX_POLL_MS: positiveInt(200),
  /** Events the relay claims and publishes per transaction. */
  OUTBOX_BATCH_SIZE: positiveInt(100),
  /** Approximate length each `events:<topic>` stream is trimmed to. */
  EVENT_STREAM_MAX_LEN: positiveInt(100_000),
});

export type CampaignConfig = z.infer<typeof campaignConfigSchema>;
