import type { Db } from "../db";
import type { DeliveryChannel, DeliveryStatus, NotificationCategory, PushService } from "../generated/prisma/client";

/** What one push needs (with its recipient's quiet hours), read with its batch in one statement (the hot path of the worker pool). */
export type DeliveryToSend = {
  status: DeliveryStatus;
  /** PUSH (to the device) or EMAIL (to the recipient's address, asked of identity when sent). */
  channel: DeliveryChannel;
  notificationId: string;
  recipientId: string;
  category: NotificationCategory;
  title: string;
  body: string;
  campaignId: string | null;
  data: unknown;
  deviceId: string | null;
  deviceUserId: string | null;
  /** FCM's registration token, or a Web Push subscription's endpoint. */
  token: string | null;
  deviceDisabled: boolean;
  service: PushService | null;
  /** A Web Push subscription's keys (RFC 8291). */
  p256dh: string | null;
  auth: string | null;
  /** The recipient's quiet hours (quiet-hours.ts), all null when they have none. */
  quietStart: number | null;
  quietEnd: number | null;
  quietZone: string | null;
};

/**
 * Deliveries with their notification and device, by id (those that exist). One statement for
 * a whole batch, and raw SQL rather than an `include`: Prisma would send three queries and
 * compile each. The ids travel as one JSON parameter, as the writer's rows do.
 */
export async function loadDeliveries(db: Db, deliveryIds: string[]): Promise<Map<string, DeliveryToSend & { id: string }>> {
  const rows = await db.$queryRaw<(DeliveryToSend & { id: string })[]>`
    SELECT d.id::text AS id, d.status::text AS status, d.channel::text AS channel, n.id::text AS "notificationId", n.recipient_id::text AS "recipientId",
           n.category::text AS category, n.title, n.body, n.campaign_id::text AS "campaignId", n.data,
           p.id::text AS "deviceId", p.user_id::text AS "deviceUserId", p.token, (p.disabled_at IS NOT NULL) AS "deviceDisabled",
           p.service::text AS service, p.p256dh, p.auth,
           q.start_minute::int AS "quietStart", q.end_minute::int AS "quietEnd", q.time_zone AS "quietZone"
      FROM deliveries d
      JOIN notifications n ON n.id = d.notification_id
      LEFT JOIN push_devices p ON p.id = d.device_id
      LEFT JOIN quiet_hours q ON q.user_id = n.recipient_id
     WHERE d.id IN (SELECT value::uuid FROM jsonb_array_elements_text(${JSON.stringify(deliveryIds)}::jsonb))`;
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * SENT (only those still PENDING) with the push service's message ids, and their devices'
 * last use, in one statement for a batch; resolves to the ids it marked.
 */
export async function markSent(db: Db, sent: { deliveryId: string; messageId: string }[]): Promise<Set<string>> {
  if (sent.length === 0) return new Set();
  const input = JSON.stringify(sent.map((s) => ({ id: s.deliveryId, message_id: s.messageId })));
  const rows = await db.$queryRaw<{ id: string }[]>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${input}::jsonb) AS t(id uuid, message_id text)
    ), marked AS (
      UPDATE deliveries d
         SET status = 'SENT', attempts = d.attempts + 1, last_error = NULL, provider_message_id = i.message_id,
             sent_at = now(), updated_at = now()
        FROM input i
       WHERE d.id = i.id AND d.status = 'PENDING'
       RETURNING d.id, d.device_id
    ), used AS (
      UPDATE push_devices SET last_used_at = now() WHERE id IN (SELECT device_id FROM marked)
    )
    SELECT id::text AS id FROM marked`;
  return new Set(rows.map((row) => row.id));
}
