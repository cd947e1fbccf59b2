import { Queue } from "bullmq";
import type { Logger, Redis } from "@startales/service-kit";

export const DELIVERY_QUEUE = "notification-deliveries";

/** What a queue entry carries: the delivery's id only; the row is the truth. */
export type DeliveryJob = { deliveryId: string };

/** BullMQ keys live under NOTIFICATION_REDIS_PREFIX, so test stacks (and tenants) never share a queue. */
export const queuePrefix = (redisPrefix: string) => `${redisPrefix}bull`;

export type DeliveryQueue = {
  queue: Queue<DeliveryJob>;
  /**
   * Queues deliveries by id (the job id, so queuing one twice while it waits is a no-op).
   * Never throws: what cannot be queued now stays PENDING and the worker pool's sweep queues it.
   */
  enqueue(deliveryIds: string[]): Promise<void>;
  /**
   * Runs deliveries again whatever their job did: a failed job is retried with a new set of
   * attempts, a finished one replaced, a missing one added. Throws when Redis is unreachable.
   */
  requeue(deliveryIds: string[]): Promise<void>;
  close(): Promise<void>;
};

export function createDeliveryQueue(redis: Redis, options: { redisPrefix: string; attempts: number; logger: Logger }): DeliveryQueue {
  const queue = new Queue<DeliveryJob>(DELIVERY_QUEUE, {
    connection: redis,
    prefix: queuePrefix(options.redisPrefix),
    defaultJobOptions: {
      attempts: options.attempts,
      backoff: { type: "delivery" },
      // Finished entries are only bookkeeping (the row has the outcome); failed ones stay a
      // while for operators to inspect and retry.
      removeOnComplete: { age: 3_600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400 },
    },
  });
  return {
    queue,
    async enqueue(deliveryIds) {
      if (deliveryIds.length === 0) return;
      try {
        await queue.addBulk(deliveryIds.map((deliveryId) => ({ name: "push", data: { deliveryId }, opts: { jobId: deliveryId } })));
      } catch (error) {
        options.logger.warn({ err: error, deliveries: deliveryIds.length }, "could not queue deliveries; the sweep will");
      }
    },
    async requeue(deliveryIds) {
      const requeueOne = async (deliveryId: string) => {
        const job = await queue.getJob(deliveryId);
        const state = job ? await job.getState() : "missing";
        if (job && state === "failed") return job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
        // Waiting, delayed or active: it runs anyway. Completed: make room for a new job of the same id.
        if (job && state !== "completed") return;
        await job?.remove();
        await queue.add("push", { deliveryId }, { jobId: deliveryId });
      };
      for (let i = 0; i < deliveryIds.length; i += 50) await Promise.all(deliveryIds.slice(i, i + 50).map(requeueOne));
    },
    close: () => queue.close(),
  };
}
