import { randomUUID } from "node:crypto";
import { Topics, compareStreamIds, createRedis, publishEnvelope } from "@startales/service-kit";
import { startGatewayProcess, type GatewayProcess } from "../testkit/gateway-process";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, rawSocket, subscribe, subscriptionErrorCodes, untilSubscribed, wsClient, type Subscription } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Subscriptions across gateway replicas: the in-process gateway of the stack and gateway
 * processes of their own, all on the same subgraphs and Redis, as pods of one deployment.
 */

let stack: Stack;
let replica: GatewayProcess;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "subscriptions-replicas-test");
const clients: { dispose: () => void | Promise<void> }[] = [];

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  replica = await startGatewayProcess(stack);
}, 60_000);
// Each test's sockets end with it: the gateway's counters are shared, and a subscription
// left open would count the events of its campaign in a later test's measurements.
afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  await until(async () => (await activeSubscriptions(stack.gatewayUrl)) === 0, "the last test's subscriptions to close");
});
afterAll(async () => {
  await replica?.stop();
  await stack?.stop();
  redis.disconnect();
});

const FEED = `subscription Feed($id: ID!, $after: ID) {
  campaignEvents(campaignId: $id, after: $after) { id type data campaign { name gameMaster { displayName } } }
}`;
type Feed = { campaignEvents: { id: string; type: string; data: Record<string, unknown>; campaign: { name: string; gameMaster: { displayName: string } } } };

async function call(graphqlUrl: string, user: TestUser, query: string, variables: Record<string, unknown> = {}) {
  return expectData(await postGraphQL<Record<string, { id: string }>>(graphqlUrl, { query, variables }, { token: user.accessToken }));
}
const metrics = async (gatewayUrl: string) => fetchMetrics(gatewayUrl);
const metric = async (gatewayUrl: string, name: string, labels: Record<string, string> = {}) => metricValue(await metrics(gatewayUrl), name, labels) ?? 0;

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Subscribes through `graphqlUrl` and waits until that gateway counts the subscription. */
async function feed(
  gateway: { gatewayUrl: string; graphqlUrl: string },
  user: TestUser,
  campaignId: string,
  after?: string,
  shared?: ReturnType<typeof wsClient>,
): Promise<Subscription<Feed>> {
  const before = await activeSubscriptions(gateway.gatewayUrl);
  const client = shared ?? wsClient(gateway.graphqlUrl, { token: user.accessToken });
  if (!shared) clients.push(client);
  const subscription = subscribe<Feed>(client, FEED, { id: campaignId, ...(after ? { after } : {}) });
  await untilSubscribed(gateway.gatewayUrl, before, { unless: () => subscription.error !== null });
  return Object.assign(subscription, { client });
}

async function campaignOf(gameMaster: TestUser, graphqlUrl = stack.graphqlUrl): Promise<string> {
  const data = await call(graphqlUrl, gameMaster, `mutation { createCampaign(input: { name: "Replicas ${randomUUID().slice(0, 8)}" }) { id } }`);
  return data.createCampaign!.id;
}

const lifecycle = (graphqlUrl: string, user: TestUser, action: string, id: string) =>
  call(graphqlUrl, user, `mutation($id: ID!) { ${action}(id: $id) { id } }`, { id });

const typesOf = (subscription: Subscription<Feed>) => subscription.results.map((r) => r.data!.campaignEvents.type);
const idsOf = (subscription: Subscription<Feed>) => subscription.results.map((r) => r.data!.campaignEvents.id);
/** Campaign's own events; a started campaign's simulation adds WORLD_CREATED, TICK_COMPLETED… in between. */
const lifecycleOf = (subscription: Subscription<Feed>) => typesOf(subscription).filter((type) => /^(CAMPAIGN|PLAYER)_/.test(type));
const lifecycleCount = (subscription: Subscription<Feed>, count: number) =>
  until(async () => lifecycleOf(subscription).length >= count || subscription.error !== null, `${count} lifecycle events`);
/** Stream ids in delivery order: strictly increasing means no repeat and nothing out of order. */
const increasing = (ids: string[]) => ids.every((id, i) => i === 0 || compareStreamIds(ids[i - 1]!, id) < 0);

describe("subscriptions across gateway replicas", () => {
  it("delivers an event caused through one replica to a subscriber on another, with its federated fields", async () => {
    const gameMaster = await registerUser(stack.graphqlUrl, "Admiral");
    const campaignId = await campaignOf(gameMaster);
    const onReplica = await feed(replica, gameMaster, campaignId);

    await lifecycle(stack.graphqlUrl, gameMaster, "startCampaign", campaignId);
    await onReplica.waitFor(1);
    expect(onReplica.results.map((r) => r.data!.campaignEvents).find((e) => e.type === "CAMPAIGN_STARTED")).toMatchObject({
      type: "CAMPAIGN_STARTED",
      campaign: { name: expect.stringMatching(/^Replicas /), gameMaster: { displayName: "Admiral" } },
    });
  });

  it("resumes after a disconnect: the missed events in order, then live, no gap and no repeat", async () => {
    const gameMaster = await registerUser(stack.graphqlUrl, "Resumer");
    const player = await registerUser(stack.graphqlUrl, "Joiner");
    const campaignId = await campaignOf(gameMaster);
    const first = await feed(replica, gameMaster, campaignId);
    await lifecycle(stack.graphqlUrl, gameMaster, "startCampaign", campaignId);
    await first.waitFor(1);
    const seen = idsOf(first)[0]!;
    first.stop();

    // Missed while away.
    await lifecycle(stack.graphqlUrl, gameMaster, "pauseCampaign", campaignId);
    await call(stack.graphqlUrl, player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    await lifecycle(stack.graphqlUrl, gameMaster, "resumeCampaign", campaignId);

    // Back, through the other replica.
    const resumed = await feed(stack, gameMaster, campaignId, seen);
    await lifecycleCount(resumed, 3);
    await lifecycle(replica.graphqlUrl, gameMaster, "pauseCampaign", campaignId);
    await lifecycleCount(resumed, 4);
    // One more event as a marker: delivery is in stream order, so a late repeat of the
    // earlier ones would arrive before it. A join, not a resume: a running campaign would
    // tick, and its tick events would reach this suite's later subscriptions' counters.
    const marker = await registerUser(stack.graphqlUrl, "Marker");
    await call(replica.graphqlUrl, marker, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    await lifecycleCount(resumed, 5);
    expect(lifecycleOf(resumed)).toEqual(["CAMPAIGN_PAUSED", "PLAYER_JOINED", "CAMPAIGN_RESUMED", "CAMPAIGN_PAUSED", "PLAYER_JOINED"]);
    expect(increasing([seen, ...idsOf(resumed)])).toBe(true);
  });

  it("resumes across a gateway restart", async () => {
    const gameMaster = await registerUser(stack.graphqlUrl, "Restarter");
    const campaignId = await campaignOf(gameMaster);
    const doomed = await startGatewayProcess(stack);
    const before = await feed(doomed, gameMaster, campaignId);
    await lifecycle(stack.graphqlUrl, gameMaster, "startCampaign", campaignId);
    await before.waitFor(1);
    const seen = idsOf(before)[0]!;

    expect(await doomed.stop()).toBe(0);
    await before.ended();
    // The replica went away: the client was told to reconnect (1001), not that it did wrong.
    expect(before.error).toMatchObject({ code: 1001 });
    await lifecycle(stack.graphqlUrl, gameMaster, "pauseCampaign", campaignId);
    await lifecycle(stack.graphqlUrl, gameMaster, "resumeCampaign", campaignId);

    const restarted = await startGatewayProcess(stack);
    try {
      const after = await feed(restarted, gameMaster, campaignId, seen);
      await lifecycleCount(after, 2);
      expect(lifecycleOf(after)).toEqual(["CAMPAIGN_PAUSED", "CAMPAIGN_RESUMED"]);
      expect(increasing([seen, ...idsOf(after)])).toBe(true);
    } finally {
      await restarted.stop();
    }
  }, 60_000);

  it("answers a resume point the feed no longer keeps with NOT_FOUND (RESUME_POINT_EXPIRED), an unknown one with BAD_USER_INPUT", async () => {
    const gameMaster = await registerUser(stack.graphqlUrl, "Late");
    const campaignId = await campaignOf(gameMaster);
    await until(async () => (await redis.xlen(`events:${Topics.campaign(campaignId)}`)) > 0, "the creation event");

    const expired = await feed(stack, gameMaster, campaignId, "1-0");
    await expired.ended();
    expect(subscriptionErrorCodes(expired)).toEqual(["NOT_FOUND"]);
    expect((expired.error as readonly { extensions?: Record<string, unknown> }[])[0]!.extensions?.reason).toBe("RESUME_POINT_EXPIRED");

    const future = await feed(stack, gameMaster, campaignId, `${Date.now() + 86_400_000}-0`);
    await future.ended();
    expect(subscriptionErrorCodes(future)).toEqual(["BAD_USER_INPUT"]);
  });

  it("runs one execution per event for many identical subscribers (dedupe), across users when the answer is public", async () => {
    const gameMaster = await registerUser(stack.graphqlUrl, "Dedupe");
    const player = await registerUser(stack.graphqlUrl, "Other");
    const campaignId = await campaignOf(gameMaster);
    await call(stack.graphqlUrl, player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    // 3 sockets (a player's tabs) × 4 subscriptions each.
    const sockets = [0, 1, 2].map(() => wsClient(stack.graphqlUrl, { token: gameMaster.accessToken }));
    clients.push(...sockets);
    const identical = [];
    for (let i = 0; i < 12; i++) identical.push(await feed(stack, gameMaster, campaignId, undefined, sockets[i % 3]));
    const other = await feed(stack, player, campaignId);
    const executions = await metric(stack.gatewayUrl, "gateway_subscription_executions_total", { field: "campaignEvents" });
    const deliveries = await metric(stack.gatewayUrl, "gateway_subscription_deliveries_total", { field: "campaignEvents" });

    // One event (a newcomer joins; a start would set the simulation's ticks going too).
    const newcomer = await registerUser(stack.graphqlUrl, "Newcomer");
    await call(stack.graphqlUrl, newcomer, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    await Promise.all([...identical, other].map((s) => s.waitFor(1)));
    for (const subscription of identical) expect(subscription.results).toEqual(identical[0]!.results);
    // 12 identical subscriptions of one user share one execution, and so does the other player:
    // the answer is the same for every member (public), each of them authorized as themself.
    expect((await metric(stack.gatewayUrl, "gateway_subscription_executions_total", { field: "campaignEvents" })) - executions).toBe(1);
    expect((await metric(stack.gatewayUrl, "gateway_subscription_deliveries_total", { field: "campaignEvents" })) - deliveries).toBe(13);
  });

  it("keeps a player ONLINE while any replica holds one of their sockets, OFFLINE after the last closes", async () => {
    const gameMaster = await registerUser(stack.graphqlUrl, "Watcher");
    const player = await registerUser(stack.graphqlUrl, "Roamer");
    const campaignId = await campaignOf(gameMaster);
    await call(stack.graphqlUrl, player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    const before = await activeSubscriptions(stack.gatewayUrl);
    const watcher = wsClient(stack.graphqlUrl, { token: gameMaster.accessToken });
    clients.push(watcher);
    const changes = subscribe<{ presenceChanged: { status: string; user: { id: string; displayName: string } } }>(
      watcher,
      "subscription($id: ID!) { presenceChanged(campaignId: $id) { status user { id displayName } } }",
      { id: campaignId },
    );
    await untilSubscribed(stack.gatewayUrl, before);
    const playerChanges = () => changes.results.map((r) => r.data!.presenceChanged).filter((c) => c.user.id === player.user.id);

    const onA = await rawSocket(stack.graphqlUrl);
    onA.send({ type: "connection_init", payload: { authorization: `Bearer ${player.accessToken}` } });
    await onA.message("connection_ack");
    await until(async () => playerChanges().length === 1, "ONLINE");
    expect(playerChanges()).toEqual([{ status: "ONLINE", user: { id: player.user.id, displayName: "Roamer" } }]);

    const onB = await rawSocket(replica.graphqlUrl);
    onB.send({ type: "connection_init", payload: { authorization: `Bearer ${player.accessToken}` } });
    await onB.message("connection_ack");
    const connections = () => redis.zcard(`presence:c:${campaignId}:u:${player.user.id}`);
    await until(async () => (await connections()) === 2, "both sockets to be reported");
    onA.close();
    await onA.closed();
    // Still connected through replica B: once realtime has taken A's close (the player's
    // connections in the campaign, default PRESENCE_KEY_PREFIX, are B's alone), nothing changed.
    await until(async () => (await connections()) === 1, "A's close to be reported");
    expect(playerChanges().map((c) => c.status)).toEqual(["ONLINE"]);

    onB.close();
    await until(async () => playerChanges().length === 2, "OFFLINE");
    expect(playerChanges().map((c) => c.status)).toEqual(["ONLINE", "OFFLINE"]);
  });

  it("cuts a slow consumer (4413) once its send buffer is full, while a fast one on the same events gets them all", async () => {
    const small = await startGatewayProcess(stack, { WS_MAX_BUFFERED_BYTES: "262144" });
    try {
      const gameMaster = await registerUser(stack.graphqlUrl, "Speedy");
      const campaignId = await campaignOf(gameMaster);
      const fast = await feed(small, gameMaster, campaignId);
      const slow = await rawSocket(small.graphqlUrl);
      slow.send({ type: "connection_init", payload: { authorization: `Bearer ${gameMaster.accessToken}` } });
      await slow.message("connection_ack");
      const before = await activeSubscriptions(small.gatewayUrl);
      slow.send({ id: "slow", type: "subscribe", payload: { query: FEED, variables: { id: campaignId } } });
      await untilSubscribed(small.gatewayUrl, before);
      // The slow client stops reading: TCP backs up, then the gateway's send buffer grows.
      (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();

      const count = 120;
      const blob = "x".repeat(200_000);
      for (let i = 0; i < count; i++) {
        await publishEnvelope(
          redis,
          { id: randomUUID(), type: "CAMPAIGN_CREATED", topic: Topics.campaign(campaignId), occurredAt: new Date().toISOString(), aggregateId: campaignId, version: i + 2, data: { name: "synthetic", gameMasterId: campaignId,  i, blob }, traceparent: null },
          { streamMaxLen: 100_000 },
        );
        // Paced by the fast reader: it is never more than one event behind, so only the
        // paused one can fill its send buffer, however busy the machine is.
        await fast.waitFor(i + 1, 20_000);
      }
      await fast.waitFor(count, 60_000);
      expect(fast.results.map((r) => r.data!.campaignEvents.data.i)).toEqual([...Array(count).keys()]);

      (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
      const closed = await slow.closed(20_000);
      // The gateway cut it with 4413 (the metric below); a client that still was not reading
      // when the gateway gave up on the closing handshake sees the socket drop instead (1006).
      expect([4413, 1006]).toContain(closed.code);
      expect(slow.messages.filter((m) => m.type === "next").length).toBeLessThan(count);
      expect(await metric(small.gatewayUrl, "gateway_ws_closed_total", { reason: "4413" })).toBe(1);
    } finally {
      await small.stop();
    }
  }, 90_000);
});
