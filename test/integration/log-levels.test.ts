import { randomUUID } from "node:crypto";
import { badInput, createHttpService, createMetrics, sendJson, serviceUnavailable, type HttpService, type Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { campaignTestConfig, gatewayTestConfig, identityTestConfig } from "../testkit/config";
import { errorCodes, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { untilReady } from "../testkit/ready";
import { rawSocket } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The levels of docs/logging.md, on real services over real HTTP and WebSocket: a client's
 * mistake is an info line with its code and no stack; a dependency that is down, or a caller
 * that should be trusted and is not, is a warning without a stack; only our own fault is an
 * error, with its stack.
 */

type Line = Record<string, unknown>;
const services = ["gateway", "identity", "campaign"] as const;
type Service = (typeof services)[number];
const logs = { gateway: captureLogs("gateway", "info"), identity: captureLogs("identity", "info"), campaign: captureLogs("campaign", "info") };

/** The lines each service wrote while `action` ran (every service runs in this process, writing synchronously). */
async function linesDuring(action: () => Promise<unknown>): Promise<Record<Service, Line[]>> {
  const marks = Object.fromEntries(services.map((s) => [s, logs[s].lines().length])) as Record<Service, number>;
  await action();
  return Object.fromEntries(services.map((s) => [s, logs[s].lines().slice(marks[s])])) as Record<Service, Line[]>;
}

const atLevel = (lines: Line[], ...levels: string[]) => lines.filter((line) => levels.includes(String(line.level)));
const stackless = (line: Line) => !("err" in line) && !/"stack"|\\n\s+at /.test(JSON.stringify(line));
/** What a test asserts of a line: enough to name it in a failure, and whether it has a stack. */
const shape = (line: Line) => ({ level: line.level, msg: line.msg, stackless: stackless(line) });

let identity: Awaited<ReturnType<typeof createIdentityApp>>;
let campaign: ReturnType<typeof createCampaignApp>;
let gateway: GatewayApp;
let graphqlUrl: string;
let campaignUrl: string;
let player: TestUser;

beforeAll(async () => {
  identity = await createIdentityApp(identityTestConfig(), logs.identity.logger as Logger);
  // Campaign on a database that does not exist: every query it runs is a fault of ours
  // (a misconfiguration, not an outage that a retry would cure).
  campaign = createCampaignApp(campaignTestConfig({ DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/startales_does_not_exist" }), logs.campaign.logger as Logger);
  const identityUrl = await identity.listen();
  campaignUrl = await campaign.listen();
  // Simulation is configured but nothing listens there: a dependency that is down.
  gateway = createGatewayApp(
    gatewayTestConfig({ identity: identityUrl, campaign: campaignUrl, simulation: "http://127.0.0.1:1" }, `${identityUrl}/.well-known/jwks.json`),
    logs.gateway.logger as Logger,
  );
  const gatewayUrl = await gateway.listen();
  await untilReady(gatewayUrl);
  graphqlUrl = `${gatewayUrl}/graphql`;
  player = await registerUser(graphqlUrl, "Logs");
});

afterAll(async () => {
  await gateway?.stop();
  await campaign?.stop();
  await identity?.stop();
});

describe("a client's mistake is logged at info, with its code and without a stack", () => {
  it("a malformed body: one info line at the gateway", async () => {
    let status = 0;
    const lines = await linesDuring(async () => {
      status = (await fetch(graphqlUrl, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" })).status;
    });
    expect(status).toBe(400);
    expect(lines.gateway.map(shape)).toEqual([{ level: "info", msg: "request refused", stackless: true }]);
    expect(lines.gateway[0]).toMatchObject({ code: "BAD_REQUEST", status: 400 });
  });

  it("a validation failure", async () => {
    let codes: unknown[] = [];
    const lines = await linesDuring(async () => {
      codes = errorCodes(await postGraphQL(graphqlUrl, { query: "{ me { nope } }" }, { token: player.accessToken }));
    });
    expect(codes).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(lines.gateway.map(shape)).toEqual([{ level: "info", msg: "request refused", stackless: true }]);
    expect(lines.gateway[0]).toMatchObject({ codes: ["GRAPHQL_VALIDATION_FAILED"] });
  });

  it("bad input, refused by a subgraph: info there and at the gateway", async () => {
    const requestId = `bad-input-${randomUUID()}`;
    let codes: unknown[] = [];
    const lines = await linesDuring(async () => {
      const input = { email: `short-${randomUUID()}@example.test`, password: "short", displayName: "Short" };
      const query = "mutation R($input: RegisterInput!) { register(input: $input) { accessToken } }";
      codes = errorCodes(await postGraphQL(graphqlUrl, { query, variables: { input } }, { headers: { "x-request-id": requestId } }));
    });
    expect(codes).toEqual(["BAD_USER_INPUT"]);
    for (const service of ["identity", "gateway"] as const) {
      const ofRequest = lines[service].filter((line) => line.requestId === requestId);
      expect({ service, lines: ofRequest.map(shape) }).toEqual({ service, lines: [{ level: "info", msg: "request refused", stackless: true }] });
      expect(ofRequest[0]).toMatchObject({ codes: ["BAD_USER_INPUT"] });
    }
    expect(atLevel(lines.gateway, "warn", "error")).toEqual([]);
  });

  it("an invalid access token", async () => {
    let status = 0;
    const lines = await linesDuring(async () => {
      status = (await postGraphQL(graphqlUrl, { query: "{ me { id } }" }, { token: "not-a-token" })).status;
    });
    expect(status).toBe(401);
    expect(lines.gateway.map(shape)).toEqual([{ level: "info", msg: "request refused", stackless: true }]);
    expect(lines.gateway[0]).toMatchObject({ codes: ["UNAUTHENTICATED"] });
  });

  it("a signed-in field asked anonymously: info at the subgraph that refuses it and at the gateway", async () => {
    const requestId = `anonymous-${randomUUID()}`;
    let codes: unknown[] = [];
    const lines = await linesDuring(async () => {
      codes = errorCodes(await postGraphQL(graphqlUrl, { query: "{ myCampaigns { id } }" }, { headers: { "x-request-id": requestId } }));
    });
    expect(codes).toEqual(["UNAUTHENTICATED"]);
    for (const service of ["campaign", "gateway"] as const) {
      const ofRequest = lines[service].filter((line) => line.requestId === requestId);
      expect({ service, lines: ofRequest.map(shape) }).toEqual({ service, lines: [{ level: "info", msg: "request refused", stackless: true }] });
    }
    expect(atLevel(lines.gateway, "warn", "error")).toEqual([]);
  });

  it("a WebSocket message that is not graphql-ws: closed with 4400 and one info line", async () => {
    const socket = await rawSocket(graphqlUrl);
    let closed: { code: number } | undefined;
    const lines = await linesDuring(async () => {
      socket.send("this is not JSON");
      closed = await socket.closed();
    });
    expect(closed?.code).toBe(4400);
    expect(lines.gateway.map(shape)).toEqual([{ level: "info", msg: "WebSocket closed by the gateway", stackless: true }]);
    expect(lines.gateway[0]).toMatchObject({ closeCode: 4400, status: 400, connectionId: expect.any(String) });
  });

  it("WebSocket connection params with a bad token: closed with 4403 and one info line naming the code", async () => {
    const socket = await rawSocket(graphqlUrl);
    let closed: { code: number } | undefined;
    const lines = await linesDuring(async () => {
      socket.send({ type: "connection_init", payload: { authorization: "Bearer not-a-token" } });
      closed = await socket.closed();
    });
    expect(closed?.code).toBe(4403);
    expect(lines.gateway.map(shape)).toEqual([{ level: "info", msg: "WebSocket connection refused", stackless: true }]);
    expect(lines.gateway[0]).toMatchObject({ code: "UNAUTHENTICATED", reason: "Access token is invalid" });
  });

  it("a WebSocket operation refused before it runs", async () => {
    const socket = await rawSocket(graphqlUrl);
    try {
      socket.send({ type: "connection_init", payload: { authorization: `Bearer ${player.accessToken}` } });
      await socket.message("connection_ack");
      const lines = await linesDuring(async () => {
        const from = socket.messages.length;
        // Extensions nested deeper than any client needs: refused before Apollo sees the operation.
        socket.send(`{"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "extensions": {"x": ${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}}}`);
        expect(await socket.message("error", from)).toMatchObject({ id: "1", payload: [{ extensions: { code: "BAD_REQUEST" } }] });
      });
      expect(lines.gateway.map(shape)).toEqual([{ level: "info", msg: "WebSocket operation refused", stackless: true }]);
      expect(lines.gateway[0]).toMatchObject({ code: "BAD_REQUEST", operationId: "1" });
    } finally {
      socket.close();
    }
  });
});

describe("what is not the client's", () => {
  it("a call that bypassed the gateway is a warning at the subgraph, without a stack", async () => {
    const requestId = `bypass-call-${randomUUID()}`;
    let status = 0;
    const lines = await linesDuring(async () => {
      status = (await postGraphQL(`${campaignUrl}/graphql`, { query: "{ myCampaigns { id } }" }, { headers: { "x-request-id": requestId } })).status;
    });
    expect(status).toBe(401);
    const ofRequest = lines.campaign.filter((line) => line.requestId === requestId);
    expect(ofRequest.map(shape)).toEqual([{ level: "warn", msg: "rejected a request that did not come through the gateway", stackless: true }]);
  });

  it("a subgraph that is down is a warning at the gateway, without a stack", async () => {
    let codes: unknown[] = [];
    const lines = await linesDuring(async () => {
      codes = errorCodes(await postGraphQL(graphqlUrl, { query: `{ leaderboard(campaignId: "${randomUUID()}") { rank } }` }, { token: player.accessToken }));
    });
    expect(codes).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(atLevel(lines.gateway, "error")).toEqual([]);
    const warnings = atLevel(lines.gateway, "warn");
    expect(warnings.map((line) => line.msg)).toEqual(expect.arrayContaining(["subgraph unavailable", "request answered without a dependency"]));
    expect(warnings.filter((line) => !stackless(line))).toEqual([]);
  });

  it("a server fault is an error with its stack where it happened, and an error at the gateway", async () => {
    const requestId = `fault-${randomUUID()}`;
    let codes: unknown[] = [];
    const lines = await linesDuring(async () => {
      codes = errorCodes(await postGraphQL(graphqlUrl, { query: "{ myCampaigns { id } }" }, { token: player.accessToken, headers: { "x-request-id": requestId } }));
    });
    expect(codes).toEqual(["INTERNAL_SERVER_ERROR"]);
    // (Campaign's outbox relay also fails in the background on that database: not this request's.)
    const ofRequest = (service: Service) => atLevel(lines[service], "info", "warn", "error").filter((line) => line.requestId === requestId);
    const [fault, ...others] = ofRequest("campaign");
    expect(others).toEqual([]);
    expect(fault).toMatchObject({ level: "error", msg: "unexpected GraphQL error", path: ["myCampaigns"], err: { stack: expect.stringMatching(/\n\s+at /) } });
    expect(ofRequest("gateway").map((line) => [line.level, line.msg])).toEqual([["error", "unexpected GraphQL error"]]);
  });
});

describe("an HTTP handler's throw is answered and logged by whose failure it is", () => {
  const kit = captureLogs("kit", "info");
  let http: HttpService;
  let url: string;
  beforeAll(async () => {
    http = createHttpService({
      logger: kit.logger as Logger,
      metrics: createMetrics("kit"),
      readiness: [],
      postRoutes: {
        "/refuse": () => {
          throw badInput("The body names no campaign");
        },
        "/unavailable": () => {
          throw serviceUnavailable("Campaign is unavailable; try again shortly", 7);
        },
        "/fail": () => {
          throw new Error("a bug with details a client must not see");
        },
      },
      fallback: (_req, res) => sendJson(res, 404, {}),
    });
    url = await http.listen(0, "127.0.0.1");
  });
  afterAll(() => http.close(1_000));

  const call = async (path: string) => {
    const before = kit.lines().length;
    const res = await fetch(`${url}${path}`, { method: "POST" });
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json(), lines: kit.lines().slice(before) };
  };

  it("one of our client codes: its status and message, an info line without a stack", async () => {
    const { status, body, lines } = await call("/refuse");
    expect({ status, body }).toEqual({ status: 400, body: { errors: [{ message: "The body names no campaign", extensions: { code: "BAD_USER_INPUT" } }] } });
    expect(lines.map(shape)).toEqual([{ level: "info", msg: "request refused", stackless: true }]);
    expect(lines[0]).toMatchObject({ path: "/refuse", code: "BAD_USER_INPUT", reason: "The body names no campaign" });
  });

  it("a dependency down: 503 with Retry-After, a warning without a stack", async () => {
    const { status, retryAfter, lines } = await call("/unavailable");
    expect({ status, retryAfter }).toEqual({ status: 503, retryAfter: "7" });
    expect(lines.map(shape)).toEqual([{ level: "warn", msg: "request answered without a dependency", stackless: true }]);
  });

  it("anything else: a masked 500, an error line with the stack", async () => {
    const { status, body, lines } = await call("/fail");
    expect({ status, body }).toEqual({ status: 500, body: { errors: [{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }] } });
    expect(lines.map(shape)).toEqual([{ level: "error", msg: "unhandled error in HTTP handler", stackless: false }]);
    expect(lines[0]).toMatchObject({ path: "/fail", err: { message: "a bug with details a client must not see", stack: expect.stringMatching(/\n\s+at /) } });
  });
});
