import { Queue } from "bullmq";
import type { Logger, Redis } from "@startales/service-kit";
import { queuePrefix } from "../delivery/queue";

/** A queue of its own: a receiver that is down for a day must not hold up players' pushes. */
export const WEBHOOK_QUEUE = "webhooks";

/** One delivery per job, job id = the delivery's id (the row is the truth; the sweep and redeliveries requeue by id). */
export type WebhookJob = { deliveryId: string };

export type WebhookQueue = {
  queue: Queue<WebhookJob>;
  /** Queues new deliveries. Never throws: what cannot be queued stays PENDING for the sweep. */
  enqueue(deliveryIds: string[]): Promise<void>;
  /** Runs deliveries again with a new set of attempts, whatever their job did; one waiting, delayed or running is left to run. */
  requeue(deliveryIds: string[]): Promise<void>;
  close(): Promise<void>;
};

export function createWebhookQueue(redis: Redis, options: { redisPrefix: string; attempts: number; logger: Logger }): WebhookQueue {
  const queue = new Queue<WebhookJob>(WEBHOOK_QUEUE, {
    connection: redis,
    prefix: queuePrefix(options.redisPrefix),
    defaultJobOptions: {
      attempts: options.attempts,
      // The delay is the runner's (it records the next attempt's time in the row): worker-app's backoffStrategy returns it.
      backoff: { type: "webhook" },
      removeOnComplete: { age: 3_600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400 },
    },
  });
  const requeueOne = async (deliveryId: string) => {
    const job = await queue.getJob(deliveryId);
    const state = job ? await job.getState() : "missing";
    if (job && state === "failed") return job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    if (job && state !== "completed") return;
    await job?.remove();
    await queue.add("webhook", { deliveryId }, { jobId: deliveryId });
  };
  return {
    queue,
    async enqueue(deliveryIds) {
      if (deliveryIds.length === 0) return;
      try {
        await queue.addBulk(deliveryIds.map((deliveryId) => ({ name: "webhook", data: { deliveryId }, opts: { jobId: deliveryId } })));
      } catch (error) {
        options.logger.warn({ err: error, deliveries: deliveryIds.length }, "could not queue webhook deliveries; the sweep will");
      }
    },
    async requeue(deliveryIds) {
      for (let i = 0; i < deliveryIds.length; i += 50) await Promise.all(deliveryIds.slice(i, i + 50).map(requeueOne));
    },
    close: () => queue.close(),
  };
}
