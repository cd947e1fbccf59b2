import type { Logger } from "@startales/service-kit";
import { createGatewayApp } from "../../gateway/src/app";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { CreateCampaignDocument, MeDocument, MyCampaignsDocument } from "../generated/operations";
import { campaignTestConfig, gatewayTestConfig } from "../testkit/config";
import { errorCodes, expectData, graphql, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser } from "../testkit/users";

type ErrorBody = { errors: { extensions: { code: string } }[] };

describe("the gateway in front of the subgraphs", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it("carries the client's correlation id to every subgraph and back", async () => {
    const alice = await registerUser(stack.graphqlUrl, "Alice");
    const requestId = `journey-${Date.now()}`;
    const response = await graphql(stack.graphqlUrl, CreateCampaignDocument, { input: { name: "Traced" } }, { token: alice.accessToken, headers: { "x-request-id": requestId } });
    expectData(response);
    expect(response.headers.get("x-request-id")).toBe(requestId);
    // The plan touched campaign (createCampaign) and identity (gameMaster.displayName).
    for (const service of ["gateway", "campaign", "identity"] as const) {
      const lines = stack.logs[service].lines().filter((line) => line.requestId === requestId);
      expect(lines.some((line) => line.msg === "graphql request")).toBe(true);
    }
  });

  it("mints a correlation id when the client sends none or an unsafe one", async () => {
    const response = await graphql(stack.graphqlUrl, MeDocument, {}, { headers: { "x-request-id": "bad id\twith spaces" } });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves readiness and Prometheus metrics by operation and error code", async () => {
    const ready = await fetch(`${stack.gatewayUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { redis: "ok", supergraph: "ok" } });
    await graphql(stack.graphqlUrl, MeDocument, {});
    await graphql(stack.graphqlUrl, MyCampaignsDocument, {}); // anonymous: UNAUTHENTICATED
    const metrics = await fetchMetrics(stack.gatewayUrl);
    expect(metricValue(metrics, "graphql_request_duration_seconds_count", { operation: "Me", type: "query", service: "gateway" })).toBeGreaterThan(0);
    expect(metricValue(metrics, "graphql_errors_total", { code: "UNAUTHENTICATED", operation: "MyCampaigns" })).toBeGreaterThan(0);
    expect(metricValue(metrics, "http_request_duration_seconds_count", { route: "/graphql", method: "POST" })).toBeGreaterThan(0);
  });

  it("answers GET queries, and refuses mutations over GET", async () => {
    const query = encodeURIComponent("query Me { me { id } }");
    const ok = await fetch(`${stack.graphqlUrl}?query=${query}`, { headers: { "apollo-require-preflight": "true" } });
    expect(await ok.json()).toEqual({ data: { me: null } });
    const mutation = encodeURIComponent('mutation { logout(refreshToken: "x") }');
    const refused = await fetch(`${stack.graphqlUrl}?query=${mutation}`, { headers: { "apollo-require-preflight": "true" } });
    expect(refused.status).toBe(405);
  });

  it("refuses oversized and malformed bodies with a clear error", async () => {
    const huge = await fetch(stack.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ me { id } } # ${"x".repeat(1_100_000)}` }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as ErrorBody).errors[0]?.extensions.code).toBe("BAD_REQUEST");
    const malformed = await fetch(stack.graphqlUrl, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorBody).errors[0]?.extensions.code).toBe("BAD_REQUEST");
  });

  it("answers parse and validation failures with their codes", async () => {
    expect(errorCodes(await postGraphQL(stack.graphqlUrl, { query: "{ me { id " }))).toEqual(["GRAPHQL_PARSE_FAILED"]);
    expect(errorCodes(await postGraphQL(stack.graphqlUrl, { query: "{ me { nope } }" }))).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
  });

  it("ignores an identity header a client tries to pass through", async () => {
    const alice = await registerUser(stack.graphqlUrl, "Alice");
    // A client cannot forge the gateway's assertion: the gateway sets its own for the caller.
    const response = await graphql(stack.graphqlUrl, MeDocument, {}, { headers: { "x-startales-identity": alice.accessToken } });
    expect(expectData(response).me).toBeNull();
  });

  it("reuses keep-alive connections to subgraphs", async () => {
    const alice = await registerUser(stack.graphqlUrl, "Alice");
    const connections = { count: 0 };
    const campaignServer = stack.apps.campaign.httpServer;
    const onConnection = () => connections.count++;
    campaignServer.on("connection", onConnection);
    for (let i = 0; i < 20; i++) expectData(await graphql(stack.graphqlUrl, MyCampaignsDocument, {}, { token: alice.accessToken }));
    campaignServer.off("connection", onConnection);
    expect(connections.count).toBeLessThanOrEqual(1);
  });
});

describe("when a subgraph fails", () => {
  it("masks internal errors: no SQL, hosts or stack traces reach the client", async () => {
    const broken = captureLogs("campaign");
    // A campaign subgraph whose database does not exist: every query fails inside Prisma.
    const campaign = createCampaignApp(
      campaignTestConfig({ DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/startales_does_not_exist" }),
      broken.logger as Logger,
    );
    const stack = await startStack();
    const campaignUrl = await campaign.listen();
    const gateway = createGatewayApp(
      gatewayTestConfig({ identity: stack.identityUrl, campaign: campaignUrl }, `${stack.identityUrl}/.well-known/jwks.json`),
      captureLogs("gateway").logger as Logger,
    );
    const gatewayUrl = await gateway.listen();
    try {
      const alice = await registerUser(`${gatewayUrl}/graphql`, "Alice");
      const response = await graphql(`${gatewayUrl}/graphql`, MyCampaignsDocument, {}, { token: alice.accessToken });
      expect(errorCodes(response)).toEqual(["INTERNAL_SERVER_ERROR"]);
      const text = JSON.stringify(response);
      expect(text).toContain("Internal server error");
      for (const leak of ["startales_does_not_exist", "127.0.0.1", "prisma", "stack", "at ", "serviceName"]) expect(text).not.toContain(leak);
      // The operator still sees what happened.
      expect(broken.raw()).toMatch(/unexpected GraphQL error/);
    } finally {
      await gateway.stop();
      await campaign.stop();
      await stack.stop();
    }
  });

  it("reports an unreachable subgraph as SERVICE_UNAVAILABLE", async () => {
    const stack = await startStack();
    const alice = await registerUser(stack.graphqlUrl, "Alice");
    await stack.apps.campaign.stop();
    try {
      const response = await graphql(stack.graphqlUrl, MyCampaignsDocument, {}, { token: alice.accessToken });
      expect(errorCodes(response)).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(response.errors?.[0]?.message).toBe("The campaign service is unavailable; try again shortly");
      // The other subgraph still answers.
      expect(expectData(await graphql(stack.graphqlUrl, MeDocument, {}, { token: alice.accessToken })).me?.id).toBe(alice.user.id);
    } finally {
      await stack.stop();
    }
  });
});
