import type { Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { DeliveryStatus } from "../generated/prisma/client";
import { loadDelivery, markSent } from "./delivery-store";
import type { PushClient } from "./push-client";

/** Thrown for an attempt worth repeating; the queue retries with backoff (not sooner than retryAfterMs). */
export class RetryDelivery extends Error {
  constructor(
    readonly code: string,
    readonly retryAfterMs: number | null,
  ) {
    super(`push attempt failed (${code})`);
    this.name = "RetryDelivery";
  }
}

/** Why a delivery finished without being sent, kept in its `lastError`. */
const PUSH_OFF = "PUSH_DISABLED";
const DEVICE_GONE = "DEVICE_UNREGISTERED";

/**
 * Runs one delivery: only a PENDING one, so a job run twice (a retry after a crash, a sweep
 * requeuing it) never sends twice what was recorded as sent. Every outcome is written back
 * with a compare-and-set on PENDING.
 */
export function createDeliveryRunner(deps: { db: Db; push: PushClient | null; logger: Logger; onOutcome?: (status: DeliveryStatus, code: string | null) => void }) {
  const { db, push, logger } = deps;

  const finish = async (id: string, status: DeliveryStatus, fields: { lastError?: string | null; providerMessageId?: string; attempted?: boolean }) => {
    await db.delivery.updateMany({
      where: { id, status: "PENDING" },
      data: {
        status,
        ...(fields.attempted ? { attempts: { increment: 1 } } : {}),
        ...(fields.lastError !== undefined ? { lastError: fields.lastError } : {}),
        ...(fields.providerMessageId ? { providerMessageId: fields.providerMessageId, sentAt: new Date() } : {}),
      },
    });
    deps.onOutcome?.(status, fields.lastError ?? null);
    return status;
  };

  return {
    async run(deliveryId: string, attempt: { made: number; max: number }): Promise<DeliveryStatus> {
      const delivery = await loadDelivery(db, deliveryId);
      if (!delivery) return "SKIPPED";
      if (delivery.status !== "PENDING") return delivery.status;
      // A device unregistered, disabled or handed to another user since: not the recipient's any more.
      if (!delivery.deviceId || !delivery.token || delivery.deviceDisabled || delivery.deviceUserId !== delivery.recipientId) {
        return finish(deliveryId, "SKIPPED", { lastError: DEVICE_GONE });
      }
      if (!push) return finish(deliveryId, "SKIPPED", { lastError: PUSH_OFF });

      const outcome = await push.send({
        token: delivery.token,
        title: delivery.title,
        body: delivery.body,
        // FCM data values are strings: the client's own data travels as one JSON string.
        data: {
          notificationId: delivery.notificationId,
          category: delivery.category,
          ...(delivery.campaignId ? { campaignId: delivery.campaignId } : {}),
          data: JSON.stringify(delivery.data),
        },
      });
      switch (outcome.kind) {
        case "sent":
          if (await markSent(db, deliveryId, outcome.messageId)) deps.onOutcome?.("SENT", null);
          return "SENT";
        case "unregistered":
          // The token is dead for every notification: its device gets nothing more.
          await db.pushDevice.updateMany({ where: { id: delivery.deviceId, disabledAt: null }, data: { disabledAt: new Date() } });
          logger.info({ deviceId: delivery.deviceId, code: outcome.code }, "push token no longer registered; device disabled");
          return finish(deliveryId, "FAILED", { attempted: true, lastError: outcome.code });
        case "rejected":
          logger.warn({ deliveryId, code: outcome.code }, "push service refused a message");
          return finish(deliveryId, "FAILED", { attempted: true, lastError: outcome.code });
        case "retry":
          if (attempt.made + 1 >= attempt.max) {
            await finish(deliveryId, "FAILED", { attempted: true, lastError: outcome.code });
          } else {
            await db.delivery.updateMany({ where: { id: deliveryId, status: "PENDING" }, data: { attempts: { increment: 1 }, lastError: outcome.code } });
          }
          // Thrown on the last attempt too: the job ends in the failed set for operators.
          throw new RetryDelivery(outcome.code, outcome.retryAfterMs);
      }
    },
  };
}

export type DeliveryRunner = ReturnType<typeof createDeliveryRunner>;
