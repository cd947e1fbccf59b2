import {
  AuditOutcome,
  ErrorCode,
  Role,
  appError,
  badInput,
  forbidden,
  hasRole,
  notFound,
  type AuditContext,
  type Logger,
  type SignedInViewer,
} from "@startales/service-kit";
import type { Db } from "../db";
import type { DeliveryQueue } from "../delivery/queue";
import type { Delivery, Notification, NotificationCategory, Prisma, PushDevice } from "../generated/prisma/client";
import type { NotificationLoaders } from "../loaders";
import { recordAudit } from "./audit";
import type { InboxPage, SendNotificationInput } from "./input";
import { writeNotifications } from "./notification-writer";
import { digestTimeOf, nextDigestSlot } from "../digest/digest-schedule";
import { emailPreference } from "../email/email-preferences";
import { formatMinute } from "./quiet-hours";

/** Quiet hours as the API shows them. */
const quietHoursView = (row: { startMinute: number; endMinute: number; timeZone: string } | null) =>
  row ? { start: formatMinute(row.startMinute), end: formatMinute(row.endMinute), timeZone: row.timeZone } : null;

export const CATEGORIES: NotificationCategory[] = ["CAMPAIGN", "MEMBERSHIP", "ANNOUNCEMENT", "SYSTEM"];

/** The inbox, preferences and devices of one user, and sending. */
export function createNotificationService(deps: {
  db: Db;
  queue: DeliveryQueue;
  /** FCM is on. */
  push: boolean;
  /** The VAPID public key browsers subscribe with; null: web push is off. */
  webPushKey: string | null;
  /** Email is on (SMTP_URL). */
  email?: boolean;
  campaignMembers: (loaders: NotificationLoaders, campaignId: string) => Promise<Set<string> | null>;
  /** After a commit that wrote events: the outbox relay may publish at once. */
  afterCommit?: () => void;
  logger?: Logger;
}) {
  const { db, queue } = deps;

  /** Admins and service accounts send to anyone; a game master to the members of a campaign they run. */
  async function assertMaySend(viewer: SignedInViewer, loaders: NotificationLoaders, input: SendNotificationInput): Promise<void> {
    if (hasRole(viewer, Role.ADMIN) || hasRole(viewer, Role.SERVICE)) return;
    if (input.category !== "ANNOUNCEMENT") throw forbidden("Only admins and services send SYSTEM notifications");
    if (!input.campaignId) throw forbidden("Only admins and services send notifications without a campaign");
    const access = await loaders.campaignAccess.load(input.campaignId);
    if (access.kind === "missing") throw notFound("No campaign with this id");
    if (access.kind !== "member" || access.role !== "GAME_MASTER") throw forbidden("Only the campaign's game master sends to its members");
    const members = await deps.campaignMembers(loaders, input.campaignId);
    const outsiders = input.recipientIds.filter((id) => !members?.has(id));
    if (outsiders.length > 0) {
      throw badInput(`recipientIds must be members of the campaign (${outsiders.length} are not)`, [{ field: "recipientIds", message: "must be members of the campaign" }]);
    }
  }

  return {
    async send(viewer: SignedInViewer, loaders: NotificationLoaders, input: SendNotificationInput, audit: AuditContext): Promise<Notification[]> {
      await assertMaySend(viewer, loaders, input);
      const sourceKey = `send:${viewer.userId}:${input.idempotencyKey}`;
      const written = await writeNotifications(
        db,
        input.recipientIds.map((recipientId) => ({
          recipientId,
          category: input.category,
          title: input.title,
          body: input.body,
          campaignId: input.campaignId,
          data: input.data as Prisma.InputJsonObject,
          senderId: viewer.userId,
          sourceKey,
        })),
        {
          push: deps.push,
          webPush: deps.webPushKey !== null,
          email: deps.email ?? false,
          // Audited with the change, in its transaction: a send either happened and is logged, or neither.
          inTransaction: (tx, { created, deliveryIds }) =>
            created.length === 0
              ? Promise.resolve()
              : recordAudit(tx, audit, {
                  action: "notification.send",
                  outcome: AuditOutcome.SUCCESS,
                  targetType: input.campaignId ? "Campaign" : undefined,
                  targetId: input.campaignId,
                  details: { category: input.category, recipients: created.length, deliveries: deliveryIds.length },
                }),
        },
      );
      deps.afterCommit?.();
      await queue.enqueue(written.deliveryIds);
      const byRecipient = (a: Notification, b: Notification) => (a.recipientId < b.recipientId ? -1 : 1);
      if (written.created.length === input.recipientIds.length) return [...written.created].sort(byRecipient);
      // Those of an earlier send with the same key included: the answer is the same both times.
      return db.notification.findMany({ where: { sourceKey, recipientId: { in: input.recipientIds } }, orderBy: { recipientId: "asc" } });
    },

    /** Newest first, keyset-paged on (createdAt, id); `after` must be one of the caller's. */
    async inbox(viewer: SignedInViewer, page: InboxPage): Promise<{ notifications: Notification[]; nextCursor: string | null }> {
      const where: Prisma.NotificationWhereInput = { recipientId: viewer.userId, inInbox: true, ...(page.unreadOnly ? { readAt: null } : {}) };
      if (page.after) {
        const cursor = await db.notification.findFirst({ where: { id: page.after, recipientId: viewer.userId }, select: { createdAt: true, id: true } });
        if (!cursor) throw badInput("after must be the cursor of a page of your notifications", [{ field: "after", message: "is not a cursor of yours" }]);
        where.OR = [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }];
      }
      const rows = await db.notification.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: page.first + 1 });
      const notifications = rows.slice(0, page.first);
      return { notifications, nextCursor: rows.length > page.first ? notifications.at(-1)!.id : null };
    },

    unreadCount: (viewer: SignedInViewer) => db.notification.count({ where: { recipientId: viewer.userId, inInbox: true, readAt: null } }),

    async markRead(viewer: SignedInViewer, loaders: NotificationLoaders, ids: string[]): Promise<number> {
      const found = await loaders.notificationById.loadMany(ids);
      const missing = ids.filter((_id, i) => !found[i] || found[i] instanceof Error);
      if (missing.length > 0) throw notFound(`No notification with id ${missing[0]}`);
      if (found.some((n) => (n as Notification).recipientId !== viewer.userId)) throw forbidden("You can only mark your own notifications read");
      const { count } = await db.notification.updateMany({ where: { id: { in: ids }, recipientId: viewer.userId, readAt: null }, data: { readAt: new Date() } });
      return count;
    },

    async markAllRead(viewer: SignedInViewer): Promise<number> {
      const { count } = await db.notification.updateMany({ where: { recipientId: viewer.userId, readAt: null }, data: { readAt: new Date() } });
      return count;
    },

    async preferences(viewer: SignedInViewer) {
      const rows = new Map((await db.preference.findMany({ where: { userId: viewer.userId } })).map((p) => [p.category, p]));
      return CATEGORIES.map((category) => ({
        category,
        inApp: rows.get(category)?.inApp ?? true,
        push: rows.get(category)?.push ?? true,
        email: emailPreference(category, rows.get(category)?.email),
        digest: rows.get(category)?.digest ?? false,
      }));
    },

    /** `email` left out keeps what it was (clients from before email, a mail's unsubscribe link). */
    async setPreference(viewer: SignedInViewer, input: { category: NotificationCategory; inApp: boolean; push: boolean; email?: boolean | null; digest?: boolean | null }) {
      const email = input.email ?? undefined;
      const digest = input.digest ?? undefined;
      const row = await db.preference.upsert({
        where: { userId_category: { userId: viewer.userId, category: input.category } },
        create: { userId: viewer.userId, category: input.category, inApp: input.inApp, push: input.push, email, digest },
        update: { inApp: input.inApp, push: input.push, email, digest },
      });
      return { category: row.category, inApp: row.inApp, push: row.push, email: emailPreference(row.category, row.email), digest: row.digest };
    },

    /** When the caller's digest goes out (digestTimeOf: theirs, else 18:00 in their quiet hours' zone or UTC) and its next time. */
    async digestSchedule(viewer: SignedInViewer, now = new Date()) {
      const [schedule, quiet] = await Promise.all([db.digestSchedule.findUnique({ where: { userId: viewer.userId } }), db.quietHours.findUnique({ where: { userId: viewer.userId } })]);
      const time = digestTimeOf(schedule, quiet?.timeZone ?? null);
      return { ...time, nextAt: nextDigestSlot(now, time) };
    },

    async setDigestSchedule(viewer: SignedInViewer, input: { hour: number; timeZone: string }) {
      await db.digestSchedule.upsert({ where: { userId: viewer.userId }, create: { userId: viewer.userId, ...input }, update: input });
      return { ...input, nextAt: nextDigestSlot(new Date(), input) };
    },

    async quietHours(viewer: SignedInViewer) {
      return quietHoursView(await db.quietHours.findUnique({ where: { userId: viewer.userId } }));
    },

    /**
     * Replaces the caller's quiet hours, or clears them (null). Read by the worker pool when a
     * push's job runs; pushes already waiting for an earlier window's end keep that time.
     */
    async setQuietHours(viewer: SignedInViewer, window: { startMinute: number; endMinute: number; timeZone: string } | null) {
      if (window === null) {
        await db.quietHours.deleteMany({ where: { userId: viewer.userId } });
        return null;
      }
      return quietHoursView(await db.quietHours.upsert({ where: { userId: viewer.userId }, create: { userId: viewer.userId, ...window }, update: window }));
    },

    devices: (viewer: SignedInViewer) => db.pushDevice.findMany({ where: { userId: viewer.userId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),

    /** The same token again updates its device (and gives it to the caller: a phone changes hands). */
    registerDevice(viewer: SignedInViewer, input: { platform: PushDevice["platform"]; token: string; label: string | null }): Promise<PushDevice> {
      return db.pushDevice.upsert({
        where: { token: input.token },
        create: { userId: viewer.userId, ...input },
        // A token that was a browser's subscription is an FCM token from now on.
        update: { userId: viewer.userId, platform: input.platform, service: "FCM", p256dh: null, auth: null, label: input.label, disabledAt: null },
      });
    },

    webPushKey: () => deps.webPushKey,

    /**
     * A browser's push subscription, as a device (platform WEB): the same endpoint again
     * updates its keys and revives it, and moves it to the caller (another account signed in
     * on that browser). While web push is off a subscription could only have been made with
     * someone else's key: refused, so a client learns at once rather than never hearing.
     */
    registerWebPush(viewer: SignedInViewer, input: { endpoint: string; keys: { p256dh: string; auth: string }; label: string | null }): Promise<PushDevice> {
      if (deps.webPushKey === null) {
        throw appError(ErrorCode.SERVICE_UNAVAILABLE, "Web push is off on this server (webPushApplicationServerKey is null)", { reason: "WEB_PUSH_OFF" });
      }
      const fields = { userId: viewer.userId, platform: "WEB" as const, service: "WEB_PUSH" as const, ...input.keys, label: input.label };
      return db.pushDevice.upsert({ where: { token: input.endpoint }, create: { token: input.endpoint, ...fields }, update: { ...fields, disabledAt: null } });
    },

    /** Removes the caller's subscription of this endpoint (a browser that unsubscribed); false when they had none. */
    async unregisterWebPush(viewer: SignedInViewer, endpoint: string): Promise<boolean> {
      const { count } = await db.pushDevice.deleteMany({ where: { token: endpoint, userId: viewer.userId, service: "WEB_PUSH" } });
      return count > 0;
    },

    /** Most recently failed first, keyset-paged on (updatedAt, id). Who may ask is in the schema (admins). */
    async failedDeliveries(page: { first: number; after: string | null }): Promise<Delivery[]> {
      const where: Prisma.DeliveryWhereInput = { status: "FAILED" };
      if (page.after) {
        const cursor = await db.delivery.findFirst({ where: { id: page.after, status: "FAILED" }, select: { updatedAt: true, id: true } });
        if (!cursor) throw badInput("after must be the id of a failed delivery", [{ field: "after", message: "is not a failed delivery" }]);
        where.OR = [{ updatedAt: { lt: cursor.updatedAt } }, { updatedAt: cursor.updatedAt, id: { lt: cursor.id } }];
      }
      return db.delivery.findMany({ where, orderBy: [{ updatedAt: "desc" }, { id: "desc" }], take: page.first });
    },

    /** FAILED back to PENDING (pushes to devices still active, emails)  and into the queue again; audited. */
    async retryDeliveries(ids: string[], audit: AuditContext): Promise<number> {
      const retried = await db.$transaction(async (tx) => {
        const rows = await tx.delivery.updateManyAndReturn({
          // Emails have no device: their address is asked again when they run.
          where: { id: { in: ids }, status: "FAILED", OR: [{ channel: "EMAIL" }, { device: { is: { disabledAt: null } } }] },
          data: { status: "PENDING" },
          select: { id: true },
        });
        if (rows.length > 0) {
          await recordAudit(tx, audit, { action: "notification.deliveries.retry", outcome: AuditOutcome.SUCCESS, details: { deliveries: rows.length } });
        }
        return rows.map((row) => row.id);
      });
      // Should Redis be down now, they are PENDING: the worker pool's sweep queues them.
      await queue.requeue(retried).catch((error: unknown) => deps.logger?.warn({ err: error }, "could not requeue deliveries; the sweep will"));
      return retried.length;
    },

    async unregisterDevice(viewer: SignedInViewer, id: string): Promise<boolean> {
      const { count } = await db.pushDevice.deleteMany({ where: { id, userId: viewer.userId } });
      return count > 0;
    },
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;
