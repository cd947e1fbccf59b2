import { randomUUID } from "node:crypto";
import { Topics, type ConsumedEvent } from "@startales/service-kit";
import { toEventRow } from "../../subgraphs/analytics/src/ingest/event-rows";
import { FORGOTTEN, userHash, withoutForgottenUsers } from "../../subgraphs/analytics/src/ingest/forgotten-users";

/**
 * What the ingest does with an event that arrives after its user was forgotten: kept (it
 * counts), naming nobody. The store's own record of erasures is the contract suite's.
 */
const event = (topic: string, type: string, aggregateId: string, data: Record<string, unknown>): ConsumedEvent => ({
  id: randomUUID(),
  streamId: "1-1",
  type,
  topic,
  occurredAt: new Date().toISOString(),
  aggregateId,
  version: 1,
  data,
  traceparent: null,
  producer: "campaign",
});

it("takes forgotten users out of the rows that name them, and leaves every other row as it was", async () => {
  const [gone, stays, campaignId] = [randomUUID(), randomUUID(), randomUUID()];
  const left = toEventRow(event(Topics.campaign(campaignId), "PLAYER_LEFT", campaignId, { userId: gone }));
  const deleted = toEventRow(event(Topics.account(gone), "ACCOUNT_DELETED", gone, {}));
  const joined = toEventRow(event(Topics.campaign(campaignId), "PLAYER_JOINED", campaignId, { userId: stays, membershipId: randomUUID() }));
  const asked: string[][] = [];
  const rows = await withoutForgottenUsers([left, deleted, joined], async (ids) => (asked.push([...ids]), new Set(ids.filter((id) => id === gone))));
  expect(asked).toEqual([expect.arrayContaining([gone, stays, campaignId])]);
  expect(rows[0]).toEqual({ ...left, actorId: null, data: { userId: FORGOTTEN } });
  expect(rows[1]).toEqual({ ...deleted, actorId: null, aggregateId: FORGOTTEN });
  expect(rows[2]).toBe(joined);
  expect(JSON.stringify(rows)).not.toContain(gone);
});

it("asks nothing more when no row names anyone forgotten, and hashes ids whatever their case", async () => {
  const row = toEventRow(event(Topics.campaign(randomUUID()), "PLAYER_JOINED", randomUUID(), { userId: randomUUID(), membershipId: randomUUID() }));
  expect(await withoutForgottenUsers([row], async () => new Set())).toEqual([row]);
  const id = randomUUID();
  expect(userHash(id.toUpperCase())).toBe(userHash(id));
  expect(userHash(id)).toMatch(/^[0-9a-f]{64}$/);
});

it("finds a forgotten user anywhere in a row's data: a notification's recipients and parameters", async () => {
  const [gone, gm, campaignId] = [randomUUID(), randomUUID(), randomUUID()];
  const request = toEventRow(
    event(Topics.notifications, "NOTIFICATION_REQUESTED", campaignId, { template: "PLAYER_LEFT", recipientIds: [gm, gone], campaignId, params: { campaignName: "Orion", userId: gone } }),
  );
  const [row] = await withoutForgottenUsers([request], async (ids) => new Set(ids.filter((id) => id === gone)));
  expect(JSON.stringify(row)).not.toContain(gone);
  expect(row!.data).toEqual({ template: "PLAYER_LEFT", recipientIds: [gm, FORGOTTEN], campaignId, params: { campaignName: "Orion", userId: FORGOTTEN } });
});
