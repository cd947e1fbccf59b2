import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { DocumentNode, GraphQLSchema } from "graphql";
import { addCounter, createOperationLabels, errorCodeLabel, type Logger, type Metrics } from "@startales/service-kit";
import { createClientIdentities } from "../client-identity";
import { deprecatedInVariables, findDeprecatedUsage, type DeprecatedUsage } from "../deprecated-usage";
import type { OperationSample } from "../operation-stats";

/** Distinct operations whose deprecated usage is remembered; beyond it the least recently used is forgotten. */
export const USAGE_CACHE_SIZE = 1000;

/**
 * Remembers findDeprecatedUsage per (document, operation), keyed by the query's hash, so
 * each distinct operation is walked once and a request costs a map lookup. Least recently
 * used entries go first (a Map keeps insertion order; a hit re-inserts).
 */
function usageCache(size: number) {
  let schemaOfEntries: GraphQLSchema | undefined;
  const entries = new Map<string, DeprecatedUsage>();
  return (schema: GraphQLSchema, document: DocumentNode, queryHash: string, operationName: string | null | undefined): DeprecatedUsage => {
    // A new schema (a reloaded supergraph) deprecates other things.
    if (schema !== schemaOfEntries) {
      entries.clear();
      schemaOfEntries = schema;
    }
    const key = `${queryHash}:${operationName ?? ""}`;
    let usage = entries.get(key);
    if (usage) entries.delete(key);
    else usage = findDeprecatedUsage(schema, document, operationName);
    entries.set(key, usage);
    if (entries.size > size) entries.delete(entries.keys().next().value as string);
    return usage;
  };
}

/**
 * Who calls the API, and who still uses what it has deprecated, so a deprecated field is
 * removed once nobody needs it (README, Versioning):
 * - graphql_client_requests_total{client_name,client_version}: every GraphQL operation
 *   (each one of a batch), by the client that names itself in apollographql-client-name/-version.
 * - graphql_deprecated_field_usage_total{field,client_name,client_version}: per operation,
 *   each deprecated field, argument, enum value or input field it uses, by schema coordinate.
 * The schema is the request's: the gateway's API schema, which carries the subgraphs' @deprecated.
 * With `record`, each operation is also given to the usage statistics analytics keeps
 * (operation-stats.ts): by operation and client, its error codes, duration and deprecated use.
 */
export function clientUsagePlugin<T extends BaseContext & { logger: Logger }>(metrics: Metrics, record?: (sample: OperationSample) => void): ApolloServerPlugin<T> {
  const clients = createClientIdentities();
  const operationLabel = createOperationLabels();
  const usageOf = usageCache(USAGE_CACHE_SIZE);
  const requests = addCounter(metrics, {
    name: "graphql_client_requests_total",
    help: "GraphQL operations by the client that sent them (apollographql-client-name/-version headers)",
    labelNames: ["client_name", "client_version"] as const,
  });
  const deprecatedUsage = addCounter(metrics, {
    name: "graphql_deprecated_field_usage_total",
    help: "Operations using a deprecated field, argument, enum value or input field (schema coordinate), by client",
    labelNames: ["field", "client_name", "client_version"] as const,
  });
  return {
    async requestDidStart({ request }) {
      const started = process.hrtime.bigint();
      const client = clients(request.http?.headers);
      const labels = { client_name: client.name, client_version: client.version };
      requests.inc(labels);
      let deprecated: string[] = [];
      const errorCodes: string[] = [];
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) errorCodes.push(errorCodeLabel(error.extensions?.code));
        },
        async willSendResponse({ operationName }) {
          if (!record) return;
          const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
          record({ operation: operationLabel(operationName), clientName: client.name, clientVersion: client.version, durationMs, errorCodes, deprecated });
        },
        async didResolveOperation({ schema, document, queryHash, operationName, request: { variables }, contextValue }) {
          try {
            const usage = usageOf(schema, document, queryHash, operationName);
            if (usage.coordinates.length === 0 && usage.variables.length === 0) return;
            const used = new Set([...usage.coordinates, ...deprecatedInVariables(usage, variables)]);
            deprecated = [...used];
            for (const field of used) deprecatedUsage.inc({ field, ...labels });
            // Names of schema elements and of the client app only: nothing about the caller.
            if (used.size) contextValue.logger.debug({ client, operationName, deprecated: [...used] }, "operation uses deprecated schema elements");
          } catch (error) {
            // Bookkeeping never fails a request.
            contextValue.logger.warn({ err: error }, "could not record deprecated field usage");
          }
        },
      };
    },
  };
}
