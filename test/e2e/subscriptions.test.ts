import { randomUUID } from "node:crypto";
import type { GraphQLFormattedError } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { compareStreamIds, type Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { gatewayTestConfig } from "../testkit/config";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, subscribe, subscriptionErrorCodes, untilSubscribed, wsClient, wsUrlOf, type Subscription } from "../testkit/subscriptions";
import { startTcpProxy, type TcpProxy } from "../testkit/tcp-proxy";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Subscriptions through the gateway as a client uses them (graphql-ws): the campaign's
 * events arrive with fields other subgraphs own, only for those allowed to see them.
 */

let stack: Stack;
let url: string;
const clients: { dispose: () => void | Promise<void> }[] = [];

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  url = stack.graphqlUrl;
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await stack?.stop();
});

const EVENTS = `subscription Feed($id: ID!, $after: ID) {
  campaignEvents(campaignId: $id, after: $after) { id type tick data campaign { id name gameMaster { id displayName } } }
}`;

type FeedEvent = { id: string; type: string; data: Record<string, unknown>; campaign: { id: string; name: string; gameMaster: { id: string; displayName: string } } };
type Feed = { campaignEvents: FeedEvent };

async function call(user: TestUser, query: string, variables: Record<string, unknown> = {}) {
  return expectData(await postGraphQL<Record<string, { id: string }>>(url, { query, variables }, { token: user.accessToken }));
}

async function newCampaign(gameMaster: TestUser): Promise<string> {
  const data = await call(gameMaster, `mutation { createCampaign(input: { name: "Live ${randomUUID().slice(0, 8)}" }) { id } }`);
  return data.createCampaign!.id;
}

const open = (user: TestUser) => {
  const client = wsClient(url, { token: user.accessToken });
  clients.push(client);
  return client;
};

const activeNow = () => activeSubscriptions(stack.gatewayUrl);
const subscribed = (before: number) => untilSubscribed(stack.gatewayUrl, before);

async function feed(user: TestUser, campaignId: string, after?: string): Promise<Subscription<Feed>> {
  const before = await activeNow();
  const subscription = subscribe<Feed>(open(user), EVENTS, { id: campaignId, ...(after ? { after } : {}) });
  await subscribed(before);
  return subscription;
}

describe("campaignEvents", () => {
  it("delivers each event of a campaign to its members with fields resolved by the other subgraphs", async () => {
    const gameMaster = await registerUser(url, "Narrator");
    const player = await registerUser(url, "Pilot");
    const campaignId = await newCampaign(gameMaster);
    const events = await feed(gameMaster, campaignId);

    await call(player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    await call(gameMaster, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId });
    await events.waitFor(2);

    const [joined, started] = events.results.map((r) => r.data!.campaignEvents);
    expect(joined).toMatchObject({ type: "PLAYER_JOINED", data: { userId: player.user.id } });
    expect(started).toMatchObject({ type: "CAMPAIGN_STARTED", data: { status: "RUNNING" } });
    // campaign is campaign's, gameMaster.displayName identity's: the normal federated query path.
    expect(joined!.campaign).toEqual({ id: campaignId, name: expect.stringMatching(/^Live /), gameMaster: { id: gameMaster.user.id, displayName: "Narrator" } });
    expect(joined!.id < started!.id || joined!.id.length < started!.id.length).toBe(true);
  });

  it("refuses to subscribe to a campaign the caller is not in (FORBIDDEN), and anonymous callers", async () => {
    const gameMaster = await registerUser(url, "Owner");
    const outsider = await registerUser(url, "Outsider");
    const campaignId = await newCampaign(gameMaster);

    const refused = subscribe<Feed>(open(outsider), EVENTS, { id: campaignId });
    await refused.ended();
    expect(subscriptionErrorCodes(refused)).toEqual(["FORBIDDEN"]);

    const anonymous = wsClient(url);
    clients.push(anonymous);
    const unauthenticated = subscribe<Feed>(anonymous, EVENTS, { id: campaignId });
    await unauthenticated.ended();
    expect(subscriptionErrorCodes(unauthenticated)).toEqual(["UNAUTHENTICATED"]);

    const missing = subscribe<Feed>(open(outsider), EVENTS, { id: randomUUID() });
    await missing.ended();
    expect(subscriptionErrorCodes(missing)).toEqual(["NOT_FOUND"]);

    const malformed = subscribe<Feed>(open(outsider), EVENTS, { id: "not-a-uuid" });
    await malformed.ended();
    expect(subscriptionErrorCodes(malformed)).toEqual(["BAD_USER_INPUT"]);
  });

  it("stops a player's feed with FORBIDDEN once they leave the campaign, while the others go on", async () => {
    const gameMaster = await registerUser(url, "Keeper");
    const player = await registerUser(url, "Leaver");
    const campaignId = await newCampaign(gameMaster);
    await call(player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    const mine = await feed(player, campaignId);
    const theirs = await feed(gameMaster, campaignId);

    await call(player, "mutation($id: ID!) { leaveCampaign(campaignId: $id) }", { id: campaignId });
    await mine.ended();
    expect(subscriptionErrorCodes(mine)).toEqual(["FORBIDDEN"]);
    expect(mine.results).toEqual([]);

    await call(gameMaster, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId });
    await theirs.waitFor(2);
    expect(theirs.results.map((r) => r.data!.campaignEvents.type)).toEqual(["PLAYER_LEFT", "CAMPAIGN_STARTED"]);
    expect(mine.results).toEqual([]);
  });

  it("resumes by itself the way the README shows: graphql-ws reconnects and re-sends `after`", async () => {
    const gameMaster = await registerUser(url, "Reader");
    const campaignId = await newCampaign(gameMaster);
    let latestEventId: string | null = null;
    while (!latestEventId) {
      const read = await call(gameMaster, "query($id: ID!) { campaign(id: $id) { latestEventId } }", { id: campaignId });
      latestEventId = (read.campaign as unknown as { latestEventId: string | null }).latestEventId;
    }
    const client = createClient({
      url: wsUrlOf(url),
      webSocketImpl: WebSocket,
      connectionParams: () => ({ authorization: `Bearer ${gameMaster.accessToken}` }),
      retryAttempts: 5,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 300)),
    });
    clients.push(client);
    const variables: { id: string; after?: string } = { id: campaignId, after: latestEventId };
    const seen: string[] = [];
    const before = await activeNow();
    client.subscribe<Feed>(
      { query: EVENTS, variables },
      {
        next: ({ data }) => {
          variables.after = data!.campaignEvents.id;
          // The campaign's own events (its simulation adds WORLD_CREATED, TICK_COMPLETED… once started).
          if (/^CAMPAIGN_/.test(data!.campaignEvents.type)) seen.push(data!.campaignEvents.type);
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await subscribed(before);
    await call(gameMaster, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId });
    for (let i = 0; i < 200 && seen.length < 1; i++) await new Promise((resolve) => setTimeout(resolve, 25));

    // The connection drops (as a network would); while the client waits to retry, the game goes on.
    client.terminate();
    await call(gameMaster, "mutation($id: ID!) { pauseCampaign(id: $id) { id } }", { id: campaignId });
    await call(gameMaster, "mutation($id: ID!) { resumeCampaign(id: $id) { id } }", { id: campaignId });
    for (let i = 0; i < 400 && seen.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    await call(gameMaster, "mutation($id: ID!) { endCampaign(id: $id) { id } }", { id: campaignId });
    for (let i = 0; i < 400 && seen.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(seen).toEqual(["CAMPAIGN_STARTED", "CAMPAIGN_PAUSED", "CAMPAIGN_RESUMED", "CAMPAIGN_ENDED"]);
  });

  it("is refused over HTTP with a pointer to WebSocket", async () => {
    const user = await registerUser(url, "Http");
    const response = await postGraphQL(url, { query: EVENTS, variables: { id: randomUUID() } }, { token: user.accessToken });
    expect(response.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(response.errors?.[0]?.message).toMatch(/WebSocket/);
  });
});

describe("while a subgraph is unreachable", () => {
  // A gateway of its own whose route to campaign goes through a proxy the test cuts and
  // restores: campaign itself stays up (mutations and the other subgraphs still reach it),
  // only this gateway loses it, as when the pod it was routed to dies.
  let campaignRoute: TcpProxy;
  let gateway: GatewayApp;
  let gated: { gatewayUrl: string; graphqlUrl: string };

  beforeAll(async () => {
    campaignRoute = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(stack.campaignUrl).port) });
    const subgraphs = {
      identity: stack.identityUrl,
      campaign: `http://127.0.0.1:${campaignRoute.port}`,
      realtime: stack.realtimeUrl,
      simulation: stack.simulationUrl,
      provider: stack.providerUrl,
      notification: stack.notificationUrl,
    };
    gateway = createGatewayApp(gatewayTestConfig(subgraphs, `${stack.identityUrl}/.well-known/jwks.json`), captureLogs("gateway", "warn").logger as Logger);
    const gatewayUrl = await gateway.listen();
    gated = { gatewayUrl, graphqlUrl: `${gatewayUrl}/graphql` };
  });
  afterEach(() => campaignRoute.restore());
  afterAll(async () => {
    await gateway?.stop();
    await campaignRoute?.close();
  });

  type Resumable = { code?: unknown; reason?: unknown; lastEventId?: unknown };
  const resumeInfo = (subscription: Subscription<unknown>): Resumable | undefined =>
    Array.isArray(subscription.error) ? ((subscription.error as GraphQLFormattedError[])[0]?.extensions as Resumable | undefined) : undefined;

  async function gatedFeed<T = Feed>(user: TestUser, campaignId: string, query = EVENTS, after?: string): Promise<Subscription<T>> {
    const before = await activeSubscriptions(gated.gatewayUrl);
    const client = wsClient(gated.graphqlUrl, { token: user.accessToken });
    clients.push(client);
    const subscription = subscribe<T>(client, query, { id: campaignId, ...(after ? { after } : {}) });
    await untilSubscribed(gated.gatewayUrl, before, { unless: () => subscription.error !== null });
    return subscription;
  }

  /** The campaign's newest event id, read through the stack's gateway (which still reaches campaign). */
  const latestEventId = (user: TestUser, campaignId: string) =>
    eventually("the campaign's latest event", async () => {
      const read = await call(user, "query($id: ID!) { campaign(id: $id) { latestEventId } }", { id: campaignId });
      return (read.campaign as unknown as { latestEventId: string | null }).latestEventId ?? undefined;
    });

  const join = (user: TestUser, campaignId: string) => call(user, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });

  it("ends the subscription with SERVICE_UNAVAILABLE and the last delivered event id, never a null event; resuming from it loses nothing", async () => {
    const gameMaster = await registerUser(url, "Outage");
    const [first, second, third] = await Promise.all(["First", "Second", "Third"].map((name) => registerUser(url, name)));
    const campaignId = await newCampaign(gameMaster);
    await latestEventId(gameMaster, campaignId);
    const events = await gatedFeed(gameMaster, campaignId);
    await join(first!, campaignId);
    await events.waitFor(1);
    const delivered = events.results[0]!.data!.campaignEvents;
    expect(delivered).toMatchObject({ type: "PLAYER_JOINED", data: { userId: first!.user.id } });

    await campaignRoute.refuse();
    await join(second!, campaignId);
    await join(third!, campaignId);
    await events.ended(30_000);

    expect(subscriptionErrorCodes(events)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(resumeInfo(events)).toMatchObject({ reason: "EVENT_UNAVAILABLE", lastEventId: delivered.id });
    // Nothing after the event that failed was sent ahead of it, and no event was sent as null.
    expect(events.results.map((r) => r.data?.campaignEvents?.id)).toEqual([delivered.id]);

    await campaignRoute.restore();
    const resumed = await gatedFeed(gameMaster, campaignId, EVENTS, resumeInfo(events)!.lastEventId as string);
    await resumed.waitFor(2);
    expect(resumed.results.map((r) => r.data!.campaignEvents.data.userId)).toEqual([second!.user.id, third!.user.id]);
  }, 60_000);

  it("names the feed's newest event at subscription as the resume point when nothing was delivered yet", async () => {
    const gameMaster = await registerUser(url, "Quiet");
    const player = await registerUser(url, "Missed");
    const campaignId = await newCampaign(gameMaster);
    const created = await latestEventId(gameMaster, campaignId);
    const events = await gatedFeed(gameMaster, campaignId);

    await campaignRoute.refuse();
    await join(player, campaignId);
    await events.ended(30_000);
    expect(events.results).toEqual([]);
    expect(resumeInfo(events)).toMatchObject({ code: "SERVICE_UNAVAILABLE", reason: "EVENT_UNAVAILABLE", lastEventId: created });

    await campaignRoute.restore();
    const resumed = await gatedFeed(gameMaster, campaignId, EVENTS, created);
    await resumed.waitFor(1);
    expect(resumed.results[0]!.data!.campaignEvents).toMatchObject({ type: "PLAYER_JOINED", data: { userId: player.user.id } });
  }, 60_000);

  it("retries an event while its subgraph is briefly unreachable and delivers it in order, without an error", async () => {
    const gameMaster = await registerUser(url, "Blip");
    const [first, second] = await Promise.all(["Early", "Later"].map((name) => registerUser(url, name)));
    const campaignId = await newCampaign(gameMaster);
    await latestEventId(gameMaster, campaignId);
    const events = await gatedFeed(gameMaster, campaignId);
    const retries = async () => metricValue(await fetchMetrics(gated.gatewayUrl), "gateway_subscription_event_retries_total", { field: "campaignEvents" }) ?? 0;
    const retriedBefore = await retries();

    await campaignRoute.refuse();
    await join(first!, campaignId);
    await eventually("a retry of the event", async () => ((await retries()) > retriedBefore ? true : undefined));
    await campaignRoute.restore();
    await join(second!, campaignId);
    await events.waitFor(2);
    expect(events.error).toBeNull();
    expect(events.results.map((r) => r.data!.campaignEvents.data.userId)).toEqual([first!.user.id, second!.user.id]);
  }, 60_000);

  it("resolves simulation's events through simulation: ticks go on while campaign is unreachable, campaign's own events still need campaign", async () => {
    const gameMaster = await registerUser(url, "Ticker");
    const created = await call(gameMaster, `mutation { createCampaign(input: { name: "Ticks ${randomUUID().slice(0, 8)}", tickRateMs: 200 }) { id } }`);
    const campaignId = created.createCampaign!.id;
    await latestEventId(gameMaster, campaignId);
    type Ticks = { campaignEvents: { id: string; type: string; tick: number | null } };
    const events = await gatedFeed<Ticks>(gameMaster, campaignId, "subscription($id: ID!) { campaignEvents(campaignId: $id) { id type tick } }");
    const ticks = () => events.results.map((r) => r.data!.campaignEvents).filter((e) => e.type === "TICK_COMPLETED");
    await call(gameMaster, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId });
    await eventually("a first tick", async () => (ticks().length > 0 ? true : undefined));

    await campaignRoute.refuse();
    // Published after campaign became unreachable, so resolved without it.
    const cut = await latestEventId(gameMaster, campaignId);
    await eventually("ticks after the cut", async () => (ticks().filter((e) => compareStreamIds(e.id, cut) > 0).length >= 2 ? true : undefined));
    expect(events.error).toBeNull();

    await call(gameMaster, "mutation($id: ID!) { pauseCampaign(id: $id) { id } }", { id: campaignId });
    await events.ended(30_000);
    expect(subscriptionErrorCodes(events)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(resumeInfo(events)?.lastEventId).toBe(events.results.at(-1)!.data!.campaignEvents.id);
    expect(events.results.every((r) => r.data?.campaignEvents)).toBe(true);
  }, 60_000);
});
