import { randomUUID } from "node:crypto";
import pg from "pg";
import { WORLD_SETUP_PATH, type SubgraphApp } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import {
  CampaignSubgraphCreateDocument,
  CampaignSubgraphDetailsDocument,
  CampaignSubgraphMyCampaignsDocument,
  CampaignWithMembersDocument,
  CreateCampaignDocument,
  MyCampaignsDocument,
} from "../generated/operations";
import { campaignTestConfig, gatewayTestConfig } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { startTcpProxy, type TcpProxy } from "../testkit/tcp-proxy";
import { registerUser } from "../testkit/users";

/**
 * A subgraph whose PostgreSQL cannot be used right now (connections refused, cut mid-query,
 * terminated by the server, a pool that hands out none in time) answers the retryable
 * SERVICE_UNAVAILABLE with `retryAfter` (and HTTP 503 with Retry-After when nothing of the
 * response could be answered), logs a warning about its database instead of an error with
 * a stack, and serves again once the database is back. The campaign subgraph reaches its
 * database through a TCP proxy the test cuts and restores; the database is the suite's own,
 * since the test locks its tables.
 */

const POOL_SIZE = 2;
/** How long a query waits for a pooled connection here: the pool-exhaustion case waits this long once. */
const POOL_WAIT_MS = 2_000;
const logs = captureLogs("campaign", "info");
const gm = asUser(randomUUID(), ["GAME_MASTER"]);
let database: Awaited<ReturnType<typeof privateDatabase>>;
let proxy: TcpProxy;
let app: SubgraphApp;
let origin: string;
let url: string;
let admin: pg.Client;

beforeAll(async () => {
  database = await privateDatabase("campaign", "outage");
  const direct = new URL(database.url);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const viaProxy = new URL(database.url);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  app = createCampaignApp(campaignTestConfig({ DATABASE_URL: viaProxy.toString(), DATABASE_POOL_SIZE: String(POOL_SIZE), DATABASE_POOL_TIMEOUT_MS: String(POOL_WAIT_MS) }), logs.logger);
  origin = await app.listen();
  url = `${origin}/graphql`;
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterAll(async () => {
  await proxy.restore();
  await admin.end();
  await app.stop();
  await proxy.close();
  await database.drop();
});

const as = async () => ({ headers: await gatewayHeaders(gm) });
const myCampaigns = async () => graphql(url, CampaignSubgraphMyCampaignsDocument, {}, await as());

function expectUnavailable(response: GraphQLResponse<unknown>): number {
  expect(response.errors).toHaveLength(1);
  const extensions = response.errors?.[0]?.extensions ?? {};
  expect(extensions).toEqual({ code: "SERVICE_UNAVAILABLE", retryAfter: expect.any(Number) });
  const retryAfter = extensions.retryAfter as number;
  expect(Number.isInteger(retryAfter) && retryAfter > 0).toBe(true);
  // Nothing about the database leaks to the client.
  expect(response.errors?.[0]?.message).not.toMatch(/prisma|postgres|5432|127\.0\.0\.1|connection/i);
  return retryAfter;
}

/** A whole response that is an error: HTTP 503 and Retry-After, as for any unavailable HTTP service. */
function expectUnavailableResponse(response: GraphQLResponse<unknown>): void {
  const retryAfter = expectUnavailable(response);
  expect(response.data ?? null).toBeNull();
  expect(response.status).toBe(503);
  expect(response.headers.get("retry-after")).toBe(String(retryAfter));
}

function expectServed(response: GraphQLResponse<unknown>): void {
  expect(response.errors).toBeUndefined();
  expect(response.status).toBe(200);
  expect(Array.isArray((response.data as { myCampaigns?: unknown } | null)?.myCampaigns)).toBe(true);
}

/** Serves again: the pool replaces dead connections by itself, no restart needed. */
const untilServing = () =>
  eventually("the subgraph to serve again", async () => {
    const response = await myCampaigns();
    return response.data ? response.data.myCampaigns : undefined;
  });

/** The backends of the subgraph's requests that wait on the test's lock. */
async function untilWaitingOnLock(count: number): Promise<number[]> {
  return eventually(`${count} queries waiting on the lock`, async () => {
    // Inside a transaction, pg_stat_activity keeps its first snapshot unless told otherwise.
    await admin.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
    );
    return rows.length >= count ? rows.map((row) => row.pid) : undefined;
  });
}

/** A request per pooled connection, each holding its connection on the lock (which must be taken). */
async function holdEveryConnection(): Promise<Promise<GraphQLResponse<unknown>>[]> {
  const holding = Array.from({ length: POOL_SIZE }, () => myCampaigns());
  await untilWaitingOnLock(POOL_SIZE);
  return holding;
}

async function lockCampaignTables(): Promise<void> {
  await admin.query("BEGIN");
  await admin.query("LOCK TABLE campaigns, memberships IN ACCESS EXCLUSIVE MODE");
}

const unexpectedErrorLogs = () => logs.lines().filter((line) => line.msg === "unexpected GraphQL error" || line.msg === "unhandled error in HTTP handler");

describe("a subgraph whose database is unavailable", () => {
  it("answers SERVICE_UNAVAILABLE with retryAfter while connections are refused, warns about its database, and serves again once it is back", async () => {
    const created = expectData(await graphql(url, CampaignSubgraphCreateDocument, { input: { name: `Outage ${randomUUID().slice(0, 8)}` } }, await as())).createCampaign;
    const before = logs.lines().length;
    await proxy.refuse();
    try {
      expectUnavailableResponse(await myCampaigns());
      expectUnavailableResponse(await graphql(url, CampaignSubgraphCreateDocument, { input: { name: "Not while down" } }, await as()));
      // A nullable field: the response still has data (campaign: null), so it stays HTTP 200.
      const partial = await graphql(url, CampaignSubgraphDetailsDocument, { id: created.id }, await as());
      expectUnavailable(partial);
      expect(partial.status).toBe(200);
      expect(partial.data).toEqual({ campaign: null });
    } finally {
      await proxy.restore();
    }

    const warnings = logs.lines().slice(before).filter((line) => line.msg === "database unavailable; answering SERVICE_UNAVAILABLE");
    expect(warnings.length).toBeGreaterThanOrEqual(3);
    for (const warning of warnings) {
      expect(warning).toMatchObject({ level: "warn", dependency: "database", reason: expect.any(String), requestId: expect.any(String) });
      expect(warning).not.toHaveProperty("err");
    }
    // Refused connections; the first request may instead meet a pooled connection just cut.
    expect(warnings.map((warning) => warning.reason)).toContain("P1001");
    expect(unexpectedErrorLogs()).toEqual([]);

    expect((await untilServing()).map((campaign) => campaign.id)).toContain(created.id);
  });

  it("answers SERVICE_UNAVAILABLE when the server terminates the connection of a running query (a restart, a failover)", async () => {
    await untilServing();
    await lockCampaignTables();
    try {
      const pending = myCampaigns();
      const pids = await untilWaitingOnLock(1);
      await admin.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [pids]);
      expectUnavailableResponse(await pending);
    } finally {
      await admin.query("ROLLBACK");
    }
    expect(logs.lines().some((line) => line.msg === "database unavailable; answering SERVICE_UNAVAILABLE" && line.reason === "57P01")).toBe(true);
    await untilServing();
    expect(unexpectedErrorLogs()).toEqual([]);
  });

  it("answers SERVICE_UNAVAILABLE when the connection of a running query is cut", async () => {
    await untilServing();
    await lockCampaignTables();
    try {
      const pending = myCampaigns();
      await untilWaitingOnLock(1);
      await proxy.refuse();
      expectUnavailableResponse(await pending);
    } finally {
      await admin.query("ROLLBACK");
      await proxy.restore();
    }
    await untilServing();
    expect(unexpectedErrorLogs()).toEqual([]);
  });

  it("gives back the connection of a transaction that lost it, so its pool does not shrink with each outage", async () => {
    await untilServing();
    // As many lost transactions as the pool has connections: each one that kept its dead
    // connection would leave the pool one short, and then with none.
    for (let lost = 0; lost < POOL_SIZE; lost++) {
      await lockCampaignTables();
      try {
        const pending = graphql(url, CampaignSubgraphCreateDocument, { input: { name: `Lost ${lost}` } }, await as());
        const pids = await untilWaitingOnLock(1);
        await admin.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [pids]);
        expectUnavailableResponse(await pending);
      } finally {
        await admin.query("ROLLBACK");
      }
    }
    await lockCampaignTables();
    let holding: Promise<GraphQLResponse<unknown>>[] = [];
    try {
      holding = await holdEveryConnection();
    } finally {
      await admin.query("ROLLBACK");
    }
    for (const response of await Promise.all(holding)) expectServed(response);
    expect(unexpectedErrorLogs()).toEqual([]);
  });

  it("answers SERVICE_UNAVAILABLE when its pool cannot hand out a connection in time", async () => {
    await untilServing();
    await lockCampaignTables();
    let holding: Promise<GraphQLResponse<unknown>>[] = [];
    try {
      holding = await holdEveryConnection();
      // Every pooled connection waits on the lock: the next query waits for the pool, then gives up.
      expectUnavailableResponse(await myCampaigns());
    } finally {
      await admin.query("ROLLBACK");
    }
    for (const response of await Promise.all(holding)) expectServed(response);
    expect(unexpectedErrorLogs()).toEqual([]);
  });

  it("answers its internal HTTP routes with 503 and Retry-After, not a 500", async () => {
    await proxy.refuse();
    try {
      const service = asUser(randomUUID(), ["SERVICE"]);
      const response = await fetch(`${origin}${WORLD_SETUP_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await gatewayHeaders(service)) },
        body: JSON.stringify({ campaignId: randomUUID() }),
      });
      expect(response.status).toBe(503);
      const body = (await response.json()) as { errors: { extensions: { code: string; retryAfter: number } }[] };
      expect(body.errors[0]?.extensions).toEqual({ code: "SERVICE_UNAVAILABLE", retryAfter: expect.any(Number) });
      expect(response.headers.get("retry-after")).toBe(String(body.errors[0]?.extensions.retryAfter));
    } finally {
      await proxy.restore();
    }
    expect(unexpectedErrorLogs()).toEqual([]);
  });
});

describe("a subgraph whose database is unavailable, seen through the gateway", () => {
  let stack: Stack;
  let gateway: GatewayApp;
  let gatewayUrl: string;
  beforeAll(async () => {
    stack = await startStack({ logLevel: "warn" });
    gateway = createGatewayApp(
      gatewayTestConfig({ identity: stack.identityUrl, campaign: origin }, `${stack.identityUrl}/.well-known/jwks.json`),
      captureLogs("gateway", "warn").logger,
    );
    gatewayUrl = `${await gateway.listen()}/graphql`;
  });
  afterAll(async () => {
    await gateway.stop();
    await stack.stop();
  });

  it("reaches the client as SERVICE_UNAVAILABLE, and its retryAfter with it where the response has data", async () => {
    const alice = await registerUser(gatewayUrl, "Alice");
    const created = expectData(await graphql(gatewayUrl, CreateCampaignDocument, { input: { name: `Gateway ${randomUUID().slice(0, 8)}` } }, { token: alice.accessToken })).createCampaign;
    await proxy.refuse();
    try {
      const whole = await graphql(gatewayUrl, MyCampaignsDocument, {}, { token: alice.accessToken });
      expect(errorCodes(whole)).toEqual(["SERVICE_UNAVAILABLE"]);
      // Nothing answered: the HTTP answer is a retryable 503 that says when, as the subgraph's did.
      expect(whole.status).toBe(503);
      expect(whole.headers.get("retry-after")).toBe("5");
      expect(whole.errors?.[0]?.extensions?.retryAfter).toBe(5);
      const partial = await graphql(gatewayUrl, CampaignWithMembersDocument, { id: created.id }, { token: alice.accessToken });
      expect(partial.data).toEqual({ campaign: null });
      expectUnavailable(partial);
    } finally {
      await proxy.restore();
    }
    await eventually("the gateway to serve the campaign again", async () => {
      const response = await graphql(gatewayUrl, MyCampaignsDocument, {}, { token: alice.accessToken });
      return response.data?.myCampaigns.some((campaign) => campaign.id === created.id) ? true : undefined;
    });
  });
});

