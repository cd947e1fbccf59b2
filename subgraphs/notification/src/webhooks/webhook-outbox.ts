import type { Prisma } from "../generated/prisma/client";
import { eventBody, type WebhookEventRecord } from "./webhook-events";

/**
 * Records an event for every enabled webhook subscribed to it, in the producer's transaction:
 * the event and its deliveries commit together or not at all, and the worker pool sends what
 * committed (queued after the commit; the sweep queues what was not). The same event id twice
 * is one delivery per webhook. Returns the new deliveries' ids for the caller to queue.
 */
export async function recordWebhookEvent(tx: Prisma.TransactionClient, record: WebhookEventRecord, onlyWebhookId?: string): Promise<string[]> {
  const webhooks = await tx.webhook.findMany({
    where: onlyWebhookId ? { id: onlyWebhookId } : { enabled: true, events: { has: record.event } },
    select: { id: true },
  });
  if (webhooks.length === 0) return [];
  const body = eventBody(record);
  const created = await tx.webhookDelivery.createManyAndReturn({
    data: webhooks.map((webhook) => ({ webhookId: webhook.id, eventId: record.id, eventType: record.event, body })),
    skipDuplicates: true,
    select: { id: true },
  });
  return created.map((row) => row.id);
}
