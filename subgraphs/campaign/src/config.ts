import { z } from "zod";
import { outboxConfigShape, subgraphConfigShape } from "@startales/service-kit";

export const campaignConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4002, database: "startales_campaign" }),
  ...outboxConfigShape,
});

export type CampaignConfig = z.infer<typeof campaignConfigSchema>;
