import { Queue } from "bullmq";
import type { Redis } from "@startales/service-kit";

export const PROVIDER_QUEUE = "provider-jobs";

/**
 * What a queue entry carries: the job's id (the row is the truth) and, while tracing is on,
 * the trace context of the request that created it, which the worker continues.
 */
export type QueueData = { jobId: string; traceparent?: string };

/** BullMQ keys live under PROVIDER_REDIS_PREFIX, so test stacks (and tenants) never share a queue. */
export const queuePrefix = (redisPrefix: string) => `${redisPrefix}bull`;

export function createJobQueue(redis: Redis, redisPrefix: string, attempts: number): Queue<QueueData> {
  return new Queue<QueueData>(PROVIDER_QUEUE, {
    connection: redis,
    prefix: queuePrefix(redisPrefix),
    defaultJobOptions: {
      attempts,
      backoff: { type: "provider" },
      // Finished entries are only bookkeeping (the row has the result); failed ones stay a
      // while for operators to inspect and retry.
      removeOnComplete: { age: 3_600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400 },
    },
  });
}
