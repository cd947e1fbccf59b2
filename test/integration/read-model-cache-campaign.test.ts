import { randomUUID } from "node:crypto";
import { createRedis, type Role, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { campaignTestConfig } from "../testkit/config";
import { asUser } from "../testkit/gateway-identity";
import { errorCodes } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { callAs, dataAs } from "../testkit/simulation";

/**
 * Campaign's polled reads (member count, the caller's membership) kept per campaign version
 * (loaders.ts): served from the cache while nothing changes, and never past a join or leave,
 * not even to the writer's own next read.
 */
const app = createCampaignApp(campaignTestConfig(), captureLogs("campaign", "warn").logger);
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "read-model-cache-campaign-test");
let url: string;
beforeAll(async () => {
  url = `${await app.listen()}/graphql`;
});
afterAll(async () => {
  redis.disconnect();
  await app.stop();
});

const newUser = (roles: Role[] = ["PLAYER"]) => asUser(randomUUID(), roles);
const OVERVIEW = "query($id: ID!) { campaign(id: $id) { version: id memberCount myMembership { role } } }";
type Overview = { campaign: { memberCount: number; myMembership: { role: string } | null } | null };
const overview = (viewer: Viewer, id: string) => dataAs<Overview>(url, viewer, OVERVIEW, { id });
const JOIN = "mutation($id: ID!) { joinCampaign(campaignId: $id) { campaign { memberCount } } }";

it("counts members and answers who belongs from the cache until a join or leave, then at once anew", async () => {
  const gm = newUser(["GAME_MASTER"]);
  const [alice, bob] = [newUser(), newUser()];
  const id = (await dataAs<{ createCampaign: { id: string } }>(url, gm, `mutation { createCampaign(input: { name: "Cached ${randomUUID().slice(0, 6)}" }) { id } }`)).createCampaign.id;
  const join = await dataAs<{ joinCampaign: { campaign: { memberCount: number } } }>(url, alice, JOIN, { id });
  expect(join.joinCampaign.campaign.memberCount).toBe(2);
  for (let i = 0; i < 3; i++) expect((await overview(alice, id)).campaign).toEqual({ version: id, memberCount: 2, myMembership: { role: "PLAYER" } });
  // Kept in Redis for the other replicas, under the campaign's version.
  const keys = await redis.keys(`campaign:read:members:${id}:*`);
  expect(await Promise.all(keys.map((key) => redis.get(key)))).toContain("2");

  // The writer's own response, and the next read of anyone, see the join.
  expect((await dataAs<{ joinCampaign: { campaign: { memberCount: number } } }>(url, bob, JOIN, { id })).joinCampaign.campaign.memberCount).toBe(3);
  expect((await overview(alice, id)).campaign!.memberCount).toBe(3);
  await dataAs(url, alice, "mutation($id: ID!) { leaveCampaign(campaignId: $id) }", { id });
  expect(errorCodes(await callAs(url, alice, OVERVIEW, { id }))).toEqual(["FORBIDDEN"]);
  expect((await overview(bob, id)).campaign).toEqual({ version: id, memberCount: 2, myMembership: { role: "PLAYER" } });
  await redis.del(...(await redis.keys(`campaign:read:*:${id}:*`)));
});
