import type { Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { DeliveryStatus } from "../generated/prisma/client";
import { QUIET_HOURS_BYPASS, quietUntil } from "../domain/quiet-hours";
import { loadDeliveries, type DeliveryToSend } from "./delivery-store";
import type { PushClient, PushOutcome } from "./push-client";
import type { EmailSender } from "./email-sender";
import { createSentMarker } from "./sent-marker";
import { webPushPayload, type WebPushClient } from "./web-push-client";

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

/**
 * Puts off deliveries whose recipient is in quiet hours: each runs again at its time (a job of
 * its own, id = the delivery's id, delayed), still PENDING meanwhile. Throws to retry the job.
 */
export type DeferDeliveries = (deferred: Map<string, Date>) => Promise<void>;

/** When a delivery's recipient's quiet hours end, if it is held by them now (its category does not bypass them). */
export function quietHoursEnd(delivery: DeliveryToSend, now: Date): Date | null {
  if (delivery.quietStart === null || delivery.quietEnd === null || !delivery.quietZone) return null;
  if (QUIET_HOURS_BYPASS.has(delivery.category)) return null;
  try {
    return quietUntil(now, { startMinute: delivery.quietStart, endMinute: delivery.quietEnd }, delivery.quietZone);
  } catch {
    // A zone this runtime no longer knows: better a push at night than none.
    return null;
  }
}

/** Why a delivery finished without being sent, kept in its `lastError`. */
const PUSH_OFF = "PUSH_DISABLED";
const EMAIL_OFF = "EMAIL_DISABLED";
const DEVICE_GONE = "DEVICE_UNREGISTERED";

/**
 * Pushes of a batch in flight at once; each slice's SENT is written before the next is sent,
 * so a worker that dies mid-batch sends again at most one slice (delivery is at least once).
 */
const SLICE = 25;

/**
 * Runs deliveries (a job's batch, or one): only PENDING ones, so a job run twice (a retry
 * after a crash, a sweep requeuing it) never sends twice what was recorded as sent. Every
 * outcome is written back with a compare-and-set on PENDING. A batch is read in one
 * statement and its pushes marked SENT together with every other job's (sent-marker.ts); when some of it is worth
 * another attempt, the job is retried and runs again only what is still PENDING.
 */
export function createDeliveryRunner(deps: {
  db: Db;
  /** FCM; null: off. */
  push: PushClient | null;
  /** Web Push to browsers' subscriptions; null or absent: off. */
  webPush?: WebPushClient | null;
  /** Email (SMTP) with identity's addresses; null or absent: off. */
  email?: EmailSender | null;
  logger: Logger;
  onOutcome?: (status: DeliveryStatus, code: string | null) => void;
  /** The clock quiet hours are read on (tests). */
  now?: () => Date;
}) {
  const { db, push, logger } = deps;
  const webPush = deps.webPush ?? null;
  const email = deps.email ?? null;
  const marker = createSentMarker(db);
  const now = deps.now ?? (() => new Date());

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

  /** The message for the push service: FCM data values are strings, the client's own data one JSON string. */
  const messageOf = (delivery: DeliveryToSend & { token: string }) => ({
    token: delivery.token,
    title: delivery.title,
    body: delivery.body,
    data: {
      notificationId: delivery.notificationId,
      category: delivery.category,
      ...(delivery.campaignId ? { campaignId: delivery.campaignId } : {}),
      data: JSON.stringify(delivery.data),
    },
  });

  /** Writes back an outcome other than sent; a RetryDelivery when this one is worth another attempt. */
  async function settle(id: string, delivery: DeliveryToSend, outcome: Exclude<PushOutcome, { kind: "sent" }>, lastAttempt: boolean): Promise<RetryDelivery | null> {
    switch (outcome.kind) {
      case "unregistered":
        // The token (or a browser's subscription: 404/410) is dead for every notification: its device gets nothing more.
        await db.pushDevice.updateMany({ where: { id: delivery.deviceId!, disabledAt: null }, data: { disabledAt: new Date() } });
        logger.info({ deviceId: delivery.deviceId, service: delivery.service, code: outcome.code }, "push token no longer registered; device disabled");
        await finish(id, "FAILED", { attempted: true, lastError: outcome.code });
        return null;
      case "rejected":
        logger.warn({ deliveryId: id, code: outcome.code }, "push service refused a message");
        await finish(id, "FAILED", { attempted: true, lastError: outcome.code });
        return null;
      case "retry":
        if (lastAttempt) {
          await finish(id, "FAILED", { attempted: true, lastError: outcome.code });
        } else {
          await db.delivery.updateMany({ where: { id, status: "PENDING" }, data: { attempts: { increment: 1 }, lastError: outcome.code } });
        }
        // Thrown on the last attempt too: the job ends in the failed set for operators.
        return new RetryDelivery(outcome.code, outcome.retryAfterMs);
    }
  }

  /** Sends a slice at once, marks what was sent in one statement, settles the rest. */
  async function sendSlice(slice: [string, DeliveryToSend & { token: string }][], lastAttempt: boolean, statuses: Map<string, DeliveryStatus>): Promise<RetryDelivery[]> {
    const outcomes = await Promise.all(
      slice.map(([, delivery]) =>
        delivery.service === "WEB_PUSH"
          ? webPush!.send({ endpoint: delivery.token, p256dh: delivery.p256dh!, auth: delivery.auth! }, webPushPayload(delivery))
          : push!.send(messageOf(delivery)),
      ),
    );
    const sent = slice.flatMap(([id], i) => (outcomes[i]!.kind === "sent" ? [{ deliveryId: id, messageId: (outcomes[i] as { messageId: string }).messageId }] : []));
    for (const _marked of await marker.mark(sent)) deps.onOutcome?.("SENT", null);
    const retries: RetryDelivery[] = [];
    for (const [i, [id, delivery]] of slice.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.kind === "sent") {
        statuses.set(id, "SENT");
        continue;
      }
      const retry = await settle(id, delivery, outcome, lastAttempt);
      statuses.set(id, retry && !lastAttempt ? "PENDING" : "FAILED");
      if (retry) retries.push(retry);
    }
    return retries;
  }

  /**
   * Sends a batch's emails (email-sender.ts) and settles each as a push is; identity unable to
   * say where they go is a retry of them all.
   */
  async function sendEmails(toSend: [string, DeliveryToSend][], lastAttempt: boolean, statuses: Map<string, DeliveryStatus>): Promise<RetryDelivery[]> {
    if (toSend.length === 0) return [];
    let outcomes;
    try {
      outcomes = await email!.send(toSend.map(([, delivery]) => delivery));
    } catch (error) {
      logger.warn({ err: error, deliveries: toSend.length }, "could not ask identity where to mail; retrying");
      outcomes = toSend.map(() => ({ kind: "retry" as const, code: "IDENTITY_UNAVAILABLE", retryAfterMs: null }));
    }
    const sent = toSend.flatMap(([id], i) => (outcomes[i]!.kind === "sent" ? [{ deliveryId: id, messageId: (outcomes[i] as { messageId: string }).messageId }] : []));
    for (const _marked of await marker.mark(sent)) deps.onOutcome?.("SENT", null);
    const retries: RetryDelivery[] = [];
    for (const [i, [id, delivery]] of toSend.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.kind === "sent") statuses.set(id, "SENT");
      else if (outcome.kind === "skipped") statuses.set(id, await finish(id, "SKIPPED", { lastError: outcome.code }));
      else {
        const retry = await settle(id, delivery, outcome, lastAttempt);
        statuses.set(id, retry && !lastAttempt ? "PENDING" : "FAILED");
        if (retry) retries.push(retry);
      }
    }
    return retries;
  }

  /**
   * Runs a batch; resolves to each delivery's status as this run left it (SKIPPED for an id
   * with no row). Throws a RetryDelivery, once the whole batch has run, when any delivery is
   * worth another attempt (not sooner than the longest Retry-After the service asked for).
   * Those whose recipient is in quiet hours now stay PENDING and are handed to `defer` with
   * the window's end (checked at every run: retries, the sweep's and operators' requeues, and
   * the deferred run itself, which finds the window over, or a new one).
   */
  async function runBatch(deliveryIds: string[], attempt: { made: number; max: number }, defer?: DeferDeliveries): Promise<Map<string, DeliveryStatus>> {
    const found = await loadDeliveries(db, deliveryIds);
    const statuses = new Map<string, DeliveryStatus>();
    const deferred = new Map<string, Date>();
    const at = now();
    const toSend: [string, DeliveryToSend & { token: string }][] = [];
    const toMail: [string, DeliveryToSend][] = [];
    for (const id of new Set(deliveryIds)) {
      const delivery = found.get(id);
      if (!delivery) statuses.set(id, "SKIPPED");
      else if (delivery.status !== "PENDING") statuses.set(id, delivery.status);
      else if (delivery.channel === "EMAIL") {
        if (!email) statuses.set(id, await finish(id, "SKIPPED", { lastError: EMAIL_OFF }));
        else {
          // Quiet hours hold mail as they hold pushes (SYSTEM excepted).
          const until = defer ? quietHoursEnd(delivery, at) : null;
          if (until) {
            deferred.set(id, until);
            statuses.set(id, "PENDING");
          } else toMail.push([id, delivery]);
        }
      }
      // A device unregistered, disabled or handed to another user since: not the recipient's any more.
      else if (!delivery.deviceId || !delivery.token || delivery.deviceDisabled || delivery.deviceUserId !== delivery.recipientId) {
        statuses.set(id, await finish(id, "SKIPPED", { lastError: DEVICE_GONE }));
      } else if (!(delivery.service === "WEB_PUSH" ? webPush : push)) statuses.set(id, await finish(id, "SKIPPED", { lastError: PUSH_OFF }));
      else {
        const until = defer ? quietHoursEnd(delivery, at) : null;
        if (until) {
          deferred.set(id, until);
          statuses.set(id, "PENDING");
        } else toSend.push([id, delivery as DeliveryToSend & { token: string }]);
      }
    }
    if (deferred.size > 0) await defer!(deferred);
    const lastAttempt = attempt.made + 1 >= attempt.max;
    const retries: RetryDelivery[] = [];
    for (let i = 0; i < toSend.length; i += SLICE) retries.push(...(await sendSlice(toSend.slice(i, i + SLICE), lastAttempt, statuses)));
    retries.push(...(await sendEmails(toMail, lastAttempt, statuses)));
    if (retries.length > 0) {
      const waits = retries.map((r) => r.retryAfterMs).filter((ms): ms is number => ms !== null);
      throw new RetryDelivery(retries[0]!.code, waits.length > 0 ? Math.max(...waits) : null);
    }
    return statuses;
  }

  return {
    runBatch,
    /** Runs one delivery; resolves to its status (see runBatch). */
    async run(deliveryId: string, attempt: { made: number; max: number }): Promise<DeliveryStatus> {
      return (await runBatch([deliveryId], attempt)).get(deliveryId)!;
    },
  };
}

export type DeliveryRunner = ReturnType<typeof createDeliveryRunner>;
