import type { z } from "zod";
import { accountErasureEvents, accountEvents, accountMailEvents, aiEvents, assetEvents, campaignContentEvents, packEvents, apiEvents, sessionEvents, campaignEvents, campaignLifecycleEvents, chatEvents, inboxEvents, jobEvents, notificationRequestEvents, presenceEvents, simulationSystemEvents, telemetryEvents, worldEvents } from "./events";
import { topicFamily } from "./topics";

/** The services that write events. */
export type WriterService = "gateway" | "identity" | "campaign" | "simulation" | "realtime" | "notification" | "provider" | "content";

export type TopicFamily = {
  /** domain: what happened to an aggregate; integration: a request between services; system: for operators. */
  kind: "domain" | "integration" | "system";
  /** The one service that writes the family's topics, so `version` orders each topic. */
  writer: WriterService;
  /**
   * outbox: committed with the change and published by the writer's relay; direct: published
   * to Redis only (lost with it); firehose: appended straight to the writer's firehose (no
   * topic stream), for analytics only.
   */
  delivery: "outbox" | "direct" | "firehose";
  /** Who reads it, in words (the event catalogue shows it). */
  readers: string;
  /** The event types the family's topics carry, and each one's `data`. */
  events: Readonly<Record<string, z.ZodType>>;
  /**
   * The types after which someone may no longer read the topic (a member left): a
   * subscriber who shares answers with others is authorized again before it gets one.
   */
  accessChanges?: readonly string[];
  /**
   * The consumer groups that read the family's topics, when more than one does: each
   * consumer makes them all and trims only what all of them have acknowledged.
   */
  groups?: readonly string[];
};

/**
 * Every topic family: its writer, how it is delivered and the events it carries. Keyed by
 * topicFamily() of its topics (`campaign`, `world`, …, `integration:notifications`).
 */
export const TOPIC_FAMILIES = {
  account: { kind: "domain", writer: "identity", delivery: "outbox", readers: "analytics (firehose)", events: accountEvents },
  "integration:account-erasures": {
    kind: "integration",
    writer: "identity",
    delivery: "outbox",
    readers: "campaign (consumer group campaign); notification worker pool (consumer group notification); content (consumer group content); analytics (firehose)",
    events: accountErasureEvents,
    groups: ["campaign", "notification", "content"],
  },
  "integration:account-mail": {
    kind: "integration",
    writer: "identity",
    delivery: "outbox",
    readers: "notification worker pool (consumer group notification); analytics (firehose)",
    events: accountMailEvents,
  },
  campaign: {
    kind: "domain",
    writer: "campaign",
    delivery: "outbox",
    readers: "gateway (campaignEvents); analytics (firehose)",
    events: campaignEvents,
    accessChanges: ["PLAYER_LEFT"],
  },
  world: { kind: "domain", writer: "simulation", delivery: "outbox", readers: "gateway (campaignEvents, merged with the campaign family by stream id); analytics (firehose)", events: worldEvents },
  channel: { kind: "domain", writer: "realtime", delivery: "outbox", readers: "gateway (messageAdded); analytics (firehose)", events: chatEvents },
  presence: { kind: "domain", writer: "realtime", delivery: "direct", readers: "gateway (presenceChanged)", events: presenceEvents },
  job: { kind: "domain", writer: "provider", delivery: "direct", readers: "gateway (textStream)", events: jobEvents },
  inbox: { kind: "domain", writer: "notification", delivery: "outbox", readers: "gateway (notificationAdded); analytics (firehose)", events: inboxEvents },
  "integration:notifications": {
    kind: "integration",
    writer: "campaign",
    delivery: "outbox",
    readers: "notification worker pool (consumer group notification); analytics (firehose)",
    events: notificationRequestEvents,
  },
  "integration:campaign-lifecycle": {
    kind: "integration",
    writer: "campaign",
    delivery: "outbox",
    readers: "simulation worker pool (consumer group simulation); analytics (firehose)",
    events: campaignLifecycleEvents,
  },
  "system:simulation": { kind: "system", writer: "simulation", delivery: "outbox", readers: "operators; analytics (firehose)", events: simulationSystemEvents },
  telemetry: { kind: "system", writer: "simulation", delivery: "outbox", readers: "analytics (firehose)", events: telemetryEvents },
  sessions: { kind: "system", writer: "realtime", delivery: "outbox", readers: "analytics (firehose)", events: sessionEvents },
  ai: { kind: "system", writer: "provider", delivery: "outbox", readers: "analytics (firehose)", events: aiEvents },
  api: { kind: "system", writer: "gateway", delivery: "firehose", readers: "analytics (firehose)", events: apiEvents },
  assets: { kind: "domain", writer: "content", delivery: "outbox", readers: "analytics (firehose)", events: assetEvents },
  packs: { kind: "domain", writer: "content", delivery: "outbox", readers: "analytics (firehose)", events: packEvents },
  "campaign-content": { kind: "domain", writer: "content", delivery: "outbox", readers: "gateway (campaignContentChanged); analytics (firehose)", events: campaignContentEvents },
} as const satisfies Record<string, TopicFamily>;

export type FamilyName = keyof typeof TOPIC_FAMILIES;

/** Whether an event of `type` on `topic` may have taken someone's access to the topic away (TopicFamily.accessChanges). */
export function changesAccess(topic: string, type: string): boolean {
  const family = (TOPIC_FAMILIES as Record<string, TopicFamily>)[topicFamily(topic)];
  return family?.accessChanges?.includes(type) ?? false;
}

const writersOf = (deliveries: TopicFamily["delivery"][]): WriterService[] =>
  [...new Set(Object.values(TOPIC_FAMILIES as Record<string, TopicFamily>).filter((family) => deliveries.includes(family.delivery)).map((family) => family.writer))].sort();

/** The services whose outbox relays publish events: each relay copies them to its firehose. */
export const OUTBOX_WRITERS: readonly WriterService[] = writersOf(["outbox"]);

/** The services with a firehose (`Topics.firehose`) that analytics reads: those with an outbox, and the gateway's statistics. */
export const FIREHOSE_WRITERS: readonly WriterService[] = writersOf(["outbox", "firehose"]);
