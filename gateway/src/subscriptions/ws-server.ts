import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { ApolloServer } from "@apollo/server";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { WebSocketServer, type WebSocket } from "ws";
import { ErrorCode, appError, logAnswer, logFailure, type CampaignVersions, type Logger, type Metrics, type Redis, type Viewer } from "@startales/service-kit";
import { clientAddress } from "../client-address";
import type { GatewayConfig } from "../config";
import type { GatewayContext, LiveCapture } from "../context";
import { formatGatewayError } from "../format-error";
import type { createRateLimits } from "../plugins/rate-limit";
import { Connection, type ConnectionHandlers } from "./connection";
import type { ConnectionAuthenticator } from "./connection-auth";
import { createConnectionCaps } from "./connection-caps";
import type { EventBus } from "./event-bus";
import type { LiveField } from "./live-fields";
import type { LiveExecutor } from "./live-executor";
import { createLiveHub } from "./live-hub";
import { prepareLiveOperation } from "./live-operation";
import type { PresenceReporter } from "./presence-reporter";
import { CloseCode, SUBPROTOCOL } from "./protocol";
import { createSubscriptionMetrics } from "./subscription-metrics";

export type SubscriptionServer = {
  /** Closes the sockets of a revoked API key (identity announced it). */
  revokeApiKey(keyHash: string): void;
  /** Revocations may have been missed: API-key sockets reconnect and are verified again. */
  reverifyApiKeys(): void;
  /** Closes the sockets of a deleted account (identity announced it). */
  closeAccount(userId: string): void;
  /** Refuses new sockets and closes the open ones with 1001 (clients reconnect elsewhere). */
  close(): Promise<void>;
};

type Deps = {
  config: GatewayConfig;
  logger: Logger;
  metrics: Metrics;
  httpServer: Server;
  apollo: ApolloServer<GatewayContext>;
  redis: Redis;
  bus: EventBus;
  execute: LiveExecutor;
  /** The campaign versions the gateway follows: a subscriber's check is confirmed from them while they stand (live-hub.ts). */
  versions?: Pick<CampaignVersions, "known">;
  liveFields: ReadonlyMap<string, LiveField>;
  authenticate: ConnectionAuthenticator;
  rateLimits: ReturnType<typeof createRateLimits>;
  signIdentity: (viewer: Viewer, requestId: string) => Promise<string>;
  presence: PresenceReporter;
  /** The HTTP path's check of an operation's raw parameters (request-preflight.ts), before anything runs. */
  preflight: (operation: Record<string, unknown>) => GraphQLError | undefined;
};

function writeRefusal(socket: Duplex, status: number, text: string, code: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ errors: [{ message: text, extensions: { code } }] });
  const lines = [`HTTP/1.1 ${status} ${text}`, "Content-Type: application/json; charset=utf-8", `Content-Length: ${Buffer.byteLength(body)}`, "Connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

/**
 * graphql-ws on the gateway's own port and path (`/graphql`, HTTP or HTTPS alike): the
 * upgrade is refused over the per-address and per-replica caps, a connection over its
 * user's cap is closed after authentication, every `subscribe` passes through the query
 * pipeline (plugins/live-capture.ts) and subscriptions are served by the hub.
 */
export function attachSubscriptionServer(deps: Deps): SubscriptionServer {
  const { config, logger, apollo, bus, rateLimits, presence } = deps;
  const connections = new Set<Connection>();
  let subscriptions = 0;
  let draining = false;
  const metrics = createSubscriptionMetrics(deps.metrics, {
    connections: () => connections.size,
    subscriptions: () => subscriptions,
    groups: () => hub.groupCount(),
    topics: () => bus.topicCount(),
  });
  // The gauges above read it only when /metrics is scraped.
  const hub = createLiveHub({
    bus,
    redis: deps.redis,
    execute: deps.execute,
    metrics,
    logger,
    replayBatch: config.WS_REPLAY_BATCH,
    maxReplay: config.WS_MAX_REPLAY_EVENTS,
    maxBacklog: config.WS_MAX_GROUP_BACKLOG,
    reauthorizeMs: config.WS_REAUTHORIZE_SECONDS * 1000,
    ...(deps.versions ? { versions: deps.versions } : {}),
    maxUncheckedMs: config.VERSIONED_ANSWERS_MAX_TTL_MS,
  });
  const caps = createConnectionCaps({ redis: deps.redis, prefix: `${config.RATE_LIMIT_KEY_PREFIX}ws:`, lapseMs: config.WS_HEARTBEAT_INTERVAL_MS * 3, logger });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.BODY_LIMIT_BYTES,
    // No compression: it costs CPU per socket per message, and frames are small JSON.
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const formatError = (error: unknown): GraphQLFormattedError =>
    error instanceof GraphQLError
      ? formatGatewayError(error.toJSON(), error)
      : formatGatewayError({ message: "Internal server error", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }, error);

  const handlers: ConnectionHandlers = {
    authenticate: (payload, requestId) => deps.authenticate(payload, requestId),
    async admit(connection) {
      const viewer = connection.identity?.viewer;
      if (viewer?.kind !== "user") return true;
      const taken = await caps.claim(`user:${viewer.userId}`, connection.id, config.WS_MAX_CONNECTIONS_PER_USER);
      if (taken) await presence.connected(connection.id, viewer);
      return taken;
    },
    async operate(connection, payload, sink) {
      const viewer = connection.identity!.viewer;
      const requestId = randomUUID();
      const refused = deps.preflight(payload as Record<string, unknown>);
      if (refused) throw refused;
      // Each operation is charged like an HTTP request: the address, then the user or key.
      const rateLimit = await rateLimits.chargeAddress(connection.address);
      await rateLimits.chargeViewer(viewer, rateLimit);
      let identity: Promise<string> | undefined;
      const live: LiveCapture = {};
      const context: GatewayContext = {
        viewer,
        requestId,
        logger: logger.child({ requestId, connectionId: connection.id }),
        identityToken: () => (identity ??= deps.signIdentity(viewer, requestId)),
        rateLimit,
        live,
      };
      const response = await apollo.executeOperation(
        {
          query: payload.query ?? undefined,
          operationName: payload.operationName ?? undefined,
          variables: payload.variables ?? undefined,
          extensions: payload.extensions ?? undefined,
        },
        { contextValue: context },
      );
      if (!live.operation || !live.document || !live.schema) {
        if (response.body.kind !== "single") throw appError(ErrorCode.BAD_USER_INPUT, "Incremental delivery is not supported over WebSocket");
        return { result: response.body.singleResult };
      }
      const operation = prepareLiveOperation(live.schema, live.document, live.operation, deps.liveFields, payload.variables, viewer);
      if (operation.field.authenticated && viewer.kind !== "user") throw appError(ErrorCode.UNAUTHENTICATED, "You must be signed in");
      const field = operation.field.field;
      const stop = await hub.subscribe(operation, viewer, {
        next(json) {
          metrics.deliveries.inc({ field });
          sink.next(json);
        },
        fail: (errors) => sink.fail(errors),
      });
      subscriptions += 1;
      let stopped = false;
      return {
        stop() {
          if (stopped) return;
          stopped = true;
          subscriptions -= 1;
          stop();
        },
      };
    },
    formatError,
    closed(connection, code) {
      connections.delete(connection);
      if (code !== null) metrics.closed.inc({ reason: String(code) });
      void caps.release(`ip:${connection.address}`, connection.id);
      const viewer = connection.identity?.viewer;
      if (viewer?.kind === "user") {
        void caps.release(`user:${viewer.userId}`, connection.id);
        presence.disconnected(connection.id, viewer);
      }
    },
  };

  // Refused upgrades are logged like refused requests: by their status (log-levels.ts).
  const refuseUpgrade = (socket: Duplex, status: number, text: string, code: string, headers: Record<string, string> = {}) => {
    logAnswer(logger, status, { code }, "WebSocket upgrade refused");
    writeRefusal(socket, status, text, code, headers);
  };

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/graphql") return refuseUpgrade(socket, 404, "Not Found", ErrorCode.NOT_FOUND);
    if (draining) return refuseUpgrade(socket, 503, "Service Unavailable", ErrorCode.SERVICE_UNAVAILABLE, { "Retry-After": "1" });
    if (connections.size >= config.WS_MAX_CONNECTIONS) {
      return refuseUpgrade(socket, 503, "Service Unavailable", ErrorCode.SERVICE_UNAVAILABLE, { "Retry-After": "5" });
    }
    const address = clientAddress(req, config.TRUST_PROXY);
    try {
      await rateLimits.chargeAddress(address);
    } catch (error) {
      const retryAfter = String((error as GraphQLError).extensions?.retryAfter ?? 60);
      return refuseUpgrade(socket, 429, "Too Many Requests", ErrorCode.RATE_LIMITED, { "Retry-After": retryAfter });
    }
    const connectionId = randomUUID();
    if (!(await caps.claim(`ip:${address}`, connectionId, config.WS_MAX_CONNECTIONS_PER_IP))) {
      return refuseUpgrade(socket, 429, "Too Many Requests", ErrorCode.RATE_LIMITED, { "Retry-After": "60" });
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const connection = new Connection(
        ws,
        address,
        {
          initTimeoutMs: config.WS_INIT_TIMEOUT_MS,
          maxSubscriptions: config.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
          maxMessagesPerSecond: config.WS_MAX_MESSAGES_PER_SECOND,
          maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
        },
        handlers,
        logger.child({ connectionId }),
        connectionId,
      );
      connections.add(connection);
      if (ws.protocol !== SUBPROTOCOL) connection.close(CloseCode.SubprotocolNotAcceptable, "Subprotocol not acceptable");
    });
  }

  const onUpgradeEvent = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(req, socket, head).catch((error: unknown) => {
      logFailure(logger, error, {}, "WebSocket upgrade failed");
      socket.destroy();
    });
  };
  deps.httpServer.on("upgrade", onUpgradeEvent);

  const ping = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }, config.WS_PING_INTERVAL_MS);
  const heartbeat = setInterval(() => {
    const slots: { scope: string; connectionId: string }[] = [];
    const users: string[] = [];
    for (const connection of connections) {
      slots.push({ scope: `ip:${connection.address}`, connectionId: connection.id });
      const viewer = connection.identity?.viewer;
      if (viewer?.kind === "user") {
        slots.push({ scope: `user:${viewer.userId}`, connectionId: connection.id });
        users.push(connection.id);
      }
    }
    void caps.refresh(slots);
    presence.heartbeat(users);
  }, config.WS_HEARTBEAT_INTERVAL_MS);
  ping.unref();
  heartbeat.unref();

  const closeWhere = (match: (connection: Connection) => boolean, code: number, reason: string) => {
    for (const connection of [...connections]) if (match(connection)) connection.close(code, reason);
  };

  return {
    revokeApiKey: (keyHash) => closeWhere((c) => c.identity?.apiKeyHash === keyHash, CloseCode.Forbidden, "API key revoked"),
    reverifyApiKeys: () => closeWhere((c) => c.identity?.apiKeyHash != null, CloseCode.TryAgainLater, "Reconnect to verify the API key again"),
    closeAccount: (userId) =>
      closeWhere((c) => c.identity?.viewer.kind === "user" && c.identity.viewer.userId === userId, CloseCode.Forbidden, "Account deleted"),
    async close() {
      draining = true;
      clearInterval(ping);
      clearInterval(heartbeat);
      deps.httpServer.off("upgrade", onUpgradeEvent);
      closeWhere(() => true, CloseCode.GoingAway, "Server shutting down");
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await bus.close();
    },
  };
}
