import { Topics, activeTraceparent, eventData } from "@startales/service-kit";
import type { Db } from "../db";
import { EMAIL_ON_BY_DEFAULT } from "../email/email-preferences";
import type { Notification, NotificationCategory, Prisma } from "../generated/prisma/client";

const NOTIFICATION_ADDED = "NOTIFICATION_ADDED";

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

type Result = { created: (Omit<Notification, "createdAt" | "readAt"> & { createdAt: string; readAt: string | null })[]; deliveryIds: string[] };

/**
 * The Redis channel the subgraph's outbox relays listen on for wakes: the worker pool writes
 * inbox events too, and runs no relay of its own (prismaOutboxRelay's wakeChannel, outboxWaker).
 */
export const inboxWakeChannel = (redisPrefix: string) => `${redisPrefix}outbox:wake`;

/** A campaign of 10,000 players starting is one call; give it room, not the 5 s default. */
const TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * Creates notifications in one statement, in one transaction: each recipient's preference for
 * the category decides whether the inbox shows it (in_inbox) and whether each of their active
 * devices (reached by a push service that is on: FCM with `push`, browsers with `webPush`) gets a PENDING push delivery,
 * and, with `email` and the category's email preference, the notification one EMAIL delivery
 * (neither for a category the recipient batches into the daily digest: a digest entry instead); each one shown gets a NOTIFICATION_ADDED event on
 * `inbox:<recipient>` (outbox) for the notificationAdded subscription. A notification whose
 * (recipient, sourceKey) exists is left as it is and gets nothing new, so a retried request
 * or a redelivered event sends nothing twice. Everything is on until the recipient turns it
 * off. One statement over one JSON parameter, not Prisma's createMany: a campaign-wide
 * request has more rows than PostgreSQL takes parameters, and Prisma's per-row work (or its
 * handling of 10,000-element array parameters) would not finish within a transaction's time. Returns the new deliveries' ids for the caller to queue after
 * the commit; `inTransaction` runs before it (an audit entry).
 */
export async function writeNotifications(
  db: Db,
  items: NewNotification[],
  options: { push: boolean; webPush?: boolean; email?: boolean; inTransaction?: (tx: Prisma.TransactionClient, written: Written) => Promise<unknown> },
): Promise<Written> {
  if (items.length === 0) return { created: [], deliveryIds: [] };
  // The NOTIFICATION_ADDED events are built by the SQL below, so their data is checked here:
  // it is the category alone, so once per category, not per recipient (a request has up to 10,000).
  const byCategory = new Map(items.map((item) => [item.category, item.recipientId]));
  for (const [category, recipientId] of byCategory) eventData(Topics.inbox(recipientId), NOTIFICATION_ADDED, { category });
  // One JSON parameter, not a parameter per value: a campaign-wide request has 10,000 rows.
  const input = JSON.stringify(
    items.map((item) => ({
      recipient_id: item.recipientId,
      category: item.category,
      title: item.title,
      body: item.body,
      campaign_id: item.campaignId,
      data: item.data,
      sender_id: item.senderId,
      source_key: item.sourceKey,
    })),
  );
  return db.$transaction(
    async (tx) => {
      const rows = await tx.$queryRaw<Result[]>`
        WITH input AS (
          SELECT t.*, COALESCE(p.in_app, true) AS in_inbox
            FROM jsonb_to_recordset(${input}::jsonb)
                   AS t(recipient_id uuid, category text, title text, body text, campaign_id uuid, data jsonb, sender_id uuid, source_key text)
            LEFT JOIN preferences p ON p.user_id = t.recipient_id AND p.category::text = t.category
        ), created AS (
          INSERT INTO notifications (id, recipient_id, category, title, body, campaign_id, data, sender_id, source_key, in_inbox)
          SELECT gen_random_uuid(), recipient_id, category::"NotificationCategory", title, body, campaign_id, data, sender_id, source_key, in_inbox
            FROM input
          ON CONFLICT (recipient_id, source_key) DO NOTHING
          RETURNING *
        ), events AS (
          INSERT INTO outbox_events (id, topic, type, aggregate_id, version, data, traceparent)
          SELECT gen_random_uuid(), ${Topics.inbox("")} || c.recipient_id, ${NOTIFICATION_ADDED}, c.id, 1, jsonb_build_object('category', c.category), ${activeTraceparent()}::text
            FROM created c WHERE c.in_inbox
        ), queued AS (
          INSERT INTO deliveries (id, notification_id, channel, device_id, updated_at)
          SELECT gen_random_uuid(), c.id, 'PUSH', d.id, now()
            FROM created c
            JOIN push_devices d ON d.user_id = c.recipient_id AND d.disabled_at IS NULL
            LEFT JOIN preferences p ON p.user_id = c.recipient_id AND p.category = c.category
           WHERE (CASE d.service WHEN 'WEB_PUSH' THEN ${options.webPush ?? false}::boolean ELSE ${options.push}::boolean END) AND COALESCE(p.push, true)
             AND NOT COALESCE(p.digest, false)
          RETURNING id
        ), mailed AS (
          -- One email per notification, its address asked of identity when it is sent (never stored here).
          INSERT INTO deliveries (id, notification_id, channel, updated_at)
          SELECT gen_random_uuid(), c.id, 'EMAIL', now()
            FROM created c
            LEFT JOIN preferences p ON p.user_id = c.recipient_id AND p.category = c.category
           WHERE ${options.email ?? false}::boolean AND COALESCE(p.email, c.category::text = ANY(${EMAIL_ON_BY_DEFAULT as string[]}::text[]))
             AND NOT COALESCE(p.digest, false)
          RETURNING id
        ), digested AS (
          -- A digest category's news waits for the recipient's daily digest (digest/daily-digest.ts) instead.
          INSERT INTO digest_entries (notification_id, user_id)
          SELECT c.id, c.recipient_id
            FROM created c
            JOIN preferences p ON p.user_id = c.recipient_id AND p.category = c.category
           WHERE p.digest AND c.category <> 'SYSTEM'
        )
        SELECT (SELECT COALESCE(json_agg(json_build_object(
                  'id', c.id, 'recipientId', c.recipient_id, 'category', c.category, 'title', c.title, 'body', c.body,
                  'campaignId', c.campaign_id, 'data', c.data, 'senderId', c.sender_id, 'sourceKey', c.source_key,
                  'inInbox', c.in_inbox, 'createdAt', c.created_at, 'readAt', c.read_at)), '[]') FROM created c) AS created,
               (SELECT COALESCE(json_agg(q.id), '[]') FROM (SELECT id FROM queued UNION ALL SELECT id FROM mailed) q) AS "deliveryIds"`;
      // One row of JSON: per-row columns would repeat the delivery ids on every row.
      const [{ created, deliveryIds }] = rows as [Result];
      const written: Written = {
        created: created.map((row) => ({ ...row, createdAt: new Date(row.createdAt), readAt: row.readAt === null ? null : new Date(row.readAt) })),
        deliveryIds,
      };
      await options.inTransaction?.(tx, written);
      return written;
    },
    { timeout: TRANSACTION_TIMEOUT_MS },
  );
}
