import { randomUUID } from "node:crypto";
import pg from "pg";
import { createRedis, type Role, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createRealtimeApp } from "../../subgraphs/realtime/src/app";
import {
  CampaignSubgraphCreateDocument,
  CampaignSubgraphJoinDocument,
  EndCampaignDocument,
  LeaveCampaignDocument,
  RealtimeCampaignChannelDocument,
  RealtimeChannelDocument,
  RealtimeChannelsDocument,
  RealtimeChatMessageDocument,
  RealtimeCreateAllianceChannelDocument,
  RealtimeDeleteMessageDocument,
  RealtimeEditMessageDocument,
  RealtimeMessagesDocument,
  RealtimeOpenDirectChannelDocument,
  RealtimePostMessageDocument,
} from "../generated/operations";
import { campaignTestConfig, realtimeTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { startPrivateRedis } from "../testkit/private-redis";
import { eventually } from "../testkit/simulation";

/**
 * Chat through the realtime subgraph, which asks the real campaign subgraph (over HTTP, with
 * the caller's own signed identity) who belongs to a campaign: members chat, outsiders are
 * refused whatever id they try, every change is an outbox event published to Redis.
 */

const campaignApp = createCampaignApp(campaignTestConfig(), captureLogs("campaign", "warn").logger);
let realtimeApp: ReturnType<typeof createRealtimeApp>;
const db = new pg.Client({ connectionString: required("REALTIME_DATABASE_URL") });
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "realtime-chat-test");
let campaignUrl: string;
let url: string;

beforeAll(async () => {
  const campaignOrigin = await campaignApp.listen();
  campaignUrl = `${campaignOrigin}/graphql`;
  realtimeApp = createRealtimeApp(realtimeTestConfig(campaignOrigin), captureLogs("realtime", "warn").logger);
  url = `${await realtimeApp.listen()}/graphql`;
  await db.connect();
});
afterAll(async () => {
  await db.end();
  redis.disconnect();
  await realtimeApp.stop();
  await campaignApp.stop();
});

const newUser = (roles: Role[] = ["PLAYER"]) => asUser(randomUUID(), roles);
const idOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");
const as = async (viewer: Viewer) => ({ headers: await gatewayHeaders(viewer) });

/** A campaign run by a game master with two players in it, and a stranger who is not. */
async function world() {
  const gm = newUser(["GAME_MASTER"]);
  const alice = newUser();
  const bob = newUser();
  const outsider = newUser();
  const campaign = expectData(
    await graphql(campaignUrl, CampaignSubgraphCreateDocument, { input: { name: `Chat ${randomUUID().slice(0, 8)}` } }, await as(gm)),
  ).createCampaign;
  for (const player of [alice, bob]) expectData(await graphql(campaignUrl, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(player)));
  const channel = expectData(await graphql(url, RealtimeCampaignChannelDocument, { campaignId: campaign.id }, await as(alice))).campaignChannel;
  return { gm, alice, bob, outsider, campaignId: campaign.id, channelId: channel.id };
}

/** GraphQL requests campaign has answered so far (every operation). */
async function campaignRequests(): Promise<number> {
  const text = await campaignApp.metrics.registry.metrics();
  return [...text.matchAll(/^graphql_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function post(viewer: Viewer, channelId: string, text: string, idempotencyKey: string = randomUUID()) {
  return graphql(url, RealtimePostMessageDocument, { channelId, text, idempotencyKey }, await as(viewer));
}

describe("campaign chat", () => {
  it("gives every member the same campaign channel, created once even when asked at once", async () => {
    const { gm, alice, bob, campaignId, channelId } = await world();
    const again = await Promise.all([gm, alice, bob].map(async (v) => graphql(url, RealtimeCampaignChannelDocument, { campaignId }, await as(v))));
    expect(again.map((r) => expectData(r).campaignChannel.id)).toEqual([channelId, channelId, channelId]);
    const channel = expectData(again[0]!).campaignChannel;
    expect(channel).toMatchObject({ kind: "CAMPAIGN", campaign: { id: campaignId }, members: [] });
    const { rows } = await db.query("SELECT count(*)::int AS n FROM channels WHERE campaign_id = $1", [campaignId]);
    expect(rows[0].n).toBe(1);
  });

  it("lets members post, trims the text, and answers a repeated idempotency key with the first message", async () => {
    const { alice, bob, channelId } = await world();
    const key = randomUUID();
    const first = expectData(await post(alice, channelId, "  Hello, galaxy!  ", key)).postMessage;
    expect(first).toMatchObject({ text: "Hello, galaxy!", deleted: false, editedAt: null, author: { id: idOf(alice) }, channel: { id: channelId } });
    const repeats = await Promise.all([post(alice, channelId, "Hello again", key), post(alice, channelId, "Hello again", key)]);
    expect(repeats.map((r) => expectData(r).postMessage.id)).toEqual([first.id, first.id]);
    expect(expectData(await post(bob, channelId, "Hi Alice")).postMessage.author.id).toBe(idOf(bob));
    const { rows } = await db.query("SELECT count(*)::int AS n FROM chat_messages WHERE channel_id = $1", [channelId]);
    expect(rows[0].n).toBe(2);
  });

  it("writes each message with exactly one event, none for a repeat, and answers a repeat after the campaign ended", async () => {
    const { gm, alice, campaignId, channelId } = await world();
    const key = randomUUID();
    const first = expectData(await post(alice, channelId, "Before the end", key)).postMessage;
    expectData(await post(alice, channelId, "Before the end", key));
    const events = await db.query("SELECT type, version, data FROM outbox_events WHERE aggregate_id = $1", [first.id]);
    expect(events.rows).toEqual([{ type: "MESSAGE_ADDED", version: 1, data: { channelId, campaignId, authorId: idOf(alice) } }]);
    expectData(await graphql(campaignUrl, EndCampaignDocument, { id: campaignId }, await as(gm)));
    // The retry of an accepted message still gets it; a new message is refused, and writes nothing.
    expect(expectData(await post(alice, channelId, "Before the end", key)).postMessage.id).toBe(first.id);
    expect(errorCodes(await post(alice, channelId, "After the end"))).toEqual(["CONFLICT"]);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM chat_messages WHERE channel_id = $1", [channelId]);
    expect(rows[0].n).toBe(1);
  });

  it("refuses empty and overlong text with BAD_USER_INPUT", async () => {
    const { alice, channelId } = await world();
    for (const text of ["", "   \n ", "x".repeat(2001)]) expect(errorCodes(await post(alice, channelId, text))).toEqual(["BAD_USER_INPUT"]);
    expect(expectData(await post(alice, channelId, ` ${"x".repeat(2000)} `)).postMessage.text).toHaveLength(2000);
    expect(errorCodes(await post(alice, channelId, "hi", ""))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await post(alice, "not-an-id", "hi"))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await post(alice, randomUUID(), "hi"))).toEqual(["NOT_FOUND"]);
  });

  it("pages messages newest first with a cursor", async () => {
    const { alice, channelId } = await world();
    const posted: string[] = [];
    for (let i = 1; i <= 5; i++) posted.push(expectData(await post(alice, channelId, `message ${i}`)).postMessage.id);
    const newestFirst = [...posted].reverse();
    const page = async (before?: string) =>
      expectData(await graphql(url, RealtimeMessagesDocument, { channelId, first: 2, before }, await as(alice))).messages.map((m) => m.id);
    const one = await page();
    const two = await page(one[1]);
    const three = await page(two[1]);
    expect([...one, ...two, ...three]).toEqual(newestFirst);
    expect(await page(three[0])).toEqual([]);
    expect(errorCodes(await graphql(url, RealtimeMessagesDocument, { channelId, first: 0 }, await as(alice)))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await graphql(url, RealtimeMessagesDocument, { channelId, first: 201 }, await as(alice)))).toEqual(["BAD_USER_INPUT"]);
  });

  it("lets only the author edit, and records edits and deletes without the text in the outbox", async () => {
    const { gm, alice, bob, channelId } = await world();
    const message = expectData(await post(alice, channelId, "Original")).postMessage;
    const edited = expectData(await graphql(url, RealtimeEditMessageDocument, { id: message.id, text: " Edited " }, await as(alice))).editMessage;
    expect(edited).toMatchObject({ id: message.id, text: "Edited", deleted: false });
    expect(edited.editedAt).not.toBeNull();
    for (const other of [bob, gm]) {
      expect(errorCodes(await graphql(url, RealtimeEditMessageDocument, { id: message.id, text: "Mine now" }, await as(other)))).toEqual(["FORBIDDEN"]);
    }
    expect(errorCodes(await graphql(url, RealtimeEditMessageDocument, { id: message.id, text: "" }, await as(alice)))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await graphql(url, RealtimeEditMessageDocument, { id: randomUUID(), text: "x" }, await as(alice)))).toEqual(["NOT_FOUND"]);

    const deleted = expectData(await graphql(url, RealtimeDeleteMessageDocument, { id: message.id }, await as(alice))).deleteMessage;
    expect(deleted).toMatchObject({ id: message.id, text: null, deleted: true });
    expect(errorCodes(await graphql(url, RealtimeEditMessageDocument, { id: message.id, text: "Back" }, await as(alice)))).toEqual(["CONFLICT"]);
    // Deleting again is not a change.
    expect(expectData(await graphql(url, RealtimeDeleteMessageDocument, { id: message.id }, await as(alice))).deleteMessage.deleted).toBe(true);

    const { rows } = await db.query<{ type: string; topic: string; version: number; data: Record<string, unknown> }>(
      "SELECT type, topic, version, data FROM outbox_events WHERE aggregate_id = $1 ORDER BY version",
      [message.id],
    );
    expect(rows.map((r) => [r.type, r.version])).toEqual([
      ["MESSAGE_ADDED", 1],
      ["MESSAGE_EDITED", 2],
      ["MESSAGE_DELETED", 3],
    ]);
    expect(rows.every((r) => r.topic === `channel:${channelId}`)).toBe(true);
    expect(JSON.stringify(rows.map((r) => r.data))).not.toMatch(/Original|Edited/);
    expect(rows[2]!.data).toMatchObject({ channelId, authorId: idOf(alice), deletedById: idOf(alice) });
    // The text is gone from the database too, and deleting one's own message is not moderation.
    const stored = await db.query("SELECT text FROM chat_messages WHERE id = $1", [message.id]);
    expect(stored.rows[0].text).toBe("");
    const audit = await db.query("SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1", [message.id]);
    expect(audit.rows[0].n).toBe(0);
  });

  it("lets the game master and admins delete others' messages, audited; other players may not", async () => {
    const { gm, alice, bob, channelId } = await world();
    const admin = newUser(["ADMIN"]);
    const first = expectData(await post(alice, channelId, "Rude words")).postMessage;
    const second = expectData(await post(alice, channelId, "More rude words")).postMessage;
    expect(errorCodes(await graphql(url, RealtimeDeleteMessageDocument, { id: first.id }, await as(bob)))).toEqual(["FORBIDDEN"]);
    expect(expectData(await graphql(url, RealtimeDeleteMessageDocument, { id: first.id }, await as(gm))).deleteMessage.deleted).toBe(true);
    expect(expectData(await graphql(url, RealtimeDeleteMessageDocument, { id: second.id }, await as(admin))).deleteMessage.deleted).toBe(true);

    const { rows } = await db.query<{ actor_id: string; action: string; outcome: string; target_type: string; details: Record<string, unknown> }>(
      "SELECT actor_id, action, outcome, target_type, details FROM audit_log WHERE target_id = ANY($1::text[]) ORDER BY occurred_at",
      [[first.id, second.id]],
    );
    expect(rows.map((r) => [r.actor_id, r.action, r.outcome, r.target_type])).toEqual([
      [idOf(gm), "realtime.message.delete", "SUCCESS", "ChatMessage"],
      [idOf(admin), "realtime.message.delete", "SUCCESS", "ChatMessage"],
    ]);
    expect(rows[0]!.details).toEqual({ channelId, campaignId: expect.any(String), authorId: idOf(alice) });
  });

  it("refuses outsiders everything about a campaign's chat, whichever id they try (IDOR)", async () => {
    const { alice, outsider, campaignId, channelId } = await world();
    const message = expectData(await post(alice, channelId, "Members only")).postMessage;
    const h = await as(outsider);
    expect(errorCodes(await graphql(url, RealtimeCampaignChannelDocument, { campaignId }, h))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeChannelsDocument, { campaignId }, h))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeChannelDocument, { id: channelId }, h))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeMessagesDocument, { channelId }, h))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeChatMessageDocument, { id: message.id }, h))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await post(outsider, channelId, "Let me in"))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeEditMessageDocument, { id: message.id, text: "x" }, h))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeDeleteMessageDocument, { id: message.id }, h))).toEqual(["FORBIDDEN"]);
    // Entity resolution (how the gateway reaches a message from elsewhere) is guarded the same way.
    const entities = await postGraphQL<{ _entities: unknown[] }>(
      url,
      { query: "query($r: [_Any!]!) { _entities(representations: $r) { ... on ChatMessage { id text } ... on Channel { id name } } }", variables: { r: [{ __typename: "ChatMessage", id: message.id }, { __typename: "Channel", id: channelId }] } },
      h,
    );
    const codes = errorCodes(entities);
    expect(codes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(codes)).toEqual(new Set(["FORBIDDEN"]));
    expect(JSON.stringify(entities.data)).not.toContain("Members only");
    // Unknown ids are not confused with refusals.
    expect(expectData(await graphql(url, RealtimeChatMessageDocument, { id: randomUUID() }, h)).chatMessage).toBeNull();
    expect(errorCodes(await graphql(url, RealtimeCampaignChannelDocument, { campaignId: randomUUID() }, h))).toEqual(["NOT_FOUND"]);
  });

  it("lets admins and analysts read, but analysts change nothing", async () => {
    const { alice, campaignId, channelId } = await world();
    const message = expectData(await post(alice, channelId, "Watched")).postMessage;
    for (const reader of [newUser(["ADMIN"]), newUser(["ANALYST"])]) {
      const h = await as(reader);
      expect(expectData(await graphql(url, RealtimeMessagesDocument, { channelId }, h)).messages.map((m) => m.text)).toEqual(["Watched"]);
      expect(expectData(await graphql(url, RealtimeChannelsDocument, { campaignId }, h)).channels.map((c) => c.id)).toEqual([channelId]);
    }
    const analyst = newUser(["ANALYST"]);
    const h = await as(analyst);
    expect(errorCodes(await post(analyst, channelId, "Analysts do not talk"))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeDeleteMessageDocument, { id: message.id }, h))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeOpenDirectChannelDocument, { campaignId, userId: idOf(alice) }, h))).toEqual(["FORBIDDEN"]);
    // A read-only API key is refused too, even for a member.
    expect(errorCodes(await post(asUser(idOf(alice), ["PLAYER"], ["read"]), channelId, "read-only"))).toEqual(["FORBIDDEN"]);
  });

  it("takes access away at once from a player who leaves the campaign", async () => {
    const { alice, bob, channelId, campaignId } = await world();
    expectData(await post(bob, channelId, "Before leaving"));
    expect(expectData(await graphql(campaignUrl, LeaveCampaignDocument, { campaignId }, await as(bob))).leaveCampaign).toBe(true);
    expect(errorCodes(await post(bob, channelId, "After leaving"))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeMessagesDocument, { channelId }, await as(bob)))).toEqual(["FORBIDDEN"]);
    expectData(await post(alice, channelId, "Still here"));
  });

  it("refuses the reads of a player whose write campaign just refused, before the leave is published", async () => {
    // A campaign whose publications go to another Redis: realtime never learns of the leave's new membership version.
    const elsewhere = await startPrivateRedis();
    const unheard = createCampaignApp(campaignTestConfig({ REDIS_URL: elsewhere.url }), captureLogs("campaign-unheard", "warn").logger);
    const unheardOrigin = await unheard.listen();
    const listening = createRealtimeApp(realtimeTestConfig(unheardOrigin), captureLogs("realtime-unheard", "warn").logger);
    const listeningUrl = `${await listening.listen()}/graphql`;
    try {
      const gm = newUser(["GAME_MASTER"]);
      const bob = newUser();
      const campaignId = expectData(await graphql(`${unheardOrigin}/graphql`, CampaignSubgraphCreateDocument, { input: { name: "Unheard" } }, await as(gm))).createCampaign.id;
      expectData(await graphql(`${unheardOrigin}/graphql`, CampaignSubgraphJoinDocument, { campaignId }, await as(bob)));
      const channelId = expectData(await graphql(listeningUrl, RealtimeCampaignChannelDocument, { campaignId }, await as(bob))).campaignChannel.id;
      // Bob's read access is kept for the membership version realtime knows.
      expectData(await graphql(listeningUrl, RealtimeMessagesDocument, { channelId }, await as(bob)));
      expect(expectData(await graphql(`${unheardOrigin}/graphql`, LeaveCampaignDocument, { campaignId }, await as(bob))).leaveCampaign).toBe(true);
      const posted = await graphql(listeningUrl, RealtimePostMessageDocument, { channelId, text: "After leaving", idempotencyKey: randomUUID() }, await as(bob));
      expect(errorCodes(posted)).toEqual(["FORBIDDEN"]);
      // The write's fresh answer replaced the kept one: no publication needed.
      expect(errorCodes(await graphql(listeningUrl, RealtimeMessagesDocument, { channelId }, await as(bob)))).toEqual(["FORBIDDEN"]);
    } finally {
      await listening.stop();
      await unheard.stop();
      await elsewhere.stop();
    }
  });

  it("asks campaign once per reader and membership version for reads, and again once a leave is published", async () => {
    const { bob, channelId, campaignId } = await world();
    expectData(await graphql(url, RealtimeMessagesDocument, { channelId }, await as(bob)));
    const before = await campaignRequests();
    for (let i = 0; i < 5; i++) expectData(await graphql(url, RealtimeMessagesDocument, { channelId }, await as(bob)));
    expect(await campaignRequests()).toBe(before);
    // The gateway re-checking a live subscriber asks to revalidate: campaign decides afresh.
    const revalidating = { headers: { ...(await gatewayHeaders(bob)), "cache-control": "no-cache" } };
    expectData(await graphql(url, RealtimeMessagesDocument, { channelId }, revalidating));
    expect(await campaignRequests()).toBe(before + 1);
    expect(expectData(await graphql(campaignUrl, LeaveCampaignDocument, { campaignId }, await as(bob))).leaveCampaign).toBe(true);
    // Refused at once when asked afresh, before any publication reaches realtime.
    expect(errorCodes(await graphql(url, RealtimeMessagesDocument, { channelId }, { headers: { ...(await gatewayHeaders(bob)), "cache-control": "no-cache" } }))).toEqual(["FORBIDDEN"]);
    // PLAYER_LEFT is a new membership version as soon as campaign's relay publishes it.
    await eventually("bob's reads refused", async () => (errorCodes(await graphql(url, RealtimeMessagesDocument, { channelId }, await as(bob)))[0] === "FORBIDDEN" ? true : undefined));
  });

  it("keeps alliance and direct channels to their members", async () => {
    const { gm, alice, bob, outsider, campaignId } = await world();
    const carol = newUser();
    expectData(await graphql(campaignUrl, CampaignSubgraphJoinDocument, { campaignId }, await as(carol)));
    const alliance = expectData(
      await graphql(url, RealtimeCreateAllianceChannelDocument, { campaignId, name: "  Northern Pact ", memberIds: [idOf(bob)] }, await as(alice)),
    ).createAllianceChannel;
    expect(alliance).toMatchObject({ kind: "ALLIANCE", name: "Northern Pact" });
    expect(alliance.members.map((m) => m.id).sort()).toEqual([idOf(alice), idOf(bob)].sort());
    expectData(await post(bob, alliance.id, "For the pact"));
    expect(errorCodes(await post(carol, alliance.id, "Can I join?"))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimeMessagesDocument, { channelId: alliance.id }, await as(carol)))).toEqual(["FORBIDDEN"]);
    // The game master moderates but does not read private channels; channels() lists what each may read.
    expect(expectData(await graphql(url, RealtimeChannelsDocument, { campaignId }, await as(carol))).channels.map((c) => c.kind)).toEqual(["CAMPAIGN"]);
    expect(expectData(await graphql(url, RealtimeChannelsDocument, { campaignId }, await as(bob))).channels.map((c) => c.kind)).toEqual(["CAMPAIGN", "ALLIANCE"]);
    expect(
      errorCodes(await graphql(url, RealtimeCreateAllianceChannelDocument, { campaignId, name: "Spies", memberIds: [idOf(outsider)] }, await as(alice))),
    ).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await graphql(url, RealtimeCreateAllianceChannelDocument, { campaignId, name: " ", memberIds: [] }, await as(alice)))).toEqual([
      "BAD_USER_INPUT",
    ]);
    expect(errorCodes(await graphql(url, RealtimeCreateAllianceChannelDocument, { campaignId, name: "Mine", memberIds: [] }, await as(outsider)))).toEqual([
      "FORBIDDEN",
    ]);

    const open = async (from: Viewer, to: Viewer) =>
      graphql(url, RealtimeOpenDirectChannelDocument, { campaignId, userId: idOf(to) }, await as(from));
    const direct = expectData(await open(alice, carol)).openDirectChannel;
    const [again, reverse] = await Promise.all([open(alice, carol), open(carol, alice)]);
    expect([expectData(again).openDirectChannel.id, expectData(reverse).openDirectChannel.id]).toEqual([direct.id, direct.id]);
    expect(direct.kind).toBe("DIRECT");
    expectData(await post(carol, direct.id, "Psst"));
    expect(errorCodes(await graphql(url, RealtimeMessagesDocument, { channelId: direct.id }, await as(bob)))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await open(alice, alice))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await open(alice, outsider))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await open(outsider, alice))).toEqual(["FORBIDDEN"]);
    expect(expectData(await open(gm, alice)).openDirectChannel.id).not.toBe(direct.id);
  });

  it("publishes each message event to the channel's Redis stream, ids only", async () => {
    const { alice, channelId } = await world();
    const message = expectData(await post(alice, channelId, "Secret plans")).postMessage;
    const deadline = Date.now() + 10_000;
    let entries: [string, string[]][] = [];
    while (Date.now() < deadline) {
      entries = (await redis.xrange(`events:channel:${channelId}`, "-", "+")) as [string, string[]][];
      if (entries.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(entries).toHaveLength(1);
    const envelope = JSON.parse(entries[0]![1][1]!) as Record<string, unknown>;
    expect(envelope).toMatchObject({ type: "MESSAGE_ADDED", topic: `channel:${channelId}`, aggregateId: message.id, version: 1 });
    expect(envelope.data).toEqual({ channelId, campaignId: expect.any(String), authorId: idOf(alice) });
    expect(JSON.stringify(envelope)).not.toContain("Secret plans");
  });
});
