import { randomUUID } from "node:crypto";
import {
  ContractViolation,
  FIREHOSE_WRITERS,
  OUTBOX_WRITERS,
  TOPIC_FAMILIES,
  Topics,
  checkEventData,
  contractOf,
  eventData,
  familyOfTopic,
  parseEvent,
  timelineTopics,
  topicFamily,
} from "../../packages/contracts/src";

/** The event contracts: what a producer may write and what a consumer accepts. */

const campaignId = randomUUID();
const userId = randomUUID();
const envelope = (overrides: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  type: "PLAYER_LEFT",
  topic: Topics.campaign(campaignId),
  occurredAt: new Date().toISOString(),
  aggregateId: campaignId,
  version: 3,
  data: { userId },
  traceparent: null,
  producer: "campaign",
  ...overrides,
});

describe("producing: eventData", () => {
  it("returns the data of an event that meets its contract", () => {
    expect(eventData(Topics.campaign(campaignId), "PLAYER_JOINED", { userId, membershipId: userId })).toEqual({ userId, membershipId: userId });
  });

  it.each([
    ["a missing field", "PLAYER_JOINED", { userId }],
    ["a field the contract does not have", "PLAYER_LEFT", { userId, email: "a@b.c" }],
    ["a field of the wrong type", "PLAYER_LEFT", { userId: 7 }],
    ["an id that is not one", "PLAYER_LEFT", { userId: "bob" }],
  ])("refuses %s", (_what, type, data) => {
    expect(() => checkEventData(Topics.campaign(campaignId), type, data)).toThrow(ContractViolation);
  });

  it("refuses a type on a topic whose family does not carry it (one writer per topic)", () => {
    const tick = { tick: 1, hash: "h", commandsApplied: 0, commandsRejected: 0, events: 0 };
    expect(checkEventData(Topics.world(campaignId), "TICK_COMPLETED", tick)).toEqual(tick);
    expect(() => checkEventData(Topics.campaign(campaignId), "TICK_COMPLETED", tick)).toThrow(/not an event of campaign topics/);
    expect(() => checkEventData("nowhere:1", "TICK_COMPLETED", tick)).toThrow(/no contract declares topic/);
  });
});

describe("consuming: parseEvent", () => {
  it("accepts a sound envelope, from pub/sub (with its stream id) too", () => {
    const parsed = parseEvent(envelope({ streamId: "1700000000000-0" }));
    expect(parsed).toMatchObject({ ok: true, event: { type: "PLAYER_LEFT", data: { userId } } });
  });

  it("lets through a field a newer producer added (a consumer of the previous version keeps working)", () => {
    const parsed = parseEvent(envelope({ data: { userId, reason: "kicked" } }));
    expect(parsed.ok).toBe(true);
  });

  it.each([
    ["data that breaks its type's contract", envelope({ data: { userId: "bob" } }), /breaks its contract/],
    ["a type its topic does not carry", envelope({ type: "TICK_COMPLETED" }), /not an event of campaign topics/],
    ["no version", envelope({ version: undefined }), /not an event envelope/],
    ["not an object", "PLAYER_LEFT", /not an event envelope/],
  ])("refuses %s", (_what, value, message) => {
    const parsed = parseEvent(value);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe("topics and families", () => {
  it("give each family exactly one writer, and each type one family", () => {
    for (const family of Object.values(TOPIC_FAMILIES)) expect(typeof family.writer).toBe("string");
    const types = Object.values(TOPIC_FAMILIES).flatMap((family) => Object.keys(family.events));
    expect(new Set(types).size).toBe(types.length);
    expect(contractOf("WORLD_CREATED")?.family.writer).toBe("simulation");
    expect(contractOf("CAMPAIGN_STARTED")?.family.writer).toBe("campaign");
  });

  it("find a topic's family, a test stack's own notification topic included", () => {
    expect(familyOfTopic(Topics.world(campaignId))?.name).toBe("world");
    expect(familyOfTopic(`${Topics.notifications}:test:run-1:abc`)?.name).toBe("integration:notifications");
    expect(topicFamily(Topics.system("simulation"))).toBe("system:simulation");
    expect(familyOfTopic("nowhere:1")).toBeNull();
  });

  it("name a producer's firehose, and label it by its producer whatever the cluster's prefix", () => {
    expect(Topics.firehose("campaign")).toBe("firehose:campaign");
    expect(Topics.firehose("realtime", "firehose:test:run-1")).toBe("firehose:test:run-1:realtime");
    expect(topicFamily(Topics.firehose("realtime", "firehose:test:run-1"))).toBe("firehose:realtime");
    // Every service with an outbox writes one (provider's carries its usage records; its job streams are direct).
    expect(OUTBOX_WRITERS).toEqual(["campaign", "content", "identity", "notification", "provider", "realtime", "simulation"]);
    // And the gateway, whose usage statistics go straight to its firehose.
    expect(FIREHOSE_WRITERS).toEqual(["campaign", "content", "gateway", "identity", "notification", "provider", "realtime", "simulation"]);
  });

  it("make a campaign's feed a timeline of campaign's and simulation's topics", () => {
    expect(timelineTopics(Topics.campaign(campaignId))).toEqual([Topics.campaign(campaignId), Topics.world(campaignId)]);
    expect(timelineTopics(Topics.world(campaignId))).toEqual([Topics.world(campaignId), Topics.campaign(campaignId)]);
    expect(timelineTopics(Topics.channel(campaignId))).toEqual([Topics.channel(campaignId)]);
  });
});

describe("events written before one writer per topic", () => {
  it("are still read: simulation's events on campaign:<id>, named by their producer", () => {
    const tick = { tick: 4, hash: "h", commandsApplied: 1, commandsRejected: 0, events: 2 };
    expect(parseEvent(envelope({ type: "TICK_COMPLETED", data: tick, producer: "simulation" })).ok).toBe(true);
    // Not from another producer, and never for a new write.
    expect(parseEvent(envelope({ type: "TICK_COMPLETED", data: tick, producer: "campaign" })).ok).toBe(false);
    expect(() => checkEventData(Topics.campaign(campaignId), "TICK_COMPLETED", tick)).toThrow(ContractViolation);
  });
});
