import { randomUUID } from "node:crypto";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, subscribe, subscriptionErrorCodes, untilSubscribed, wsClient, wsUrlOf, type Subscription } from "../testkit/subscriptions";
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
