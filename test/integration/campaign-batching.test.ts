import { randomUUID } from "node:crypto";
import pg from "pg";
import { type Role, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { CampaignSubgraphCreateDocument, CampaignSubgraphJoinDocument, CampaignSubgraphMyCampaignsDocument } from "../generated/operations";
import { campaignTestConfig } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";

/**
 * A player in many campaigns opens their campaign list: the subgraph must read members,
 * counts and the caller's own memberships in a fixed number of SQL statements (batched per
 * request), not one round trip per campaign.
 *
 * How statements are counted: the subgraph runs in this test's process, and its Prisma
 * driver adapter sends every statement through node-postgres' `Client#query` (pool clients
 * are `pg.Client`s). A spy on that method sees each statement the subgraph sends; nothing
 * else in this file talks to PostgreSQL while a request is being measured, except the app's
 * outbox relay, whose transactions (its turn lock, then `outbox_events`) are left out (the
 * measured requests are reads and open no transaction).
 */
const outboxRelayStatement = (sql: string) => /outbox_events|pg_advisory_xact_lock|lock_timeout|^\s*(BEGIN|COMMIT|ROLLBACK)\b/i.test(sql);

const app = createCampaignApp(campaignTestConfig(), captureLogs("campaign", "warn").logger);
const statements = jest.spyOn(pg.Client.prototype, "query");
let url: string;

beforeAll(async () => {
  url = `${await app.listen()}/graphql`;
});
afterAll(async () => {
  await app.stop();
  statements.mockRestore();
});

const newUser = (roles: Role[] = ["PLAYER"]) => asUser(randomUUID(), roles);
const userIdOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");
const as = async (viewer: Viewer) => ({ headers: await gatewayHeaders(viewer) });

/** A user who created half of `count` campaigns and joined the other half; each has a few other players. */
async function userInCampaigns(count: number): Promise<{ user: Viewer; campaignIds: string[] }> {
  const user = newUser(["GAME_MASTER"]);
  const campaignIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const owner = i % 2 === 0 ? user : newUser(["GAME_MASTER"]);
    const input = { name: `Batch ${i} ${randomUUID().slice(0, 6)}` };
    const campaign = expectData(await graphql(url, CampaignSubgraphCreateDocument, { input }, await as(owner))).createCampaign;
    const joiners = owner === user ? [newUser(), newUser()] : [user, newUser()];
    for (const joiner of joiners) expectData(await graphql(url, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(joiner)));
    campaignIds.push(campaign.id);
  }
  return { user, campaignIds: campaignIds.reverse() };
}

/** Runs one request and returns what it answered and the SQL statements it sent. */
async function measured<T>(request: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  statements.mockClear();
  const result = await request();
  const sql = statements.mock.calls.map(([query]) => (typeof query === "string" ? query : (query as { text: string }).text));
  return { result, sql: sql.filter((statement) => !outboxRelayStatement(statement)) };
}

const FULL_LIST = `query CampaignBatchingFullList {
  myCampaigns { id seed memberCount myMembership { role } members { id role user { id } } }
}`;

describe("listing my campaigns", () => {
  it("costs the same few SQL statements for 2 campaigns as for 6", async () => {
    const few = await userInCampaigns(2);
    const many = await userInCampaigns(6);

    const list = async (user: Viewer) => {
      const options = await as(user);
      return measured(() => graphql(url, CampaignSubgraphMyCampaignsDocument, {}, options));
    };
    const small = await list(few.user);
    const large = await list(many.user);

    // The answers are complete and right…
    const smallList = expectData(small.result).myCampaigns;
    const largeList = expectData(large.result).myCampaigns;
    expect(smallList.map((c) => c.id)).toEqual(few.campaignIds);
    expect(largeList.map((c) => c.id)).toEqual(many.campaignIds);
    for (const campaign of largeList) {
      expect(campaign.memberCount).toBe(3);
      expect(campaign.members).toHaveLength(3);
      expect(campaign.members.map((m) => m.user.id)).toContain(userIdOf(many.user));
    }

    // …and the statement count does not grow with the number of campaigns.
    expect(small.sql.length).toBeGreaterThan(0);
    expect(large.sql).toHaveLength(small.sql.length);
    // campaigns, members, member counts, and the caller's memberships (the campaign_reader policy)
    expect(large.sql.length).toBeLessThanOrEqual(4);
    expect(large.sql.some((q) => /"memberships"/.test(q))).toBe(true);
  });

  it("batches the caller's own memberships (seed and myMembership) too", async () => {
    const few = await userInCampaigns(2);
    const many = await userInCampaigns(6);

    const list = async (user: Viewer) => {
      const options = await as(user);
      return measured(() =>
        postGraphQL<{ myCampaigns: { id: string; seed: string | null; myMembership: { role: string } | null }[] }>(
          url,
          { query: FULL_LIST },
          options,
        ),
      );
    };
    const small = await list(few.user);
    const large = await list(many.user);

    expect(errorCodes(large.result)).toEqual([]);
    const rows = large.result.data!.myCampaigns;
    expect(rows).toHaveLength(6);
    // Created ones (every other, newest first) show the seed and GAME_MASTER; joined ones neither.
    expect(rows.map((c) => c.myMembership?.role)).toEqual(["PLAYER", "GAME_MASTER", "PLAYER", "GAME_MASTER", "PLAYER", "GAME_MASTER"]);
    expect(rows.map((c) => c.seed !== null)).toEqual([false, true, false, true, false, true]);

    expect(large.sql).toHaveLength(small.sql.length);
    // campaigns, members, member counts, my memberships (shared by the policy, seed and myMembership)
    expect(large.sql.length).toBeLessThanOrEqual(4);
  });
});
