import { CAMPAIGN_LIFECYCLE_CHANGED, createStreamConsumer, type ConsumedEvent, type EventStreamConsumer, type Logger, type Metrics, type Redis, type StreamConsumerOutcome } from "@startales/service-kit";
import type { Queue } from "bullmq";
import type { InboxEvent } from "../domain/lifecycle-inbox";
import { lifecycleJobId, type LifecycleJobData } from "./queues";

/** The consumer group that turns campaign lifecycle changes into lifecycle jobs (the stream's only group). */
export const LIFECYCLE_GROUP = "simulation";

export type LifecycleOutcome = "queued" | "ignored" | StreamConsumerOutcome;

/**
 * Reads campaign's CAMPAIGN_LIFECYCLE_CHANGED events (`events:<LIFECYCLE_TOPIC>`) as consumer
 * group `simulation`, with the service kit's stream consumer: each event is recorded in the
 * lifecycle inbox (PostgreSQL) and its job queued before it is acknowledged. One stream for
 * every campaign, read from where the group left it: the cost follows the changes, not the
 * number of campaigns or the length of their history. The job id comes from the event id, so
 * an event delivered twice (a claim after a crash) is one job; the job itself is idempotent
 * (reconcileCampaign), and the reconciler queues again what Redis lost after the inbox.
 */
export function createLifecycleConsumer(deps: {
  redis: Redis;
  topic: string;
  queue: Queue<LifecycleJobData>;
  record: (event: InboxEvent) => Promise<void>;
  logger: Logger;
  blockMs: number;
  claimIdleMs: number;
  maxDeliveries: number;
  metrics?: Metrics;
  onOutcome?: (outcome: LifecycleOutcome) => void;
}): EventStreamConsumer {
  const apply = async (event: ConsumedEvent): Promise<LifecycleOutcome> => {
    if (event.type !== CAMPAIGN_LIFECYCLE_CHANGED) return "ignored";
    const { change } = event.data as { change: string };
    const inboxEvent: InboxEvent = { campaignId: event.aggregateId, eventId: event.id, type: change };
    await deps.record(inboxEvent);
    await deps.queue.add("reconcile", event.traceparent ? { ...inboxEvent, traceparent: event.traceparent } : inboxEvent, { jobId: lifecycleJobId(event.id) });
    return "queued";
  };
  return createStreamConsumer({
    redis: deps.redis,
    topic: deps.topic,
    group: LIFECYCLE_GROUP,
    logger: deps.logger,
    blockMs: deps.blockMs,
    claimIdleMs: deps.claimIdleMs,
    maxDeliveries: deps.maxDeliveries,
    trimAcknowledged: true,
    apply,
    onOutcome: deps.onOutcome,
    metrics: deps.metrics,
  });
}
