import { randomUUID } from "node:crypto";
import { expectData as dataOf, postGraphQL } from "../testkit/graphql-client";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The gateway's entity cache (gateway/src/execution/entity-cache.ts) on a whole stack: a
 * User's public answer (identity says `public, max-age=60`) fetched for one caller is served
 * to the next without asking identity, the members' list asks only for the users it lacks,
 * and an answer that depends on the caller (a user's email) is never shared.
 */
/** The data of a call through the gateway that must succeed. */
const expectData = async <T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown>, token: string) =>
  dataOf(await postGraphQL<T>(url, { query, variables }, { token }));

let stack: Stack;
let url: string;
let gameMaster: TestUser;
let players: TestUser[];
let campaignId: string;

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  url = stack.graphqlUrl;
  const tag = randomUUID().slice(0, 6);
  gameMaster = await registerUser(url, `Keeper ${tag}`);
  players = await Promise.all([1, 2, 3].map((i) => registerUser(url, `Pilot ${i} ${tag}`)));
  campaignId = (await expectData<{ createCampaign: { id: string } }>(url, `mutation { createCampaign(input: { name: "Entity cache ${tag}" }) { id } }`, {}, gameMaster.accessToken)).createCampaign.id;
  for (const player of players.slice(0, 2)) await expectData(url, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId }, player.accessToken);
});
afterAll(() => stack?.stop());

/** How many GraphQL requests identity has answered (every operation the gateway sent it). */
async function identityRequests(): Promise<number> {
  const text = await stack.apps.identity.metrics.registry.metrics();
  let total = 0;
  for (const match of text.matchAll(/^graphql_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)) total += Number(match[1]);
  return total;
}
const lookups = async (outcome: "hit" | "miss") => metricValue(await fetchMetrics(stack.gatewayUrl), "gateway_entity_cache_lookups_total", { subgraph: "identity", outcome }) ?? 0;

const GAME_MASTER = "query GameMaster($id: ID!) { campaign(id: $id) { gameMaster { id displayName } } }";

it("serves a user's public answer to the next caller without asking identity", async () => {
  const [alice, bob] = players;
  const first = await expectData<{ campaign: { gameMaster: { id: string; displayName: string } } }>(url, GAME_MASTER, { id: campaignId }, alice!.accessToken);
  expect(first.campaign.gameMaster).toEqual({ id: gameMaster.user.id, displayName: gameMaster.user.displayName });
  const [asked, hits] = [await identityRequests(), await lookups("hit")];
  const second = await expectData(url, GAME_MASTER, { id: campaignId }, bob!.accessToken);
  expect(second).toEqual(first);
  expect(await identityRequests()).toBe(asked);
  expect(await lookups("hit")).toBe(hits + 1);
});

it("asks identity only for the members it does not have, whatever the operation, and keeps their order", async () => {
  const [alice, bob] = players;
  // The game master is kept (by the first test or here); the members' list, another operation asking the same of a User, then needs only the players.
  await expectData(url, GAME_MASTER, { id: campaignId }, alice!.accessToken);
  const members = "query Members($id: ID!) { campaign(id: $id) { members { user { id displayName } } } }";
  const [misses, hits] = [await lookups("miss"), await lookups("hit")];
  const listed = await expectData<{ campaign: { members: { user: { id: string; displayName: string } }[] } }>(url, members, { id: campaignId }, bob!.accessToken);
  const byId = new Map([gameMaster, ...players].map(({ user }) => [user.id, user.displayName]));
  expect(listed.campaign.members.map(({ user }) => user.id).sort()).toEqual([gameMaster, players[0]!, players[1]!].map(({ user }) => user.id).sort());
  for (const { user } of listed.campaign.members) expect(user.displayName).toBe(byId.get(user.id));
  expect(await lookups("miss")).toBe(misses + 2);
  expect(await lookups("hit")).toBe(hits + 1);
  // The same list again is served whole.
  const asked = await identityRequests();
  expect(await expectData(url, members, { id: campaignId }, alice!.accessToken)).toEqual(listed);
  expect(await identityRequests()).toBe(asked);
});

it("never shares an answer that depends on the caller: a user's email", async () => {
  const [alice] = players;
  const withEmail = "query GameMasterEmail($id: ID!) { campaign(id: $id) { gameMaster { displayName email } } }";
  const own = await expectData<{ campaign: { gameMaster: { email: string | null } } }>(url, withEmail, { id: campaignId }, gameMaster.accessToken);
  expect(own.campaign.gameMaster.email).toBe(gameMaster.email);
  const asked = await identityRequests();
  const other = await expectData<{ campaign: { gameMaster: { displayName: string; email: string | null } } }>(url, withEmail, { id: campaignId }, alice!.accessToken);
  expect(other.campaign.gameMaster).toEqual({ displayName: gameMaster.user.displayName, email: null });
  expect(await identityRequests()).toBe(asked + 1);
});

it("tells an HTTP client no more than identity would: a signed-in answer stays private", async () => {
  const [alice] = players;
  const response = await postGraphQL(url, { query: GAME_MASTER, variables: { id: campaignId } }, { token: alice!.accessToken });
  expect(response.status).toBe(200);
  expect(response.headers.get("cache-control") ?? "").not.toMatch(/public/);
});
