import { databaseReadiness, type Logger } from "@startales/service-kit";
import type { AnalyticsStore } from "../analytics-store";
import { createDb } from "./db";
import { footprintOf, forgetUser, forgottenAmong } from "./forget-user";
import { createPartmanPartitions } from "./partman-partitions";
import { createPartitions } from "./partitions";
import { postgresReads } from "./reads";
import { writeEvents } from "./write-events";

/**
 * The default engine: the analytics database on PostgreSQL (migrated by Prisma), raw events
 * in day partitions (kept by the store, or by pg_partman), rollups upserted by the ingest in
 * the statement that keeps the events.
 */
export function createPostgresStore(options: {
  url: string;
  poolSize: number;
  /** How long a query waits for a connection (DATABASE_POOL_TIMEOUT_MS). */
  poolWaitMs?: number;
  retentionDays: number;
  logger: Logger;
  now?: () => number;
  /** Who keeps the day partitions (ANALYTICS_PARTITIONS): the store itself, or pg_partman where the server has it. */
  partitions?: "native" | "pg_partman";
}): AnalyticsStore {
  const db = createDb(options.url, options.poolSize, options.poolWaitMs);
  const manager = options.partitions === "pg_partman" ? createPartmanPartitions : createPartitions;
  const partitions = manager({ db, retentionDays: options.retentionDays, logger: options.logger, now: options.now });
  return {
    engine: "postgres",
    writeEvents: (rows) => writeEvents(db, partitions, rows),
    sweep: () => partitions.sweep(),
    ...postgresReads(db),
    footprint: (userId) => footprintOf(db, userId),
    forgetUser: (userId) => forgetUser(db, userId),
    forgottenAmong: (userIds) => forgottenAmong(db, userIds),
    readiness: databaseReadiness(db),
    close: () => db.$disconnect(),
  };
}
