import { randomUUID } from "node:crypto";
import type { Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { DeliveryQueue } from "../delivery/queue";
import { EMAIL_ON_BY_DEFAULT } from "../email/email-preferences";
import type { NotificationCategory } from "../generated/prisma/client";
import { DIGEST_MAX_ITEMS, type DigestData } from "./digest-data";
import { digestTimeOf, lastDigestSlot } from "./digest-schedule";

/** Users looked at per pass: the next pass takes the rest. */
const USERS_PER_PASS = 500;


type Waiting = { user_id: string; hour: number | null; schedule_zone: string | null; quiet_zone: string | null; oldest: Date };
type Item = { id: string; category: NotificationCategory; title: string; body: string; push: boolean; email: boolean };

/**
 * The daily digest: a category a user batches (Preference.digest) leaves each notification in
 * the inbox at once but gives it a digest entry instead of a push and a mail (the writer's
 * statement). Each pass finds users with entries from before their latest digest time and, in
 * one transaction per user, marks those entries digested and writes one notification that
 * lists them (not in the inbox: its items are there already), with a push to each active
 * device when any listed category is pushed and one mail when any is mailed; then queues its
 * deliveries (the delivery runner sends them as any other, quiet hours included; the sweep
 * requeues them if the queue was unreachable). Its sourceKey is the digest time, so a pass
 * run twice, or on two workers, writes one digest.
 */
export function createDailyDigest(deps: { db: Db; queue: DeliveryQueue; push: boolean; webPush: boolean; email: boolean; logger: Logger }) {
  const { db, logger } = deps;

  /** The digest's delivery ids, or null when there was nothing to digest (or another pass wrote it). */
  async function digestOf(userId: string, slot: Date): Promise<string[] | null> {
    return db.$transaction(async (tx) => {
      const items = await tx.$queryRaw<Item[]>`
        WITH taken AS (
          UPDATE digest_entries SET digested_at = now()
           WHERE user_id = ${userId}::uuid AND digested_at IS NULL AND created_at <= ${slot}
          RETURNING notification_id
        )
        SELECT n.id, n.category::text AS category, n.title, n.body,
               COALESCE(p.push, true) AS push,
               COALESCE(p.email, n.category::text = ANY(${EMAIL_ON_BY_DEFAULT as string[]}::text[])) AS email
          FROM taken t JOIN notifications n ON n.id = t.notification_id
          LEFT JOIN preferences p ON p.user_id = n.recipient_id AND p.category = n.category
         ORDER BY n.created_at, n.id`;
      if (items.length === 0) return null;
      // The digest's category is its most frequent one's: quiet hours and the mail's unsubscribe link follow it.
      const counts = new Map<NotificationCategory, number>();
      for (const item of items) counts.set(item.category, (counts.get(item.category) ?? 0) + 1);
      const category = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
      const data: DigestData = { digest: true, count: items.length, items: items.slice(0, DIGEST_MAX_ITEMS).map(({ title, body }) => ({ title, body })) };
      const shown = items.slice(0, 3).map((item) => item.title);
      const body = items.length > shown.length ? `${shown.join(" · ")} and ${items.length - shown.length} more` : shown.join(" · ");
      const id = randomUUID();
      const created = await tx.$executeRaw`
        INSERT INTO notifications (id, recipient_id, category, title, body, data, source_key, in_inbox)
        VALUES (${id}::uuid, ${userId}::uuid, ${category}::"NotificationCategory", ${`Your daily digest: ${items.length} update${items.length === 1 ? "" : "s"}`},
                ${body}, ${JSON.stringify(data)}::jsonb, ${`digest:${slot.toISOString()}`}, false)
        ON CONFLICT (recipient_id, source_key) DO NOTHING`;
      if (created === 0) return null;
      const pushed = items.some((item) => item.push);
      const mailed = deps.email && items.some((item) => item.email);
      const deliveries = await tx.$queryRaw<{ id: string }[]>`
        INSERT INTO deliveries (id, notification_id, channel, device_id, updated_at)
        SELECT gen_random_uuid(), ${id}::uuid, 'PUSH'::"DeliveryChannel", d.id, now()
          FROM push_devices d
         WHERE ${pushed}::boolean AND d.user_id = ${userId}::uuid AND d.disabled_at IS NULL
           AND (CASE d.service WHEN 'WEB_PUSH' THEN ${deps.webPush}::boolean ELSE ${deps.push}::boolean END)
        UNION ALL
        SELECT gen_random_uuid(), ${id}::uuid, 'EMAIL'::"DeliveryChannel", NULL::uuid, now() WHERE ${mailed}::boolean
        RETURNING id`;
      return deliveries.map((d) => d.id);
    });
  }

  /** One pass at `now`: resolves to how many digests it wrote. */
  async function run(now = new Date()): Promise<number> {
    const waiting = await db.$queryRaw<Waiting[]>`
      SELECT e.user_id, s.hour, s.time_zone AS schedule_zone, q.time_zone AS quiet_zone, min(e.created_at) AS oldest
        FROM digest_entries e
        LEFT JOIN digest_schedules s ON s.user_id = e.user_id
        LEFT JOIN quiet_hours q ON q.user_id = e.user_id
       WHERE e.digested_at IS NULL
       GROUP BY e.user_id, s.hour, s.time_zone, q.time_zone
       ORDER BY min(e.created_at)
       LIMIT ${USERS_PER_PASS}`;
    let written = 0;
    for (const row of waiting) {
      const time = digestTimeOf(row.hour === null ? null : { hour: row.hour, timeZone: row.schedule_zone! }, row.quiet_zone);
      const slot = lastDigestSlot(now, time);
      // Everything waiting arrived after the latest digest time: it goes in the next one.
      if (row.oldest > slot) continue;
      const deliveryIds = await digestOf(row.user_id, slot);
      if (deliveryIds === null) continue;
      written += 1;
      if (deliveryIds.length > 0)
        await deps.queue.enqueue(deliveryIds).catch((error: unknown) => logger.warn({ err: error }, "could not queue a digest's deliveries; the sweep will"));
    }
    if (written > 0) logger.info({ digests: written }, "sent daily digests");
    return written;
  }

  return { run };
}

export type DailyDigest = ReturnType<typeof createDailyDigest>;
