import { randomUUID } from "node:crypto";
import type { GatewayExecutor, GatewayGraphQLRequestContext } from "@apollo/server-gateway-interface";
import { GraphQLError, type GraphQLFormattedError, type OperationDefinitionNode } from "graphql";
import type { Logger, Viewer } from "@startales/service-kit";
import type { AnswerDependency, GatewayContext } from "../context";
import { formatGatewayError } from "../format-error";
import type { PreparedQuery } from "./live-operation";

export type LiveResult = {
  data: Record<string, unknown> | null;
  errors: GraphQLFormattedError[];
  /**
   * Every subgraph said its part of the answer is PUBLIC with a max-age (their Cache-Control):
   * the same for everyone the fields' authorization lets through (service-kit cache-hints.ts).
   */
  shareable: boolean;
  /**
   * With `versions` asked for: the campaign versions every subgraph fetch of the answer named
   * (execution/versioned-answers.ts), or null when any fetch named none (or none was made).
   */
  versions?: AnswerDependency[] | null;
};
/** `revalidate`: the subgraphs decide access afresh (GatewayContext.revalidate), for authorize checks. */
export type LiveExecutor = (query: PreparedQuery, viewer: Viewer, extraVariables?: Record<string, unknown>, options?: { revalidate?: boolean; versions?: boolean }) => Promise<LiveResult>;

/** Collects what each fetch named: every one must name versions for the answer to rest on them. */
function versionsCollector() {
  const named: AnswerDependency[] = [];
  let fetches = 0;
  let unnamed = false;
  return {
    record(dependencies: readonly AnswerDependency[] | undefined) {
      fetches += 1;
      if (dependencies) named.push(...dependencies);
      else unnamed = true;
    },
    versions: () => (unnamed || fetches === 0 ? null : named),
  };
}

/**
 * The answer's cache policy as the executor narrows it with each subgraph's Cache-Control
 * (the part of Apollo Server's CachePolicy it calls): shareable only when every fetch said
 * public with a max-age. A fetch without a max-age makes it no-store, as for HTTP answers.
 */
function answerPolicy() {
  let maxAge: number | undefined;
  let scope: "PUBLIC" | "PRIVATE" = "PUBLIC";
  return {
    restrict(hint: { maxAge?: number; scope?: "PUBLIC" | "PRIVATE" }) {
      if (hint.maxAge !== undefined) maxAge = maxAge === undefined ? hint.maxAge : Math.min(maxAge, hint.maxAge);
      if (hint.scope === "PRIVATE") scope = "PRIVATE";
    },
    shareable: () => maxAge !== undefined && maxAge > 0 && scope === "PUBLIC",
  };
}

/**
 * Runs a prepared query through the gateway's query executor (execution/): the same query
 * planner (and plan cache), subgraph fetches, identity propagation and error masking as an
 * HTTP query, without Apollo Server's request pipeline (an event is not a client request: it is not
 * rate limited, safelisted or logged as one).
 */
export function createLiveExecutor(deps: {
  executor: () => GatewayExecutor;
  signIdentity: (viewer: Viewer, requestId: string) => Promise<string>;
  logger: Logger;
}): LiveExecutor {
  return async (query, viewer, extraVariables = {}, options = {}) => {
    const requestId = randomUUID();
    const logger = deps.logger.child({ requestId });
    let identity: Promise<string> | undefined;
    const context: GatewayContext = {
      viewer,
      requestId,
      logger,
      identityToken: () => (identity ??= deps.signIdentity(viewer, requestId)),
      rateLimit: { costKey: "subscription" },
      revalidate: options.revalidate,
    };
    const collector = options.versions ? versionsCollector() : undefined;
    if (collector) context.answerVersions = collector;
    const variables = { ...query.variables, ...extraVariables };
    const policy = answerPolicy();
    const requestContext = {
      request: { query: query.query, operationName: query.operationName, variables },
      document: query.document,
      source: query.query,
      queryHash: query.queryHash,
      operationName: query.operationName,
      operation: query.document.definitions[0] as OperationDefinitionNode,
      context,
      logger,
      metrics: {},
      cache: undefined,
      schema: undefined,
      schemaHash: undefined,
      overallCachePolicy: policy,
    } as unknown as GatewayGraphQLRequestContext<GatewayContext>;
    try {
      const result = await deps.executor()(requestContext);
      const errors = (result.errors ?? []).map((error) => formatGatewayError(error instanceof GraphQLError ? error.toJSON() : { message: String((error as { message?: unknown }).message) }, error));
      const versions = collector && errors.length === 0 ? { versions: collector.versions() } : {};
      return { data: (result.data as Record<string, unknown> | null | undefined) ?? null, errors, shareable: errors.length === 0 && policy.shareable(), ...versions };
    } catch (error) {
      logger.error({ err: error }, "a subscription query failed in the gateway");
      return { data: null, errors: [formatGatewayError({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }, error)], shareable: false };
    }
  };
}
