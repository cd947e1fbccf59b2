import { Topics, activeTraceparent, eventData, type EventData } from "@startales/service-kit";
import type { Prisma } from "../generated/prisma/client";

type Tx = Prisma.TransactionClient;

/**
 * Writes an account event (ACCOUNT_REGISTERED, SIGNED_IN, ACCOUNT_DELETED) in the caller's transaction, the
 * transaction of the sign-up or sign-in itself (transactional outbox): the user's id and how,
 * never their email or name. Its version is the account's own count of these events, taken
 * by one conditional update of the user's row, so one account's events are ordered.
 */
export async function recordAccountEvent<T extends "ACCOUNT_REGISTERED" | "SIGNED_IN" | "ACCOUNT_DELETED">(tx: Tx, userId: string, type: T, data: EventData<T>): Promise<number> {
  const topic = Topics.account(userId);
  const checked = eventData(topic, type, data) as Prisma.InputJsonValue;
  const { eventVersion } = await tx.user.update({ where: { id: userId }, data: { eventVersion: { increment: 1 } }, select: { eventVersion: true } });
  await tx.outboxEvent.create({ data: { topic, type, aggregateId: userId, version: eventVersion, data: checked, traceparent: activeTraceparent() } });
  return eventVersion;
}

/**
 * Asks the services that keep the user's data to erase it (ACCOUNT_ERASURE_REQUESTED on
 * `topic`, ACCOUNT_ERASURE_TOPIC), in the deletion's transaction, with ACCOUNT_DELETED's version.
 */
export async function requestAccountErasure(tx: Tx, topic: string, userId: string, version: number): Promise<void> {
  const checked = eventData(topic, "ACCOUNT_ERASURE_REQUESTED", { userId }) as Prisma.InputJsonValue;
  await tx.outboxEvent.create({ data: { topic, type: "ACCOUNT_ERASURE_REQUESTED", aggregateId: userId, version, data: checked, traceparent: activeTraceparent() } });
}
