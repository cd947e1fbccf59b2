import { createHash, timingSafeEqual } from "node:crypto";
import { GraphQLError } from "graphql";
import {
  BodyError,
  ErrorCode,
  REQUEST_ID_HEADER,
  badInput,
  headerValue,
  readBody,
  requestError,
  requestIdFrom,
  sendJson,
  type Logger,
  type RouteHandler,
} from "@startales/service-kit";
import type { Db } from "../db";
import type { DeliveryQueue } from "../delivery/queue";
import { writeNotifications } from "../domain/notification-writer";
import type { Prisma } from "../generated/prisma/client";
import { alertWebhookEvent } from "../webhooks/webhook-events";
import { recordWebhookEvent } from "../webhooks/webhook-outbox";
import type { WebhookQueue } from "../webhooks/webhook-queue";
import { alertNotification } from "./alert-notification";
import { ALERT_BODY_LIMIT_BYTES, alertmanagerPayload } from "./alertmanager-payload";

/** Internal: the Service's port is not behind the gateway (which proxies /graphql and /content/ only). */
export const ALERTMANAGER_PATH = "/internal/alerts/alertmanager";

const NO_STORE = { "cache-control": "no-store" };
const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * `POST /internal/alerts/alertmanager`: Alertmanager's webhook (payload version 4) with
 * `Authorization: Bearer <ALERT_WEBHOOK_TOKEN>`. Each payload becomes one SYSTEM notification
 * per user who holds the ADMIN role in identity (asked through `adminIds`, cached briefly),
 * idempotent on the group, its status and its alerts' (fingerprint, status, startsAt), so
 * Alertmanager's repeats and retries notify no one twice; preferences and push devices apply
 * as to any notification. Outgoing webhooks subscribed to ALERT_FIRING or ALERT_RESOLVED get one
 * event per payload, keyed and written with the notifications (even when no one holds ADMIN).
 * Answers 200 `{ created }` (0 for a repeat), 400 for a payload that
 * is not one (nothing written), 401 for a missing or wrong token, 503 while the receiver is
 * not configured or identity cannot say who the admins are (nothing written: Alertmanager
 * retries 5xx, so those alerts are not dropped at once, and its logs say why).
 */
export function alertmanagerRoute(deps: {
  token: string | undefined;
  /** Who holds ADMIN in identity now (identity-admins.ts); throws when identity is unreachable. */
  adminIds: () => Promise<readonly string[]>;
  db: Db;
  queue: DeliveryQueue;
  /** Outgoing webhooks subscribed to alerts get one event per payload, in the notifications' transaction. */
  webhookQueue: WebhookQueue;
  push: boolean;
  webPush: boolean;
  /** Email is on (SMTP_URL): admins whose SYSTEM email preference is on are mailed. */
  email?: boolean;
  afterCommit: () => void;
  logger: Logger;
}): Record<string, RouteHandler> {
  // Compared as digests: timingSafeEqual needs equal lengths, and the token's length is a secret too.
  const expected = deps.token ? digest(`Bearer ${deps.token}`) : null;
  return {
    [ALERTMANAGER_PATH]: async (req, res) => {
      const logger = deps.logger.child({ requestId: requestIdFrom(req.headers[REQUEST_ID_HEADER]) });
      if (!expected) {
        return sendJson(
          res,
          503,
          { errors: [{ message: "The alert receiver is not configured (ALERT_WEBHOOK_TOKEN is unset)", extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, reason: "ALERTS_OFF" } }] },
          NO_STORE,
        );
      }
      const authorization = headerValue(req, "authorization") ?? "";
      if (!timingSafeEqual(digest(authorization), expected)) {
        throw requestError(ErrorCode.UNAUTHENTICATED, "A bearer credential the alert receiver accepts is required", { headers: { "www-authenticate": 'Bearer realm="alerts"' } });
      }
      let text: string;
      try {
        text = await readBody(req, ALERT_BODY_LIMIT_BYTES);
      } catch (error) {
        if (error instanceof BodyError) throw new GraphQLError(error.message, { extensions: { code: ErrorCode.BAD_REQUEST, http: { status: error.status } } });
        throw error;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw requestError(ErrorCode.BAD_REQUEST, "The body must be Alertmanager's webhook payload (JSON)");
      }
      const parsed = alertmanagerPayload.safeParse(json);
      if (!parsed.success) {
        throw badInput(
          "The body is not an Alertmanager webhook payload (version 4)",
          parsed.error.issues.slice(0, 20).map((issue) => ({ field: issue.path.join("."), message: issue.message })),
        );
      }
      const payload = parsed.data;
      let adminIds: readonly string[];
      try {
        adminIds = await deps.adminIds();
      } catch (error) {
        logger.warn({ err: error, groupKey: payload.groupKey }, "could not ask identity who the admins are; Alertmanager will retry");
        return sendJson(
          res,
          503,
          { errors: [{ message: "The identity service cannot say who the admins are; try again shortly", extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, reason: "IDENTITY_UNAVAILABLE" } }] },
          NO_STORE,
        );
      }
      if (adminIds.length === 0) logger.warn({ groupKey: payload.groupKey }, "no user holds the ADMIN role: the alert group notifies no one");
      const notification = alertNotification(payload);
      const webhookEvent = alertWebhookEvent(payload, notification, new Date());
      let webhookDeliveryIds: string[] = [];
      const recordForWebhooks = async (tx: Prisma.TransactionClient) => {
        webhookDeliveryIds = await recordWebhookEvent(tx, webhookEvent);
      };
      // With no admin to notify there is no notification transaction: webhooks still hear of it.
      if (adminIds.length === 0) await deps.db.$transaction(recordForWebhooks);
      const written = await writeNotifications(
        deps.db,
        adminIds.map((recipientId) => ({
          recipientId,
          category: "SYSTEM" as const,
          title: notification.title,
          body: notification.body,
          campaignId: null,
          data: notification.data,
          senderId: null,
          sourceKey: notification.sourceKey,
        })),
        { push: deps.push, webPush: deps.webPush, email: deps.email ?? false, inTransaction: recordForWebhooks },
      );
      deps.afterCommit();
      // Should Redis be down, the deliveries are PENDING: the worker pool's sweep queues them.
      await deps.queue.enqueue(written.deliveryIds).catch((error: unknown) => logger.warn({ err: error }, "could not queue alert deliveries; the sweep will"));
      await deps.webhookQueue.enqueue(webhookDeliveryIds);
      logger.info(
        { groupKey: payload.groupKey, status: payload.status, alerts: payload.alerts.length, created: written.created.length, deliveries: written.deliveryIds.length },
        written.created.length > 0 ? "alert group notified to admins" : "alert group already notified",
      );
      sendJson(res, 200, { created: written.created.length }, NO_STORE);
    },
  };
}
