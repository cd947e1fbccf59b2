import type { AlertmanagerPayload } from "../alerts/alertmanager-payload";
import type { AlertNotification } from "../alerts/alert-notification";
import type { WebhookEvent } from "../generated/prisma/client";

/**
 * The events outgoing webhooks are told of: the enum a webhook subscribes with, and the `type`
 * its receiver reads in the body (dotted, as the Standard Webhooks spec suggests). A new kind
 * is a value here, in the Prisma and GraphQL enums, and a producer that records it.
 */
export const EVENT_TYPES: Record<WebhookEvent, string> = {
  ALERT_FIRING: "alert.firing",
  ALERT_RESOLVED: "alert.resolved",
  PING: "webhook.ping",
};

/** One event as a producer hands it over: `id` makes it idempotent per webhook. */
export type WebhookEventRecord = { id: string; event: WebhookEvent; data: Record<string, unknown>; occurredAt: Date };

/** The body sent: `{ type, timestamp, data }`, the spec's recommended envelope. */
export const eventBody = (record: WebhookEventRecord) =>
  JSON.stringify({ type: EVENT_TYPES[record.event], timestamp: record.occurredAt.toISOString(), data: record.data });

/** An Alertmanager payload as a webhook event: what the admins' notification says, keyed as it is (one event per change of the group). */
export function alertWebhookEvent(payload: AlertmanagerPayload, notification: AlertNotification, occurredAt: Date): WebhookEventRecord {
  return {
    id: notification.sourceKey,
    event: payload.status === "firing" ? "ALERT_FIRING" : "ALERT_RESOLVED",
    data: { title: notification.title, body: notification.body, ...notification.data },
    occurredAt,
  };
}
