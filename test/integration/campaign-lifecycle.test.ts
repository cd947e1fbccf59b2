import { randomUUID } from "node:crypto";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { anonymous, type Role, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import {
  CampaignSubgraphCreateDocument,
  CampaignSubgraphDetailsDocument,
  CampaignSubgraphJoinDocument,
  CampaignSubgraphMyCampaignsDocument,
  EndCampaignDocument,
  PauseCampaignDocument,
  ResumeCampaignDocument,
  StartCampaignDocument,
  type CampaignSubgraphCreateMutationVariables,
} from "../generated/operations";
import { campaignTestConfig } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";

/**
 * A game master creates a campaign and runs it through its life: DRAFT → RUNNING ⇄ PAUSED → ENDED.
 * The campaign subgraph runs alone; requests carry the gateway's signed identity.
 */

const app = createCampaignApp(campaignTestConfig(), captureLogs("campaign", "warn").logger);
let url: string;

beforeAll(async () => {
  url = `${await app.listen()}/graphql`;
});
afterAll(() => app.stop());

const newUser = (roles: Role[] = ["PLAYER"]) => asUser(randomUUID(), roles);
const userIdOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");
const as = async (viewer: Viewer) => ({ headers: await gatewayHeaders(viewer) });

type CreateInput = CampaignSubgraphCreateMutationVariables["input"];

async function sendCreate(viewer: Viewer, input: CreateInput) {
  return graphql(url, CampaignSubgraphCreateDocument, { input }, await as(viewer));
}
async function newCampaign(gm: Viewer, input: Partial<CreateInput> = {}) {
  return expectData(await sendCreate(gm, { name: `Campaign ${randomUUID().slice(0, 8)}`, ...input })).createCampaign;
}

const Lifecycle = {
  start: StartCampaignDocument,
  pause: PauseCampaignDocument,
  resume: ResumeCampaignDocument,
  end: EndCampaignDocument,
} as const;
type Action = keyof typeof Lifecycle;

type LifecycleResult = { id: string; status: string; startedAt?: string | null; endedAt?: string | null };

/** Sends startCampaign / pauseCampaign / resumeCampaign / endCampaign as the given viewer. */
async function act(viewer: Viewer, action: Action, id: string) {
  const document = Lifecycle[action] as unknown as TypedDocumentNode<Record<string, LifecycleResult>, { id: string }>;
  return graphql(url, document, { id }, await as(viewer));
}
async function actOk(viewer: Viewer, action: Action, id: string): Promise<LifecycleResult> {
  return expectData(await act(viewer, action, id))[`${action}Campaign`]!;
}
async function statusOf(id: string) {
  const admin = newUser(["ADMIN"]);
  return expectData(await graphql(url, CampaignSubgraphDetailsDocument, { id }, await as(admin))).campaign?.status;
}
const firstError = (response: GraphQLResponse<unknown>) => response.errors?.[0];
const fieldsOf = (response: GraphQLResponse<unknown>) =>
  ((firstError(response)?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field).sort();

describe("a game master creates a campaign", () => {
  it("makes the creator its game master with sensible defaults", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const created = expectData(await sendCreate(gm, { name: "Orion Rising" })).createCampaign;

    expect(created).toMatchObject({
      name: "Orion Rising",
      status: "DRAFT",
      tickRateMs: 1000,
      maxPlayers: 50,
      memberCount: 1,
      gameMaster: { id: userIdOf(gm) },
      myMembership: { role: "GAME_MASTER" },
      startedAt: null,
      endedAt: null,
    });
    expect(typeof created.seed).toBe("string");
    expect(created.seed!.length).toBeGreaterThan(0);

    const details = expectData(await graphql(url, CampaignSubgraphDetailsDocument, { id: created.id }, await as(gm))).campaign;
    expect(details?.members).toEqual([
      { id: created.myMembership!.id, role: "GAME_MASTER", joinedAt: expect.any(String), user: { id: userIdOf(gm) } },
    ]);
  });

  it("draws a different random seed for each campaign unless one is given", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const first = await newCampaign(gm);
    const second = await newCampaign(gm);
    expect(first.seed).not.toBe(second.seed);

    const seeded = await newCampaign(gm, { seed: "andromeda-42", tickRateMs: 250, maxPlayers: 8 });
    expect(seeded).toMatchObject({ seed: "andromeda-42", tickRateMs: 250, maxPlayers: 8 });
  });

  it("accepts the limits themselves: 3 and 64 character names, 100 ms ticks, 2 and 10,000 players", async () => {
    const gm = newUser(["GAME_MASTER"]);
    expect(await newCampaign(gm, { name: "Orb", tickRateMs: 100, maxPlayers: 2 })).toMatchObject({ name: "Orb", tickRateMs: 100, maxPlayers: 2 });
    const longName = "N".repeat(64);
    expect(await newCampaign(gm, { name: longName, tickRateMs: 3_600_000, maxPlayers: 10_000 })).toMatchObject({
      name: longName,
      tickRateMs: 3_600_000,
      maxPlayers: 10_000,
    });
  });

  it.each([
    ["a name that is too short", { name: "ab" }, ["name"]],
    ["a name that is only spaces around two letters", { name: "   ab   " }, ["name"]],
    ["a name that is too long", { name: "x".repeat(65) }, ["name"]],
    ["a tick rate under 100 ms", { name: "Fast Galaxy", tickRateMs: 99 }, ["tickRateMs"]],
    ["more than 10,000 players", { name: "Huge Galaxy", maxPlayers: 10_001 }, ["maxPlayers"]],
    ["everything wrong at once", { name: "x", tickRateMs: 5, maxPlayers: 20_000 }, ["maxPlayers", "name", "tickRateMs"]],
  ])("refuses %s with BAD_USER_INPUT naming each field, and creates nothing", async (_story, input, fields) => {
    const gm = newUser(["GAME_MASTER"]);
    const response = await sendCreate(gm, input as CreateInput);
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    expect(fieldsOf(response)).toEqual(fields);
    expect(response.data?.createCampaign ?? null).toBeNull();

    const mine = expectData(await graphql(url, CampaignSubgraphMyCampaignsDocument, {}, await as(gm))).myCampaigns;
    expect(mine).toEqual([]);
  });

  it("asks an anonymous caller to sign in", async () => {
    const response = await sendCreate(anonymous, { name: "Nobody's Galaxy" });
    expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses a request that did not come through the gateway", async () => {
    const response = await graphql(url, CampaignSubgraphCreateDocument, { input: { name: "Sneaky Galaxy" } });
    expect(response.status).toBe(401);
    expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses an analyst, whose role is read-only, and creates nothing", async () => {
    const analyst = newUser(["ANALYST"]);
    const response = await sendCreate(analyst, { name: "Analyst Galaxy" });
    expect(errorCodes(response)).toEqual(["FORBIDDEN"]);
    expect(expectData(await graphql(url, CampaignSubgraphMyCampaignsDocument, {}, await as(analyst))).myCampaigns).toEqual([]);
  });
});

describe("the campaign state machine", () => {
  it("runs DRAFT → RUNNING → PAUSED → RUNNING → ENDED for its game master", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    expect(campaign.status).toBe("DRAFT");

    const started = await actOk(gm, "start", campaign.id);
    expect(started).toMatchObject({ id: campaign.id, status: "RUNNING" });
    expect(Number.isNaN(Date.parse(started.startedAt ?? ""))).toBe(false);

    expect(await actOk(gm, "pause", campaign.id)).toMatchObject({ status: "PAUSED" });
    expect(await actOk(gm, "resume", campaign.id)).toMatchObject({ status: "RUNNING" });
    const ended = await actOk(gm, "end", campaign.id);
    expect(ended.status).toBe("ENDED");
    expect(Number.isNaN(Date.parse(ended.endedAt ?? ""))).toBe(false);

    const details = expectData(await graphql(url, CampaignSubgraphDetailsDocument, { id: campaign.id }, await as(gm))).campaign;
    expect(details).toMatchObject({ status: "ENDED", startedAt: started.startedAt, endedAt: ended.endedAt });
  });

  it("lets a game master end a campaign that never started", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    expect(await actOk(gm, "end", campaign.id)).toMatchObject({ status: "ENDED" });
  });

  /** How to bring a fresh campaign into each state. */
  const pathTo: Record<string, Action[]> = {
    DRAFT: [],
    RUNNING: ["start"],
    PAUSED: ["start", "pause"],
    ENDED: ["start", "end"],
  };
  const target: Record<Action, string> = { start: "RUNNING", pause: "PAUSED", resume: "RUNNING", end: "ENDED" };

  it.each<[string, Action]>([
    ["DRAFT", "pause"],
    ["DRAFT", "resume"],
    ["RUNNING", "start"],
    ["RUNNING", "resume"],
    ["PAUSED", "start"],
    ["PAUSED", "pause"],
    ["ENDED", "start"],
    ["ENDED", "pause"],
    ["ENDED", "resume"],
    ["ENDED", "end"],
  ])("refuses to leave %s by %s with CONFLICT naming from and to, and changes nothing", async (from, action) => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    for (const step of pathTo[from]!) await actOk(gm, step, campaign.id);

    const response = await act(gm, action, campaign.id);
    expect(errorCodes(response)).toEqual(["CONFLICT"]);
    expect(firstError(response)?.extensions).toMatchObject({ from, to: target[action] });
    expect(await statusOf(campaign.id)).toBe(from);
  });

  it("forbids a plain player of the campaign from changing its state", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const player = newUser();
    const campaign = await newCampaign(gm);
    expectData(await graphql(url, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(player)));

    for (const action of ["start", "end"] as const) {
      expect(errorCodes(await act(player, action, campaign.id))).toEqual(["FORBIDDEN"]);
    }
    await actOk(gm, "start", campaign.id);
    for (const action of ["pause", "end"] as const) {
      expect(errorCodes(await act(player, action, campaign.id))).toEqual(["FORBIDDEN"]);
    }
    expect(await statusOf(campaign.id)).toBe("RUNNING");
  });

  it("forbids another game master, an outsider and an analyst from running someone else's campaign", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    for (const stranger of [newUser(["GAME_MASTER"]), newUser(), newUser(["ANALYST"])]) {
      expect(errorCodes(await act(stranger, "start", campaign.id))).toEqual(["FORBIDDEN"]);
    }
    expect(await statusOf(campaign.id)).toBe("DRAFT");
  });

  it("lets an admin who is not a member run the whole lifecycle", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const admin = newUser(["ADMIN"]);
    const campaign = await newCampaign(gm);
    expect(await actOk(admin, "start", campaign.id)).toMatchObject({ status: "RUNNING" });
    expect(await actOk(admin, "pause", campaign.id)).toMatchObject({ status: "PAUSED" });
    expect(await actOk(admin, "resume", campaign.id)).toMatchObject({ status: "RUNNING" });
    expect(await actOk(admin, "end", campaign.id)).toMatchObject({ status: "ENDED" });
  });

  it("answers NOT_FOUND for an unknown campaign and BAD_USER_INPUT for a malformed id", async () => {
    const admin = newUser(["ADMIN"]);
    for (const action of Object.keys(Lifecycle) as Action[]) {
      expect(errorCodes(await act(admin, action, randomUUID()))).toEqual(["NOT_FOUND"]);
      const malformed = await act(admin, action, "not-a-campaign-id");
      expect(errorCodes(malformed)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(malformed)).toEqual(["id"]);
    }
  });

  it("asks an anonymous caller to sign in", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const campaign = await newCampaign(gm);
    expect(errorCodes(await act(anonymous, "start", campaign.id))).toEqual(["UNAUTHENTICATED"]);
    expect(await statusOf(campaign.id)).toBe("DRAFT");
  });

  it("lets exactly one of two simultaneous starts win; the other gets CONFLICT", async () => {
    const gm = newUser(["GAME_MASTER"]);
    const admin = newUser(["ADMIN"]);
    // Several campaigns, so the race is really run, not won by luck once.
    for (let round = 0; round < 5; round++) {
      const campaign = await newCampaign(gm);
      const responses = await Promise.all([act(gm, "start", campaign.id), act(round % 2 ? admin : gm, "start", campaign.id)]);
      const codes = responses.map((r) => errorCodes(r));
      expect(codes.filter((c) => c.length === 0)).toHaveLength(1);
      expect(codes.filter((c) => c.length > 0)).toEqual([["CONFLICT"]]);
      const loser = responses.find((r) => r.errors?.length)!;
      expect(firstError(loser)?.extensions).toMatchObject({ from: "RUNNING", to: "RUNNING" });
      expect(await statusOf(campaign.id)).toBe("RUNNING");
    }
  });
});
