import { readFileSync } from "node:fs";
import type { IncomingMessage, Server } from "node:http";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import type { GatewayInterface } from "@apollo/server-gateway-interface";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import {
  REQUEST_ID_HEADER,
  TRACEPARENT_HEADER,
  apolloHandler,
  createHttpService,
  createIdentitySigner,
  createMetrics,
  createRedis,
  requestLoggingPlugin,
  maskError,
  metricsPlugin,
  redisReadiness,
  requestIdFrom,
  type Logger,
  type Metrics,
  type Service,
} from "@startales/service-kit";
import { createAccessTokenVerifier } from "./access-token";
import type { GatewayConfig } from "./config";
import type { GatewayContext } from "./context";
import { SubgraphDataSource } from "./subgraph-data-source";
import { createSubgraphFetcher } from "./subgraph-fetcher";

export type GatewayApp = Service & { metrics: Metrics; httpServer: Server };

const header = (req: IncomingMessage, name: string) => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * The gateway as a value: @apollo/gateway plans and executes queries over the static
 * composed supergraph; we own auth, identity propagation, transport and error masking.
 */
export function createGatewayApp(config: GatewayConfig, logger: Logger): GatewayApp {
  const metrics = createMetrics("gateway");
  const redis = createRedis(config.REDIS_URL, "gateway");
  const verifyAccessToken = createAccessTokenVerifier({
    jwksUrl: config.IDENTITY_JWKS_URL,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  const signIdentity = createIdentitySigner(config.GATEWAY_SIGNING_SECRET);
  const subgraphFetch = createSubgraphFetcher({ connections: config.SUBGRAPH_CONNECTIONS, timeoutMs: config.SUBGRAPH_TIMEOUT_MS });

  const gateway = new ApolloGateway({
    logger,
    supergraphSdl: readFileSync(config.SUPERGRAPH_PATH, "utf8"),
    buildService: ({ name, url }) =>
      new SubgraphDataSource({ name, url: config.subgraphUrls[name] ?? url, fetcher: subgraphFetch.fetcher }),
  });

  const apollo = new ApolloServer<GatewayContext>({
    // @apollo/gateway implements the v1 gateway interface; Apollo Server 5 drives it unchanged.
    gateway: gateway as unknown as GatewayInterface,
    includeStacktraceInErrorResponses: false,
    // runService owns SIGTERM/SIGINT; Apollo's own handlers would re-raise the signal.
    stopOnTerminationSignals: false,
    introspection: config.INTROSPECTION,
    formatError: maskError,
    logger,
    plugins: [
      ...(config.NODE_ENV === "production" ? [ApolloServerPluginLandingPageDisabled()] : []),
      metricsPlugin(metrics),
      requestLoggingPlugin(),
    ],
  });

  const context = async (req: IncomingMessage): Promise<GatewayContext> => {
    const requestId = requestIdFrom(header(req, REQUEST_ID_HEADER));
    const viewer = await verifyAccessToken(header(req, "authorization"));
    let identity: Promise<string> | undefined;
    return {
      viewer,
      requestId,
      traceparent: header(req, TRACEPARENT_HEADER),
      logger: logger.child({ requestId }),
      identityToken: () => (identity ??= signIdentity(viewer, requestId)),
    };
  };

  let started = false;
  const http = createHttpService({
    logger,
    metrics,
    readiness: [
      redisReadiness(redis),
      { name: "supergraph", check: async () => { if (!started) throw new Error("not loaded"); } },
    ],
    fallback: apolloHandler(apollo, { bodyLimit: config.BODY_LIMIT_BYTES, context }),
  });

  return {
    metrics,
    httpServer: http.server,
    async listen() {
      await apollo.start();
      started = true;
      return http.listen(config.PORT, config.HOST);
    },
    async stop() {
      await http.close(config.SHUTDOWN_GRACE_MS);
      if (started) await apollo.stop();
      await subgraphFetch.close();
      redis.disconnect();
    },
  };
}
