import type { IncomingMessage, Server } from "node:http";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import {
  REQUEST_ID_HEADER,
  TRACEPARENT_HEADER,
  apolloHandler,
  apolloService,
  createHttpService,
  createIdentitySigner,
  followCampaignVersions,
  createMetrics,
  createRedis,
  requestLoggingPlugin,
  retryAfterStatusPlugin,
  metricsPlugin,
  redisReadiness,
  requestIdFrom,
  type Logger,
  type Metrics,
  type Service,
  type Viewer,
  headerValue,
} from "@startales/service-kit";
import { createAccessTokenVerifier } from "./access-token";
import { createApiKeyVerifier } from "./api-key";
import { listenForRevocations } from "./revocations";
import { createAuthenticator } from "./authenticate";
import { createQueuesAdmin } from "./admin/queues-admin";
import { clientAddress } from "./client-address";
import type { GatewayConfig } from "./config";
import type { GatewayContext } from "./context";
import { formatGatewayError } from "./format-error";
import { clientUsagePlugin } from "./plugins/client-usage";
import { persistedOperations } from "./plugins/persisted-operations";
import { privateAnswersPlugin } from "./plugins/private-answers";
import { queryLimitsRule } from "./plugins/query-limits";
import { createRateLimits, type RateLimitState } from "./plugins/rate-limit";
import { operationAdmissionPlugin } from "./plugins/operation-admission";
import { preflightRequest, type PreflightLimits } from "./request-preflight";
import { liveCapturePlugin } from "./plugins/live-capture";
import { tracingPlugin } from "./plugins/tracing";
import { RESUMABLE_PATH, UPLOAD_PATH, createContentProxy } from "./content-proxy";
import { UNSUBSCRIBE_PATH, createUnsubscribeProxy } from "./unsubscribe-proxy";
import { createCors } from "./cors";
import { createExplorer } from "./explorer";
import { createConnectionAuthenticator } from "./subscriptions/connection-auth";
import { createEventBus } from "./subscriptions/event-bus";
import { liveFieldsFromSupergraph } from "./subscriptions/live-fields";
import { createLiveExecutor } from "./subscriptions/live-executor";
import { createPresenceReporter } from "./subscriptions/presence-reporter";
import { attachSubscriptionServer } from "./subscriptions/ws-server";
import { loadSupergraphSdl } from "./supergraph";
import { createOperationStats } from "./operation-stats";
import { createFederatedGateway } from "./execution/federated-gateway";
import { entityCacheMiddleware } from "./execution/entity-cache";
import { versionedAnswerMiddleware } from "./execution/versioned-answers";

export type GatewayApp = Service & {
  metrics: Metrics;
  httpServer: Server;
  /** Where the queues admin listens (QUEUES_ADMIN_PORT), once listening; undefined when it is off. */
  queuesAdminUrl(): string | undefined;
};

/**
 * The gateway as a value: @apollo/gateway's query planner over the static composed
 * supergraph; we own plan execution (execution/), auth, identity propagation, transport and
 * error masking.
 */
export function createGatewayApp(config: GatewayConfig, logger: Logger): GatewayApp {
  const metrics = createMetrics("gateway");
  const redis = createRedis(config.REDIS_URL, "gateway");
  const verifyAccessToken = createAccessTokenVerifier({
    jwksUrl: config.IDENTITY_JWKS_URL,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    registry: metrics.registry,
  });
  const signIdentity = createIdentitySigner(config.GATEWAY_SIGNING_SECRET);
  const apiKeys = createApiKeyVerifier({ identityUrl: config.IDENTITY_INTERNAL_URL, ttlMs: config.API_KEY_CACHE_TTL_MS, signIdentity, logger });
  const authenticate = createAuthenticator({ verifyAccessToken, apiKeys });
  const rateLimits = createRateLimits({ redis, config, logger });
  const operationStats = createOperationStats({
    redis,
    firehosePrefix: config.EVENT_FIREHOSE_PREFIX,
    windowMs: config.OPERATION_STATS_WINDOW_MS,
    logger: logger.child({ component: "operation-stats" }),
  });

  // Which campaign versions are current, for the answers kept until they move (versioned-answers.ts).
  const answerVersions = followCampaignVersions(redis, config, { logger: logger.child({ component: "versioned-answers" }), connectionName: "gateway-answer-versions", follows: ["world", "campaign"] });

  const supergraphSdl = loadSupergraphSdl(config.SUPERGRAPH_PATH);
  // A subscription field the gateway could not serve stops it here, not at a player's subscribe.
  const liveFields = liveFieldsFromSupergraph(supergraphSdl);
  const gateway = createFederatedGateway({
    supergraphSdl,
    subgraphUrls: config.subgraphUrls,
    connections: config.SUBGRAPH_CONNECTIONS,
    timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    logger,
    middlewares: [
      versionedAnswerMiddleware({ versions: answerVersions, maxEntries: config.VERSIONED_ANSWERS_MAX_ENTRIES, maxBytes: config.VERSIONED_ANSWERS_MAX_BYTES, maxTtlMs: config.VERSIONED_ANSWERS_MAX_TTL_MS, metrics }),
      entityCacheMiddleware({ types: config.ENTITY_CACHE_TYPES, maxEntries: config.ENTITY_CACHE_MAX_ENTRIES, maxTtlMs: config.ENTITY_CACHE_MAX_TTL_MS, metrics }),
    ],
  });

  const preflightLimits: PreflightLimits = { maxDepth: config.MAX_INPUT_DEPTH, maxValues: config.MAX_VARIABLE_VALUES, maxTokens: config.MAX_TOKENS };
  const preflight = (operation: Record<string, unknown>) => preflightRequest(operation, preflightLimits);

  const persisted = persistedOperations<GatewayContext>({
    mode: config.SAFELIST_MODE,
    manifestPath: config.OPERATION_SAFELIST_PATH,
    redis,
    ttlSeconds: config.APQ_TTL_SECONDS,
    logger,
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway: gateway.apolloGateway,
    includeStacktraceInErrorResponses: false,
    // runService owns SIGTERM/SIGINT; Apollo's own handlers would re-raise the signal.
    stopOnTerminationSignals: false,
    introspection: config.INTROSPECTION,
    formatError: formatGatewayError,
    // Query limits: a document over one is refused before it is planned or sent anywhere.
    parseOptions: { maxTokens: config.MAX_TOKENS },
    validationRules: [
      queryLimitsRule({ maxDepth: config.MAX_QUERY_DEPTH, maxAliases: config.MAX_ALIASES, maxDirectives: config.MAX_DIRECTIVES, maxCost: config.MAX_QUERY_COST }),
    ],
    allowBatchedHttpRequests: config.MAX_BATCH_SIZE > 0,
    persistedQueries: persisted.persistedQueries,
    logger,
    plugins: [
      // Apollo's landing page (Sandbox) loads from the internet: the explorer replaces it (explorer/).
      ApolloServerPluginLandingPageDisabled(),
      metricsPlugin(metrics),
      // Which clients call, and which of them still use deprecated fields (README, Versioning);
      // each operation also counted for analytics' API statistics.
      clientUsagePlugin(metrics, operationStats.record),
      requestLoggingPlugin(logger),
      // Spans for parsing and validation (planning and the fetches are the executor's).
      tracingPlugin(),
      // Nothing answered and retryable: 503 with Retry-After, which proxies and clients understand.
      retryAfterStatusPlugin(),
      // Cache-Control from the subgraphs' hints, never shareable when the request was signed in.
      privateAnswersPlugin(),
      ...persisted.plugins,
      // An operation that cannot run is refused here, before its cost is charged.
      operationAdmissionPlugin({ maxCost: config.MAX_QUERY_COST, chargeCost: rateLimits.chargeCost }),
      rateLimits.plugin,
      // Last: a subscription is handed over only once every other plugin has passed it.
      liveCapturePlugin(),
    ],
  });

  const context = async (req: IncomingMessage): Promise<GatewayContext> => {
    const requestId = requestIdFrom(headerValue(req, REQUEST_ID_HEADER));
    const address = clientAddress(req, config.TRUST_PROXY);
    // A token verified before is known without work: its address and user are charged together.
    const known = authenticate.known(req);
    let viewer: Viewer;
    let rateLimit: RateLimitState;
    if (known) {
      viewer = known;
      rateLimit = await rateLimits.chargeAddressAndViewer(address, known);
    } else {
      // The address first: a flood is refused before any token or API key is verified.
      rateLimit = await rateLimits.chargeAddress(address);
      viewer = await authenticate(req, requestId);
      await rateLimits.chargeViewer(viewer, rateLimit);
    }
    let identity: Promise<string> | undefined;
    return {
      viewer,
      requestId,
      traceparent: headerValue(req, TRACEPARENT_HEADER),
      logger: logger.child({ requestId }),
      identityToken: () => (identity ??= signIdentity(viewer, requestId)),
      rateLimit,
    };
  };

  const content = createContentProxy({
    contentUrl: config.CONTENT_URL,
    providerUrl: config.PROVIDER_CONTENT_URL,
    timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    chargeAddress: (req) => rateLimits.chargeAddress(clientAddress(req, config.TRUST_PROXY)),
    // As a GraphQL request: the address first (a flood is refused before any credential is verified), then the user.
    authenticate: async (req, requestId) => {
      const state = await rateLimits.chargeAddress(clientAddress(req, config.TRUST_PROXY));
      const viewer = authenticate.known(req) ?? (await authenticate(req, requestId));
      await rateLimits.chargeViewer(viewer, state);
      return viewer;
    },
    signIdentity,
    logger,
  });

  const unsubscribe = createUnsubscribeProxy({
    notificationUrl: config.NOTIFICATION_URL,
    timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    chargeAddress: (req) => rateLimits.chargeAddress(clientAddress(req, config.TRUST_PROXY)),
    logger,
  });
  const explorer = createExplorer({ enabled: config.EXPLORER, logger });
  const withCors = createCors(config.CORS_ORIGINS);

  const http = createHttpService({
    logger,
    metrics,
    readiness: [
      // A gateway that cannot hear revocations would honour revoked keys and deleted accounts: not ready.
      { name: "redis", check: async () => { await redisReadiness(redis).check(); revocations.assertListening(); } },
      { name: "supergraph", check: async () => { if (!service.isStarted()) throw new Error("not loaded"); } },
    ],
    routes: explorer.routes,
    prefixRoutes: { "/content/": withCors(content.download), ...explorer.prefixRoutes },
    postRoutes: { [UPLOAD_PATH]: withCors(content.upload) },
    // Mail clients' one-click POSTs are not browsers' requests: no CORS.
    protocolRoutes: { [RESUMABLE_PATH]: withCors(content.resumable), [UNSUBSCRIBE_PATH]: unsubscribe.handle },
    // CORS first: it answers the preflights (OPTIONS) of /graphql and /content/, which land here.
    fallback: withCors(explorer.graphqlPage(apolloHandler(apollo, { bodyLimit: config.BODY_LIMIT_BYTES, maxBatchSize: config.MAX_BATCH_SIZE, context, preflight, logger, conditionalGets: true }))),
    timeouts: config,
    tls: config.tls,
    service: "gateway",
  });

  const bus = createEventBus({ redisUrl: config.REDIS_URL, redis, logger: logger.child({ component: "event-bus" }) });
  const subscriptions = attachSubscriptionServer({
    config,
    logger: logger.child({ component: "subscriptions" }),
    metrics,
    httpServer: http.server,
    apollo,
    redis,
    bus,
    execute: createLiveExecutor({ executor: gateway.executor, signIdentity, logger }),
    // Followed only while answers are kept (VERSIONED_ANSWERS_MAX_ENTRIES > 0); otherwise every check asks.
    ...(config.VERSIONED_ANSWERS_MAX_ENTRIES > 0 ? { versions: answerVersions } : {}),
    liveFields,
    authenticate: createConnectionAuthenticator({ verifyAccessToken, apiKeys }),
    rateLimits,
    signIdentity,
    presence: createPresenceReporter({ realtimeUrl: config.REALTIME_INTERNAL_URL, signIdentity, logger }),
    preflight,
  });

  // A revoked key is forgotten by the cache and its sockets are closed; so are a deleted account's tokens and sockets.
  const revocations = listenForRevocations({
    redisUrl: config.REDIS_URL,
    redis,
    logger,
    onApiKeyRevoked: (keyHash) => {
      apiKeys.evict(keyHash);
      subscriptions.revokeApiKey(keyHash);
    },
    onAccountDeleted: (userId, until) => {
      verifyAccessToken.refuseAccount(userId, until);
      subscriptions.closeAccount(userId);
    },
    // Its sockets were opened with tokens that may be void now; clients reconnect with new ones.
    onSessionsRevoked: (revoked) => {
      verifyAccessToken.refuseIssuedBefore(revoked.userId, revoked.notBefore, revoked.until);
      subscriptions.closeAccount(revoked.userId);
    },
    onReconnected: () => {
      apiKeys.clear();
      subscriptions.reverifyApiKeys();
    },
  });

  const service = apolloService(apollo, http, {
    port: config.PORT,
    host: config.HOST,
    graceMs: config.SHUTDOWN_GRACE_MS,
    onStop: async () => {
      await gateway.close();
      await content.close();
      await unsubscribe.close();
      // The last window's counts, while Redis is still there.
      await operationStats.stop();
      answerVersions.stop();
      redis.disconnect();
      revocations.close();
    },
  });
  // bull-board for the worker pools' queues, ADMINs only, on its own port (docs/queues-admin.md).
  const queuesAdmin =
    config.QUEUES_ADMIN_PORT === undefined
      ? undefined
      : createQueuesAdmin({
          port: config.QUEUES_ADMIN_PORT,
          host: config.HOST,
          prefixes: config.QUEUES_ADMIN_PREFIXES,
          discoveryMs: config.QUEUES_ADMIN_DISCOVERY_MS,
          redisUrl: config.REDIS_URL,
          graceMs: config.SHUTDOWN_GRACE_MS,
          timeouts: config,
          ...(config.tls ? { tls: config.tls } : {}),
          authenticate,
          apiKeys,
          logger,
          metrics,
        });
  return {
    metrics,
    httpServer: service.httpServer,
    queuesAdminUrl: () => queuesAdmin?.url(),
    async listen() {
      const url = await service.listen();
      await queuesAdmin?.listen();
      operationStats.start();
      // Without the subscription nothing is kept: every fetch goes to its subgraph, as before.
      if (config.VERSIONED_ANSWERS_MAX_ENTRIES > 0) {
        void answerVersions.start().catch((error: unknown) => logger.error({ err: error }, "could not subscribe to campaign events; no versioned answers are kept"));
      }
      return url;
    },
    async stop() {
      // Sockets first: an upgraded socket would hold the HTTP server's close open.
      await subscriptions.close();
      await Promise.all([service.stop(), queuesAdmin?.stop()]);
    },
  };
}
