import { randomUUID } from "node:crypto";
import { ACCOUNT_MAIL_PATH, USER_ADDRESSES_PATH, anonymous, type SubgraphApp } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { mailRequests, readAccountMail, serviceCaller } from "../testkit/account-mail";
import { identityTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { captureLogs } from "../testkit/logs";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Email addresses owned by identity, on the identity subgraph alone: the mail it asks the
 * notification worker pool to send (ACCOUNT_MAIL_REQUESTED in its outbox) and what its
 * service-only routes tell that pool about a mail and about users' addresses.
 */
const databaseUrl = required("IDENTITY_DATABASE_URL");
let app: SubgraphApp;
let origin: string;
let url: string;

beforeAll(async () => {
  app = await createIdentityApp(identityTestConfig({ ACCOUNT_LINK_BASE_URL: "https://play.example.test/account/" }), captureLogs("identity", "warn").logger);
  origin = await app.listen();
  url = `${origin}/graphql`;
});
afterAll(() => app?.stop());

const newPlayer = async (name = "Mailed"): Promise<TestUser> => registerUser(url, name, await gatewayHeaders(anonymous));

describe("signing up", () => {
  it("asks for one VERIFY_EMAIL mail, whose link the service-only route gives", async () => {
    const player = await newPlayer("Verifier");
    const requests = await mailRequests(databaseUrl, player.user.id);
    expect(requests).toEqual([{ topic: identityTestConfig().ACCOUNT_MAIL_TOPIC, kind: "VERIFY_EMAIL", mailId: expect.any(String), version: 1 }]);
    const answer = await readAccountMail(origin, requests[0]!.mailId);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      kind: "VERIFY_EMAIL",
      to: player.email,
      locale: "en",
      displayName: "Verifier",
      userId: player.user.id,
      link: expect.stringMatching(/^https:\/\/play\.example\.test\/account\/verify-email\?token=[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
    });
    const expiresIn = new Date(answer.body!.expiresAt!).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(23 * 3_600_000);
    expect(expiresIn).toBeLessThanOrEqual(24 * 3_600_000);
  });
});

describe("the service-only routes", () => {
  const post = async (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${origin}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  it.each([ACCOUNT_MAIL_PATH, USER_ADDRESSES_PATH])("%s refuses callers without a signed identity (401) and players (403)", async (path) => {
    const body = path === ACCOUNT_MAIL_PATH ? { mailId: randomUUID() } : { userIds: [randomUUID()] };
    expect((await post(path, body, {})).status).toBe(401);
    expect((await post(path, body, await gatewayHeaders(asUser(randomUUID(), ["PLAYER"])))).status).toBe(403);
    expect((await post(path, body, await gatewayHeaders(asUser(randomUUID(), ["ADMIN"])))).status).toBe(403);
  });

  it("answers 400 for a body that is not a mail id, and 404 for an unknown mail", async () => {
    const caller = serviceCaller();
    expect((await caller.post(`${origin}${ACCOUNT_MAIL_PATH}`, { mailId: "nope" })).status).toBe(400);
    expect((await caller.post(`${origin}${ACCOUNT_MAIL_PATH}`)).status).toBe(400);
    expect(await caller.post(`${origin}${ACCOUNT_MAIL_PATH}`, { mailId: randomUUID() })).toEqual({ status: 404, body: expect.objectContaining({ error: "NOT_FOUND" }) });
  });

  it("gives existing users' addresses, verified or not, and nothing for unknown ids", async () => {
    const [first, second] = [await newPlayer("First"), await newPlayer("Second")];
    const answer = await serviceCaller().post<{ users: { id: string }[] }>(`${origin}${USER_ADDRESSES_PATH}`, { userIds: [first.user.id, randomUUID(), second.user.id, first.user.id] });
    expect(answer.status).toBe(200);
    expect([...answer.body!.users].sort((a, b) => (a.id === first.user.id ? -1 : b.id === first.user.id ? 1 : 0))).toEqual([
      { id: first.user.id, email: first.email, emailVerified: false, emailVersion: 0, locale: "en", displayName: "First" },
      { id: second.user.id, email: second.email, emailVerified: false, emailVersion: 0, locale: "en", displayName: "Second" },
    ]);
  });

  it("refuses an empty list or more than 1000 ids, and ids that are not ids", async () => {
    const caller = serviceCaller();
    const ask = (userIds: unknown) => caller.post(`${origin}${USER_ADDRESSES_PATH}`, { userIds });
    expect((await ask([])).status).toBe(400);
    expect((await ask(Array.from({ length: 1001 }, () => randomUUID()))).status).toBe(400);
    expect((await ask(["not-a-uuid"])).status).toBe(400);
    expect((await ask(Array.from({ length: 1000 }, () => randomUUID()))).status).toBe(200);
  });
});
