import { randomUUID } from "node:crypto";
import { Topics, createRedis, publishEnvelope, type Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { gatewayTestConfig } from "../testkit/config";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, subscribe, subscriptionErrorCodes, untilSubscribed, wsClient, type Subscription } from "../testkit/subscriptions";
import { eventually } from "../testkit/simulation";
import { startTcpProxy, type TcpProxy } from "../testkit/tcp-proxy";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * One event, one execution for everyone who may see it: subscribers whose answers do not
 * depend on who they are (their subgraphs say so with a public Cache-Control) share the
 * execution, and each of them is still authorized as themself. An answer that depends on who
 * asks (a private field) is never shared. This stack re-authorizes a shared member before
 * every event (WS_REAUTHORIZE_SECONDS=0), so a player who leaves gets nothing after leaving;
 * a second gateway keeps authorizations for an hour, so what it refuses it refuses because
 * of the event (a PLAYER_LEFT changes who may read a campaign's feed). A fourth checks every
 * second, confirming a check from the campaign's version while that version stands.
 */

let stack: Stack;
let url: string;
let patient: GatewayApp;
let patientUrl: string;
/** A third gateway that reaches campaign through a proxy the test can cut, re-authorizing before every event. */
let cut: GatewayApp;
let cutUrl: string;
let campaignProxy: TcpProxy;
/** A fourth that checks each subscriber's access again every second. */
let brisk: GatewayApp;
let briskUrl: string;
const clients: { dispose: () => void | Promise<void> }[] = [];

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn", gatewayEnv: { WS_REAUTHORIZE_SECONDS: "0" } });
  url = stack.graphqlUrl;
  const subgraphs = {
    identity: stack.identityUrl,
    campaign: stack.campaignUrl,
    realtime: stack.realtimeUrl,
    simulation: stack.simulationUrl,
    provider: stack.providerUrl,
    notification: stack.notificationUrl,
  };
  patient = createGatewayApp(
    gatewayTestConfig(subgraphs, `${stack.identityUrl}/.well-known/jwks.json`, { WS_REAUTHORIZE_SECONDS: "3600" }),
    captureLogs("gateway", "warn").logger as Logger,
  );
  patientUrl = await patient.listen();
  const campaignOrigin = new URL(stack.campaignUrl);
  campaignProxy = await startTcpProxy({ host: campaignOrigin.hostname, port: Number(campaignOrigin.port) });
  cut = createGatewayApp(
    gatewayTestConfig({ ...subgraphs, campaign: `http://127.0.0.1:${campaignProxy.port}` }, `${stack.identityUrl}/.well-known/jwks.json`, { WS_REAUTHORIZE_SECONDS: "0" }),
    captureLogs("gateway", "error").logger as Logger,
  );
  cutUrl = await cut.listen();
  brisk = createGatewayApp(
    gatewayTestConfig(subgraphs, `${stack.identityUrl}/.well-known/jwks.json`, { WS_REAUTHORIZE_SECONDS: "1" }),
    captureLogs("gateway", "warn").logger as Logger,
  );
  briskUrl = await brisk.listen();
}, 60_000);
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await patient?.stop();
  await cut?.stop();
  await brisk?.stop();
  await campaignProxy?.close();
  await stack?.stop();
});

async function call<T = Record<string, { id: string }>>(user: TestUser, query: string, variables: Record<string, unknown> = {}) {
  return expectData(await postGraphQL<T>(url, { query, variables }, { token: user.accessToken }));
}

/** A campaign with `players` members besides its game master, and its campaign channel. */
async function campaignWithChat(players: number) {
  const gameMaster = await registerUser(url, "Keeper");
  const members = [gameMaster];
  const { createCampaign } = await call(gameMaster, `mutation { createCampaign(input: { name: "Shared ${randomUUID().slice(0, 8)}" }) { id } }`);
  for (let i = 0; i < players; i++) {
    const player = await registerUser(url, `Player${i}`);
    await call(player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: createCampaign!.id });
    members.push(player);
  }
  const { campaignChannel } = await call(gameMaster, "query($id: ID!) { campaignChannel(campaignId: $id) { id } }", { id: createCampaign!.id });
  return { campaignId: createCampaign!.id, channelId: campaignChannel!.id, members };
}

/** Each member subscribes on its own socket to `query` with `variables`, through a gateway (the stack's by default). */
async function listen<T>(members: TestUser[], query: string, variables: Record<string, unknown>, gatewayUrl = stack.gatewayUrl): Promise<Subscription<T>[]> {
  const before = await activeSubscriptions(gatewayUrl);
  const subscriptions = members.map((member) => {
    const client = wsClient(`${gatewayUrl}/graphql`, { token: member.accessToken });
    clients.push(client);
    return subscribe<T>(client, query, variables);
  });
  await untilSubscribed(gatewayUrl, before, { count: members.length });
  return subscriptions;
}

const post = (member: TestUser, channelId: string, text: string) =>
  call(member, "mutation($c: ID!, $t: String!, $k: String!) { postMessage(channelId: $c, text: $t, idempotencyKey: $k) { id } }", { c: channelId, t: text, k: randomUUID() });

const counter = async (name: string, labels: Record<string, string>, gatewayUrl = stack.gatewayUrl) => metricValue(await fetchMetrics(gatewayUrl), name, labels) ?? 0;
const executions = (field = "messageAdded", gatewayUrl = stack.gatewayUrl) => counter("gateway_subscription_executions_total", { field }, gatewayUrl);

type Added = { messageAdded: { id: string; text: string; author: { displayName: string; email?: string | null }; channel?: { id: string } } };

it("resolves a chat message once for every member who may read it, and each gets the same answer", async () => {
  const { channelId, members } = await campaignWithChat(3);
  const feeds = await listen<Added>(members, "subscription($c: ID!) { messageAdded(channelId: $c) { id text author { displayName } channel { id } } }", { c: channelId });
  const before = await executions();

  const { postMessage } = await post(members[1]!, channelId, "One for all");
  await Promise.all(feeds.map((feed) => feed.waitFor(1)));

  for (const feed of feeds) expect(feed.results[0]!.data!.messageAdded).toEqual({ id: postMessage!.id, text: "One for all", author: { displayName: "Player0" }, channel: { id: channelId } });
  expect((await executions()) - before).toBe(1);
  // Each member was still asked about as themself (WS_REAUTHORIZE_SECONDS=0): three checks besides the one who ran it.
  expect(await counter("gateway_subscription_reauthorizations_total", { field: "messageAdded", outcome: "allowed" })).toBeGreaterThanOrEqual(3);
});

it("never shares an answer that depends on who asks: each member sees only their own email", async () => {
  const { channelId, members } = await campaignWithChat(1);
  const [gameMaster, player] = members as [TestUser, TestUser];
  const feeds = await listen<Added>(members, "subscription($c: ID!) { messageAdded(channelId: $c) { text author { displayName email } } }", { c: channelId });
  const before = await executions();

  await post(player, channelId, "Whose email?");
  await Promise.all(feeds.map((feed) => feed.waitFor(1)));

  const [seenByGameMaster, seenByPlayer] = feeds.map((feed) => feed.results[0]!.data!.messageAdded.author);
  expect(seenByPlayer).toEqual({ displayName: player.user.displayName, email: player.email });
  expect(seenByGameMaster).toEqual({ displayName: player.user.displayName, email: null });
  expect(gameMaster.email).not.toBe(player.email);
  // Tried once as one member, found private, then run for the other as themself.
  expect((await executions()) - before).toBe(2);
});

it("stops a member who left the campaign at the next message, with FORBIDDEN, while the others get it", async () => {
  const { campaignId, channelId, members } = await campaignWithChat(2);
  const [, stayer, leaver] = members as [TestUser, TestUser, TestUser];
  const feeds = await listen<Added>(members, "subscription($c: ID!) { messageAdded(channelId: $c) { text } }", { c: channelId });

  await call(leaver, "mutation($id: ID!) { leaveCampaign(campaignId: $id) }", { id: campaignId });
  await post(stayer, channelId, "After you left");
  await feeds[2]!.ended();

  expect(subscriptionErrorCodes(feeds[2]!)).toEqual(["FORBIDDEN"]);
  expect(feeds[2]!.results).toEqual([]);
  await Promise.all([feeds[0]!.waitFor(1), feeds[1]!.waitFor(1)]);
  expect(feeds.slice(0, 2).map((feed) => feed.results[0]!.data!.messageAdded.text)).toEqual(["After you left", "After you left"]);
});

type Feed = { campaignEvents: { type: string; campaign: { id: string; status: string } } };

it("shares a campaign's events among its members, and a member who leaves gets FORBIDDEN instead of their own PLAYER_LEFT", async () => {
  const { campaignId, members } = await campaignWithChat(2);
  const [, stayer, leaver] = members as [TestUser, TestUser, TestUser];
  // Players only: the game master's role puts them in another authorization class.
  const feeds = await listen<Feed>([stayer, leaver], "subscription($id: ID!) { campaignEvents(campaignId: $id) { type campaign { id status } } }", { id: campaignId }, patientUrl);
  const before = await executions("campaignEvents", patientUrl);

  const newcomer = await registerUser(url, "Newcomer");
  await call(newcomer, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
  await Promise.all(feeds.map((feed) => feed.waitFor(1)));
  expect(feeds.map((feed) => feed.results[0]!.data!.campaignEvents)).toEqual([0, 1].map(() => ({ type: "PLAYER_JOINED", campaign: { id: campaignId, status: "DRAFT" } })));
  expect((await executions("campaignEvents", patientUrl)) - before).toBe(1);

  await call(leaver, "mutation($id: ID!) { leaveCampaign(campaignId: $id) }", { id: campaignId });
  await feeds[1]!.ended();
  expect(subscriptionErrorCodes(feeds[1]!)).toEqual(["FORBIDDEN"]);
  expect(feeds[1]!.results.map((r) => r.data!.campaignEvents.type)).toEqual(["PLAYER_JOINED"]);
  await feeds[0]!.waitFor(2);
  expect(feeds[0]!.results[1]!.data!.campaignEvents.type).toBe("PLAYER_LEFT");
});

it("confirms a member's access from the campaign's version while it stands, and asks campaign again once it moves", async () => {
  const { campaignId, members } = await campaignWithChat(2);
  const players = members.slice(1);
  const feeds = await listen<{ campaignEvents: { type: string } }>(players, "subscription($id: ID!) { campaignEvents(campaignId: $id) { type } }", { id: campaignId }, briskUrl);
  const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "subscription-sharing-test");
  let ticks = 0;
  /** A tick of the world (simulation's event): it leaves the campaign's version as it is. */
  const tick = async () => {
    ticks += 1;
    const data = { tick: ticks, hash: "test", commandsApplied: 0, commandsRejected: 0, events: 0 };
    await publishEnvelope(redis, { id: randomUUID(), type: "TICK_COMPLETED", topic: Topics.world(campaignId), producer: "simulation", occurredAt: new Date().toISOString(), aggregateId: campaignId, version: ticks, data, traceparent: null }, { streamMaxLen: 100 });
    await Promise.all(feeds.map((feed) => feed.waitFor(ticks)));
  };
  const outcomes = async () => ({
    asked: await counter("gateway_subscription_reauthorizations_total", { field: "campaignEvents", outcome: "allowed" }, briskUrl),
    confirmed: await counter("gateway_subscription_reauthorizations_total", { field: "campaignEvents", outcome: "unchanged" }, briskUrl),
  });
  try {
    const before = await outcomes();
    // Ticks until both players' checks came due and were confirmed: none of them asked campaign.
    await eventually("checks confirmed from the campaign's version", async () => {
      await tick();
      return (await outcomes()).confirmed - before.confirmed >= 2 ? true : undefined;
    }, 20_000, 300);
    expect((await outcomes()).asked).toBe(before.asked);

    // A join moves the campaign's version (it takes nobody's access away): the next check due
    // asks campaign, and the checks after it are confirmed from the version that answer named.
    // (The member an event is resolved as is authorized by that answer, so only the other's
    // checks come due.)
    const newcomer = await registerUser(url, "Newcomer");
    await call(newcomer, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    await Promise.all(feeds.map((feed) => feed.waitFor(ticks + 1)));
    ticks += 1;
    await eventually("a check asked of campaign after the join", async () => {
      await tick();
      return (await outcomes()).asked > before.asked ? true : undefined;
    }, 20_000, 300);
    const asked = await outcomes();
    await eventually("checks confirmed from the new version", async () => {
      await tick();
      return (await outcomes()).confirmed > asked.confirmed ? true : undefined;
    }, 20_000, 300);
    expect((await outcomes()).asked).toBe(asked.asked);
    for (const feed of feeds) expect(feed.results.map((result) => result.data!.campaignEvents.type)).toContain("PLAYER_JOINED");
  } finally {
    redis.disconnect();
  }
});

it("lets a signed-in client cache a chat answer briefly, and never a shared cache", async () => {
  const { channelId, members } = await campaignWithChat(1);
  const { postMessage } = await post(members[1]!, channelId, "Cache me");
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${members[0]!.accessToken}` },
    body: JSON.stringify({ query: "query($id: ID!) { chatMessage(id: $id) { text author { displayName } } }", variables: { id: postMessage!.id } }),
  });
  expect(((await response.json()) as { data: unknown }).data).toEqual({ chatMessage: { text: "Cache me", author: { displayName: members[1]!.user.displayName } } });
  expect(response.headers.get("cache-control")).toMatch(/^max-age=\d+, private$/);

  const withEmail = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${members[0]!.accessToken}` },
    body: JSON.stringify({ query: "query($id: ID!) { chatMessage(id: $id) { author { email } } }", variables: { id: postMessage!.id } }),
  });
  expect(withEmail.headers.get("cache-control")).toMatch(/^max-age=\d+, private$/);
});

it("ends a shared subscriber whose access cannot be checked again (campaign unreachable) with a resume point, never delivering unchecked", async () => {
  const { campaignId, members } = await campaignWithChat(2);
  const [gameMaster, first, second] = members as [TestUser, TestUser, TestUser];
  type Ticks = { campaignEvents: { id: string; type: string } };
  const feeds = await listen<Ticks>([first, second], "subscription($id: ID!) { campaignEvents(campaignId: $id) { id type } }", { id: campaignId }, cutUrl);
  await call(gameMaster, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId });
  // Simulation's events resolve through simulation alone; each member is re-checked through campaign.
  await Promise.all(feeds.map((feed) => feed.waitFor(2)));
  const unavailable = () => counter("gateway_subscription_reauthorizations_total", { field: "campaignEvents", outcome: "unavailable" }, cutUrl);
  const before = await unavailable();

  await campaignProxy.refuse();
  try {
    // At the next event the member it was not resolved as cannot be checked: it ends, told to resume.
    await eventually("a subscriber ended", async () => (feeds.some((feed) => feed.error !== null) ? true : undefined), 30_000);
    const ended = feeds.find((feed) => feed.error !== null)!;
    const [error] = ended.error as { message: string; extensions?: Record<string, unknown> }[];
    expect(subscriptionErrorCodes(ended)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(error!.message).toMatch(/could not be checked/);
    // Where to resume once campaign is back: after the last event it was given, nothing skipped.
    expect(error!.extensions).toMatchObject({ reason: "EVENT_UNAVAILABLE", lastEventId: ended.results.at(-1)!.data!.campaignEvents.id });
    expect(await unavailable()).toBeGreaterThan(before);
  } finally {
    await campaignProxy.restore();
  }
});
