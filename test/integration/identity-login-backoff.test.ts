import { randomUUID } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { anonymous, type SubgraphApp } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { LoginDocument, RegisterDocument } from "../generated/operations";
import { identityTestConfig } from "../testkit/config";
import { gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { startStack } from "../testkit/stack";
import { registerUser } from "../testkit/users";

/**
 * Login backoff against password guessing, against the identity subgraph (as the gateway
 * calls it) with its real Redis: 3 failures lock an account for 2 s, each further one
 * doubles the lock. Every test has its own email, so its own buckets.
 */
describe("identity login backoff: a guessed-at account locks, and its owner gets back in", () => {
  const settings = { LOGIN_MAX_FAILURES: "3", LOGIN_LOCKOUT_SECONDS: "2" };
  let app: SubgraphApp;
  let url: string;
  beforeAll(async () => {
    app = await createIdentityApp(identityTestConfig(settings), captureLogs("identity", "warn").logger);
    url = `${await app.listen()}/graphql`;
  });
  afterAll(() => app?.stop());

  const login = async (email: string, password: string, at = url) =>
    graphql(at, LoginDocument, { input: { email, password } }, { headers: await gatewayHeaders(anonymous) });
  async function newAccount() {
    const account = { email: `backoff-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Guarded" };
    expectData(await graphql(url, RegisterDocument, { input: account }, { headers: await gatewayHeaders(anonymous) }));
    return account;
  }
  async function failTimes(email: string, times: number) {
    for (let i = 0; i < times; i++) expect(errorCodes(await login(email, "not-the-password"))).toEqual(["UNAUTHENTICATED"]);
  }
  /** The retryAfter (seconds) of a RATE_LIMITED refusal; fails the test for anything else. */
  function retryAfterOf(response: GraphQLResponse<unknown>): number {
    expect(errorCodes(response)).toEqual(["RATE_LIMITED"]);
    const retryAfter = response.errors?.[0]?.extensions?.retryAfter;
    expect(retryAfter).toEqual(expect.any(Number));
    return retryAfter as number;
  }

  it("refuses sign-in rather than allow unthrottled guessing when Redis cannot be reached", async () => {
    const unreachable = await createIdentityApp(identityTestConfig({ ...settings, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` }), captureLogs("identity", "silent").logger);
    try {
      const otherUrl = `${await unreachable.listen()}/graphql`;
      const alice = await newAccount();
      expect(errorCodes(await login(alice.email, alice.password, otherUrl))).toEqual(["SERVICE_UNAVAILABLE"]);
    } finally {
      // First in the suite: its Redis client takes a moment to give up while the rest run.
      await unreachable.stop();
    }
  });

  it("refuses even the right password once the failures reach the limit, and lets it in after the lock", async () => {
    const alice = await newAccount();
    const bob = await newAccount();
    await failTimes(alice.email, 3);
    const refused = await login(alice.email, alice.password);
    const retryAfter = retryAfterOf(refused);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(refused.data).toBeNull();
    // Only that account: another one signs in as usual.
    expect(expectData(await login(bob.email, bob.password)).login.user.email).toBe(bob.email);

    await sleep(retryAfter * 1000);
    expect(expectData(await login(alice.email, alice.password)).login.user.email).toBe(alice.email);
  });

  it("forgets the failures when the owner signs in", async () => {
    const alice = await newAccount();
    await failTimes(alice.email, 2);
    expectData(await login(alice.email, alice.password));
    // Without the reset these would be failures 4 and 5, long past the limit of 3.
    await failTimes(alice.email, 2);
    expectData(await login(alice.email, alice.password));
  });

  it("doubles the lock for each failure after it", async () => {
    const alice = await newAccount();
    await failTimes(alice.email, 3);
    const first = retryAfterOf(await login(alice.email, alice.password));
    await sleep(first * 1000);
    await failTimes(alice.email, 1);
    const second = retryAfterOf(await login(alice.email, alice.password));
    // 4 s from the 4th failure against 2 s from the 3rd.
    expect(second).toBeGreaterThan(2);
    expect(second).toBeLessThanOrEqual(4);
  });

  it("reaches a client through the gateway with its code and retryAfter", async () => {
    const stack = await startStack({ logLevel: "warn", identityEnv: settings });
    try {
      const alice = await registerUser(stack.graphqlUrl, "Alice");
      for (let i = 0; i < 3; i++) expect(errorCodes(await login(alice.email, "not-the-password", stack.graphqlUrl))).toEqual(["UNAUTHENTICATED"]);
      const refused = await login(alice.email, alice.password, stack.graphqlUrl);
      expect(retryAfterOf(refused)).toBeGreaterThanOrEqual(1);
      expect(refused.errors?.[0]?.message).toMatch(/Too many failed sign-ins/);
    } finally {
      await stack.stop();
    }
  });

  it("throttles an email without an account the same way, revealing nothing", async () => {
    const nobody = `nobody-${randomUUID()}@example.test`;
    await failTimes(nobody, 3);
    retryAfterOf(await login(nobody, "anything"));
  });

});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
