import { FIREHOSE_WRITERS, Topics, addStreamConsumerMetrics, createStreamConsumer, type ConsumedEvent, type EventStreamConsumer, type Logger, type Metrics, type Redis, type StreamConsumerOutcome } from "@startales/service-kit";
import type { AnalyticsStore } from "../store/analytics-store";
import { toEventRow } from "./event-rows";
import { FORGOTTEN, namedUsers, withoutForgottenUsers } from "./forgotten-users";

/**
 * Identity's two events of a deleted account (one transaction, not always one batch): the
 * later of them to arrive finds the other's row, which names the user, and forgets it too.
 */
const FORGETS: Record<string, string> = { account: "ACCOUNT_DELETED", "integration:account-erasures": "ACCOUNT_ERASURE_REQUESTED" };

/** The consumer group analytics reads every firehose with (making it is what turns a firehose on). */
export const INGEST_GROUP = "analytics";

export type IngestOutcome = "ingested" | "duplicate" | StreamConsumerOutcome;

/**
 * Reads every producer's firehose (`events:<prefix>:<producer>`, one per service with an
 * outbox, and the gateway's usage statistics) as the consumer group `analytics`: at least once, each read's events kept as one
 * batch by the store and acknowledged after it is, idempotent on the event id (a redelivery
 * is a duplicate, counted nowhere). ACCOUNT_DELETED forgets its user. An event that breaks its contract, or fails INGEST_MAX_DELIVERIES
 * times, goes to the firehose's dead-letter stream. The group trims what it has acknowledged:
 * it is the firehose's only reader. Lag and pending per firehose are in
 * stream_consumer_lag / stream_consumer_pending.
 */
export function createFirehoseIngest(deps: {
  redis: Redis;
  store: AnalyticsStore;
  prefix: string;
  logger: Logger;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
  maxDeliveries: number;
  onOutcome?: (producer: string, outcome: IngestOutcome) => void;
  metrics?: Metrics;
}) {
  const topics = FIREHOSE_WRITERS.map((producer) => ({ producer, topic: Topics.firehose(producer, deps.prefix) }));
  // One set of gauges for every firehose (a consumer given the metrics would register its own).
  if (deps.metrics) addStreamConsumerMetrics(deps.metrics, deps.redis, topics.map(({ topic }) => ({ topic, group: INGEST_GROUP })), { logger: deps.logger });
  const consumers: EventStreamConsumer[] = topics.map(({ producer, topic }) =>
    createStreamConsumer<"ingested" | "duplicate">({
      redis: deps.redis,
      topic,
      group: INGEST_GROUP,
      logger: deps.logger.child({ firehose: topic }),
      blockMs: deps.blockMs,
      claimIdleMs: deps.claimIdleMs,
      maxDeliveries: deps.maxDeliveries,
      batchSize: deps.batchSize,
      trimAcknowledged: true,
      // A store outage pauses the reading instead of burning the events' deliveries.
      canApply: () => deps.store.readiness.check().then(
        () => true,
        () => false,
      ),
      async applyBatch(events: ConsumedEvent[]) {
        // A user forgotten earlier is named by none of what arrives after (forgotten-users.ts).
        const rows = await withoutForgottenUsers(events.map(toEventRow), (userIds) => deps.store.forgottenAmong(userIds));
        const fresh = new Set(await deps.store.writeEvents(rows));
        // Someone these rows name may have been forgotten while they were being written: the
        // erasure did not see them, so it is made again (forget-user.ts says why this closes it).
        const late = await deps.store.forgottenAmong(namedUsers(rows));
        for (const userId of late) await deps.store.forgetUser(userId);
        // A user who deleted their account is forgotten as forgetUser forgets them, once their
        // last events (this batch's included) are in; a failure retries the batch, whose
        // events are duplicates by then, and the forgetting with it.
        // (One that arrives again after its user was forgotten names nobody any more: nothing to do.)
        const forgotten = new Set(rows.filter((row) => FORGETS[row.family] === row.type && row.aggregateId !== FORGOTTEN).map((row) => row.aggregateId));
        for (const userId of forgotten) {
          const footprint = await deps.store.forgetUser(userId);
          deps.logger.info({ footprint }, "forgot a user who deleted their account");
        }
        // The first of an id is the one kept; a repeat within the batch is a duplicate like any other.
        return rows.map((row) => (fresh.delete(row.id) ? "ingested" : "duplicate"));
      },
      onOutcome: (outcome) => deps.onOutcome?.(producer, outcome),
    }),
  );
  return {
    topics: topics.map((t) => t.topic),
    start: () => consumers.forEach((consumer) => consumer.start()),
    stop: async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
  };
}
