import type { Logger } from "@startales/service-kit";
import type { AnalyticsConfig } from "../config";
import type { AnalyticsStore } from "./analytics-store";
import { createPostgresStore } from "./postgres";

export type { AnalyticsStore } from "./analytics-store";

/** The engine ANALYTICS_STORE names, for the subgraph (reads) or the ingest (writes). */
export function createStore(config: AnalyticsConfig, logger: Logger): AnalyticsStore {
  return createPostgresStore({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, retentionDays: config.ANALYTICS_RAW_RETENTION_DAYS, logger });
}
