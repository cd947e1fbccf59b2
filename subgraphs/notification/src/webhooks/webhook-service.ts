import { randomUUID } from "node:crypto";
import { AuditOutcome, badInput, notFound, type AuditContext, type Logger } from "@startales/service-kit";
import type { Db } from "../db";
import { recordAudit } from "../domain/audit";
import type { Prisma, Webhook, WebhookDelivery } from "../generated/prisma/client";
import type { SecretBox } from "./secret-box";
import { newWebhookSecret } from "./signing";
import { checkResolvedHost, type AddressRules } from "./webhook-address";
import type { CreateWebhookInput, UpdateWebhookInput, WebhookDeliveriesPage } from "./webhook-input";
import { recordWebhookEvent } from "./webhook-outbox";
import type { WebhookQueue } from "./webhook-queue";

/** What the audit log keeps of a webhook: never its secret, and the URL's origin only (a path may carry a token of the receiver's). */
const audited = (webhook: Pick<Webhook, "url" | "events">) => ({ origin: new URL(webhook.url).origin, events: webhook.events });

/**
 * Outgoing webhooks as admins manage them (who may is in the schema: admins, writers). A
 * secret is returned by create and rotate only, and kept sealed (secret-box.ts). Every change
 * is audited in its own transaction.
 */
export function createWebhookService(deps: { db: Db; queue: WebhookQueue; secrets: SecretBox; rules: AddressRules; logger?: Logger }) {
  const { db, queue } = deps;

  /** The URL's host on what it resolves to now (the sender checks again on every attempt). */
  async function assertReachable(url: string) {
    const refused = await checkResolvedHost(new URL(url).hostname, deps.rules);
    if (refused) throw badInput(`url ${refused}`, [{ field: "url", message: refused }]);
  }

  async function existing(id: string): Promise<Webhook> {
    const webhook = await db.webhook.findUnique({ where: { id } });
    if (!webhook) throw notFound("No webhook with this id");
    return webhook;
  }

  return {
    list: () => db.webhook.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),

    async create(input: CreateWebhookInput, audit: AuditContext): Promise<{ secret: string; webhook: Webhook }> {
      await assertReachable(input.url);
      const secret = newWebhookSecret();
      const webhook = await db.$transaction(async (tx) => {
        const created = await tx.webhook.create({ data: { url: input.url, events: input.events, description: input.description, secretCiphertext: deps.secrets.seal(secret) } });
        await recordAudit(tx, audit, { action: "webhook.create", outcome: AuditOutcome.SUCCESS, targetType: "Webhook", targetId: created.id, details: audited(created) });
        return created;
      });
      return { secret, webhook };
    },

    async update(id: string, input: UpdateWebhookInput, audit: AuditContext): Promise<Webhook> {
      await existing(id);
      if (input.url !== undefined) await assertReachable(input.url);
      return db.$transaction(async (tx) => {
        const updated = await tx.webhook.update({ where: { id }, data: { url: input.url, events: input.events, description: input.description } });
        await recordAudit(tx, audit, { action: "webhook.update", outcome: AuditOutcome.SUCCESS, targetType: "Webhook", targetId: id, details: audited(updated) });
        return updated;
      });
    },

    /** Enabling clears why the system disabled it, and queues the deliveries that waited meanwhile. */
    async setEnabled(id: string, enabled: boolean, audit: AuditContext): Promise<Webhook> {
      await existing(id);
      const webhook = await db.$transaction(async (tx) => {
        const updated = await tx.webhook.update({ where: { id }, data: { enabled, disabledReason: null } });
        await recordAudit(tx, audit, { action: enabled ? "webhook.enable" : "webhook.disable", outcome: AuditOutcome.SUCCESS, targetType: "Webhook", targetId: id });
        return updated;
      });
      if (enabled) {
        const waiting = await db.webhookDelivery.findMany({ where: { webhookId: id, status: "PENDING" }, select: { id: true } });
        await queue.requeue(waiting.map((d) => d.id)).catch((error: unknown) => deps.logger?.warn({ err: error }, "could not queue a webhook's waiting deliveries; the sweep will"));
      }
      return webhook;
    },

    async delete(id: string, audit: AuditContext): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const { count } = await tx.webhook.deleteMany({ where: { id } });
        if (count > 0) await recordAudit(tx, audit, { action: "webhook.delete", outcome: AuditOutcome.SUCCESS, targetType: "Webhook", targetId: id });
        return count > 0;
      });
    },

    /** A new secret, in force for the next attempt of every delivery (retries included). */
    async rotateSecret(id: string, audit: AuditContext): Promise<{ secret: string; webhook: Webhook }> {
      await existing(id);
      const secret = newWebhookSecret();
      const webhook = await db.$transaction(async (tx) => {
        const updated = await tx.webhook.update({ where: { id }, data: { secretCiphertext: deps.secrets.seal(secret) } });
        await recordAudit(tx, audit, { action: "webhook.rotate_secret", outcome: AuditOutcome.SUCCESS, targetType: "Webhook", targetId: id });
        return updated;
      });
      return { secret, webhook };
    },

    /** Newest first, keyset-paged on (createdAt, id). */
    async deliveries(page: WebhookDeliveriesPage): Promise<{ deliveries: WebhookDelivery[]; nextCursor: string | null }> {
      await existing(page.webhookId);
      const where: Prisma.WebhookDeliveryWhereInput = { webhookId: page.webhookId };
      if (page.after) {
        const cursor = await db.webhookDelivery.findFirst({ where: { id: page.after, webhookId: page.webhookId }, select: { createdAt: true, id: true } });
        if (!cursor) throw badInput("after must be the id of one of this webhook's deliveries", [{ field: "after", message: "is not a delivery of this webhook" }]);
        where.OR = [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }];
      }
      const rows = await db.webhookDelivery.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: page.first + 1 });
      const deliveries = rows.slice(0, page.first);
      return { deliveries, nextCursor: rows.length > page.first ? deliveries.at(-1)!.id : null };
    },

    /** A `webhook.ping` to this webhook alone, whatever it subscribes to (and even while disabled: it waits then). */
    async ping(id: string): Promise<WebhookDelivery> {
      await existing(id);
      const [deliveryId] = await db.$transaction((tx) =>
        recordWebhookEvent(tx, { id: `ping:${randomUUID()}`, event: "PING", data: { webhookId: id }, occurredAt: new Date() }, id),
      );
      await queue.enqueue([deliveryId!]);
      return db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId! } });
    },

    /** The same delivery (webhook-id, body) again with a new set of attempts, whatever became of it. */
    async redeliver(deliveryId: string, audit: AuditContext): Promise<WebhookDelivery> {
      const delivery = await db.$transaction(async (tx) => {
        const { count } = await tx.webhookDelivery.updateMany({ where: { id: deliveryId }, data: { status: "PENDING", nextAttemptAt: null } });
        if (count === 0) throw notFound("No webhook delivery with this id");
        const row = await tx.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } });
        await recordAudit(tx, audit, { action: "webhook.redeliver", outcome: AuditOutcome.SUCCESS, targetType: "WebhookDelivery", targetId: deliveryId, details: { webhookId: row.webhookId } });
        return row;
      });
      await queue.requeue([deliveryId]);
      return delivery;
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
