import { ApolloGateway } from "@apollo/gateway";
import type { GatewayExecutor, GatewayInterface } from "@apollo/server-gateway-interface";
import type { Logger } from "@startales/service-kit";
import { createQueryPlanExecutor } from "./executor";
import { createSubgraphClient } from "./subgraph-client";
import type { SubgraphMiddleware } from "./subgraph-middleware";

/**
 * The gateway Apollo Server drives: @apollo/gateway loads the static supergraph and builds
 * the API schema requests are validated against; our executor plans (with @apollo/gateway's
 * query planner) and runs every operation over our subgraph client.
 */
export function createFederatedGateway(options: {
  supergraphSdl: string;
  /** Where a subgraph really is, by name, when not where the supergraph says (deployments). */
  subgraphUrls?: Record<string, string>;
  connections: number;
  timeoutMs: number;
  logger?: Logger;
  /** Around every subgraph fetch, before the gateway's own (the entity cache). */
  middlewares?: readonly SubgraphMiddleware[];
}) {
  const gateway = new ApolloGateway({ supergraphSdl: options.supergraphSdl, ...(options.logger ? { logger: options.logger } : {}) });
  const plans = createQueryPlanExecutor({ supergraphSdl: options.supergraphSdl });
  const subgraphs = createSubgraphClient({
    urls: Object.fromEntries(plans.subgraphs.map(({ name, url }) => [name, options.subgraphUrls?.[name] ?? url])),
    connections: options.connections,
    timeoutMs: options.timeoutMs,
    middlewares: options.middlewares,
  });
  let executor: GatewayExecutor | undefined;
  const apolloGateway: GatewayInterface = {
    async load(loadOptions) {
      const { schema } = await gateway.load(loadOptions);
      executor = plans.executorFor(schema, subgraphs.send);
      return { schema, executor };
    },
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
  return {
    apolloGateway,
    /** The executor of the loaded schema (subscriptions run their queries through it). */
    executor(): GatewayExecutor {
      if (!executor) throw new Error("the supergraph is not loaded");
      return executor;
    },
    close: () => subgraphs.close(),
  };
}
