import { ACCOUNT_MAIL_REQUESTED, createStreamConsumer, type ConsumedEvent, type Logger, type Redis } from "@startales/service-kit";
import type { DeliveryQueue } from "../delivery/queue";

/** The consumer group notification reads identity's account mail as. */
export const ACCOUNT_MAIL_GROUP = "notification";

/**
 * Reads `events:<ACCOUNT_MAIL_TOPIC>` (identity's ACCOUNT_MAIL_REQUESTED) as group
 * `notification`: each event becomes a job of the delivery queue (job id from the event's
 * id, so a redelivered event is one mail), acknowledged once queued. The mail itself (to whom,
 * the link) is asked of identity when the job runs, so a mail made moot meanwhile is dropped.
 * With email off the events are acknowledged and nothing is sent (the worker says so at start).
 */
export function createAccountMailConsumer(deps: {
  redis: Redis;
  topic: string;
  queue: DeliveryQueue;
  emailOn: boolean;
  logger: Logger;
  blockMs: number;
  claimIdleMs: number;
  maxDeliveries: number;
}) {
  const { logger } = deps;
  async function apply(event: ConsumedEvent): Promise<"queued" | "ignored" | "email-off"> {
    if (event.type !== ACCOUNT_MAIL_REQUESTED) return "ignored";
    const { kind, mailId } = event.data as { kind: string; mailId: string };
    if (!deps.emailOn) {
      logger.warn({ kind, mailId }, "account mail requested while email is off (SMTP_URL unset); not sent");
      return "email-off";
    }
    await deps.queue.enqueueAccountMail({ mailId, kind, eventId: event.id });
    return "queued";
  }
  return createStreamConsumer({
    redis: deps.redis,
    topic: deps.topic,
    group: ACCOUNT_MAIL_GROUP,
    logger,
    blockMs: deps.blockMs,
    claimIdleMs: deps.claimIdleMs,
    maxDeliveries: deps.maxDeliveries,
    trimAcknowledged: true,
    apply,
    // No metrics of its own: the registry's stream_consumer_* gauges are the request consumer's (one set per process).
  });
}
