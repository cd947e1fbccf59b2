import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getIntrospectionQuery, print } from "graphql";
import { createRedis, type Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { redisKeyValueCache, sha256 } from "../../gateway/src/plugins/persisted-operations";
import { buildManifest } from "../../scripts/persisted-manifest";
import { LoginDocument, MeDocument, RegisterDocument } from "../generated/operations";
import { gatewayTestConfig } from "../testkit/config";
import { errorCodes, expectData, graphql, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics } from "../testkit/metrics";
import { startStack, type Stack } from "../testkit/stack";

type Body = { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
type Reply = { status: number; body: Body };

/** A raw POST: for bodies the typed client would never send. */
async function post(url: string, body: string, headers: Record<string, string> = { "content-type": "application/json" }): Promise<Reply> {
  const res = await fetch(url, { method: "POST", headers, body });
  return { status: res.status, body: (await res.json()) as Body };
}
const postJson = (url: string, body: unknown) => post(url, JSON.stringify(body));
const refusal = (reply: Reply) => ({ status: reply.status, errors: reply.body.errors?.map((e) => ({ code: e.extensions?.code, message: e.message })) });

/** The gateway still answers an ordinary query through a subgraph. */
async function expectServing(graphqlUrl: string): Promise<void> {
  const reply = await postJson(graphqlUrl, { query: "query Alive { me { id } }" });
  expect(reply).toEqual({ status: 200, body: { data: { me: null } } });
}

/** A query exactly `depth` fields deep through single objects (no lists, so only depth is over). */
function deepQuery(depth: number): string {
  const chain = ['campaign(id: "c")'];
  while (chain.length < depth - 1) chain.push(chain.length % 2 === 1 ? "myMembership" : "campaign");
  return `{ ${chain.join(" { ")} { id }${" }".repeat(chain.length - 1)} }`;
}

/** Requests a service has answered on /graphql, from its Prometheus text. */
const graphqlRequests = (metrics: string) =>
  metrics
    .split("\n")
    .filter((line) => line.startsWith("http_request_duration_seconds_count{") && line.includes('route="/graphql"'))
    .reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);

const persisted = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });

/** A plain HTTP server standing in for a subgraph that misbehaves. */
async function fakeSubgraph(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
});
afterAll(() => stack.stop());

/**
 * Another gateway in front of the stack's subgraphs (or others), with extra env, once it
 * reports ready (Redis connected), as a load balancer would wait for.
 */
async function extraGateway(env: Record<string, string>, subgraphs?: Record<string, string>): Promise<{ app: GatewayApp; graphqlUrl: string }> {
  const app = createGatewayApp(
    gatewayTestConfig(subgraphs ?? { identity: stack.identityUrl, campaign: stack.campaignUrl }, `${stack.identityUrl}/.well-known/jwks.json`, env),
    captureLogs("gateway", "warn").logger as Logger,
  );
  const baseUrl = await app.listen();
  for (let attempt = 0; (await fetch(`${baseUrl}/health/ready`)).status !== 200; attempt++) {
    if (attempt === 100) throw new Error("the extra gateway never became ready");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { app, graphqlUrl: `${baseUrl}/graphql` };
}

describe("query limits at the gateway", () => {
  it("refuses a depth-50 query", async () => {
    const reply = await postJson(stack.graphqlUrl, { query: deepQuery(50) });
    expect(refusal(reply)).toEqual({ status: 400, errors: [{ code: "QUERY_TOO_COMPLEX", message: "Query depth 50 exceeds the limit of 12" }] });
    await expectServing(stack.graphqlUrl);
  });

  it("refuses an alias bomb", async () => {
    const query = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    const reply = await postJson(stack.graphqlUrl, { query });
    expect(refusal(reply)).toEqual({ status: 400, errors: [{ code: "QUERY_TOO_COMPLEX", message: "Query alias count 1000 exceeds the limit of 30" }] });
    await expectServing(stack.graphqlUrl);
  });

  it("refuses a directive flood", async () => {
    const query = `{ ${Array.from({ length: 500 }, () => "__typename @include(if: true)").join(" ")} }`;
    const reply = await postJson(stack.graphqlUrl, { query });
    expect(refusal(reply)).toEqual({ status: 400, errors: [{ code: "QUERY_TOO_COMPLEX", message: "Query directive count 500 exceeds the limit of 50" }] });
    await expectServing(stack.graphqlUrl);
  });

  it("stops parsing a token flood as a parse failure that names the limit", async () => {
    const reply = await postJson(stack.graphqlUrl, { query: `{ ${"__typename ".repeat(6000)}}` });
    expect(reply.status).toBe(400);
    expect(reply.body.errors?.map((e) => e.extensions?.code)).toEqual(["GRAPHQL_PARSE_FAILED"]);
    // graphql-js's own words ("Document contains more that 5000 tokens. Parsing aborted.").
    expect(reply.body.errors?.[0]?.message).toMatch(/^Syntax Error: Document contains more \w+ 5000 tokens\. Parsing aborted\.$/);
    await expectServing(stack.graphqlUrl);
  });

  it("refuses nested lists whose cost estimate is over the limit, before any subgraph is asked", async () => {
    const campaignRequests = async () => graphqlRequests(await fetchMetrics(stack.campaignUrl));
    const before = await campaignRequests();
    const reply = await postJson(stack.graphqlUrl, { query: "{ myCampaigns(first: 500) { members { user { roles } } } }" });
    expect(refusal(reply)).toEqual({ status: 400, errors: [{ code: "QUERY_TOO_COMPLEX", message: "Query cost estimate 10501 exceeds the limit of 5000" }] });
    expect(await campaignRequests()).toBe(before);
    // A smaller page of the same shape is planned and sent to campaign (which wants a sign-in).
    expect(errorCodes(await postGraphQL(stack.graphqlUrl, { query: "{ myCampaigns(first: 200) { members { user { roles } } } }" }))).toEqual(["UNAUTHENTICATED"]);
    expect(await campaignRequests()).toBe(before + 1);
    await expectServing(stack.graphqlUrl);
  });

  it("answers a fragment cycle with a validation failure, and does not hang", async () => {
    const query = "{ me { ...A } } fragment A on User { id ...B } fragment B on User { displayName ...A }";
    const reply = await postJson(stack.graphqlUrl, { query });
    expect(refusal(reply)).toEqual({ status: 400, errors: [{ code: "GRAPHQL_VALIDATION_FAILED", message: 'Cannot spread fragment "A" within itself via "B".' }] });
    await expectServing(stack.graphqlUrl);
  });

  it("refuses a 10 MB body with 413", async () => {
    const reply = await postJson(stack.graphqlUrl, { query: `{ me { id } } # ${"x".repeat(10 * 1024 * 1024)}` });
    expect(refusal(reply)).toEqual({ status: 413, errors: [{ code: "BAD_REQUEST", message: "Request body exceeds 1000000 bytes" }] });
    await expectServing(stack.graphqlUrl);
  });

  it("lets the standard introspection query through when introspection is on", async () => {
    const reply = await postJson(stack.graphqlUrl, { query: getIntrospectionQuery() });
    expect(reply.status).toBe(200);
    expect((reply.body.data as { __schema: { types: { name: string }[] } }).__schema.types.map((t) => t.name)).toContain("Campaign");
  });
});

describe("batched operations", () => {
  const register = (email: string) => ({ query: print(RegisterDocument), variables: { input: { email, password: "correct horse battery", displayName: "Batch" } } });
  const canLogIn = async (email: string) =>
    (await graphql(stack.graphqlUrl, LoginDocument, { input: { email, password: "correct horse battery" } })).data?.login?.user.id !== undefined;

  it("refuses a batch of 1,000 operations", async () => {
    const reply = await postJson(stack.graphqlUrl, Array.from({ length: 1000 }, () => ({ query: "{ __typename }" })));
    expect(refusal(reply)).toEqual({ status: 413, errors: [{ code: "BAD_REQUEST", message: "A batch may hold at most 10 operations; this one has 1000" }] });
    await expectServing(stack.graphqlUrl);
  });

  it("runs none of an oversized batch", async () => {
    const emails = Array.from({ length: 11 }, () => `batch-${randomUUID()}@example.test`);
    const reply = await postJson(stack.graphqlUrl, emails.map(register));
    expect(reply.status).toBe(413);
    expect(await Promise.all(emails.map(canLogIn))).toEqual(emails.map(() => false));
    await expectServing(stack.graphqlUrl);
  });

  it("runs every operation of a batch within the limit", async () => {
    const emails = Array.from({ length: 2 }, () => `batch-${randomUUID()}@example.test`);
    const reply = await postJson(stack.graphqlUrl, [...emails.map(register), { query: "query Alive { me { id } }" }]);
    expect(reply.status).toBe(200);
    const results = reply.body as unknown as Body[];
    expect(results).toHaveLength(3);
    expect(results[2]).toEqual({ data: { me: null } });
    expect(await Promise.all(emails.map(canLogIn))).toEqual([true, true]);
  });
});

describe("CSRF prevention", () => {
  it("refuses a simple GET without a preflight header, and answers one with it", async () => {
    const url = `${stack.graphqlUrl}?query=${encodeURIComponent("query Alive { me { id } }")}`;
    const simple = await fetch(url);
    expect(simple.status).toBe(400);
    const body = (await simple.json()) as Body;
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_REQUEST"]);
    expect(body.errors?.[0]?.message).toMatch(/Cross-Site Request Forgery/);
    const preflighted = await fetch(url, { headers: { "apollo-require-preflight": "true" } });
    expect(await preflighted.json()).toEqual({ data: { me: null } });
  });

  it.each(["text/plain", "application/x-www-form-urlencoded"])("refuses a %s POST, which a browser sends cross-site without asking", async (type) => {
    const reply = await post(stack.graphqlUrl, JSON.stringify({ query: "query Alive { me { id } }" }), { "content-type": type });
    expect(reply.status).toBe(400);
    expect(reply.body.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_REQUEST"]);
    expect(reply.body.errors?.[0]?.message).toMatch(/Cross-Site Request Forgery/);
    await expectServing(stack.graphqlUrl);
  });
});

describe("introspection turned off", () => {
  let gateway: { app: GatewayApp; graphqlUrl: string };
  beforeAll(async () => {
    gateway = await extraGateway({ INTROSPECTION: "false" });
  });
  afterAll(() => gateway.app.stop());

  it.each(["{ __schema { queryType { name } } }", '{ __type(name: "User") { name } }'])("refuses %s", async (query) => {
    const reply = await postJson(gateway.graphqlUrl, { query });
    expect(reply.status).toBe(400);
    expect(reply.body.errors?.map((e) => e.extensions?.code)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    await expectServing(gateway.graphqlUrl);
  });
});

describe("automatic persisted queries in Redis", () => {
  it("answers an unknown hash with PERSISTED_QUERY_NOT_FOUND, registers, then serves the hash on every gateway", async () => {
    // A fresh text per run: registrations outlive the run (until their TTL).
    const query = `query ApqProbe { me { id } } # ${randomUUID()}`;
    const hash = sha256(query);
    const unknown = await postJson(stack.graphqlUrl, { extensions: persisted(hash) });
    expect(refusal(unknown)).toEqual({ status: 200, errors: [{ code: "PERSISTED_QUERY_NOT_FOUND", message: "PersistedQueryNotFound" }] });

    expect(await postJson(stack.graphqlUrl, { query, extensions: persisted(hash) })).toEqual({ status: 200, body: { data: { me: null } } });
    expect(await postJson(stack.graphqlUrl, { extensions: persisted(hash) })).toEqual({ status: 200, body: { data: { me: null } } });

    const second = await extraGateway({});
    try {
      expect(await postJson(second.graphqlUrl, { extensions: persisted(hash) })).toEqual({ status: 200, body: { data: { me: null } } });
    } finally {
      await second.app.stop();
    }
  });

  it("keeps a registration for APQ_TTL_SECONDS", async () => {
    const query = `query ApqTtl { me { id } } # ${randomUUID()}`;
    expect((await postJson(stack.graphqlUrl, { query, extensions: persisted(sha256(query)) })).status).toBe(200);
    const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "test");
    try {
      // Apollo stores asynchronously after the response: wait for the key to appear.
      let ttl = -2;
      for (let i = 0; i < 50 && ttl === -2; i++) {
        ttl = await redis.ttl(`gateway:apq:${sha256(query)}`);
        if (ttl === -2) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(86_400);
    } finally {
      redis.disconnect();
    }
  });

  it("does not register an operation that breaks a limit", async () => {
    const query = `${deepQuery(20)} # ${randomUUID()}`;
    const hash = sha256(query);
    expect(errorCodes(await postGraphQL(stack.graphqlUrl, { query, extensions: persisted(hash) }))).toEqual(["QUERY_TOO_COMPLEX"]);
    expect(errorCodes(await postGraphQL(stack.graphqlUrl, { extensions: persisted(hash) }))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    await expectServing(stack.graphqlUrl);
  });

  it("refuses a hash that does not match the query as bad input", async () => {
    const reply = await postJson(stack.graphqlUrl, { query: "query Alive { me { id } }", extensions: persisted(sha256("something else")) });
    expect(refusal(reply)).toEqual({ status: 400, errors: [{ code: "BAD_REQUEST", message: "provided sha does not match query" }] });
    await expectServing(stack.graphqlUrl);
  });

  it("treats Redis being down as a miss, not a failure", async () => {
    const redis = createRedis("redis://127.0.0.1:1", "test-unreachable");
    const cache = redisKeyValueCache(redis, "gateway:", captureLogs("gateway").logger as Logger);
    try {
      expect(await cache.get("apq:anything")).toBeUndefined();
      await expect(cache.set("apq:anything", "{ me { id } }", { ttl: 60 })).resolves.toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });
});

describe("safelist mode (SAFELIST_MODE=enforce)", () => {
  let gateway: { app: GatewayApp; graphqlUrl: string };
  let manifest: ReturnType<typeof buildManifest>;
  beforeAll(async () => {
    const dir = join(__dirname, "..", "operations");
    manifest = buildManifest(readdirSync(dir).filter((f) => f.endsWith(".graphql")).map((f) => ({ path: f, text: readFileSync(join(dir, f), "utf8") })));
    const path = join(mkdtempSync(join(tmpdir(), "safelist-")), "operations.json");
    writeFileSync(path, JSON.stringify(manifest));
    gateway = await extraGateway({ SAFELIST_MODE: "enforce", OPERATION_SAFELIST_PATH: path });
  });
  afterAll(() => gateway.app.stop());

  const expectRegisteredStillRuns = async () => expect(expectData(await graphql(gateway.graphqlUrl, MeDocument, {})).me).toBeNull();

  it("runs a registered operation, by its text however it is printed, or by its id alone", async () => {
    await expectRegisteredStillRuns();
    const me = manifest.operations.find((o) => o.name === "Me");
    if (!me) throw new Error("Me is not in the manifest");
    expect(await postJson(gateway.graphqlUrl, { extensions: persisted(me.id) })).toEqual({ status: 200, body: { data: { me: null } } });
    const respaced = "# from the client\nquery Me { me { id displayName email roles } }";
    expect(await postJson(gateway.graphqlUrl, { query: respaced })).toEqual({ status: 200, body: { data: { me: null } } });
  });

  it("refuses an operation that is not registered", async () => {
    const reply = await postJson(gateway.graphqlUrl, { query: "query Alive { me { id } }" });
    expect(reply.status).toBe(400);
    expect(reply.body.errors?.map((e) => e.extensions?.code)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    expect(reply.body.errors?.[0]?.message).toMatch(/^Only registered operations may run/);
    expect(reply.body.data).toBeUndefined();
    await expectRegisteredStillRuns();
  });

  it("refuses an unknown id, and lets no client register one", async () => {
    const query = `query Sneaky { me { id } } # ${randomUUID()}`;
    const hash = sha256(query);
    expect(errorCodes(await postGraphQL(gateway.graphqlUrl, { extensions: persisted(hash) }))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    const register = await postJson(gateway.graphqlUrl, { query, extensions: persisted(hash) });
    expect(register.status).toBe(400);
    expect(register.body.errors?.map((e) => e.extensions?.code)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    expect(errorCodes(await postGraphQL(gateway.graphqlUrl, { extensions: persisted(hash) }))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    await expectRegisteredStillRuns();
  });
});

describe("when a subgraph misbehaves", () => {
  it("times out a subgraph that never answers, as SERVICE_UNAVAILABLE", async () => {
    const stuck = await fakeSubgraph((req) => req.resume());
    const gateway = await extraGateway({ SUBGRAPH_TIMEOUT_MS: "300" }, { identity: stack.identityUrl, campaign: stuck.url });
    try {
      const reply = await postGraphQL(gateway.graphqlUrl, { query: "{ myCampaigns { id } }" });
      expect(errorCodes(reply)).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(reply.errors?.[0]?.message).toBe("The campaign service is unavailable; try again shortly");
      await expectServing(gateway.graphqlUrl);
    } finally {
      await gateway.app.stop();
      await stuck.close();
    }
  });

  it("masks what a subgraph leaks: no SQL, hosts or stack traces", async () => {
    const leaky = await fakeSubgraph((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            data: null,
            errors: [
              {
                message: 'insert into "Campaign" failed: connect ECONNREFUSED 10.20.30.40:5432',
                extensions: { code: "P1001", stacktrace: ["Error: at PrismaClient.request (/srv/campaign/node_modules/@prisma/client.js:1:1)"] },
              },
            ],
          }),
        );
      });
    });
    const gateway = await extraGateway({}, { identity: stack.identityUrl, campaign: leaky.url });
    try {
      const reply = await postGraphQL(gateway.graphqlUrl, { query: "{ myCampaigns { id } }" });
      expect(errorCodes(reply)).toEqual(["INTERNAL_SERVER_ERROR"]);
      const text = JSON.stringify(reply.errors);
      expect(text).toContain("Internal server error");
      for (const leak of ["Campaign", "ECONNREFUSED", "10.20.30.40", "127.0.0.1", "Prisma", "stacktrace", "/srv", "serviceName"]) expect(text).not.toContain(leak);
      await expectServing(gateway.graphqlUrl);
    } finally {
      await gateway.app.stop();
      await leaky.close();
    }
  });
});
