import { Topics } from "@startales/service-kit";
import type { Db } from "../db";
import type { Notification, NotificationCategory, Prisma } from "../generated/prisma/client";

/** One notification to create: who, what, and the source that makes it idempotent. */
export type NewNotification = {
  recipientId: string;
  category: NotificationCategory;
  title: string;
  body: string;
  campaignId: string | null;
  data: Prisma.InputJsonObject;
  senderId: string | null;
  /** Unique per recipient: the same source twice is one notification. */
  sourceKey: string;
};

/** The notifications this call created (not those that existed) and their new deliveries. */
export type Written = { created: Notification[]; deliveryIds: string[] };

/**
 * Creates notifications (and, for recipients who want push, one PENDING delivery per active
 * device) in one transaction. A notification whose (recipient, sourceKey) exists is left as
 * it is and gets no new deliveries, so a retried request or a redelivered event sends nothing
 * twice. Each one shown in an inbox gets a NOTIFICATION_ADDED event on `inbox:<recipient>`
 * (outbox, same transaction) for the notificationAdded subscription. Returns the new
 * deliveries' ids for the caller to queue after the commit.
 */
export async function writeNotifications(
  db: Db,
  items: NewNotification[],
  options: { push: boolean; inTransaction?: (tx: Prisma.TransactionClient, written: Written) => Promise<unknown> },
): Promise<Written> {
  if (items.length === 0) return { created: [], deliveryIds: [] };
  const recipientIds = [...new Set(items.map((i) => i.recipientId))];
  const categories = [...new Set(items.map((i) => i.category))];
  const [preferences, devices] = await Promise.all([
    db.preference.findMany({ where: { userId: { in: recipientIds }, category: { in: categories } } }),
    options.push ? db.pushDevice.findMany({ where: { userId: { in: recipientIds }, disabledAt: null }, select: { id: true, userId: true } }) : [],
  ]);
  const preference = new Map(preferences.map((p) => [`${p.userId}:${p.category}`, p]));
  const devicesOf = new Map<string, string[]>();
  for (const device of devices) devicesOf.set(device.userId, [...(devicesOf.get(device.userId) ?? []), device.id]);
  // Everything is on until the recipient turns it off.
  const wants = (recipientId: string, category: NotificationCategory) => preference.get(`${recipientId}:${category}`) ?? { inApp: true, push: true };

  return db.$transaction(async (tx) => {
    const created = await tx.notification.createManyAndReturn({
      data: items.map((item) => ({ ...item, inInbox: wants(item.recipientId, item.category).inApp })),
      skipDuplicates: true,
    });
    const shown = created.filter((row) => row.inInbox);
    if (shown.length > 0) {
      await tx.outboxEvent.createMany({
        data: shown.map((row) => ({ topic: Topics.inbox(row.recipientId), type: "NOTIFICATION_ADDED", aggregateId: row.id, version: 1, data: { category: row.category } })),
      });
    }
    const deliveries = created.flatMap((row) =>
      wants(row.recipientId, row.category).push
        ? (devicesOf.get(row.recipientId) ?? []).map((deviceId) => ({ notificationId: row.id, deviceId, channel: "PUSH" as const }))
        : [],
    );
    const queued = deliveries.length > 0 ? await tx.delivery.createManyAndReturn({ data: deliveries, select: { id: true } }) : [];
    const written = { created, deliveryIds: queued.map((d) => d.id) };
    await options.inTransaction?.(tx, written);
    return written;
  });
}
