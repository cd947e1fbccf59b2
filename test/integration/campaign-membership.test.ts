import { randomUUID } from "node:crypto";
import { anonymous, type Role, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import {
  CampaignSubgraphCreateDocument,
  CampaignSubgraphDetailsDocument,
  CampaignSubgraphJoinDocument,
  CampaignSubgraphMyCampaignsDocument,
  EndCampaignDocument,
  LeaveCampaignDocument,
  MyCampaignsPageDocument,
  StartCampaignDocument,
  type CampaignSubgraphCreateMutationVariables,
} from "../generated/operations";
import { campaignTestConfig } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";

/**
 * Players join and leave campaigns, and only members (plus admins and analysts) can look
 * inside one — directly, or through another subgraph's reference (`_entities`).
 */

const logs = captureLogs("campaign", "warn");
const app = createCampaignApp(campaignTestConfig(), logs.logger);
let url: string;

beforeAll(async () => {
  url = `${await app.listen()}/graphql`;
});
afterAll(() => app.stop());

const newUser = (roles: Role[] = ["PLAYER"]) => asUser(randomUUID(), roles);
const userIdOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");
const as = async (viewer: Viewer) => ({ headers: await gatewayHeaders(viewer) });

async function newCampaign(gm: Viewer, input: Partial<CampaignSubgraphCreateMutationVariables["input"]> = {}) {
  const input_ = { name: `Campaign ${randomUUID().slice(0, 8)}`, ...input };
  return expectData(await graphql(url, CampaignSubgraphCreateDocument, { input: input_ }, await as(gm))).createCampaign;
}
const join = async (viewer: Viewer, campaignId: string) => graphql(url, CampaignSubgraphJoinDocument, { campaignId }, await as(viewer));
const joinOk = async (viewer: Viewer, campaignId: string) => expectData(await join(viewer, campaignId)).joinCampaign;
const leave = async (viewer: Viewer, campaignId: string) => graphql(url, LeaveCampaignDocument, { campaignId }, await as(viewer));
const read = async (viewer: Viewer, id: string) => graphql(url, CampaignSubgraphDetailsDocument, { id }, await as(viewer));
const myCampaigns = async (viewer: Viewer) =>
  expectData(await graphql(url, CampaignSubgraphMyCampaignsDocument, {}, await as(viewer))).myCampaigns;
const fieldsOf = (response: GraphQLResponse<unknown>) =>
  ((response.errors?.[0]?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field);
/** What an admin sees of a campaign: the ground truth the tests compare with. */
const truth = async (id: string) => expectData(await read(newUser(["ADMIN"]), id)).campaign!;

describe("players join and leave a campaign", () => {
  it("makes a joining player a PLAYER member and counts them", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const player = newUser();
    const campaign = await newCampaign(gm);

    const membership = await joinOk(player, campaign.id);
    expect(membership).toMatchObject({ role: "PLAYER", user: { id: userIdOf(player) }, campaign: { id: campaign.id, memberCount: 2 } });

    const seen = expectData(await read(player, campaign.id)).campaign!;
    expect(seen.members.map((m) => [m.role, m.user.id])).toEqual([
      ["GAME_MASTER", userIdOf(gm)],
      ["PLAYER", userIdOf(player)],
    ]);
    expect(seen.myMembership).toEqual({ id: membership.id, role: "PLAYER" });
  });

  it("returns the same membership when a player joins twice, without counting them twice", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const player = newUser();
    const campaign = await newCampaign(gm);

    const first = await joinOk(player, campaign.id);
    const second = await joinOk(player, campaign.id);
    expect(second.id).toBe(first.id);
    expect(second.campaign.memberCount).toBe(2);

    // The game master "joining" their own campaign just gets their membership back.
    const gmAgain = await joinOk(gm, campaign.id);
    expect(gmAgain).toMatchObject({ id: campaign.myMembership!.id, role: "GAME_MASTER" });
    expect((await truth(campaign.id)).memberCount).toBe(2);
  });

  it("turns a player away from a full campaign with CONFLICT", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm, { maxPlayers: 2 });
    await joinOk(newUser(), campaign.id);

    const late = newUser();
    expect(errorCodes(await join(late, campaign.id))).toEqual(["CONFLICT"]);
    expect((await truth(campaign.id)).memberCount).toBe(2);
    expect(await myCampaigns(late)).toEqual([]);
  });

  it("never overfills a campaign when six players join at the same moment", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm, { maxPlayers: 3 });
    const players = Array.from({ length: 6 }, () => newUser());

    const responses = await Promise.all(players.map((p) => join(p, campaign.id)));
    const winners = players.filter((_p, i) => !responses[i]!.errors?.length);
    const losers = responses.filter((r) => r.errors?.length);
    expect(winners).toHaveLength(2);
    expect(losers.map(errorCodes)).toEqual([["CONFLICT"], ["CONFLICT"], ["CONFLICT"], ["CONFLICT"]]);

    const after = await truth(campaign.id);
    expect(after.memberCount).toBe(3);
    expect(after.members.map((m) => m.user.id).sort()).toEqual([userIdOf(gm), ...winners.map(userIdOf)].sort());
  });

  it("frees a seat when a player leaves a full campaign", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm, { maxPlayers: 2 });
    const first = newUser();
    const second = newUser();
    await joinOk(first, campaign.id);
    expect(errorCodes(await join(second, campaign.id))).toEqual(["CONFLICT"]);

    expect(expectData(await leave(first, campaign.id)).leaveCampaign).toBe(true);
    expect((await joinOk(second, campaign.id)).campaign.memberCount).toBe(2);
  });

  it("lets players join a running campaign but not an ended one", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    expectData(await graphql(url, StartCampaignDocument, { id: campaign.id }, await as(gm)));
    const early = newUser();
    await joinOk(early, campaign.id);

    expectData(await graphql(url, EndCampaignDocument, { id: campaign.id }, await as(gm)));
    expect(errorCodes(await join(newUser(), campaign.id))).toEqual(["CONFLICT"]);
    expect((await truth(campaign.id)).memberCount).toBe(2);
  });

  it("answers NOT_FOUND for an unknown campaign and BAD_USER_INPUT for a malformed id", async () => {
    const player = newUser();
    expect(errorCodes(await join(player, randomUUID()))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await leave(player, randomUUID()))).toEqual(["NOT_FOUND"]);

    for (const response of [await join(player, "campaign-1"), await leave(player, "campaign-1")]) {
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(response)).toEqual(["campaignId"]);
    }
  });

  it("refuses anonymous callers and analysts", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    expect(errorCodes(await join(anonymous, campaign.id))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await leave(anonymous, campaign.id))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await join(newUser(["ANALYST"]), campaign.id))).toEqual(["FORBIDDEN"]);
    expect((await truth(campaign.id)).memberCount).toBe(1);
  });

  it("answers true when a player leaves and false when they were no longer a member", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const player = newUser();
    const campaign = await newCampaign(gm);
    await joinOk(player, campaign.id);

    expect(expectData(await leave(player, campaign.id)).leaveCampaign).toBe(true);
    expect(expectData(await leave(player, campaign.id)).leaveCampaign).toBe(false);
    expect(expectData(await leave(newUser(), campaign.id)).leaveCampaign).toBe(false);

    expect((await truth(campaign.id)).memberCount).toBe(1);
    expect(errorCodes(await read(player, campaign.id))).toEqual(["FORBIDDEN"]);
    expect(await myCampaigns(player)).toEqual([]);
  });

  it("answers one true and one false when a player's leave is sent twice at once", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    for (let round = 0; round < 5; round++) {
      const player = newUser();
      await joinOk(player, campaign.id);
      const responses = await Promise.all([leave(player, campaign.id), leave(player, campaign.id)]);
      expect(responses.map(errorCodes)).toEqual([[], []]);
      expect(responses.map((r) => r.data?.leaveCampaign).sort()).toEqual([false, true]);
    }
    expect((await truth(campaign.id)).memberCount).toBe(1);
  });

  it("does not let the game master leave their own campaign", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    expect(errorCodes(await leave(gm, campaign.id))).toEqual(["CONFLICT"]);
    expect(expectData(await read(gm, campaign.id)).campaign?.myMembership?.role).toBe("GAME_MASTER");
  });
});

describe("only members, admins and analysts can look inside a campaign", () => {
  it("forbids an outsider from reading a campaign", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    const response = await read(newUser(), campaign.id);
    expect(errorCodes(response)).toEqual(["FORBIDDEN"]);
    expect(response.data?.campaign ?? null).toBeNull();
  });

  it("shows the seed to the game master but not to a player", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const player = newUser();
    const campaign = await newCampaign(gm, { seed: "secret-seed-7" });
    await joinOk(player, campaign.id);

    expect(expectData(await read(gm, campaign.id)).campaign?.seed).toBe("secret-seed-7");
    const asPlayer = expectData(await read(player, campaign.id)).campaign;
    expect(asPlayer).toMatchObject({ id: campaign.id, memberCount: 2, seed: null });
  });

  it("lets an analyst read without membership or seed, and an admin read with the seed", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm, { seed: "admin-visible" });

    const asAnalyst = expectData(await read(newUser(["ANALYST"]), campaign.id)).campaign;
    expect(asAnalyst).toMatchObject({ id: campaign.id, name: campaign.name, memberCount: 1, seed: null, myMembership: null });
    expect(asAnalyst?.members.map((m) => m.user.id)).toEqual([userIdOf(gm)]);

    const asAdmin = expectData(await read(newUser(["ADMIN"]), campaign.id)).campaign;
    expect(asAdmin).toMatchObject({ id: campaign.id, seed: "admin-visible", myMembership: null });
  });

  it("answers null, not an error, for a campaign that does not exist", async () => {
    const response = await read(newUser(), randomUUID());
    expect(errorCodes(response)).toEqual([]);
    expect(response.data).toEqual({ campaign: null });
  });

  it("answers BAD_USER_INPUT for a malformed id and UNAUTHENTICATED for an anonymous caller", async () => {
    const malformed = await read(newUser(), "42");
    expect(errorCodes(malformed)).toEqual(["BAD_USER_INPUT"]);
    expect(fieldsOf(malformed)).toEqual(["id"]);

    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    expect(errorCodes(await read(anonymous, campaign.id))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await graphql(url, CampaignSubgraphMyCampaignsDocument, {}, await as(anonymous)))).toEqual(["UNAUTHENTICATED"]);
  });

  it("lists only the caller's own campaigns, newest first", async () => {
    const alice = newUser(["GAME_MASTER"]);
    const bob = newUser(["GAME_MASTER"]);
    const carol = newUser(["GAME_MASTER"]);

    const oldest = await newCampaign(alice, { name: "Alice One" });
    const bobs = await newCampaign(bob, { name: "Bob's Galaxy" });
    const carols = await newCampaign(carol, { name: "Carol's Galaxy" });
    const left = await newCampaign(bob, { name: "Bob's Other Galaxy" });
    const newest = await newCampaign(alice, { name: "Alice Two" });
    await joinOk(alice, bobs.id);
    await joinOk(alice, left.id);
    expect(expectData(await leave(alice, left.id)).leaveCampaign).toBe(true);

    const mine = await myCampaigns(alice);
    expect(mine.map((c) => c.name)).toEqual(["Alice Two", "Bob's Galaxy", "Alice One"]);
    expect(mine.map((c) => c.id)).toEqual([newest.id, bobs.id, oldest.id]);
    const times = mine.map((c) => Date.parse(String(c.createdAt)));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    expect((await myCampaigns(carol)).map((c) => c.id)).toEqual([carols.id]);
    expect(await myCampaigns(newUser())).toEqual([]);
  });

  it("shows no membership of its own to an admin who is not a member", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    const admin = newUser(["ADMIN"]);
    expect(expectData(await read(admin, campaign.id)).campaign?.myMembership).toBeNull();
    expect(await myCampaigns(admin)).toEqual([]);
  });
});

describe("another subgraph resolves a campaign reference (_entities)", () => {
  const ENTITIES = `query Entities($representations: [_Any!]!) {
    _entities(representations: $representations) { ... on Campaign { id name status memberCount } }
  }`;
  type Entities = { _entities: ({ id: string; name: string; status: string; memberCount: number } | null)[] };
  const entities = async (viewer: Viewer, ids: string[]) =>
    postGraphQL<Entities>(
      url,
      { query: ENTITIES, variables: { representations: ids.map((id) => ({ __typename: "Campaign", id })) } },
      await as(viewer),
    );

  it("gives a member the campaign", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const player = newUser();
    const campaign = await newCampaign(gm, { name: "Referenced Galaxy" });
    await joinOk(player, campaign.id);

    for (const viewer of [gm, player, newUser(["ANALYST"]), newUser(["ADMIN"])]) {
      const response = await entities(viewer, [campaign.id]);
      expect(errorCodes(response)).toEqual([]);
      expect(response.data?._entities).toEqual([{ id: campaign.id, name: "Referenced Galaxy", status: "DRAFT", memberCount: 2 }]);
    }
  });

  it("gives a non-member a FORBIDDEN error for that entity instead of its data", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const outsider = newUser(["GAME_MASTER"]);
    const theirs = await newCampaign(gm);
    const mine = await newCampaign(outsider);

    const response = await entities(outsider, [mine.id, theirs.id]);
    expect(errorCodes(response)).toEqual(["FORBIDDEN"]);
    expect(response.errors?.[0]?.path).toEqual(["_entities", 1]);
    expect(response.data?._entities).toEqual([expect.objectContaining({ id: mine.id }), null]);
    expect(JSON.stringify(response)).not.toContain(theirs.name);
  });

  it("answers BAD_USER_INPUT for a malformed reference without spoiling the others in the batch", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    const response = await entities(gm, [campaign.id, "not-a-uuid"]);
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    expect(response.errors?.[0]?.path).toEqual(["_entities", 1]);
    expect(response.data?._entities).toEqual([expect.objectContaining({ id: campaign.id }), null]);
  });

  it("gives an anonymous caller no campaign data, and null for an unknown campaign", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    const anon = await entities(anonymous, [campaign.id]);
    expect(anon.data?._entities ?? [null]).toEqual([null]);
    expect(errorCodes(anon)).toHaveLength(1);
    expect(errorCodes(anon)).toEqual(["UNAUTHENTICATED"]);

    const unknown = await entities(gm, [randomUUID()]);
    expect(errorCodes(unknown)).toEqual([]);
    expect(unknown.data?._entities).toEqual([null]);
  });
});

describe("a player in many campaigns", () => {
  it("pages through myCampaigns, newest first, without gaps or repeats", async () => {
    const player = newUser();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await newCampaign(player)).id);
    const load = async (first: number, after?: string) =>
      expectData(await graphql(url, MyCampaignsPageDocument, { first, after }, await as(player))).myCampaigns;
    const page = async (first: number, after?: string) => (await load(first, after)).map((c) => c.id);

    const all = await load(100);
    expect(all.map((c) => c.id).sort()).toEqual([...created].sort());
    const times = all.map((c) => new Date(c.createdAt as string).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times); // newest first

    const first = await page(2);
    const second = await page(2, first[1]);
    const third = await page(2, second[1]);
    expect([...first, ...second, ...third]).toEqual(all.map((c) => c.id));
    expect(third).toHaveLength(1);
  });

  it("refuses page sizes outside 1..500 and malformed cursors", async () => {
    const player = newUser();
    for (const variables of [{ first: 0 }, { first: 501 }, { first: 10, after: "not-an-id" }]) {
      const response = await graphql(url, MyCampaignsPageDocument, variables, await as(player));
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    }
  });
});
