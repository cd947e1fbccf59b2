import { NOTIFICATION_REQUESTED, SpanKind, createStreamConsumer, withSpan, type ConsumedEvent, type Logger, type Metrics, type Redis, type StreamConsumerOutcome } from "@startales/service-kit";
import type { Db } from "../db";
import { parseRequest, render } from "../domain/templates";
import { writeNotifications } from "../domain/notification-writer";
import type { DeliveryQueue } from "./queue";

/** The consumer group that turns integration events into notifications (the stream's only group). */
export const EVENTS_GROUP = "notification";

/**
 * Recipients written per transaction. A campaign-wide request (10,000) is written a chunk at a
 * time, each chunk's deliveries queued as soon as it commits, so the first pushes leave while
 * the rest is still being written. Each chunk is idempotent on its own (recipient, sourceKey):
 * an event applied again after a failure part-way writes only what is missing.
 */
const WRITE_CHUNK = 1_000;

export type ConsumeOutcome = "created" | "duplicate" | "ignored" | StreamConsumerOutcome;

/**
 * Reads `events:<NOTIFICATION_TOPIC>` (`events:integration:notifications`) with the service
 * kit's stream consumer, group `notification`: each NOTIFICATION_REQUESTED is applied (its
 * notifications written, their deliveries queued) before it is acknowledged, and the same
 * event applied twice writes nothing new (sourceKey `event:<id>`). The relay never trims this
 * stream; acknowledged entries are trimmed here, so nothing is lost however long the pool is
 * down. Claims, retries and the dead-letter stream are the consumer's (stream-consumer.ts).
 */
export function createEventConsumer(deps: {
  redis: Redis;
  /** The topic whose stream is read (NOTIFICATION_TOPIC). */
  topic: string;
  db: Db;
  queue: DeliveryQueue;
  /** Which push services are on (FCM, Web Push): devices of another get no delivery. */
  push: boolean;
  webPush: boolean;
  /** Email is on (SMTP_URL): recipients whose preference says so get an EMAIL delivery. */
  email?: boolean;
  logger: Logger;
  blockMs: number;
  claimIdleMs: number;
  /** Deliveries of one entry (reads and claims) before it goes to the dead-letter stream. */
  maxDeliveries: number;
  onEvent?: (outcome: ConsumeOutcome) => void;
  metrics?: Metrics;
  /** After a commit that wrote inbox events: wakes the subgraph's outbox relays (outboxWaker). */
  afterCommit?: () => void;
}) {
  const { db, queue, logger } = deps;

  async function apply(event: ConsumedEvent): Promise<"created" | "duplicate" | "ignored"> {
    // Another integration type on this topic is not ours to act on (a newer sender's).
    const request = event.type === NOTIFICATION_REQUESTED ? parseRequest(event.data) : null;
    if (!request) {
      logger.warn({ streamId: event.streamId, type: event.type }, "not a notification request; acknowledged without notifying");
      return "ignored";
    }
    // Continues the trace of the request that changed the campaign (the event's traceparent).
    return withSpan(
      "notification-worker",
      "consume NOTIFICATION_REQUESTED",
      async () => {
        const items = render(event.id, request);
        let created = 0;
        for (let i = 0; i < items.length; i += WRITE_CHUNK) {
          const written = await writeNotifications(db, items.slice(i, i + WRITE_CHUNK), { push: deps.push, webPush: deps.webPush, email: deps.email ?? false });
          if (written.created.length > 0) deps.afterCommit?.();
          await queue.enqueue(written.deliveryIds);
          created += written.created.length;
        }
        return created > 0 ? "created" : "duplicate";
      },
      { kind: SpanKind.CONSUMER, parent: event.traceparent ?? "root", attributes: { "startales.event_id": event.id } },
    );
  }

  return createStreamConsumer({
    redis: deps.redis,
    topic: deps.topic,
    group: EVENTS_GROUP,
    logger,
    blockMs: deps.blockMs,
    claimIdleMs: deps.claimIdleMs,
    maxDeliveries: deps.maxDeliveries,
    trimAcknowledged: true,
    apply,
    onOutcome: deps.onEvent,
    metrics: deps.metrics,
  });
}
