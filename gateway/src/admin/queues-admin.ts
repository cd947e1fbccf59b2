import type { IncomingMessage, ServerResponse } from "node:http";
import {
  REQUEST_ID_HEADER,
  createHttpService,
  createRedis,
  headerValue,
  periodicTask,
  requestIdFrom,
  sendJson,
  type HttpTimeouts,
  type Logger,
  type Metrics,
  type Viewer,
} from "@startales/service-kit";
import type { ApiKeyVerifier } from "../api-key";
import { auditWhenAnswered, isMutating } from "./admin-audit";
import { BASIC_REALM, createAdminAuthenticator } from "./admin-auth";
import { BROWSER_HEADERS, servedOffline } from "./browser-page";
import { createQueueBoard } from "./queue-board";
import { discoverQueues } from "./queue-discovery";

export type QueuesAdmin = {
  listen(): Promise<string>;
  /** Where it listens, once it does. */
  url(): string | undefined;
  stop(): Promise<void>;
};

export type QueuesAdminOptions = {
  port: number;
  host: string;
  /** BullMQ key prefixes whose queues are shown. */
  prefixes: readonly string[];
  /** How often Redis is searched for queues (a queue created later appears within this). */
  discoveryMs: number;
  redisUrl: string;
  graceMs: number;
  timeouts: HttpTimeouts;
  tls?: { cert: Buffer; key: Buffer };
  authenticate: (req: IncomingMessage, requestId: string) => Promise<Viewer>;
  apiKeys: ApiKeyVerifier;
  logger: Logger;
  metrics: Metrics;
};

/**
 * bull-board for every BullMQ queue in Redis, on a listener of its own (never where /graphql
 * is served, never behind the public ingress), for ADMINs only: inspect failed and stalled
 * jobs, retry them. Every change is written to the log (admin-audit.ts).
 */
export function createQueuesAdmin(options: QueuesAdminOptions): QueuesAdmin {
  const logger = options.logger.child({ component: "queues-admin" });
  const redis = createRedis(options.redisUrl, "gateway-queues-admin");
  const board = createQueueBoard(redis, { title: "Startales queues" });
  const pages = { write: servedOffline(board.handler(true)), read: servedOffline(board.handler(false)) };
  const authorize = createAdminAuthenticator({ authenticate: options.authenticate, apiKeys: options.apiKeys });
  const scheme = options.tls ? "https" : "http";
  const discovery = periodicTask(async () => board.show(await discoverQueues(redis, options.prefixes)), {
    everyMs: options.discoveryMs,
    logger,
    failure: "could not look for BullMQ queues in Redis",
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdFrom(headerValue(req, REQUEST_ID_HEADER));
    res.setHeader(REQUEST_ID_HEADER, requestId);
    for (const [name, value] of Object.entries(BROWSER_HEADERS)) res.setHeader(name, value);
    const access = await authorize(req, requestId);
    if (!access.allowed) {
      // A browser answers 401 + Basic with its sign-in prompt; a wrong key prompts again.
      const challenge = access.status === 401 ? { "www-authenticate": `Basic realm="${BASIC_REALM}", charset="UTF-8"` } : undefined;
      return refuse(res, access.status, access.message, challenge);
    }
    if (isMutating(req.method)) {
      auditWhenAnswered(req, res, { viewer: access.viewer, requestId, logger });
      if (!access.canWrite) return refuse(res, 403, "This credential is read-only: it may look at the queues, not change them");
      // A browser sends the Basic credentials with any request to this origin, also one a
      // page elsewhere makes it send: changes come only from the board's own page.
      if (crossSite(req, scheme)) return refuse(res, 403, "Cross-site request refused");
    }
    (access.canWrite ? pages.write : pages.read)(req, res);
  }

  const http = createHttpService({
    logger,
    metrics: options.metrics,
    readiness: [],
    fallback: handle,
    timeouts: options.timeouts,
    ...(options.tls ? { tls: options.tls } : {}),
  });

  let url: string | undefined;
  return {
    async listen() {
      url = await http.listen(options.port, options.host);
      discovery.start();
      logger.info({ url, prefixes: options.prefixes }, "queues admin listening");
      return url;
    },
    url: () => url,
    async stop() {
      await http.close(options.graceMs);
      await discovery.stop();
      await board.close();
      redis.disconnect();
    },
  };
}

function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: message }, headers);
}

/** Whether a browser made this request for a page of another origin (Fetch Metadata, else Origin). */
function crossSite(req: IncomingMessage, scheme: string): boolean {
  const site = headerValue(req, "sec-fetch-site");
  if (site) return site !== "same-origin" && site !== "none";
  const origin = headerValue(req, "origin");
  return origin !== undefined && origin !== `${scheme}://${headerValue(req, "host")}`;
}
