import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { Topics, checkEventData, compareStreamIds, familyOfTopic, parseEvent, type EventEnvelope } from "@startales/service-kit";
import { expectData, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { subscribe, wsClient } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The simulation through the gateway, as a game client uses it: a game master starts a
 * campaign, players send commands, the ticks advance (TICK_COMPLETED arrives on
 * `campaignEvents`), the commands are applied, and the world's replay matches its state.
 * Every event of the campaign's feed met its contract and came from its topic's one writer.
 */

let stack: Stack;
let url: string;
const clients: ReturnType<typeof wsClient>[] = [];

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  url = stack.graphqlUrl;
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await stack?.stop();
});

const call = async <T = Record<string, unknown>>(user: TestUser, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> =>
  postGraphQL<T>(url, { query, variables }, { token: user.accessToken });

type WorldView = { campaign: { status: string; world: { tick: number; stateHash: string; civilizations: { id: string; player: { id: string } | null }[] } | null } };

it("a game master starts a campaign; players' commands are applied as the ticks advance; the replay matches", async () => {
  const gm = await registerUser(url, "Stellar GM");
  const pilot = await registerUser(url, "Pilot");
  const created = expectData(
    await call<{ createCampaign: { id: string } }>(gm, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", {
      input: { name: `Journey ${randomUUID().slice(0, 6)}`, tickRateMs: 200 },
    }),
  );
  const campaignId = created.createCampaign.id;
  expectData(await call(pilot, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId }));

  const client = wsClient(url, { token: pilot.accessToken });
  clients.push(client);
  const ticks = subscribe<{ campaignEvents: { id: string; type: string; tick: number | null } }>(client, "subscription($id: ID!) { campaignEvents(campaignId: $id) { id type tick } }", { id: campaignId });

  // Before the start: no world yet, but commands can already be queued.
  const before = expectData(await call<WorldView>(pilot, "query($id: ID!) { campaign(id: $id) { status world { tick } } }", { id: campaignId }));
  expect(before.campaign.world).toBeNull();
  const submitted = expectData(
    await call<{ submitCommand: { id: string; status: string } }>(pilot, "mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id status } }", {
      input: { campaignId, type: "SET_TAX", payload: { rate: 25 }, idempotencyKey: "tax-1" },
    }),
  ).submitCommand;
  expect(submitted.status).toBe("PENDING");

  expectData(await call(gm, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId }));
  const world = await eventually("the world at tick 2", async () => {
    const view = expectData(await call<WorldView>(pilot, "query($id: ID!) { campaign(id: $id) { status world { tick stateHash civilizations { id player { id } } } } }", { id: campaignId }));
    return (view.campaign.world?.tick ?? 0) >= 2 ? view.campaign.world! : undefined;
  });
  expect(world.civilizations.filter((c) => c.player).map((c) => c.player!.id).sort()).toEqual([gm.user.id, pilot.user.id].sort());

  // A command sent while it runs is applied at a later tick; the same key again is the same command.
  const later = expectData(
    await call<{ submitCommand: { id: string } }>(pilot, "mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id } }", {
      input: { campaignId, type: "SET_POLICY", payload: { policy: "research" }, idempotencyKey: "policy-1" },
    }),
  ).submitCommand;
  const again = expectData(
    await call<{ submitCommand: { id: string } }>(pilot, "mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id } }", {
      input: { campaignId, type: "SET_POLICY", payload: { policy: "military" }, idempotencyKey: "policy-1" },
    }),
  ).submitCommand;
  expect(again.id).toBe(later.id);

  const decided = await eventually("both commands applied", async () => {
    const { commands } = expectData(await call<{ commands: { id: string; status: string; tick: number | null }[] }>(pilot, "query($id: ID!) { commands(campaignId: $id) { id status tick } }", { id: campaignId }));
    return commands.every((c) => c.status !== "PENDING") ? commands : undefined;
  });
  expect(decided).toEqual([
    { id: later.id, status: "APPLIED", tick: expect.any(Number) },
    { id: submitted.id, status: "APPLIED", tick: 1 },
  ]);
  const mine = expectData(await call<{ myCivilization: { taxRate: number; policy: string } }>(pilot, "query($id: ID!) { myCivilization(campaignId: $id) { taxRate policy } }", { id: campaignId }));
  expect(mine.myCivilization).toEqual({ taxRate: 25, policy: "research" });

  // Ticks arrive live on the campaign's feed.
  await eventually("TICK_COMPLETED events", async () => (ticks.results.filter((r) => r.data?.campaignEvents.type === "TICK_COMPLETED").length >= 2 ? true : undefined));
  const tickNumbers = ticks.results.filter((r) => r.data?.campaignEvents.type === "TICK_COMPLETED").map((r) => r.data!.campaignEvents.tick!);
  expect(tickNumbers.slice(0, 2)).toEqual([tickNumbers[0], tickNumbers[0]! + 1]);

  expectData(await call(gm, "mutation($id: ID!) { pauseCampaign(id: $id) { id } }", { id: campaignId }));
  const integrity = expectData(
    await call<{ worldIntegrity: { tick: number; savedHash: string; replayedHash: string; matches: boolean } }>(gm, "query($id: ID!) { worldIntegrity(campaignId: $id) { tick savedHash replayedHash matches } }", {
      id: campaignId,
    }),
  ).worldIntegrity;
  expect(integrity.matches).toBe(true);
  expect(integrity.replayedHash).toBe(integrity.savedHash);
  expect(integrity.tick).toBeGreaterThanOrEqual(2);
  const board = expectData(await call<{ leaderboard: { rank: number; civilizationId: string }[] }>(pilot, "query($id: ID!) { leaderboard(campaignId: $id, first: 5) { rank civilizationId } }", { id: campaignId }));
  expect(board.leaderboard.length).toBeGreaterThan(0);
  expectData(await call(gm, "mutation($id: ID!) { endCampaign(id: $id) { id } }", { id: campaignId }));
  await eventually("CAMPAIGN_ENDED on the feed", async () => (ticks.results.some((r) => r.data?.campaignEvents.type === "CAMPAIGN_ENDED") ? true : undefined));

  // The feed is a timeline of two topics, each with its one writer: campaign's and simulation's.
  // Every event met its contract, came from its family's writer, and the subscriber got both
  // writers' events merged in stream-id order.
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  try {
    const streams = await Promise.all(
      [Topics.campaign(campaignId), Topics.world(campaignId)].map(async (topic) => (await redis.xrange(`events:${topic}`, "-", "+")).map(([streamId, fields]) => ({ streamId, ...JSON.parse(fields[1]!) }))),
    );
    const [campaignStream, worldStream] = streams as [EventEnvelope[] & { streamId: string }[], EventEnvelope[] & { streamId: string }[]];
    expect(campaignStream.map((e) => e.type)).toEqual(expect.arrayContaining(["CAMPAIGN_CREATED", "PLAYER_JOINED", "CAMPAIGN_STARTED", "CAMPAIGN_PAUSED", "CAMPAIGN_ENDED"]));
    expect(worldStream.map((e) => e.type)).toEqual(expect.arrayContaining(["WORLD_CREATED", "TICK_COMPLETED"]));
    for (const event of [...campaignStream, ...worldStream]) {
      const family = familyOfTopic(event.topic)!;
      expect(() => checkEventData(event.topic, event.type, event.data)).not.toThrow();
      expect(parseEvent(event).ok).toBe(true);
      expect(event.producer).toBe(family.writer);
    }
    const merged = [...campaignStream, ...worldStream].map((e) => e.streamId).sort(compareStreamIds);
    expect(new Set(merged).size).toBe(merged.length);
    const delivered = ticks.results.map((r) => r.data!.campaignEvents.id);
    expect(delivered).toEqual(merged.filter((id) => delivered.includes(id)));
    expect(delivered.length).toBeGreaterThanOrEqual(4);
  } finally {
    redis.disconnect();
  }
}, 60_000);
