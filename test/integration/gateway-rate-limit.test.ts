import { randomUUID } from "node:crypto";
import { createServer, connect, type AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { CreateApiKeyDocument, MeDocument } from "../generated/operations";
import { gatewayTestConfig } from "../testkit/config";
import { errorCodes, expectData, graphql, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser } from "../testkit/users";

/**
 * Rate limits and slow-client bounds through real gateways in front of the real subgraphs.
 * Each test starts its own gateway with its own limits and Redis namespace, so parallel
 * suites (all calling from 127.0.0.1) never share a budget with it.
 */
describe("gateway rate limits and flood protection", () => {
  let stack: Stack;
  const gateways: GatewayApp[] = [];
  beforeAll(async () => {
    stack = await startStack({ logLevel: "warn" });
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await stack?.stop();
  });

  /** Another gateway in front of the stack's subgraphs; its GraphQL URL. */
  async function gatewayWith(env: Record<string, string>): Promise<string> {
    const gateway = createGatewayApp(
      gatewayTestConfig({ identity: stack.identityUrl, campaign: stack.campaignUrl }, `${stack.identityUrl}/.well-known/jwks.json`, env),
      captureLogs("gateway", "warn").logger as Logger,
    );
    gateways.push(gateway);
    return `${await gateway.listen()}/graphql`;
  }

  const me = (url: string, token?: string) => graphql(url, MeDocument, {}, { token });
  const retryAfterOf = (response: GraphQLResponse<unknown>) => Number(response.headers.get("retry-after"));

  /** A refusal exactly as the contract has it: 429, Retry-After in whole seconds, RATE_LIMITED with the same retryAfter. */
  function expectRateLimited(response: GraphQLResponse<unknown>) {
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(response.errors).toEqual([expect.objectContaining({ extensions: { code: "RATE_LIMITED", retryAfter: retryAfterOf(response) } })]);
    expect(response.data).toBeUndefined();
    expect(response.headers.get("ratelimit-remaining")).toMatch(/^\d+$/);
  }

  it("refuses a burst from one address with 429 and Retry-After, then serves it again once that has passed", async () => {
    const url = await gatewayWith({ RATE_LIMIT_IP_PER_MINUTE: "20" });
    const burst = await Promise.all(Array.from({ length: 30 }, () => me(url)));
    const served = burst.filter((r) => r.status === 200);
    const refused = burst.filter((r) => r.status !== 200);
    expect(served.length).toBeGreaterThanOrEqual(20);
    expect(refused.length).toBeGreaterThan(0);
    for (const response of served) expect(expectData(response).me).toBeNull();
    for (const response of refused) expectRateLimited(response);
    expect([refused[0]!.headers.get("ratelimit-limit"), refused[0]!.headers.get("ratelimit-remaining")]).toEqual(["20", "0"]);

    const again = await me(url);
    expectRateLimited(again);
    await sleep(retryAfterOf(again) * 1000);
    const after = await me(url);
    expect(after.status).toBe(200);
    expect(expectData(after).me).toBeNull();
  });

  it("counts each user on their own budget", async () => {
    const url = await gatewayWith({ RATE_LIMIT_USER_PER_MINUTE: "5" });
    const [alice, bob] = await Promise.all([registerUser(stack.graphqlUrl, "Alice"), registerUser(stack.graphqlUrl, "Bob")]);
    for (let i = 0; i < 5; i++) expect(expectData(await me(url, alice.accessToken)).me?.id).toBe(alice.user.id);
    const refused = await me(url, alice.accessToken);
    expectRateLimited(refused);
    expect(refused.errors?.[0]?.message).toMatch(/for this user/);
    // Same address, another user: served.
    const other = await me(url, bob.accessToken);
    expect(expectData(other).me?.id).toBe(bob.user.id);
    expect(other.headers.get("ratelimit-limit")).toBe("5");
    expect(other.headers.get("ratelimit-remaining")).toBe("4");
  });

  it("charges a known token's address and user together: a request its user budget refuses spends no address budget", async () => {
    const url = await gatewayWith({ RATE_LIMIT_IP_PER_MINUTE: "4", RATE_LIMIT_USER_PER_MINUTE: "2" });
    const alice = await registerUser(stack.graphqlUrl, "Alice");
    // The first request verifies the token (address, then user); the second is known (both at once).
    for (let i = 0; i < 2; i++) expect(expectData(await me(url, alice.accessToken)).me?.id).toBe(alice.user.id);
    const refused = await me(url, alice.accessToken);
    expectRateLimited(refused);
    expect(refused.errors?.[0]?.message).toMatch(/for this user/);
    // Charged one at a time, that refusal would have spent the address's third unit: two are left.
    const anonymous = [await me(url), await me(url)];
    expect(anonymous.map((r) => r.status)).toEqual([200, 200]);
    expect(anonymous[1]!.headers.get("ratelimit-remaining")).toBe("0");
    expectRateLimited(await me(url));
  });

  it("gives each API key its own budget, apart from its owner's access token", async () => {
    const url = await gatewayWith({ RATE_LIMIT_API_KEY_PER_MINUTE: "3" });
    const alice = await registerUser(stack.graphqlUrl, "Alice");
    const created = expectData(await graphql(stack.graphqlUrl, CreateApiKeyDocument, { input: { name: "dashboard", scopes: ["READ"] } }, { token: alice.accessToken }));
    const withKey = () => graphql(url, MeDocument, {}, { headers: { "x-api-key": created.createApiKey.key } });
    for (let i = 0; i < 3; i++) expect(expectData(await withKey()).me?.id).toBe(alice.user.id);
    const refused = await withKey();
    expectRateLimited(refused);
    expect(refused.errors?.[0]?.message).toMatch(/for this API key/);
    expect(expectData(await me(url, alice.accessToken)).me?.id).toBe(alice.user.id);
  });

  it("charges each operation's estimated cost to the caller's cost budget", async () => {
    const url = await gatewayWith({ RATE_LIMIT_COST_PER_MINUTE: "6" });
    const alice = await registerUser(stack.graphqlUrl, "Alice");
    const big = { query: "{ me { id displayName email } }" }; // me 1 + its 3 fields = 4
    const small = { query: "{ me { id } }" }; // 2
    const first = await postGraphQL<{ me: { id: string } }>(url, big, { token: alice.accessToken });
    expect(expectData(first).me.id).toBe(alice.user.id);
    expect([first.headers.get("ratelimit-limit"), first.headers.get("ratelimit-remaining")]).toEqual(["6", "2"]);
    // 4 more would exceed 6; 2 more still fit: the charge is the operation's cost, not a count.
    const second = await postGraphQL(url, big, { token: alice.accessToken });
    expectRateLimited(second);
    expect(second.errors?.[0]?.message).toMatch(/query cost budget/);
    expect(second.headers.get("ratelimit-remaining")).toBe("2");
    const third = await postGraphQL<{ me: { id: string } }>(url, small, { token: alice.accessToken });
    expect(expectData(third).me.id).toBe(alice.user.id);
    expect(third.headers.get("ratelimit-remaining")).toBe("0");
  });

  it("holds one budget across two gateway replicas sharing Redis", async () => {
    const shared = { RATE_LIMIT_IP_PER_MINUTE: "10", RATE_LIMIT_KEY_PREFIX: `rate-limit:test:${randomUUID()}:` };
    const [replicaA, replicaB, unrelated] = await Promise.all([gatewayWith(shared), gatewayWith(shared), gatewayWith({ RATE_LIMIT_IP_PER_MINUTE: "10" })]);
    for (let i = 0; i < 10; i++) expect((await me(i % 2 ? replicaA : replicaB)).status).toBe(200);
    expectRateLimited(await me(replicaA));
    expectRateLimited(await me(replicaB));
    // A gateway with its own buckets still serves this address: the refusals above are the shared budget.
    expect((await me(unrelated)).status).toBe(200);
  });

  it("fails open or closed, as configured, when Redis cannot be reached", async () => {
    const redisUrl = `redis://127.0.0.1:${await closedPort()}`;
    const mine = gateways.length;
    try {
      const open = await gatewayWith({ REDIS_URL: redisUrl, RATE_LIMIT_FAIL_OPEN: "true", RATE_LIMIT_IP_PER_MINUTE: "1" });
      const closed = await gatewayWith({ REDIS_URL: redisUrl, RATE_LIMIT_FAIL_OPEN: "false" });
      for (let i = 0; i < 3; i++) expect(expectData(await me(open)).me).toBeNull();
      const refused = await me(closed);
      expect(refused.status).toBe(503);
      expect(errorCodes(refused)).toEqual(["SERVICE_UNAVAILABLE"]);
    } finally {
      // Now, not in afterAll: their Redis clients need a moment to give up reconnecting.
      for (const gateway of gateways.splice(mine)) await gateway.stop();
    }
  });

  describe("slow clients", () => {
    const slowTimeouts = { HTTP_HEADERS_TIMEOUT_MS: "1000", HTTP_REQUEST_TIMEOUT_MS: "2000" };

    it("disconnects a client that trickles its headers and never finishes, while serving everyone else", async () => {
      const url = await gatewayWith(slowTimeouts);
      const slowloris = slowClient(new URL(url), "POST /graphql HTTP/1.1\r\nHost: gateway\r\nX-Padding: ", "a");
      for (let i = 0; i < 3; i++) expect(expectData(await me(url)).me).toBeNull();
      const { received } = await slowloris.closed;
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(slowloris.bytesSent()).toBeGreaterThan(0);
      expect(expectData(await me(url)).me).toBeNull();
    });

    it("disconnects a client that trickles its body past the request timeout", async () => {
      const url = await gatewayWith(slowTimeouts);
      const head = "POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
      const slowBody = slowClient(new URL(url), head, " ");
      expect(expectData(await me(url)).me).toBeNull();
      const { received } = await slowBody.closed;
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(expectData(await me(url)).me).toBeNull();
    });
  });
});

/**
 * A raw TCP client that sends `head`, then one `unit` byte every 50 ms for as long as the
 * server keeps the connection open. `closed` resolves with what the server answered.
 */
function slowClient(url: URL, head: string, unit: string) {
  const socket = connect(Number(url.port), url.hostname);
  let received = "";
  let sent = 0;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (received += chunk));
  socket.on("error", () => undefined); // a reset is one way of being cut off
  // Written now, not on "connect": a socket queues writes in order until it connects, and a
  // trickled unit written before the head would turn the request into a 400, not a timeout.
  socket.write(head);
  const timer = setInterval(() => {
    if (socket.writable) {
      socket.write(unit);
      sent++;
    }
  }, 50);
  const closed = new Promise<{ received: string }>((resolve) =>
    socket.once("close", () => {
      clearInterval(timer);
      resolve({ received });
    }),
  );
  return { closed, bytesSent: () => sent };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
