import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import { createSubgraphApp, databaseReadiness, type Logger, type SubgraphApp } from "@startales/service-kit";
import type { AnalyticsConfig } from "./config";
import { createDb } from "./db";
import { createResolvers } from "./resolvers";

export const analyticsTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/**
 * The analytics subgraph as a value; `listen()` starts it (port 0 in tests). It only reads
 * the rollups its worker pool (the ingest) writes: no Redis, no outbox, no mutations.
 */
export function createAnalyticsApp(config: AnalyticsConfig, logger: Logger): SubgraphApp {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  return createSubgraphApp({
    name: "analytics",
    config,
    logger,
    typeDefs: analyticsTypeDefs,
    resolvers: createResolvers(db),
    createLoaders: () => ({}),
    readiness: [databaseReadiness(db)],
    onStop: () => db.$disconnect(),
  });
}
