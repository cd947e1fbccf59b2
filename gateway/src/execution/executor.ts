import * as federation from "@apollo/federation-internals";
import type { Operation } from "@apollo/federation-internals";
import { buildOperationContext, type OperationContext } from "@apollo/gateway/dist/operationContext";
import { QueryPlanner, type QueryPlan } from "@apollo/query-planner";
import type { GatewayExecutionResult, GatewayExecutor, GatewayGraphQLRequestContext } from "@apollo/server-gateway-interface";
import { GraphQLError, Kind, OperationTypeNode, executeSync, visit, type DocumentNode, type GraphQLSchema, type SelectionNode, type VariableDefinitionNode } from "graphql";
import { getVariableValues } from "graphql/execution/values";
import { createTtlCache, withSpan, withSpanSync } from "@startales/service-kit";
import type { GatewayContext } from "../context";
import { executePlan, type SendToSubgraph } from "./plan-execution";
import { prepareResponseShape, shapeResponse, type ResponseShape } from "./response-shape";
import type { FetchScope } from "./subgraph-client";

const { Supergraph, operationFromDocument } = federation;

type SendWithScope = (serviceName: string, request: Parameters<SendToSubgraph>[1], scope: FetchScope) => ReturnType<SendToSubgraph>;

/** Everything about one document and operation name that does not depend on the request. */
type Prepared = { context: OperationContext; plan: QueryPlan; operation: Operation; shape: ResponseShape } | { context: OperationContext; error: GraphQLError };

function introspectionDocument(selection: SelectionNode, definitions: readonly VariableDefinitionNode[] | undefined): DocumentNode {
  const used = new Set<string>();
  visit(selection, { Variable: ({ name }) => void used.add(name.value) });
  return {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        variableDefinitions: definitions?.filter((definition) => used.has(definition.variable.name.value)),
        selectionSet: { kind: Kind.SELECTION_SET, selections: [selection] },
      },
    ],
  };
}

/**
 * The gateway's executor: @apollo/gateway's query planner (plans cached per document and
 * operation name), then our own plan execution and response shaping (plan-execution.ts,
 * response-shape.ts), whose responses are the same JSON as stock @apollo/gateway's
 * (bench/gateway.ts checks it byte for byte; test/integration/gateway-executor.test.ts
 * compares the two on many shapes of query). What it spares per request: rebuilding the
 * operation in federation-internals' model, interpreting it to shape the response,
 * RemoteGraphQLDataSource's node-fetch objects, and tracing spans nobody records (ours are
 * coarser: planning, execution and one per fetch, and only while tracing is on).
 */
export function createQueryPlanExecutor(options: { supergraphSdl: string; planCacheSize?: number }) {
  const supergraph = Supergraph.build(options.supergraphSdl);
  const apiSchema = supergraph.apiSchema();
  const supergraphSchema = supergraph.schema.toGraphQLJSSchema();
  const planner = new QueryPlanner(supergraph);
  const limits = {
    recursiveSelectionsLimitDisabled: process.env.APOLLO_DISABLE_SECURITY_RECURSIVE_SELECTIONS_CHECK === "true",
    nonLocalSelectionsLimitDisabled: process.env.APOLLO_DISABLE_SECURITY_NON_LOCAL_SELECTIONS_CHECK === "true",
  };
  // Plans are few (one per operation clients send) and never go stale: a static supergraph.
  const prepared = createTtlCache<Prepared>({ maxEntries: options.planCacheSize ?? 1000 });

  /** The plan and response shape; planning errors are thrown (and not kept), as on stock. */
  function prepare(context: OperationContext, document: DocumentNode, operationName: string | undefined): Prepared {
    const plan = planner.buildQueryPlan(operationFromDocument(apiSchema, document, { operationName }), limits);
    let operation: Operation;
    try {
      operation = operationFromDocument(apiSchema, { kind: Kind.DOCUMENT, definitions: [context.operation, ...Object.values(context.fragments)] }, { validate: false });
    } catch (error) {
      if (error instanceof GraphQLError) return { context, error };
      throw error;
    }
    return { context, plan, operation, shape: prepareResponseShape(operation) };
  }

  /** Executes with the API schema Apollo Server validated the request against. */
  function executorFor(schema: GraphQLSchema, send: SendWithScope): GatewayExecutor {
    return async (requestContext: GatewayGraphQLRequestContext): Promise<GatewayExecutionResult> => {
      const { request, document, queryHash } = requestContext;
      const key = request.operationName ? `${queryHash}\0${request.operationName}` : queryHash;
      let entry = prepared.get(key);
      const context = entry?.context ?? buildOperationContext({ schema, operationDocument: document, operationName: request.operationName });

      // The variables, as @apollo/gateway checks them (Apollo Server leaves it to the gateway), before planning.
      const definitions = context.operation.variableDefinitions;
      if (definitions && definitions.length > 0) {
        const { errors } = getVariableValues(schema, definitions, request.variables ?? {});
        if (errors) return { errors };
      }
      if (!entry) prepared.set(key, (entry = withSpanSync("gateway", "graphql.plan", () => prepare(context, document, request.operationName))), Infinity);
      if ("error" in entry) return { errors: [entry.error] };

      const scope: FetchScope = { context: requestContext.context as GatewayContext, cachePolicy: requestContext.overallCachePolicy };
      const { operation, shape } = entry;
      const variables = request.variables;
      const plan = entry.plan;
      // The fetch spans are children of this one (docs/tracing.md).
      const { data: unshaped, errors } = await withSpan("gateway", "graphql.execute", () =>
        executePlan({ plan, operation, variables, supergraphSchema, send: (serviceName, subgraphRequest) => send(serviceName, subgraphRequest, scope) }),
      );
      try {
        const shaped = shapeResponse(shape, unshaped, variables, (selection) => {
          const result = executeSync({ schema: context.schema, document: introspectionDocument(selection, context.operation.variableDefinitions), rootValue: {}, variableValues: variables });
          if (result.errors?.length || !result.data) throw new Error(`Introspection query for ${JSON.stringify(selection)} should not have failed but got ${JSON.stringify(result.errors)}`);
          const name = selection.kind === Kind.FIELD ? (selection.alias?.value ?? selection.name.value) : "";
          return Object.prototype.hasOwnProperty.call(result.data, name) ? result.data[name] : undefined;
        });
        if (errors.length === 0 && shaped.errors.length > 0) return { extensions: { valueCompletion: shaped.errors }, data: shaped.data };
        return errors.length === 0 ? { data: shaped.data } : { errors, data: shaped.data };
      } catch (error) {
        if (error instanceof GraphQLError) return { errors: [error] };
        if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
        return { errors: [new GraphQLError("Unexpected error during query plan execution")] };
      }
    };
  }

  /** Each subgraph's name (a fetch's serviceName) and the URL the supergraph gives it. */
  return { subgraphs: supergraph.subgraphsMetadata(), executorFor };
}
