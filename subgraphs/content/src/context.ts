import type DataLoader from "dataloader";
import type { CampaignAccess, SubgraphContext } from "@startales/service-kit";

/** Who the caller is to each campaign a request names, asked of campaign once per request (batched). */
export type ContentLoaders = { campaignAccess: DataLoader<string, CampaignAccess> };

export type ContentContext = SubgraphContext<ContentLoaders>;
