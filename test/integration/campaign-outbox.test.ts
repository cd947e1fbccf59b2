import { randomUUID } from "node:crypto";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import pg from "pg";
import { Topics, type Role, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import {
  CampaignSubgraphCreateDocument,
  CampaignSubgraphJoinDocument,
  EndCampaignDocument,
  LeaveCampaignDocument,
  PauseCampaignDocument,
  ResumeCampaignDocument,
  StartCampaignDocument,
} from "../generated/operations";
import { campaignTestConfig, required, testNotificationTopic } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";

/**
 * Every campaign change is recorded in the transactional outbox (`outbox_events`) in the same
 * transaction, so the relay can publish it; a refused change records nothing.
 */

const app = createCampaignApp(campaignTestConfig(), captureLogs("campaign", "warn").logger);
const db = new pg.Client({ connectionString: required("CAMPAIGN_DATABASE_URL") });
let url: string;

beforeAll(async () => {
  url = `${await app.listen()}/graphql`;
  await db.connect();
});
afterAll(async () => {
  await db.end();
  await app.stop();
});

const newUser = (roles: Role[] = ["PLAYER"]) => asUser(randomUUID(), roles);
const userIdOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");
const as = async (viewer: Viewer) => ({ headers: await gatewayHeaders(viewer) });

const Lifecycle = { start: StartCampaignDocument, pause: PauseCampaignDocument, resume: ResumeCampaignDocument, end: EndCampaignDocument };
type Action = keyof typeof Lifecycle;
async function act(viewer: Viewer, action: Action, id: string) {
  const document = Lifecycle[action] as unknown as TypedDocumentNode<Record<string, { status: string }>, { id: string }>;
  return graphql(url, document, { id }, await as(viewer));
}
async function newCampaign(gm: Viewer) {
  const input = { name: `Outbox ${randomUUID().slice(0, 8)}` };
  return expectData(await graphql(url, CampaignSubgraphCreateDocument, { input }, await as(gm))).createCampaign;
}

type EventRow = { type: string; topic: string; version: number; data: Record<string, unknown> };

/**
 * The campaign's events in the order they were committed. The requests below are sequential,
 * so the inserting transaction ids (xmin) order them even within one millisecond.
 */
async function eventsOf(campaignId: string, topic = Topics.campaign(campaignId)): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT type, topic, version, data FROM outbox_events
      WHERE aggregate_id = $1 AND topic = $2 ORDER BY occurred_at, xmin::text::bigint`,
    [campaignId, topic],
  );
  return rows;
}

describe("the campaign outbox", () => {
  it("records one event per change, in order, each with the next version of the campaign", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const player = newUser();
    const campaign = await newCampaign(gm);
    expect((await eventsOf(campaign.id)).map((e) => e.type)).toEqual(["CAMPAIGN_CREATED"]);

    const membership = expectData(await graphql(url, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(player))).joinCampaign;
    expect(expectData(await graphql(url, LeaveCampaignDocument, { campaignId: campaign.id }, await as(player))).leaveCampaign).toBe(true);
    for (const action of ["start", "pause", "resume", "end"] as const) expectData(await act(gm, action, campaign.id));

    const events = await eventsOf(campaign.id);
    expect(events.map((e) => e.type)).toEqual([
      "CAMPAIGN_CREATED",
      "PLAYER_JOINED",
      "PLAYER_LEFT",
      "CAMPAIGN_STARTED",
      "CAMPAIGN_PAUSED",
      "CAMPAIGN_RESUMED",
      "CAMPAIGN_ENDED",
    ]);
    // One topic (stream) per campaign: a client resumes its campaign's feed without reading others'.
    expect(events.every((e) => e.topic === `campaign:${campaign.id}`)).toBe(true);

    // Every change, membership ones included, is a new version of the aggregate: consumers
    // can order by it and dedupe on (aggregateId, version).
    expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);

    expect(events[0]!.data).toEqual({ name: campaign.name, gameMasterId: userIdOf(gm) });
    expect(events[1]!.data).toEqual({ userId: userIdOf(player), membershipId: membership.id });
    expect(events[2]!.data).toEqual({ userId: userIdOf(player) });
    expect(events.slice(3).map((e) => e.data.status)).toEqual(["RUNNING", "PAUSED", "RUNNING", "ENDED"]);
  });

  it("asks notification, in the same transactions, to tell the members of each change (never the one who made it)", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const [alice, bob] = [newUser(), newUser()];
    const campaign = await newCampaign(gm);
    for (const player of [alice, bob]) expectData(await graphql(url, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(player)));
    expectData(await graphql(url, LeaveCampaignDocument, { campaignId: campaign.id }, await as(bob)));
    expectData(await act(gm, "start", campaign.id));
    // Refused changes ask for nothing.
    expect(errorCodes(await act(gm, "resume", campaign.id))).toEqual(["CONFLICT"]);
    expectData(await act(gm, "end", campaign.id));

    const requests = await eventsOf(campaign.id, testNotificationTopic());
    expect(requests.every((r) => r.type === "NOTIFICATION_REQUESTED")).toBe(true);
    const params = { campaignName: campaign.name };
    expect(requests.map((r) => r.data)).toEqual([
      { template: "PLAYER_JOINED", recipientIds: [userIdOf(gm)], campaignId: campaign.id, params: { ...params, userId: userIdOf(alice) } },
      { template: "PLAYER_JOINED", recipientIds: [userIdOf(gm)], campaignId: campaign.id, params: { ...params, userId: userIdOf(bob) } },
      { template: "PLAYER_LEFT", recipientIds: [userIdOf(gm)], campaignId: campaign.id, params: { ...params, userId: userIdOf(bob) } },
      { template: "CAMPAIGN_STARTED", recipientIds: [userIdOf(alice)], campaignId: campaign.id, params },
      { template: "CAMPAIGN_ENDED", recipientIds: [userIdOf(alice)], campaignId: campaign.id, params },
    ]);
    // Each carries the version of the change it belongs to.
    const changes = await eventsOf(campaign.id);
    expect(requests.map((r) => r.version)).toEqual(changes.filter((e) => e.type !== "CAMPAIGN_CREATED").map((e) => e.version));
  });

  it("records nothing for a refused change", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const player = newUser();
    const campaign = await newCampaign(gm);
    expectData(await graphql(url, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(player)));
    const before = await eventsOf(campaign.id);

    expect(errorCodes(await act(gm, "pause", campaign.id))).toEqual(["CONFLICT"]); // DRAFT cannot pause
    expect(errorCodes(await act(gm, "resume", campaign.id))).toEqual(["CONFLICT"]);
    expect(errorCodes(await act(player, "start", campaign.id))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, LeaveCampaignDocument, { campaignId: campaign.id }, await as(gm)))).toEqual(["CONFLICT"]);
    // Joining again is not a change either.
    expectData(await graphql(url, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(player)));
    expect(expectData(await graphql(url, LeaveCampaignDocument, { campaignId: campaign.id }, await as(newUser()))).leaveCampaign).toBe(false);
    expect(await eventsOf(campaign.id)).toEqual(before);

    expectData(await act(gm, "end", campaign.id));
    const ended = await eventsOf(campaign.id);
    for (const action of ["start", "pause", "resume", "end"] as const) {
      expect(errorCodes(await act(gm, action, campaign.id))).toEqual(["CONFLICT"]);
    }
    expect(errorCodes(await graphql(url, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(newUser())))).toEqual(["CONFLICT"]);
    expect(await eventsOf(campaign.id)).toEqual(ended);
    expect(ended.map((e) => e.type)).toEqual(["CAMPAIGN_CREATED", "PLAYER_JOINED", "CAMPAIGN_ENDED"]);
  });

  it("records a single start when two starts race", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    const responses = await Promise.all([act(gm, "start", campaign.id), act(gm, "start", campaign.id)]);
    expect(responses.map(errorCodes).sort()).toEqual([[], ["CONFLICT"]]);
    expect((await eventsOf(campaign.id)).map((e) => e.type)).toEqual(["CAMPAIGN_CREATED", "CAMPAIGN_STARTED"]);
  });

  it("records exactly one join per seat taken when players rush a small campaign, and one leave per double-sent leave", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = expectData(
      await graphql(url, CampaignSubgraphCreateDocument, { input: { name: "Rush Hour", maxPlayers: 3 } }, await as(gm)),
    ).createCampaign;
    const players = Array.from({ length: 6 }, () => newUser());
    const joins = await Promise.all(players.map(async (p) => graphql(url, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(p))));
    const winners = players.filter((_p, i) => !joins[i]!.errors?.length);
    expect(winners).toHaveLength(2);

    const leaver = winners[0]!;
    const leaves = await Promise.all([0, 1].map(async () => graphql(url, LeaveCampaignDocument, { campaignId: campaign.id }, await as(leaver))));
    expect(leaves.map((r) => r.data?.leaveCampaign).sort()).toEqual([false, true]);

    const events = await eventsOf(campaign.id);
    expect(events.map((e) => e.type)).toEqual(["CAMPAIGN_CREATED", "PLAYER_JOINED", "PLAYER_JOINED", "PLAYER_LEFT"]);
    expect(events.filter((e) => e.type === "PLAYER_JOINED").map((e) => e.data.userId).sort()).toEqual(winners.map(userIdOf).sort());
  });
});
