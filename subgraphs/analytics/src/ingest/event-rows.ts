import { createHash } from "node:crypto";
import { redactText, topicFamily, type ConsumedEvent } from "@startales/service-kit";

/** An event as analytics keeps it: pseudonymous ids only, its payload passed through the redactor. */
export type EventRow = {
  id: string;
  occurredAt: string;
  producer: string;
  family: string;
  type: string;
  aggregateId: string;
  campaignId: string | null;
  /** Who did it (a join, a message, a claimed civilization), when the event says; null for what happened to someone. */
  actorId: string | null;
  data: unknown;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The value as a lower-case UUID, or null if it is none. */
export const uuidOrNull = (value: unknown): string | null => (typeof value === "string" && UUID.test(value) ? value.toLowerCase() : null);

/**
 * The id a row is kept under: the event's own when it is a UUID (outbox rows' are), else one
 * derived from it, so an event read twice is still one row.
 */
function rowId(id: string): string {
  if (UUID.test(id)) return id.toLowerCase();
  const hex = createHash("sha256").update(id).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

type Data = Record<string, unknown>;

/** Which campaign an event is of and who acted, by family and type (the contracts say where each is). */
function campaignAndActor(family: string, type: string, aggregateId: string, data: Data): [campaign: unknown, actor: unknown] {
  switch (family) {
    case "account":
      // aggregateId: the user who signed up or in.
      return [null, aggregateId];
    case "campaign":
      // aggregateId: the campaign. The actor of a join or a leave is the player; of a creation, its game master.
      return [aggregateId, type === "CAMPAIGN_CREATED" ? data.gameMasterId : data.userId];
    case "world":
      return [aggregateId, data.playerId];
    case "channel":
      return [data.campaignId, type === "MESSAGE_DELETED" ? data.deletedById : data.authorId];
    case "system:simulation":
    case "telemetry":
    case "ai":
      return [data.campaignId, null];
    case "sessions":
      // Being online in a campaign is activity of its member.
      return [data.campaignId, data.userId];
    case "integration:notifications":
      return [data.campaignId, null];
    case "integration:campaign-lifecycle":
      return [aggregateId, null];
    case "integration:account-erasures":
      // aggregateId: the deleted account, whose erasure this asks for.
      return [null, aggregateId];
    default:
      // inbox (what happened to a recipient), and families that are not ours to read yet.
      return [null, null];
  }
}

/**
 * A firehose event as a row. The payload goes through the redactor (emails, IP addresses,
 * tokens), though the contracts already keep them out of events: analytics holds ids and
 * counts, never what a player wrote.
 */
export function toEventRow(event: ConsumedEvent): EventRow {
  const family = topicFamily(event.topic);
  const data = (event.data && typeof event.data === "object" ? event.data : {}) as Data;
  const [campaign, actor] = campaignAndActor(family, event.type, event.aggregateId, data);
  return {
    id: rowId(event.id),
    occurredAt: new Date(event.occurredAt).toISOString(),
    producer: event.producer ?? "unknown",
    family,
    type: event.type,
    aggregateId: event.aggregateId,
    campaignId: uuidOrNull(campaign),
    actorId: uuidOrNull(actor),
    data: JSON.parse(redactText(JSON.stringify(event.data ?? null))) as unknown,
  };
}
