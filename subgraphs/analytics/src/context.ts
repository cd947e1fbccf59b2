import type { SubgraphContext } from "@startales/service-kit";

/** Analytics reads rollups with one query per field: no loaders to share within a request. */
export type AnalyticsLoaders = Record<string, never>;

export type AnalyticsContext = SubgraphContext<AnalyticsLoaders>;
