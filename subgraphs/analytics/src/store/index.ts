import type { Logger } from "@startales/service-kit";
import type { AnalyticsConfig } from "../config";
import type { AnalyticsStore } from "./analytics-store";
import { createClickHouseStore } from "./clickhouse";
import { createPostgresStore } from "./postgres";

export type { AnalyticsStore } from "./analytics-store";

/** The engine ANALYTICS_STORE names, for the subgraph (reads) or the ingest (writes). */
export function createStore(config: AnalyticsConfig, logger: Logger): AnalyticsStore {
  const retentionDays = config.ANALYTICS_RAW_RETENTION_DAYS;
  if (config.ANALYTICS_STORE === "clickhouse") {
    return createClickHouseStore({
      url: config.CLICKHOUSE_URL,
      database: config.CLICKHOUSE_DATABASE,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      retentionDays,
      logger,
    });
  }
  return createPostgresStore({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, poolWaitMs: config.DATABASE_POOL_TIMEOUT_MS, retentionDays, logger, partitions: config.ANALYTICS_PARTITIONS });
}
