import { periodicTask, type Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { DeliveryQueue } from "./queue";

/**
 * Queues PENDING deliveries that have not moved for `staleMs`: those committed while Redis
 * was unreachable (or by a process that died before queuing them), and those whose job ran
 * out of attempts while their final outcome could not be written. A delivery waiting or
 * running in the queue keeps its job, so requeuing it is a no-op. Each sweep also deletes
 * notifications older than `retentionDays` (with their deliveries), a batch at a time: the
 * inbox is a recent history, not an archive.
 */
export function createDeliverySweep(deps: { db: Db; queue: DeliveryQueue; staleMs: number; everyMs: number; retentionDays: number; logger: Logger }) {
  async function sweep(): Promise<number> {
    const stale = await deps.db.delivery.findMany({
      where: { status: "PENDING", updatedAt: { lt: new Date(Date.now() - deps.staleMs) } },
      select: { id: true },
      orderBy: [{ updatedAt: "asc" }, { id: "asc" }],
      take: 1_000,
    });
    await deps.queue.requeue(stale.map((d) => d.id));
    if (stale.length > 0) deps.logger.info({ deliveries: stale.length }, "requeued pending deliveries");
    await purge();
    return stale.length;
  }

  /** Deletes up to 5,000 notifications past retention; resolves to how many. */
  async function purge(): Promise<number> {
    const cutoff = new Date(Date.now() - deps.retentionDays * 86_400_000);
    const deleted = await deps.db.$executeRaw`
      DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE created_at < ${cutoff} LIMIT 5000)`;
    if (deleted > 0) deps.logger.info({ notifications: deleted, retentionDays: deps.retentionDays }, "deleted notifications past retention");
    return deleted;
  }

  // At start, then every `everyMs` after each sweep ends: a slow sweep is never run twice at once.
  const task = periodicTask(sweep, { everyMs: deps.everyMs, logger: deps.logger, failure: "delivery sweep failed; trying again at the next one" });

  return {
    /** One sweep now (requeue, then purge); resolves to how many deliveries it queued. */
    sweep,
    purge,
    start: () => task.start(),
    stop: () => task.stop(),
  };
}
