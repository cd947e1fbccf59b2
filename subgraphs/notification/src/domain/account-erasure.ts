import { Topics, streamKey, type Redis } from "@startales/service-kit";
import type { Db } from "../db";

/** `preferences`: its per-category preferences, its quiet hours and its email suppression. */
export type ErasedAccount = { notifications: number; devices: number; preferences: number };

/**
 * A deleted account's data here (ACCOUNT_ERASURE_REQUESTED): its notifications (and with them
 * their deliveries), push devices, preferences and quiet hours, in one transaction, then its inbox stream.
 * A delivery already queued finds its row gone and sends nothing. Again for the same account:
 * nothing left to erase.
 */
export async function eraseAccount(db: Db, redis: Redis, userId: string): Promise<ErasedAccount> {
  const [notifications, devices, preferences, quietHours, suppressions, digestSchedules] = await db.$transaction([
    db.notification.deleteMany({ where: { recipientId: userId } }),
    db.pushDevice.deleteMany({ where: { userId } }),
    db.preference.deleteMany({ where: { userId } }),
    db.quietHours.deleteMany({ where: { userId } }),
    db.emailSuppression.deleteMany({ where: { userId } }),
    db.digestSchedule.deleteMany({ where: { userId } }),
  ]);
  await redis.del(streamKey(Topics.inbox(userId)));
  return { notifications: notifications.count, devices: devices.count, preferences: preferences.count + quietHours.count + suppressions.count + digestSchedules.count };
}
