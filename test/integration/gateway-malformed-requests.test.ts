import { randomUUID } from "node:crypto";
import { createRateLimiter, createRedis } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { gatewayTestConfig } from "../testkit/config";
import { captureLogs } from "../testkit/logs";
import { untilReady } from "../testkit/ready";
import { errorCodes, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { startStack, type Stack } from "../testkit/stack";
import { rawSocket } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * A client's malformed request is a 4xx with a code that names the problem, decided before
 * anything runs: no side effect, no budget charged, no error-level log line.
 */

let stack: Stack;
let player: TestUser;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "test");
beforeAll(async () => {
  stack = await startStack({ logLevel: "info" });
  player = await registerUser(stack.graphqlUrl, "Malformed");
});
afterAll(async () => {
  redis.disconnect();
  await stack.stop();
});

const asPlayer = (body: unknown) => postGraphQL(stack.graphqlUrl, body, { token: player.accessToken });
const refusal = (reply: GraphQLResponse<unknown>) => ({ status: reply.status, codes: errorCodes(reply), data: reply.data });

async function myCampaignNames(): Promise<string[]> {
  const reply = await asPlayer({ query: "{ myCampaigns { name } }" });
  return (reply.data as { myCampaigns: { name: string }[] }).myCampaigns.map((c) => c.name);
}



describe("operation selection is decided before anything runs", () => {
  const create = (name: string) => `mutation Create { createCampaign(input: { name: "${name}" }) { id } }`;

  it("refuses an empty operationName with 400 BAD_REQUEST and creates nothing", async () => {
    const name = `Empty ${randomUUID().slice(0, 8)}`;
    const reply = await asPlayer({ query: create(name), operationName: "" });
    expect(refusal(reply)).toEqual({ status: 400, codes: ["BAD_REQUEST"], data: undefined });
    expect(reply.errors?.[0]?.message).toMatch(/operationName/);
    expect(await myCampaignNames()).not.toContain(name);
  });

  it("refuses an operationName the document does not define, naming it", async () => {
    const name = `Unknown ${randomUUID().slice(0, 8)}`;
    const reply = await asPlayer({ query: create(name), operationName: "Nope" });
    expect(refusal(reply)).toEqual({ status: 400, codes: ["BAD_REQUEST"], data: undefined });
    expect(reply.errors?.[0]?.message).toContain('"Nope"');
    expect(await myCampaignNames()).not.toContain(name);
  });

  it("refuses a document with several operations and no operationName", async () => {
    const name = `Several ${randomUUID().slice(0, 8)}`;
    const reply = await asPlayer({ query: `${create(name)} query Read { me { id } }` });
    expect(refusal(reply)).toEqual({ status: 400, codes: ["BAD_REQUEST"], data: undefined });
    expect(reply.errors?.[0]?.message).toMatch(/operationName/);
    expect(await myCampaignNames()).not.toContain(name);
  });

  it("refuses a non-string operationName", async () => {
    const reply = await asPlayer({ query: "query Me { me { id } }", operationName: 42 });
    expect(reply.status).toBe(400);
    expect(errorCodes(reply)).toEqual(["BAD_REQUEST"]);
  });

  it("still runs the named operation of several", async () => {
    const reply = await asPlayer({ query: `${create("never")} query Read { me { id } }`, operationName: "Read" });
    expect(reply.status).toBe(200);
    expect(reply.data).toEqual({ me: { id: player.user.id } });
  });

  it("refuses the same over GET", async () => {
    const url = new URL(stack.graphqlUrl);
    url.searchParams.set("query", "query A { me { id } } query B { me { id } }");
    url.searchParams.set("operationName", "");
    const res = await fetch(url, { headers: { "apollo-require-preflight": "true", authorization: `Bearer ${player.accessToken}` } });
    const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(res.status).toBe(400);
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_REQUEST"]);
  });

  it("refuses the same over WebSocket with an error message, and the socket stays usable", async () => {
    const name = `Socket ${randomUUID().slice(0, 8)}`;
    const socket = await rawSocket(stack.graphqlUrl);
    try {
      socket.send({ type: "connection_init", payload: { authorization: `Bearer ${player.accessToken}` } });
      await socket.message("connection_ack");
      socket.send({ id: "1", type: "subscribe", payload: { query: create(name), operationName: "" } });
      const answer = (await socket.message("error")) as { id: string; payload: { extensions?: { code?: string } }[] };
      expect(answer.id).toBe("1");
      expect(answer.payload.map((e) => e.extensions?.code)).toEqual(["BAD_REQUEST"]);
      const from = socket.messages.length;
      socket.send({ id: "2", type: "subscribe", payload: { query: "query Me { me { id } }" } });
      expect(await socket.message("next", from)).toMatchObject({ id: "2", payload: { data: { me: { id: player.user.id } } } });
    } finally {
      socket.close();
    }
    expect(await myCampaignNames()).not.toContain(name);
  });

  it("never answers 4xx or 5xx for a mutation it ran", async () => {
    // A mutation that ran is answered 200 with its data, whatever the selection.
    const name = `Ran ${randomUUID().slice(0, 8)}`;
    const reply = await asPlayer({ query: create(name), operationName: "Create" });
    expect(reply.status).toBe(200);
    expect(await myCampaignNames()).toContain(name);
  });
});

describe("numbers in variables are validated before any budget is charged", () => {
  const pageQuery = "query Page($n: Int) { myCampaigns(first: $n) { id } }";
  // A gateway whose cost budget refills one unit a second, so a charge stays visible for seconds.
  const prefix = `rate-limit:test:${randomUUID()}:`;
  let gateway: GatewayApp;
  let graphqlUrl: string;
  beforeAll(async () => {
    const subgraphs = { identity: stack.identityUrl, campaign: stack.campaignUrl };
    gateway = createGatewayApp(
      gatewayTestConfig(subgraphs, `${stack.identityUrl}/.well-known/jwks.json`, { RATE_LIMIT_KEY_PREFIX: prefix, RATE_LIMIT_COST_PER_MINUTE: "60" }),
      captureLogs("gateway", "warn").logger,
    );
    graphqlUrl = `${await gateway.listen()}/graphql`;
    await untilReady(graphqlUrl.replace(/\/graphql$/, ""));
  });
  afterAll(() => gateway.stop());
  const costBudget = createRateLimiter(redis, { prefix: `${prefix}cost:`, limit: 60, periodMs: 60_000, whenUnavailable: "deny" });
  /** What this user's cost budget has left (60 when nothing was charged in the last minute). */
  const costLeft = async (userId: string) => (await costBudget.peek(`user:${userId}`, 1)).remaining + 1;

  it.each([
    ["1e308", 1e308],
    ["2147483648", 2147483648],
    ["-2147483649", -2147483649],
    ["a string", "12"],
    ["a fraction", 1.5],
  ])("refuses first: %s as BAD_USER_INPUT with 400, charging nothing", async (_label, n) => {
    const user = await registerUser(stack.graphqlUrl, "Numbers");
    const reply = await postGraphQL(graphqlUrl, { query: pageQuery, variables: { n } }, { token: user.accessToken });
    expect(refusal(reply)).toEqual({ status: 400, codes: ["BAD_USER_INPUT"], data: undefined });
    expect(await costLeft(user.user.id)).toBe(60);
    // The same request with a sane page size is charged (1 + 5): the check above can see a charge.
    expect((await postGraphQL(graphqlUrl, { query: pageQuery, variables: { n: 5 } }, { token: user.accessToken })).status).toBe(200);
    expect(await costLeft(user.user.id)).toBeLessThanOrEqual(54);
  });

  it("refuses a valid Int whose cost estimate is over the limit as QUERY_TOO_COMPLEX, not 429", async () => {
    const user = await registerUser(stack.graphqlUrl, "Costly");
    const reply = await postGraphQL(graphqlUrl, { query: pageQuery, variables: { n: 2147483647 } }, { token: user.accessToken });
    expect(refusal(reply)).toEqual({ status: 400, codes: ["QUERY_TOO_COMPLEX"], data: undefined });
    expect(reply.errors?.[0]?.message).toMatch(/cost estimate/);
    expect(await costLeft(user.user.id)).toBe(60);
    // Its budget was not spent: an ordinary page right after is served.
    const next = await postGraphQL(graphqlUrl, { query: pageQuery, variables: { n: 5 } }, { token: user.accessToken });
    expect(next.status).toBe(200);
    expect(next.data).toEqual({ myCampaigns: [] });
  });

  it("refuses variables of the wrong shape (an object for an ID, a list for a String)", async () => {
    const reply = await asPlayer({ query: "query C($id: ID!) { campaign(id: $id) { id } }", variables: { id: { $gt: "" } } });
    expect(refusal(reply)).toEqual({ status: 400, codes: ["BAD_USER_INPUT"], data: undefined });
  });

  it("refuses variables that are not an object", async () => {
    for (const variables of [[1, 2], "x", 7]) {
      const reply = await asPlayer({ query: "{ me { id } }", variables });
      expect(reply.status).toBe(400);
      expect(errorCodes(reply)).toEqual(["BAD_REQUEST"]);
    }
  });
});

describe("JSON values in variables have a depth and size limit", () => {
  const submit = "mutation S($input: SubmitCommandInput!) { submitCommand(input: $input) { id } }";
  // Deep values are written as text: JSON.stringify itself overflows the stack on them.
  const nestedObjects = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
  const nestedLists = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
  const input = (payload: unknown) => ({ campaignId: randomUUID(), type: "SET_TAX", payload, idempotencyKey: randomUUID() });
  /** Posts `submit` with `payloadJson` spliced in as the command's payload. */
  async function submitRaw(payloadJson: string): Promise<GraphQLResponse<unknown>> {
    const template = JSON.stringify({ query: submit, variables: { input: input("PAYLOAD") } });
    const res = await fetch(stack.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${player.accessToken}` },
      body: template.replace('"PAYLOAD"', payloadJson),
    });
    const json = (await res.json()) as { data?: unknown; errors?: GraphQLResponse<unknown>["errors"] };
    return { status: res.status, headers: res.headers, data: json.data, errors: json.errors };
  }

  it("refuses a 5,000-level nested JSON as BAD_USER_INPUT, naming the variable", async () => {
    const reply = await submitRaw(nestedObjects(5000));
    expect(refusal(reply)).toEqual({ status: 400, codes: ["BAD_USER_INPUT"], data: undefined });
    expect(reply.errors?.[0]?.message).toMatch(/\$input/);
    expect(reply.errors?.[0]?.message).toMatch(/deep/);
  });

  it("refuses a 100,000-level nested list in a JSON variable too, and keeps serving", async () => {
    const reply = await submitRaw(nestedLists(100_000));
    expect(refusal(reply)).toEqual({ status: 400, codes: ["BAD_USER_INPUT"], data: undefined });
    const alive = await asPlayer({ query: "{ me { id } }" });
    expect(alive.data).toEqual({ me: { id: player.user.id } });
  });

  it("refuses a JSON value with too many members", async () => {
    const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]));
    const reply = await asPlayer({ query: submit, variables: { input: input(wide) } });
    expect(refusal(reply)).toEqual({ status: 400, codes: ["BAD_USER_INPUT"], data: undefined });
  });

  it("lets an ordinary payload through to the subgraph, which judges it", async () => {
    const reply = await asPlayer({ query: submit, variables: { input: input({ rate: 20 }) } });
    // Not a member of that (random) campaign: the owner answers, so the gateway passed it on.
    expect(reply.status).toBe(200);
    expect(errorCodes(reply)).toEqual(["NOT_FOUND"]);
  });

  it("refuses a document nested deeper than any operation needs, before parsing it", async () => {
    const depth = 2500;
    const reply = await asPlayer({ query: `{ ${"me { ".repeat(depth)}id${" }".repeat(depth)} }` });
    expect(refusal(reply)).toEqual({ status: 400, codes: ["QUERY_TOO_COMPLEX"], data: undefined });
    expect(reply.errors?.[0]?.message).toMatch(/nesting/);
    const literal = await asPlayer({ query: `{ campaign(id: ${"[".repeat(3000)}${"]".repeat(3000)}) { id } }` });
    expect(refusal(literal)).toEqual({ status: 400, codes: ["QUERY_TOO_COMPLEX"], data: undefined });
  });

  it("refuses the same over WebSocket, and the socket stays usable", async () => {
    const socket = await rawSocket(stack.graphqlUrl);
    try {
      socket.send({ type: "connection_init", payload: { authorization: `Bearer ${player.accessToken}` } });
      await socket.message("connection_ack");
      const template = JSON.stringify({ id: "deep", type: "subscribe", payload: { query: submit, variables: { input: input("PAYLOAD") } } });
      socket.send(template.replace('"PAYLOAD"', nestedObjects(5000)));
      const answer = (await socket.message("error")) as { id: string; payload: { message: string; extensions?: { code?: string } }[] };
      expect(answer.id).toBe("deep");
      expect(answer.payload.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
      expect(answer.payload[0]?.message).toMatch(/\$input/);
      const from = socket.messages.length;
      socket.send({ id: "me", type: "subscribe", payload: { query: "{ me { id } }" } });
      expect(await socket.message("next", from)).toMatchObject({ id: "me", payload: { data: { me: { id: player.user.id } } } });
    } finally {
      socket.close();
    }
  });

  it("refuses deeply nested request extensions", async () => {
    const res = await fetch(stack.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"query": "{ me { id } }", "extensions": {"x": ${nestedObjects(5000)}}}`,
    });
    const reply = { status: res.status, errors: ((await res.json()) as { errors?: GraphQLResponse<unknown>["errors"] }).errors };
    expect(reply.status).toBe(400);
    expect(errorCodes(reply)).toEqual(["BAD_REQUEST"]);
  });
});

describe("client mistakes are not server errors in the logs", () => {
  it("logs refusals once at info or warn without a stack, and nothing at error", async () => {
    const before = stack.logs.gateway.lines().length;
    const token = { token: player.accessToken };
    await postGraphQL(stack.graphqlUrl, { query: "{ me { nope } }" }, token);
    await postGraphQL(stack.graphqlUrl, { query: "{ me { id " }, token);
    await postGraphQL(stack.graphqlUrl, { query: "query A { me { id } }", operationName: "" }, token);
    await postGraphQL(stack.graphqlUrl, { query: "query P($n: Int) { myCampaigns(first: $n) { id } }", variables: { n: 1e308 } }, token);
    await postGraphQL(stack.graphqlUrl, { query: "{ me { id } }" }, { token: "not-a-token" });
    await postGraphQL(stack.graphqlUrl, { query: "{ campaign(id: \"x\") { id } }" }, token);
    const lines = stack.logs.gateway.lines().slice(before);
    const atError = lines.filter((line) => line.level === "error" || line.level === "fatal");
    expect(atError).toEqual([]);
    const refusals = lines.filter((line) => line.msg === "request refused");
    expect(refusals.length).toBeGreaterThanOrEqual(5);
    for (const line of refusals) {
      expect(["info", "warn"]).toContain(line.level);
      expect(JSON.stringify(line)).not.toMatch(/\n\s+at /);
    }
  });
});

describe("wild inputs", () => {
  it.each([
    ["a JSON array of non-objects", "[1,2,3]"],
    ["null", "null"],
    ["a query that is a number", '{"query": 5}'],
    ["a query that is an object", '{"query": {"a": 1}}'],
    ["extensions that are a string", '{"query": "{ me { id } }", "extensions": "x"}'],
    ["a persisted-query hash that is a number", '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": 5}}}'],
    ["a persisted-query version 2", '{"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "abc"}}}'],
    ["truncated JSON", '{"query": "{ me '],
  ])("answers %s with a 4xx and a code", async (_label, body) => {
    const res = await fetch(stack.graphqlUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const json = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(json.errors?.[0]?.extensions?.code).toMatch(/^(BAD_REQUEST|BAD_USER_INPUT|GRAPHQL_PARSE_FAILED|PERSISTED_QUERY_NOT_FOUND)$/);
  });
});
