import { Topics, activeTraceparent, eventData, type EventData } from "@startales/service-kit";
import type { Prisma } from "../generated/prisma/client";

type Tx = Prisma.TransactionClient;

/**
 * Writes an account event (ACCOUNT_REGISTERED, SIGNED_IN, ACCOUNT_DELETED) in the caller's transaction, the
 * transaction of the sign-up or sign-in itself (transactional outbox): the user's id and how,
 * never their email or name. Its version is the account's own count of these events, taken
 * by one conditional update of the user's row, so one account's events are ordered.
 */
export async function recordAccountEvent<T extends "ACCOUNT_REGISTERED" | "SIGNED_IN" | "ACCOUNT_DELETED">(tx: Tx, userId: string, type: T, data: EventData<T>): Promise<void> {
  const topic = Topics.account(userId);
  const checked = eventData(topic, type, data) as Prisma.InputJsonValue;
  const { eventVersion } = await tx.user.update({ where: { id: userId }, data: { eventVersion: { increment: 1 } }, select: { eventVersion: true } });
  await tx.outboxEvent.create({ data: { topic, type, aggregateId: userId, version: eventVersion, data: checked, traceparent: activeTraceparent() } });
}
