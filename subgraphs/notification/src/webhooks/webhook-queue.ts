import { Queue } from "bullmq";
import type { Logger, Redis } from "@startales/service-kit";
import { queuePrefix } from "../delivery/queue";
import { requeueByJobId, rowJobOptions } from "../delivery/row-jobs";

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
    // The delay is the runner's (it records the next attempt's time in the row): worker-app's backoffStrategy returns it.
    defaultJobOptions: rowJobOptions(options.attempts, "webhook"),
  });
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
    requeue: (deliveryIds) => requeueByJobId(queue, deliveryIds, "webhook"),
    close: () => queue.close(),
  };
}
