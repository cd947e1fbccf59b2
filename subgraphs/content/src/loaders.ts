import DataLoader from "dataloader";
import type { CampaignClient, ForwardedIdentity } from "@startales/service-kit";
import type { ContentLoaders } from "./context";

/** One request's loaders: campaign is asked as the caller (their forwarded identity), so its own rules decide. */
export const createLoaders = (campaigns: CampaignClient, forwarded: ForwardedIdentity): ContentLoaders => ({
  campaignAccess: new DataLoader((ids: readonly string[]) => campaigns.access(forwarded, ids)),
});
