import type { Db } from "../db";

/** Done rows are kept this long, so an event read again (delivered again, or restored after a Redis data loss) is known as done; far beyond a lifecycle job's 24 h in BullMQ. */
export const INBOX_RETENTION_MS = 7 * 24 * 3600 * 1000;

export type InboxEvent = { eventId: string; campaignId: string; type: string };

/**
 * The lifecycle events the worker pool owes work for, in PostgreSQL: a lifecycle job lives in
 * Redis only, and Redis may lose it (a restart without persistence, a failover) before it runs.
 * The lifecycle consumer records an event before queuing its job; the job marks it done once the
 * campaign is reconciled; the reconciler queues again what is not done.
 */
export function createLifecycleInbox(db: Db) {
  return {
    /**
     * Idempotent: the same event seen again (delivered again after a worker died before its
     * acknowledgement, or restored after a Redis data loss) keeps its first row, done or not.
     * Its job is queued all the same (one job per event id): the job may be what was lost.
     */
    async record(event: InboxEvent): Promise<void> {
      await db.lifecycleInbox.createMany({ data: [event], skipDuplicates: true });
    },
    async done(eventId: string): Promise<void> {
      await db.lifecycleInbox.updateMany({ where: { eventId, doneAt: null }, data: { doneAt: new Date() } });
    },
    /** Not-done events, oldest first, `limit` at a time after `after` (keyset: nothing is skipped or starved). */
    pending(limit: number, after?: { receivedAt: Date; eventId: string }) {
      return db.lifecycleInbox.findMany({
        where: {
          doneAt: null,
          ...(after ? { OR: [{ receivedAt: { gt: after.receivedAt } }, { receivedAt: after.receivedAt, eventId: { gt: after.eventId } }] } : {}),
        },
        orderBy: [{ receivedAt: "asc" }, { eventId: "asc" }],
        take: limit,
        select: { eventId: true, campaignId: true, type: true, receivedAt: true },
      });
    },
    /** Deletes up to `limit` rows done longer than INBOX_RETENTION_MS ago; resolves to how many. */
    purge(limit: number): Promise<number> {
      const cutoff = new Date(Date.now() - INBOX_RETENTION_MS);
      return db.$executeRaw`DELETE FROM lifecycle_inbox WHERE event_id IN (SELECT event_id FROM lifecycle_inbox WHERE done_at < ${cutoff} LIMIT ${limit})`;
    },
  };
}

export type LifecycleInbox = ReturnType<typeof createLifecycleInbox>;
