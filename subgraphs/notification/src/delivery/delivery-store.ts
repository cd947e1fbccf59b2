import type { Db } from "../db";
import type { DeliveryStatus, NotificationCategory } from "../generated/prisma/client";

/** What one push needs, read in one statement (the hot path of the worker pool). */
export type DeliveryToSend = {
  status: DeliveryStatus;
  notificationId: string;
  recipientId: string;
  category: NotificationCategory;
  title: string;
  body: string;
  campaignId: string | null;
  data: unknown;
  deviceId: string | null;
  deviceUserId: string | null;
  token: string | null;
  deviceDisabled: boolean;
};

/**
 * The delivery with its notification and device, or null. Raw SQL rather than an `include`:
 * Prisma would send three queries and compile each, per job.
 */
export async function loadDelivery(db: Db, deliveryId: string): Promise<DeliveryToSend | null> {
  const rows = await db.$queryRaw<DeliveryToSend[]>`
    SELECT d.status::text AS status, n.id::text AS "notificationId", n.recipient_id::text AS "recipientId",
           n.category::text AS category, n.title, n.body, n.campaign_id::text AS "campaignId", n.data,
           p.id::text AS "deviceId", p.user_id::text AS "deviceUserId", p.token, (p.disabled_at IS NOT NULL) AS "deviceDisabled"
      FROM deliveries d
      JOIN notifications n ON n.id = d.notification_id
      LEFT JOIN push_devices p ON p.id = d.device_id
     WHERE d.id = ${deliveryId}::uuid`;
  return rows[0] ?? null;
}

/** SENT (only if still PENDING) and the device's last use, in one statement; false if it was not PENDING. */
export async function markSent(db: Db, deliveryId: string, messageId: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ id: string }[]>`
    WITH sent AS (
      UPDATE deliveries
         SET status = 'SENT', attempts = attempts + 1, last_error = NULL, provider_message_id = ${messageId},
             sent_at = now(), updated_at = now()
       WHERE id = ${deliveryId}::uuid AND status = 'PENDING'
       RETURNING device_id
    ), used AS (
      UPDATE push_devices SET last_used_at = now() WHERE id IN (SELECT device_id FROM sent)
    )
    SELECT device_id::text AS id FROM sent`;
  return rows.length > 0;
}
