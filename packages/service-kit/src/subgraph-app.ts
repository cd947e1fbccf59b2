import type { IncomingMessage, Server } from "node:http";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper";
import type { DocumentNode } from "graphql";
import { apolloHandler } from "./apollo-http";
import { apolloService } from "./apollo-service";
import { answerVersionsPlugin, createAnswerVersions, type AnswerVersions } from "./answer-versions";
import type { HttpTimeouts } from "./config";
import { enforceAuthorization, type Policies } from "./authorization";
import { requestLoggingPlugin, metricsPlugin } from "./apollo-plugins";
import { REQUEST_ID_HEADER, requestIdFrom } from "./correlation";
import { ErrorCode, maskError, requestError } from "./errors";
import type { ReadinessCheck } from "./health";
import { createHttpService, headerValue, type RouteHandler } from "./http-server";
import { IDENTITY_HEADER, createIdentityVerifier } from "./identity-assertion";
import type { Service } from "./lifecycle";
import type { Logger } from "./logger";
import { createMetrics, type Metrics } from "./metrics";
import { retryAfterStatusPlugin } from "./retry-after-status";
import { surfaceDatabaseOutages } from "./surface-database-outages";
import type { Viewer } from "./viewer";

/**
 * What every subgraph resolver receives. `answer`: the campaign feeds' versions the request's
 * reads came from, for a root field that vouches for its answer (answer-versions.ts).
 */
export type SubgraphContext<Loaders> = { viewer: Viewer; requestId: string; logger: Logger; loaders: Loaders; answer: AnswerVersions };

/**
 * The caller's signed identity as the gateway sent it, to forward unchanged to another
 * subgraph; `revalidate`: the gateway sent `Cache-Control: no-cache` (it re-checks a live
 * subscriber's access), so answers about who may read are asked afresh, never taken from a cache.
 */
export type ForwardedIdentity = { identity?: string; requestId: string; revalidate?: boolean };

export type SubgraphAppOptions<Loaders> = {
  name: string;
  config: {
    NODE_ENV: string;
    HOST: string;
    PORT: number;
    GATEWAY_SIGNING_SECRET: string;
    BODY_LIMIT_BYTES: number;
    SHUTDOWN_GRACE_MS: number;
  } & HttpTimeouts;
  logger: Logger;
  typeDefs: DocumentNode;
  // A resolver map typed by graphql-codegen (`Resolvers<Context>`); its shape is stricter
  // than, but not assignable to, the map buildSubgraphSchema declares.
  resolvers: object;
  /**
   * Entity types whose every field here answers from versioned reads alone, so that an
   * entity fetch of them may be kept by the gateway (answer-versions.ts).
   */
  versionedEntities?: readonly string[];
  /** Data-dependent rules named by `@policy` in the schema (see authorization.ts). */
  policies?: Policies<SubgraphContext<Loaders>>;
  /**
   * One loader set per request, so batching never leaks across callers. `forwarded` is the
   * request's gateway identity as received, for a subgraph that asks another on the
   * caller's behalf (realtime asks campaign about memberships) without signing one itself.
   * `answer`: where reads of versioned read models note the versions they read.
   */
  createLoaders: (viewer: Viewer, forwarded: ForwardedIdentity, answer: AnswerVersions) => Loaders;
  readiness: ReadinessCheck[];
  routes?: Record<string, RouteHandler>;
  /** POST routes for internal calls (e.g. identity's API-key verification); they check their caller. */
  postRoutes?: Record<string, RouteHandler>;
  /** GET routes by path prefix (provider's `/content/<sha256>`). */
  prefixRoutes?: Record<string, RouteHandler>;
  /** Every method by path prefix (content's resumable uploads). */
  protocolRoutes?: Record<string, RouteHandler>;
  /** Starts background work (an outbox relay, a sweeper) once the server listens. */
  onListen?: () => void;
  /** Closes what the subgraph opened (database pool, Redis), after HTTP has drained. */
  onStop?: () => Promise<void>;
};

export type SubgraphApp = Service & { metrics: Metrics; httpServer: Server };

/**
 * Builds a subgraph as a value: start it on port 0 in a test, or from main.ts. Every
 * GraphQL request must carry the gateway's signed identity (docs/architecture.md §3).
 */
export function createSubgraphApp<Loaders>(options: SubgraphAppOptions<Loaders>): SubgraphApp {
  const { config, logger } = options;
  const metrics = createMetrics(options.name);
  const verifyIdentity = createIdentityVerifier(config.GATEWAY_SIGNING_SECRET);
  const apollo = new ApolloServer<SubgraphContext<Loaders>>({
    schema: surfaceDatabaseOutages(
      enforceAuthorization(
        buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> }]),
        { policies: options.policies ?? {}, viewerOf: (context: SubgraphContext<Loaders>) => context.viewer },
      ),
      { loggerOf: (context: SubgraphContext<Loaders>) => context.logger },
    ),
    includeStacktraceInErrorResponses: false,
    // runService owns SIGTERM/SIGINT; Apollo's own handlers would re-raise the signal.
    stopOnTerminationSignals: false,
    introspection: config.NODE_ENV !== "production",
    formatError: maskError,
    logger,
    // Inline traces (ftv1) only feed Apollo Studio, which we do not use; they cost CPU per field.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      metricsPlugin(metrics),
      requestLoggingPlugin(),
      retryAfterStatusPlugin(),
      answerVersionsPlugin({ versionedEntities: options.versionedEntities }),
    ],
  });

  const context = async (req: IncomingMessage): Promise<SubgraphContext<Loaders>> => {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    const requestLogger = logger.child({ requestId });
    let viewer: Viewer;
    try {
      viewer = await verifyIdentity(headerValue(req, IDENTITY_HEADER));
    } catch (error) {
      requestLogger.warn({ reason: (error as Error).message }, "rejected a request that did not come through the gateway");
      throw requestError(ErrorCode.UNAUTHENTICATED, "Requests must come through the gateway");
    }
    const forwarded = { identity: headerValue(req, IDENTITY_HEADER), requestId, revalidate: /\bno-cache\b/i.test(headerValue(req, "cache-control") ?? "") };
    const answer = createAnswerVersions();
    return { viewer, requestId, logger: requestLogger, loaders: options.createLoaders(viewer, forwarded, answer), answer };
  };

  const http = createHttpService({
    logger,
    metrics,
    readiness: options.readiness,
    routes: options.routes,
    postRoutes: options.postRoutes,
    prefixRoutes: options.prefixRoutes,
    protocolRoutes: options.protocolRoutes,
    fallback: apolloHandler(apollo, { bodyLimit: config.BODY_LIMIT_BYTES, context }),
    timeouts: config,
    service: options.name,
  });

  const service = apolloService(apollo, http, { port: config.PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS, onStop: options.onStop });
  const listen = async () => {
    const url = await service.listen();
    options.onListen?.();
    return url;
  };
  return { metrics, httpServer: service.httpServer, listen, stop: service.stop };
}
