import { z } from "zod";
import { notificationTopicShape, outboxConfigShape, subgraphConfigShape } from "@startales/service-kit";

export const campaignConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4002, database: "startales_campaign" }),
  ...outboxConfigShape,
  /** Where campaign asks notification to tell members about changes (notification reads the same). */
  ...notificationTopicShape,
});

export type CampaignConfig = z.infer<typeof campaignConfigSchema>;
