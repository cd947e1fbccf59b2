import type { Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { WebhookDeliveryStatus } from "../generated/prisma/client";
import { webhookRetryDelayMs } from "./retry-delay";
import type { SecretBox } from "./secret-box";
import { signatureHeaders } from "./signing";
import type { SendResult, WebhookSender } from "./webhook-sender";

/** Thrown by a run worth another attempt: the worker's backoffStrategy waits `delayMs` (already written to the row as nextAttemptAt). */
export class RetryWebhook extends Error {
  constructor(
    readonly reason: string,
    readonly delayMs: number,
  ) {
    super(`webhook delivery to be retried: ${reason}`);
    this.name = "RetryWebhook";
  }
}

/** What an answer means: 2xx delivered, 410 Gone the receiver is gone for good, anything else (or none) worth another attempt. */
export function outcomeOf(result: SendResult): "sent" | "gone" | "retry" {
  if (result.status === null) return "retry";
  if (result.status >= 200 && result.status < 300) return "sent";
  return result.status === 410 ? "gone" : "retry";
}

/**
 * Runs one webhook delivery: only a PENDING one of an enabled webhook (a job run twice, after a
 * crash or by the sweep, never sends what was recorded as sent; a disabled webhook's wait until
 * it is enabled again). Each attempt is signed anew (its own timestamp, the same webhook-id and
 * body) and written back with a compare-and-set on PENDING. Delivery is at least once: a worker
 * that dies between the answer and the write sends again, with the same webhook-id.
 */
export function createWebhookRunner(deps: {
  db: Db;
  sender: WebhookSender;
  secrets: SecretBox;
  retry: { baseMs: number; maxMs: number };
  logger: Logger;
  onOutcome?: (status: WebhookDeliveryStatus | "RETRY") => void;
}) {
  const { db, logger } = deps;

  return async function run(deliveryId: string, attempt: { made: number; max: number }): Promise<WebhookDeliveryStatus | "MISSING" | "WAITING"> {
    const delivery = await db.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { webhook: true } });
    if (!delivery) return "MISSING";
    if (delivery.status !== "PENDING") return delivery.status;
    if (!delivery.webhook.enabled) return "WAITING";

    let secret: string;
    try {
      secret = deps.secrets.open(delivery.webhook.secretCiphertext);
    } catch (error) {
      // WEBHOOK_SECRET_KEY changed since the secret was sealed: only rotating the secret fixes it, so retrying would not.
      logger.error({ err: error, webhookId: delivery.webhookId }, "cannot read a webhook's signing secret (WEBHOOK_SECRET_KEY changed?); rotate it");
      await db.webhookDelivery.updateMany({ where: { id: deliveryId, status: "PENDING" }, data: { status: "FAILED", lastError: "SECRET_UNREADABLE: rotate the webhook's secret", nextAttemptAt: null } });
      deps.onOutcome?.("FAILED");
      return "FAILED";
    }
    const sentAt = new Date();
    const result = await deps.sender.post(delivery.webhook.url, signatureHeaders(secret, delivery.id, sentAt, delivery.body), delivery.body);
    const answer = result.status === null ? { lastStatusCode: null, lastError: result.error, responseSnippet: null } : { lastStatusCode: result.status, responseSnippet: result.snippet || null };
    const where = { id: deliveryId, status: "PENDING" as const };

    switch (outcomeOf(result)) {
      case "sent":
        await db.webhookDelivery.updateMany({ where, data: { ...answer, status: "SENT", attempts: { increment: 1 }, lastError: null, sentAt, nextAttemptAt: null } });
        deps.onOutcome?.("SENT");
        return "SENT";
      case "gone":
        // The receiver says it will never want these again: the webhook is turned off (an admin can turn it back on).
        await db.$transaction([
          db.webhookDelivery.updateMany({ where, data: { ...answer, status: "FAILED", attempts: { increment: 1 }, lastError: "GONE: the receiver answered 410", nextAttemptAt: null } }),
          db.webhook.updateMany({ where: { id: delivery.webhookId, enabled: true }, data: { enabled: false, disabledReason: `The receiver answered 410 Gone at ${sentAt.toISOString()}` } }),
        ]);
        logger.warn({ webhookId: delivery.webhookId, deliveryId }, "webhook receiver answered 410 Gone; webhook disabled");
        deps.onOutcome?.("FAILED");
        return "FAILED";
      case "retry": {
        const lastError = result.status === null ? result.error : `HTTP_${result.status}`;
        const lastAttempt = attempt.made + 1 >= attempt.max;
        const delayMs = webhookRetryDelayMs(attempt.made + 1, deps.retry);
        await db.webhookDelivery.updateMany({
          where,
          data: { ...answer, lastError, attempts: { increment: 1 }, ...(lastAttempt ? { status: "FAILED", nextAttemptAt: null } : { nextAttemptAt: new Date(Date.now() + delayMs) }) },
        });
        deps.onOutcome?.(lastAttempt ? "FAILED" : "RETRY");
        // Thrown on the last attempt too: the job ends in the failed set, where redeliverWebhook picks it up.
        throw new RetryWebhook(lastError, delayMs);
      }
    }
  };
}

export type WebhookRunner = ReturnType<typeof createWebhookRunner>;
