import type { SubgraphContext } from "@startales/service-kit";
import type { CampaignLoaders } from "./loaders";

export type CampaignContext = SubgraphContext<CampaignLoaders>;
