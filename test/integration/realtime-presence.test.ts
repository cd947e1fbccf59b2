import { randomUUID } from "node:crypto";
import pg from "pg";
import { IDENTITY_HEADER, Topics, anonymous, createRedis, signedIn, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createRealtimeApp } from "../../subgraphs/realtime/src/app";
import {
  CampaignSubgraphCreateDocument,
  CampaignSubgraphJoinDocument,
  RealtimePresenceDocument,
  RealtimePresenceEventDocument,
  RealtimeSetPresenceDocument,
} from "../generated/operations";
import { campaignTestConfig, realtimeTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";

/**
 * Presence as the gateway's replicas report it: connections come and go on any replica,
 * a user is ONLINE while any of them is alive, and each change is one PRESENCE_CHANGED event
 * on the campaign's presence stream. Time is a test clock, so TTLs lapse on demand.
 */

const TTL_MS = 30_000;
const AWAY_AFTER_MS = 120_000;
let clock = Date.now();
const campaignApp = createCampaignApp(campaignTestConfig(), captureLogs("campaign", "warn").logger);
let realtimeApp: ReturnType<typeof createRealtimeApp>;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "realtime-presence-test");
let origin: string;
let campaignUrl: string;
let url: string;

beforeAll(async () => {
  const campaignOrigin = await campaignApp.listen();
  campaignUrl = `${campaignOrigin}/graphql`;
  const config = realtimeTestConfig(campaignOrigin, {
    PRESENCE_TTL_MS: String(TTL_MS),
    PRESENCE_AWAY_AFTER_MS: String(AWAY_AFTER_MS),
    // The test sweeps when it wants to; its own keys, so no other suite's connections lapse here.
    PRESENCE_SWEEP_MS: "3600000",
    PRESENCE_KEY_PREFIX: `presence:test:${randomUUID()}:`,
  });
  realtimeApp = createRealtimeApp(config, captureLogs("realtime", "warn").logger, { clock: () => clock });
  origin = await realtimeApp.listen();
  url = `${origin}/graphql`;
});
afterAll(async () => {
  redis.disconnect();
  await realtimeApp.stop();
  await campaignApp.stop();
});

const idOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");
const as = async (viewer: Viewer) => ({ headers: await gatewayHeaders(viewer) });

/** What a gateway replica sends: POST with its signed identity header. */
async function internal(path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${origin}/internal/presence/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const connect = async (viewer: Viewer, connectionId: string) => internal("connect", { connectionId }, await gatewayHeaders(viewer));
const disconnect = async (viewer: Viewer, connectionId: string) => internal("disconnect", { connectionId }, await gatewayHeaders(viewer));
const heartbeat = async (viewer: Viewer, connectionIds: string[]) => internal("heartbeat", { connectionIds }, await gatewayHeaders(viewer));

async function campaignWith(...players: Viewer[]) {
  const gm = asUser(randomUUID(), ["GAME_MASTER"]);
  const campaign = expectData(
    await graphql(campaignUrl, CampaignSubgraphCreateDocument, { input: { name: `Presence ${randomUUID().slice(0, 8)}` } }, await as(gm)),
  ).createCampaign;
  for (const p of players) expectData(await graphql(campaignUrl, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(p)));
  return { gm, campaignId: campaign.id };
}

type Envelope = { id: string; type: string; topic: string; aggregateId: string; version: number; data: { userId: string; status: string; previousStatus: string } };
/** The campaign's presence events so far: [streamId, envelope]. */
async function events(campaignId: string): Promise<[string, Envelope][]> {
  const entries = (await redis.xrange(`events:presence:${campaignId}`, "-", "+")) as [string, string[]][];
  return entries.map(([id, fields]) => [id, JSON.parse(fields[1]!) as Envelope]);
}
const transitions = async (campaignId: string) => (await events(campaignId)).map(([, e]) => `${e.data.previousStatus}->${e.data.status}`);
const presenceOf = async (viewer: Viewer, campaignId: string) =>
  expectData(await graphql(url, RealtimePresenceDocument, { campaignId }, await as(viewer))).presence.map((p) => ({ user: p.user.id, status: p.status }));

describe("presence", () => {
  it("is ONLINE while any replica's connection is open and OFFLINE after the last one closes, one event per change", async () => {
    const alice = asUser(randomUUID());
    const bob = asUser(randomUUID());
    const { campaignId } = await campaignWith(alice, bob);
    const [replicaA, replicaB] = [`gw-a-${randomUUID()}`, `gw-b-${randomUUID()}`];

    const connected = await connect(alice, replicaA);
    expect(connected).toEqual({ status: 200, body: { connectionId: replicaA, campaignIds: [campaignId] } });
    expect(await presenceOf(bob, campaignId)).toEqual([{ user: idOf(alice), status: "ONLINE" }]);
    expect((await connect(alice, replicaB)).status).toBe(200);
    expect((await disconnect(alice, replicaA)).body).toEqual({ disconnected: true });
    expect(await presenceOf(bob, campaignId)).toEqual([{ user: idOf(alice), status: "ONLINE" }]);
    expect(await transitions(campaignId)).toEqual(["OFFLINE->ONLINE"]);

    expect((await disconnect(alice, replicaB)).body).toEqual({ disconnected: true });
    expect(await presenceOf(bob, campaignId)).toEqual([]);
    expect(await transitions(campaignId)).toEqual(["OFFLINE->ONLINE", "ONLINE->OFFLINE"]);

    const [streamId, envelope] = (await events(campaignId)).at(-1)!;
    expect(envelope).toMatchObject({ type: "PRESENCE_CHANGED", topic: `presence:${campaignId}`, aggregateId: idOf(alice), version: 2 });
    // presenceEvent reads it back by its stream id, for whoever may read the campaign.
    const event = expectData(await graphql(url, RealtimePresenceEventDocument, { campaignId, id: streamId }, await as(bob))).presenceEvent;
    expect(event).toMatchObject({ id: streamId, status: "OFFLINE", previousStatus: "ONLINE", user: { id: idOf(alice) }, campaign: { id: campaignId } });
    expect(expectData(await graphql(url, RealtimePresenceEventDocument, { campaignId, id: "1-0" }, await as(bob))).presenceEvent).toBeNull();
  });

  it("records each ended session for analytics in realtime's outbox: from going online to the last disconnect", async () => {
    const alice = asUser(randomUUID());
    const { campaignId } = await campaignWith(alice);
    const connection = `gw-${randomUUID()}`;
    const started = clock;
    expect((await connect(alice, connection)).status).toBe(200);
    clock += 5 * 60_000;
    expect((await heartbeat(alice, [connection])).status).toBe(200);
    clock += 60_000;
    expect((await disconnect(alice, connection)).body).toEqual({ disconnected: true });

    const db = new pg.Client({ connectionString: required("REALTIME_DATABASE_URL") });
    await db.connect();
    try {
      const { rows } = await db.query<{ topic: string; data: unknown }>("SELECT topic, data FROM outbox_events WHERE aggregate_id = $1 AND type = 'SESSION_ENDED'", [idOf(alice)]);
      expect(rows).toEqual([
        {
          topic: Topics.sessions,
          data: { campaignId, userId: idOf(alice), startedAt: new Date(started).toISOString(), endedAt: new Date(started + 6 * 60_000).toISOString(), durationMs: 6 * 60_000 },
        },
      ]);
    } finally {
      await db.end();
    }
  });

  it("sets AWAY and back to ONLINE on request, for members only", async () => {
    const alice = asUser(randomUUID());
    const { campaignId } = await campaignWith(alice);
    const conn = `gw-${randomUUID()}`;
    await connect(alice, conn);
    const set = async (viewer: Viewer, status: "ONLINE" | "AWAY" | "OFFLINE") => graphql(url, RealtimeSetPresenceDocument, { campaignId, status: status as never }, await as(viewer));
    expect(expectData(await set(alice, "AWAY")).setPresence).toMatchObject({ status: "AWAY", user: { id: idOf(alice) } });
    expect(expectData(await set(alice, "ONLINE")).setPresence.status).toBe("ONLINE");
    expect(errorCodes(await set(alice, "OFFLINE"))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await set(asUser(randomUUID()), "AWAY"))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await set(asUser(randomUUID(), ["ANALYST"]), "AWAY"))).toEqual(["FORBIDDEN"]);
    expect(await transitions(campaignId)).toEqual(["OFFLINE->ONLINE", "ONLINE->AWAY", "AWAY->ONLINE"]);
    await disconnect(alice, conn);
  });

  it("ends a connection whose heartbeats stop, through the sweeper, and keeps one that beats", async () => {
    const alice = asUser(randomUUID());
    const bob = asUser(randomUUID());
    const { campaignId } = await campaignWith(alice, bob);
    const [lapsing, beating] = [`gw-a-${randomUUID()}`, `gw-b-${randomUUID()}`];
    await connect(alice, lapsing);
    await connect(bob, beating);

    clock += TTL_MS / 2;
    // The replica's own batch identity (no user) refreshes any connection it holds.
    expect((await heartbeat(anonymous, [beating])).body).toEqual({ refreshed: [beating], unknown: [] });
    clock += TTL_MS / 2 + 1;
    expect((await heartbeat(alice, [lapsing])).body).toEqual({ refreshed: [], unknown: [lapsing] });
    expect(await realtimeApp.sweepPresence()).toBeGreaterThanOrEqual(1);
    expect(await presenceOf(bob, campaignId)).toEqual([{ user: idOf(bob), status: "ONLINE" }]);
    const aliceEvents = (await events(campaignId)).filter(([, e]) => e.aggregateId === idOf(alice)).map(([, e]) => e.data.status);
    expect(aliceEvents).toEqual(["ONLINE", "OFFLINE"]);
    // A second sweep (another replica's, say) finds nothing more to do.
    const before = (await events(campaignId)).length;
    await realtimeApp.sweepPresence();
    expect((await events(campaignId)).length).toBe(before);
    await disconnect(bob, beating);
  });

  it("turns a connected user who does nothing AWAY, and ONLINE again when they act", async () => {
    const alice = asUser(randomUUID());
    const { campaignId } = await campaignWith(alice);
    const conn = `gw-${randomUUID()}`;
    await connect(alice, conn);
    for (let elapsed = 0; elapsed <= AWAY_AFTER_MS; elapsed += TTL_MS / 2) {
      clock += TTL_MS / 2;
      await heartbeat(alice, [conn]);
    }
    await realtimeApp.sweepPresence();
    expect(await presenceOf(alice, campaignId)).toEqual([{ user: idOf(alice), status: "AWAY" }]);
    expectData(await graphql(url, RealtimeSetPresenceDocument, { campaignId, status: "ONLINE" as never }, await as(alice)));
    expect(await transitions(campaignId)).toEqual(["OFFLINE->ONLINE", "ONLINE->AWAY", "AWAY->ONLINE"]);
    await disconnect(alice, conn);
  });

  it("shows presence to members, admins and analysts only", async () => {
    const alice = asUser(randomUUID());
    const { campaignId } = await campaignWith(alice);
    await connect(alice, `gw-${randomUUID()}`);
    const [streamId] = (await events(campaignId))[0]!;
    const outsider = asUser(randomUUID());
    expect(errorCodes(await graphql(url, RealtimePresenceDocument, { campaignId }, await as(outsider)))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimePresenceEventDocument, { campaignId, id: streamId }, await as(outsider)))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RealtimePresenceDocument, { campaignId }, {}))).toEqual(["UNAUTHENTICATED"]);
    for (const role of ["ADMIN", "ANALYST"] as const) {
      expect(await presenceOf(asUser(randomUUID(), [role]), campaignId)).toEqual([{ user: idOf(alice), status: "ONLINE" }]);
    }
  });

  it("accepts internal calls only with the gateway's signed identity, and connections only for their owner", async () => {
    const alice = asUser(randomUUID());
    const mallory = asUser(randomUUID());
    await campaignWith(alice, mallory);
    const conn = `gw-${randomUUID()}`;
    for (const path of ["connect", "disconnect", "heartbeat"]) {
      const body = path === "heartbeat" ? { connectionIds: [conn] } : { connectionId: conn };
      expect((await internal(path, body, {})).status).toBe(401);
      const forged = await gatewayHeaders(alice, "a-secret-that-is-not-the-gateways-but-long-enough");
      expect((await internal(path, body, forged)).status).toBe(401);
      expect((await internal(path, body, { [IDENTITY_HEADER]: "not.a.jwt" })).status).toBe(401);
    }
    expect((await internal("connect", { connectionId: conn }, await gatewayHeaders(anonymous))).status).toBe(401);
    expect((await internal("connect", { nope: 1 }, await gatewayHeaders(alice))).status).toBe(400);
    expect((await connect(alice, conn)).status).toBe(200);
    // Another user can neither take over, end nor keep alive someone else's connection.
    expect((await connect(mallory, conn)).status).toBe(409);
    expect((await disconnect(mallory, conn)).body).toEqual({ disconnected: false });
    expect((await heartbeat(mallory, [conn])).body).toEqual({ refreshed: [], unknown: [conn] });
    expect((await disconnect(signedIn(randomUUID(), ["SERVICE"]), conn)).body).toEqual({ disconnected: true });
  });
});
