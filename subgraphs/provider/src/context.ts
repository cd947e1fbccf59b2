import type { SubgraphContext } from "@startales/service-kit";
import type { ProviderLoaders } from "./loaders";

export type ProviderContext = SubgraphContext<ProviderLoaders>;
