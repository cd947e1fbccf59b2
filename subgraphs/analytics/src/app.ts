import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import { createSubgraphApp, type Logger, type SubgraphApp } from "@startales/service-kit";
import type { AnalyticsConfig } from "./config";
import { createResolvers } from "./resolvers";
import { createStore } from "./store";

export const analyticsTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/**
 * The analytics subgraph as a value; `listen()` starts it (port 0 in tests). It only reads
 * the rollups its worker pool (the ingest) writes (no Redis, no outbox); its one mutation,
 * forgetUser, erases a user for an admin.
 */
export function createAnalyticsApp(config: AnalyticsConfig, logger: Logger): SubgraphApp {
  const store = createStore(config, logger);
  return createSubgraphApp({
    name: "analytics",
    config,
    logger,
    typeDefs: analyticsTypeDefs,
    resolvers: createResolvers(store),
    createLoaders: () => ({}),
    readiness: [store.readiness],
    onStop: () => store.close(),
  });
}
