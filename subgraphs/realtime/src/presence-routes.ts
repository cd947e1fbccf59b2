import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import {
  IDENTITY_HEADER,
  REQUEST_ID_HEADER,
  Role,
  createIdentityVerifier,
  hasRole,
  headerValue,
  requestIdFrom,
  sendJson,
  type Logger,
  type RouteHandler,
  type Viewer,
} from "@startales/service-kit";
import type { CampaignClient } from "@startales/service-kit";
import type { PresenceService } from "./domain/presence-service";
import type { PresenceStore } from "./domain/presence-store";

const connectionId = z.string().min(8).max(128).regex(/^[A-Za-z0-9._:-]+$/);
const connectBody = z.object({ connectionId });
const heartbeatBody = z.object({ connectionIds: z.array(connectionId).max(10_000) });

const MAX_BODY_BYTES = 1_000_000;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/**
 * The gateway's replicas report their WebSocket connections here (POST, JSON), with the same
 * signed identity header they send on /graphql; anything without a valid one is 401:
 *
 *   /internal/presence/connect     {connectionId}     the caller's new connection
 *   /internal/presence/disconnect  {connectionId}     it closed
 *   /internal/presence/heartbeat   {connectionIds}    these are still open (send well within PRESENCE_TTL_MS)
 *
 * A connection belongs to the user who connected it. Disconnect and heartbeat by that user
 * act on their own connections only; an assertion without a user (the replica's own, for a
 * batch of many users' connections) or with the SERVICE role acts on any connection id.
 */
export function presenceRoutes(deps: {
  secret: string;
  campaigns: CampaignClient;
  store: PresenceStore;
  presence: PresenceService;
  logger: Logger;
}): Record<string, RouteHandler> {
  const verify = createIdentityVerifier(deps.secret);
  const { store, presence } = deps;

  const handler =
    <S extends z.ZodType>(schema: S, work: (viewer: Viewer, body: z.infer<S>, req: IncomingMessage) => Promise<{ status: number; body: unknown }>): RouteHandler =>
    async (req: IncomingMessage, res: ServerResponse) => {
      let viewer: Viewer;
      try {
        viewer = await verify(headerValue(req, IDENTITY_HEADER));
      } catch (error) {
        deps.logger.warn({ reason: (error as Error).message, path: req.url }, "rejected a presence call that did not come through the gateway");
        return sendJson(res, 401, { error: "UNAUTHENTICATED", message: "Requests must come through the gateway" });
      }
      let body: z.infer<S>;
      try {
        const parsed = schema.safeParse(await readJson(req));
        if (!parsed.success) return sendJson(res, 400, { error: "BAD_USER_INPUT", message: parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ") });
        body = parsed.data;
      } catch {
        return sendJson(res, 400, { error: "BAD_USER_INPUT", message: "The body must be JSON" });
      }
      try {
        const result = await work(viewer, body, req);
        sendJson(res, result.status, result.body);
      } catch (error) {
        // Campaign could not say who the caller is: the gateway retries later.
        if ((error as { extensions?: { code?: string } }).extensions?.code !== "SERVICE_UNAVAILABLE") throw error;
        sendJson(res, 503, { error: "SERVICE_UNAVAILABLE", message: "The campaign service is unavailable; try again shortly" });
      }
    };

  const actsForAnyone = (viewer: Viewer) => viewer.kind === "anonymous" || hasRole(viewer, Role.SERVICE);

  return {
    "/internal/presence/connect": handler(connectBody, async (viewer, body, req) => {
      if (viewer.kind !== "user") return { status: 401, body: { error: "UNAUTHENTICATED", message: "A connection belongs to a signed-in user" } };
      const existing = await store.connection(body.connectionId);
      if (existing && existing.userId !== viewer.userId) return { status: 409, body: { error: "CONFLICT", message: "This connection id is taken" } };
      // The caller's campaigns, asked of campaign with the header exactly as received.
      const campaignIds = await deps.campaigns.myCampaignIds({
        identity: headerValue(req, IDENTITY_HEADER),
        requestId: requestIdFrom(headerValue(req, REQUEST_ID_HEADER)),
      });
      const now = presence.now();
      await store.markActive(viewer.userId, now);
      await presence.announce(await store.connect(body.connectionId, { userId: viewer.userId, campaignIds }, now));
      return { status: 200, body: { connectionId: body.connectionId, campaignIds } };
    }),

    "/internal/presence/disconnect": handler(connectBody, async (viewer, body) => {
      const info = await store.connection(body.connectionId);
      if (!info || (!actsForAnyone(viewer) && (viewer.kind !== "user" || info.userId !== viewer.userId))) {
        return { status: 200, body: { disconnected: false } };
      }
      await presence.announce(await store.disconnect(body.connectionId, info, presence.now()));
      return { status: 200, body: { disconnected: true } };
    }),

    "/internal/presence/heartbeat": handler(heartbeatBody, async (viewer, body) => {
      const now = presence.now();
      const owner = actsForAnyone(viewer) || viewer.kind !== "user" ? undefined : viewer.userId;
      const refreshed: string[] = [];
      const unknown: string[] = [];
      for (const id of body.connectionIds) {
        const { known, transitions } = await store.heartbeat(id, now, owner);
        (known ? refreshed : unknown).push(id);
        await presence.announce(transitions);
      }
      // `unknown`: lapsed or never connected; the gateway connects them again.
      return { status: 200, body: { refreshed, unknown } };
    }),
  };
}
