import { randomUUID } from "node:crypto";
import type { Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createRealtimeApp } from "../../subgraphs/realtime/src/app";
import { campaignTestConfig, realtimeTestConfig } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";

/**
 * `realtime_players_online` as the gateways report connections: a user counts once however
 * many sockets they hold and whatever their campaigns, stops counting when their last socket
 * closes or lapses, and counts again on a heartbeat. A test clock (presence's and the gauge's
 * cache's) and the suite's own presence keys, so no other suite's users count here.
 */

const TTL_MS = 30_000;
let clock = Date.now();
const campaignApp = createCampaignApp(campaignTestConfig(), captureLogs("campaign", "warn").logger);
let realtimeApp: ReturnType<typeof createRealtimeApp>;
let origin: string;
let campaignUrl: string;

beforeAll(async () => {
  const campaignOrigin = await campaignApp.listen();
  campaignUrl = `${campaignOrigin}/graphql`;
  const config = realtimeTestConfig(campaignOrigin, {
    PRESENCE_TTL_MS: String(TTL_MS),
    PRESENCE_SWEEP_MS: "3600000",
    PRESENCE_KEY_PREFIX: `presence:test:${randomUUID()}:`,
  });
  realtimeApp = createRealtimeApp(config, captureLogs("realtime", "warn").logger, { clock: () => clock });
  origin = await realtimeApp.listen();
});
afterAll(async () => {
  await realtimeApp.stop();
  await campaignApp.stop();
});

async function presenceCall(path: string, body: unknown, viewer: Viewer) {
  const res = await fetch(`${origin}/internal/presence/${path}`, { method: "POST", headers: { "content-type": "application/json", ...(await gatewayHeaders(viewer)) }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}
const connect = (viewer: Viewer, connectionId: string) => presenceCall("connect", { connectionId }, viewer);
const disconnect = (viewer: Viewer, connectionId: string) => presenceCall("disconnect", { connectionId }, viewer);

/** The gauge after the clock moved past its cache (5 s), as the next scrape sees it. */
async function playersOnline(): Promise<number | undefined> {
  clock += 5_000;
  return metricValue(await fetchMetrics(origin), "realtime_players_online");
}

describe("realtime_players_online", () => {
  it("counts users with a live connection once, across campaigns, until the last one closes or lapses", async () => {
    expect(await playersOnline()).toBe(0);
    const alice = asUser(randomUUID());
    const bob = asUser(randomUUID());
    // Alice is in a campaign; Bob in none: both are online players.
    const gm = asUser(randomUUID(), ["GAME_MASTER"]);
    const created = await postGraphQL<{ createCampaign: { id: string } }>(campaignUrl, { query: "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", variables: { input: { name: `Online ${randomUUID().slice(0, 6)}` } } }, { headers: await gatewayHeaders(gm) });
    const campaignId = expectData(created).createCampaign.id;
    expectData(await postGraphQL(campaignUrl, { query: "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", variables: { id: campaignId } }, { headers: await gatewayHeaders(alice) }));

    const [a1, a2, b1] = [`conn-${randomUUID()}`, `conn-${randomUUID()}`, `conn-${randomUUID()}`];
    expect((await connect(alice, a1)).campaignIds).toEqual([campaignId]);
    await connect(alice, a2);
    await connect(bob, b1);
    expect(await playersOnline()).toBe(2);

    await disconnect(alice, a1);
    expect(await playersOnline()).toBe(2);
    await disconnect(bob, b1);
    expect(await playersOnline()).toBe(1);

    // Alice's other socket lapses without a heartbeat: not online, even before the sweep.
    clock += TTL_MS;
    expect(await playersOnline()).toBe(0);
    // Swept, and back with a new socket.
    await realtimeApp.sweepPresence();
    expect(await playersOnline()).toBe(0);
    await connect(alice, `conn-${randomUUID()}`);
    expect(await playersOnline()).toBe(1);
  });
});
