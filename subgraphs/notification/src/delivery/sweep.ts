import type { Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { DeliveryQueue } from "./queue";

/**
 * Queues PENDING deliveries that have not moved for `staleMs`: those committed while Redis
 * was unreachable (or by a process that died before queuing them), and those whose job ran
 * out of attempts while their final outcome could not be written. A delivery waiting or
 * running in the queue keeps its job, so requeuing it is a no-op.
 */
export function createDeliverySweep(deps: { db: Db; queue: DeliveryQueue; staleMs: number; everyMs: number; logger: Logger }) {
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<number> | undefined;

  async function sweep(): Promise<number> {
    const stale = await deps.db.delivery.findMany({
      where: { status: "PENDING", updatedAt: { lt: new Date(Date.now() - deps.staleMs) } },
      select: { id: true },
      orderBy: { createdAt: "asc" },
      take: 1_000,
    });
    await deps.queue.requeue(stale.map((d) => d.id));
    if (stale.length > 0) deps.logger.info({ deliveries: stale.length }, "requeued pending deliveries");
    return stale.length;
  }

  const tick = () => {
    inFlight = sweep()
      .catch((error) => {
        deps.logger.warn({ err: error }, "delivery sweep failed; trying again at the next one");
        return 0;
      })
      .finally(() => {
        inFlight = undefined;
      });
  };

  return {
    /** One sweep now; resolves to how many deliveries it queued. */
    sweep,
    start() {
      timer ??= setInterval(tick, deps.everyMs);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
