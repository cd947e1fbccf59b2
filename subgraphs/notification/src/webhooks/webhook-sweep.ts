import { periodicTask, type Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { WebhookQueue } from "./webhook-queue";

/**
 * Requeues PENDING webhook deliveries whose job was lost: committed while Redis was unreachable,
 * or by a process that died before queuing them. One waiting between attempts is not stale until
 * its next attempt is `staleMs` overdue; one whose job still waits or runs is left to it
 * (requeue is a no-op then). A disabled webhook's deliveries wait for it to be enabled again.
 */
export function createWebhookSweep(deps: { db: Db; queue: WebhookQueue; staleMs: number; everyMs: number; logger: Logger }) {
  async function sweep(): Promise<number> {
    const cutoff = new Date(Date.now() - deps.staleMs);
    const stale = await deps.db.webhookDelivery.findMany({
      where: { status: "PENDING", updatedAt: { lt: cutoff }, OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lt: cutoff } }], webhook: { enabled: true } },
      select: { id: true },
      orderBy: [{ updatedAt: "asc" }, { id: "asc" }],
      take: 1_000,
    });
    await deps.queue.requeue(stale.map((d) => d.id));
    if (stale.length > 0) deps.logger.info({ deliveries: stale.length }, "requeued pending webhook deliveries");
    return stale.length;
  }

  // At start, then every `everyMs` after each sweep ends: a slow sweep is never run twice at once.
  const task = periodicTask(sweep, { everyMs: deps.everyMs, logger: deps.logger, failure: "webhook sweep failed; trying again at the next one" });

  return {
    sweep,
    start: () => task.start(),
    stop: () => task.stop(),
  };
}
