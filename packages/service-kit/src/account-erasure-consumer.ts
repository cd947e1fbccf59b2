import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { ACCOUNT_ERASURE_GROUPS, ACCOUNT_ERASURE_REQUESTED } from "./notification-requests";
import type { Redis } from "./redis";
import { createStreamConsumer, type ConsumedEvent, type EventStreamConsumer, type StreamConsumerOutcome } from "./stream-consumer";

export type ErasureOutcome = "erased" | "ignored" | StreamConsumerOutcome;

/**
 * Reads identity's ACCOUNT_ERASURE_REQUESTED (`events:<ACCOUNT_ERASURE_TOPIC>`) as one of the
 * groups in ACCOUNT_ERASURE_GROUPS: `erase` is the service's own forgetting of the user, and
 * must be idempotent (delivery is at least once; a retried request finds nothing left). The
 * stream is trimmed only where every group has acknowledged, so a reader that was down
 * still gets every request.
 */
export function createAccountErasureConsumer(deps: {
  redis: Redis;
  topic: string;
  group: (typeof ACCOUNT_ERASURE_GROUPS)[number];
  erase: (userId: string) => Promise<void>;
  logger: Logger;
  blockMs?: number;
  claimIdleMs?: number;
  maxDeliveries?: number;
  onOutcome?: (outcome: ErasureOutcome) => void;
  metrics?: Metrics;
}): EventStreamConsumer {
  return createStreamConsumer<"erased" | "ignored">({
    redis: deps.redis,
    topic: deps.topic,
    group: deps.group,
    groupsOnStream: ACCOUNT_ERASURE_GROUPS,
    logger: deps.logger,
    blockMs: deps.blockMs ?? 5_000,
    claimIdleMs: deps.claimIdleMs ?? 30_000,
    maxDeliveries: deps.maxDeliveries ?? 10,
    trimAcknowledged: true,
    async apply(event: ConsumedEvent) {
      if (event.type !== ACCOUNT_ERASURE_REQUESTED) return "ignored";
      await deps.erase((event.data as { userId: string }).userId);
      return "erased";
    },
    onOutcome: deps.onOutcome,
    metrics: deps.metrics,
  });
}
