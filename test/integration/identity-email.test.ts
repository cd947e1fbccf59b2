import { randomUUID } from "node:crypto";
import { ACCOUNT_MAIL_PATH, REVOKED_SESSIONS_KEY, Scope, USER_ADDRESSES_PATH, anonymous, createRedis, type SubgraphApp } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import pg from "pg";
import { signEmailLinkToken } from "../../subgraphs/identity/src/domain/email-link-token";
import { latestMailToken, mailRequests, readAccountMail, serviceCaller } from "../testkit/account-mail";
import { TEST_EMAIL_LINK_SECRET, identityTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
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
let db: pg.Client;

beforeAll(async () => {
  app = await createIdentityApp(identityTestConfig({ ACCOUNT_LINK_BASE_URL: "https://play.example.test/account/" }), captureLogs("identity", "warn").logger);
  origin = await app.listen();
  url = `${origin}/graphql`;
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await app?.stop();
});

const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "identity-email-test");
afterAll(() => redis.disconnect());

const as = async (user: TestUser) => gatewayHeaders(asUser(user.user.id));
const gql = async (query: string, variables: Record<string, unknown> = {}, headers?: Record<string, string>) =>
  postGraphQL(url, { query, variables }, { headers: headers ?? (await gatewayHeaders(anonymous)) });
const REQUEST_RESET = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const RESET = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
const LOGIN = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { refreshToken } }";
const REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }";
const REQUEST_CHANGE = "mutation($e: String!, $p: String) { requestEmailChange(newEmail: $e, password: $p) }";
const CONFIRM_CHANGE = "mutation($t: String!) { confirmEmailChange(token: $t) { id email emailVerified } }";
const kinds = async (userId: string) => (await mailRequests(databaseUrl, userId)).map((request) => request.kind);
const freshAddress = () => `moved-${randomUUID()}@example.test`;
const VERIFY = "mutation($t: String!) { verifyEmail(token: $t) { id } }";
const verify = async (token: string, target = url) => postGraphQL(target, { query: VERIFY, variables: { t: token } }, { headers: await gatewayHeaders(anonymous) });
const resend = async (user: TestUser) => postGraphQL(url, { query: "mutation { resendVerificationEmail }" }, { headers: await as(user) });
const verifiedAt = async (userId: string) => (await db.query<{ email_verified_at: Date | null }>("SELECT email_verified_at FROM users WHERE id = $1", [userId])).rows[0]!.email_verified_at;
const me = async (user: TestUser) =>
  (expectData(await postGraphQL(url, { query: "{ me { email emailVerified } }" }, { headers: await as(user) })) as { me: { email: string; emailVerified: boolean } }).me;
const audit = async (userId: string, action: string) =>
  (await db.query<{ outcome: string; details: Record<string, unknown> }>("SELECT outcome, details FROM audit_log WHERE target_id = $1 AND action = $2 ORDER BY occurred_at, id", [userId, action])).rows;

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

describe("verifying the address", () => {
  it("works once with the link mailed at sign-up; the user then reads their address as verified", async () => {
    const player = await newPlayer();
    expect(await me(player)).toEqual({ email: player.email, emailVerified: false });
    const token = await latestMailToken(origin, databaseUrl, player.user.id, "VERIFY_EMAIL");
    expect(expectData(await verify(token))).toEqual({ verifyEmail: { id: player.user.id } });
    expect(await me(player)).toEqual({ email: player.email, emailVerified: true });
    const first = await verifiedAt(player.user.id);

    const again = await verify(token);
    expect(errorCodes(again)).toEqual(["BAD_USER_INPUT"]);
    expect(await verifiedAt(player.user.id)).toEqual(first);
    expect((await audit(player.user.id, "identity.email.verify")).map((entry) => [entry.outcome, entry.details.reason])).toEqual([
      ["SUCCESS", undefined],
      ["FAILURE", "used"],
    ]);
    // The mail is moot now: the worker pool is told not to send it.
    const [request] = await mailRequests(databaseUrl, player.user.id);
    expect((await readAccountMail(origin, request!.mailId)).status).toBe(410);
  });

  it("refuses a tampered MAC, a token of another kind and a made-up id alike, changing nothing", async () => {
    const player = await newPlayer();
    const token = await latestMailToken(origin, databaseUrl, player.user.id, "VERIFY_EMAIL");
    const [mailId, mac] = token.split(".") as [string, string];
    const flipped = `${mailId}.${mac[0] === "A" ? "B" : "A"}${mac.slice(1)}`;
    const otherKind = signEmailLinkToken(TEST_EMAIL_LINK_SECRET, mailId, "RESET_PASSWORD");
    const unknown = signEmailLinkToken(TEST_EMAIL_LINK_SECRET, randomUUID(), "VERIFY_EMAIL");
    const answers = await Promise.all([flipped, otherKind, unknown, "garbage", `${token}.x`].map((bad) => verify(bad)));
    expect(answers.map(errorCodes)).toEqual(Array(5).fill(["BAD_USER_INPUT"]));
    expect(new Set(answers.map((answer) => answer.errors?.[0]?.message)).size).toBe(1);
    expect(await verifiedAt(player.user.id)).toBeNull();
    expect(expectData(await verify(token))).toEqual({ verifyEmail: { id: player.user.id } });
  });

  it("refuses a superseded link: only the latest one resent works", async () => {
    const player = await newPlayer();
    const first = await latestMailToken(origin, databaseUrl, player.user.id, "VERIFY_EMAIL");
    expect(expectData(await resend(player))).toEqual({ resendVerificationEmail: true });
    const second = await latestMailToken(origin, databaseUrl, player.user.id, "VERIFY_EMAIL");
    expect(second).not.toBe(first);
    expect(errorCodes(await verify(first))).toEqual(["BAD_USER_INPUT"]);
    expect(await verifiedAt(player.user.id)).toBeNull();
    const [firstRequest] = await mailRequests(databaseUrl, player.user.id);
    expect((await readAccountMail(origin, firstRequest!.mailId)).body).toEqual(expect.objectContaining({ error: "GONE" }));
    expect(expectData(await verify(second))).toEqual({ verifyEmail: { id: player.user.id } });
  });

  it("refuses an expired link", async () => {
    const shortLived = await createIdentityApp(identityTestConfig({ EMAIL_VERIFICATION_TTL_MS: "1" }), captureLogs("identity", "warn").logger);
    const shortOrigin = await shortLived.listen();
    try {
      const player = await registerUser(`${shortOrigin}/graphql`, "Slow", await gatewayHeaders(anonymous));
      const [request] = await mailRequests(databaseUrl, player.user.id);
      // Already past its expiry when anyone asks: the worker pool is told not to send it, and the token is refused.
      expect((await readAccountMail(shortOrigin, request!.mailId)).status).toBe(410);
      const token = signEmailLinkToken(TEST_EMAIL_LINK_SECRET, request!.mailId, "VERIFY_EMAIL");
      expect(errorCodes(await verify(token, `${shortOrigin}/graphql`))).toEqual(["BAD_USER_INPUT"]);
      expect(await verifiedAt(player.user.id)).toBeNull();
      expect((await audit(player.user.id, "identity.email.verify")).map((entry) => entry.details.reason)).toEqual(["expired"]);
    } finally {
      await shortLived.stop();
    }
  });

  it("resends at most 3 times an hour, then answers RATE_LIMITED with retryAfter; never once verified", async () => {
    const player = await newPlayer();
    for (let i = 0; i < 3; i++) expect(expectData(await resend(player))).toEqual({ resendVerificationEmail: true });
    const limited = await resend(player);
    expect(errorCodes(limited)).toEqual(["RATE_LIMITED"]);
    expect(limited.errors?.[0]?.extensions?.retryAfter).toEqual(expect.any(Number));
    expect(await mailRequests(databaseUrl, player.user.id)).toHaveLength(4);

    const verified = await newPlayer();
    expect(expectData(await verify(await latestMailToken(origin, databaseUrl, verified.user.id, "VERIFY_EMAIL")))).toBeTruthy();
    expect(errorCodes(await resend(verified))).toEqual(["CONFLICT"]);
  });
});

describe("resetting a forgotten password", () => {
  it("answers an unknown address exactly as a known one, and mails only the known one", async () => {
    const player = await newPlayer("Forgetful");
    const unknownEntries = async () =>
      Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM audit_log WHERE action = 'identity.password-reset.request' AND target_id IS NULL AND details->>'reason' = 'unknown account'")).rows[0]!.n);
    const unknownBefore = await unknownEntries();
    const known = await gql(REQUEST_RESET, { e: player.email.toUpperCase() });
    const unknown = await gql(REQUEST_RESET, { e: `nobody-${randomUUID()}@example.test` });
    const shape = (response: typeof known) => ({ status: response.status, body: { data: response.data, errors: response.errors }, length: response.headers.get("content-length") });
    expect(shape(known)).toEqual({ status: 200, body: { data: { requestPasswordReset: true }, errors: undefined }, length: expect.any(String) });
    expect(shape(unknown)).toEqual(shape(known));
    expect(await kinds(player.user.id)).toEqual(["VERIFY_EMAIL", "RESET_PASSWORD"]);
    // Each left one audit entry, with no address in it.
    expect(await unknownEntries()).toBe(unknownBefore + 1);
    expect((await audit(player.user.id, "identity.password-reset.request")).map((entry) => [entry.outcome, Object.keys(entry.details)])).toEqual([["SUCCESS", ["mailId"]]]);
  });

  it("mails at most 3 links an hour per account, answering the same beyond", async () => {
    const player = await newPlayer();
    for (let i = 0; i < 5; i++) expect(expectData(await gql(REQUEST_RESET, { e: player.email }))).toEqual({ requestPasswordReset: true });
    expect(await kinds(player.user.id)).toEqual(["VERIFY_EMAIL", "RESET_PASSWORD", "RESET_PASSWORD", "RESET_PASSWORD"]);
    expect((await audit(player.user.id, "identity.password-reset.request")).map((entry) => entry.details.reason ?? entry.outcome)).toEqual(["SUCCESS", "SUCCESS", "SUCCESS", "rate limited", "rate limited"]);
  });

  it("sets the password once, ends every sign-in, verifies the address and sends a notice", async () => {
    const player = await newPlayer("Resetter");
    const other = expectData(await gql(LOGIN, { e: player.email, p: player.password })) as { login: { refreshToken: string } };
    expectData(await gql(REQUEST_RESET, { e: player.email }));
    const token = await latestMailToken(origin, databaseUrl, player.user.id, "RESET_PASSWORD");

    expect(errorCodes(await gql(RESET, { t: token, p: "short" }))).toEqual(["BAD_USER_INPUT"]);
    const before = Math.floor(Date.now() / 1000);
    expect(expectData(await gql(RESET, { t: token, p: "a brand new password" }))).toEqual({ resetPassword: true });
    // Reset answers once the second after it began: a token issued from now on is honoured.
    expect(Date.now()).toBeGreaterThanOrEqual((before + 1) * 1000);

    expect(errorCodes(await gql(REFRESH, { t: player.refreshToken }))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await gql(REFRESH, { t: other.login.refreshToken }))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await gql(LOGIN, { e: player.email, p: player.password }))).toEqual(["UNAUTHENTICATED"]);
    expectData(await gql(LOGIN, { e: player.email, p: "a brand new password" }));
    expect(await verifiedAt(player.user.id)).not.toBeNull();
    expect(await kinds(player.user.id)).toEqual(["VERIFY_EMAIL", "RESET_PASSWORD", "PASSWORD_CHANGED_NOTICE"]);
    // Every gateway is told to refuse the access tokens issued before.
    const revoked = await redis.zrange(REVOKED_SESSIONS_KEY, 0, -1);
    expect(revoked.filter((member) => member.startsWith(`${player.user.id} `)).map((member) => Number(member.split(" ")[1]))).toEqual([expect.any(Number)]);
    expect(Number(revoked.find((member) => member.startsWith(player.user.id))!.split(" ")[1])).toBeGreaterThan(before);
    // The notice tells of it; the link is used.
    const notice = (await mailRequests(databaseUrl, player.user.id)).at(-1)!;
    expect((await readAccountMail(origin, notice.mailId)).body).toEqual(expect.objectContaining({ kind: "PASSWORD_CHANGED_NOTICE", to: player.email, link: null, expiresAt: null }));
    expect(errorCodes(await gql(RESET, { t: token, p: "yet another password" }))).toEqual(["BAD_USER_INPUT"]);
    expect((await audit(player.user.id, "identity.password-reset")).map((entry) => [entry.outcome, entry.details.sessions ?? entry.details.reason])).toEqual([
      ["SUCCESS", 2],
      ["FAILURE", "used"],
    ]);
  });

  it("refuses a superseded or expired reset link, changing nothing", async () => {
    const player = await newPlayer();
    expectData(await gql(REQUEST_RESET, { e: player.email }));
    const first = await latestMailToken(origin, databaseUrl, player.user.id, "RESET_PASSWORD");
    expectData(await gql(REQUEST_RESET, { e: player.email }));
    expect(errorCodes(await gql(RESET, { t: first, p: "a brand new password" }))).toEqual(["BAD_USER_INPUT"]);
    expectData(await gql(LOGIN, { e: player.email, p: player.password }));
    expectData(await gql(REFRESH, { t: player.refreshToken }));
  });
});

describe("changing the address", () => {
  it("mails a link to the new address and a notice to the old; the link switches the address, verified", async () => {
    const player = await newPlayer("Mover");
    const newEmail = freshAddress();
    expect(errorCodes(await gql(REQUEST_CHANGE, { e: newEmail }, await as(player)))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await gql(REQUEST_CHANGE, { e: newEmail, p: "wrong password" }, await as(player)))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await gql(REQUEST_CHANGE, { e: newEmail, p: player.password }, await gatewayHeaders(asUser(player.user.id, ["PLAYER"], [Scope.READ, Scope.WRITE]))))).toEqual(["FORBIDDEN"]);
    expect(await kinds(player.user.id)).toEqual(["VERIFY_EMAIL"]);

    expect(expectData(await gql(REQUEST_CHANGE, { e: newEmail.toUpperCase(), p: player.password }, await as(player)))).toEqual({ requestEmailChange: true });
    const [, link, notice] = await mailRequests(databaseUrl, player.user.id);
    expect([link?.kind, notice?.kind]).toEqual(["CONFIRM_EMAIL_CHANGE", "EMAIL_CHANGE_NOTICE"]);
    expect((await readAccountMail(origin, link!.mailId)).body).toEqual(expect.objectContaining({ to: newEmail, link: expect.stringContaining("/account/confirm-email?token=") }));
    expect((await readAccountMail(origin, notice!.mailId)).body).toEqual(expect.objectContaining({ to: player.email, link: null }));
    // Nothing changes until the link is followed.
    expect(await me(player)).toEqual({ email: player.email, emailVerified: false });

    const token = await latestMailToken(origin, databaseUrl, player.user.id, "CONFIRM_EMAIL_CHANGE");
    expect(expectData(await gql(CONFIRM_CHANGE, { t: token }))).toEqual({ confirmEmailChange: { id: player.user.id, email: null, emailVerified: null } });
    expect(await me(player)).toEqual({ email: newEmail, emailVerified: true });
    const { rows } = await db.query<{ email_version: number }>("SELECT email_version FROM users WHERE id = $1", [player.user.id]);
    expect(rows[0]!.email_version).toBe(1);
    expect(errorCodes(await gql(CONFIRM_CHANGE, { t: token }))).toEqual(["BAD_USER_INPUT"]);
    // The notice of the change is still sent to the old address; the sign-up's verification link to it is moot.
    expect((await readAccountMail(origin, notice!.mailId)).status).toBe(200);
    expect((await readAccountMail(origin, (await mailRequests(databaseUrl, player.user.id))[0]!.mailId)).status).toBe(410);
    expectData(await gql(LOGIN, { e: newEmail, p: player.password }));
    expect(errorCodes(await gql(LOGIN, { e: player.email, p: player.password }))).toEqual(["UNAUTHENTICATED"]);
    expect((await audit(player.user.id, "identity.email-change.request")).map((entry) => entry.details.reason ?? entry.outcome)).toEqual(["wrong password", "SUCCESS"]);
    expect((await audit(player.user.id, "identity.email-change.confirm")).map((entry) => entry.outcome)).toEqual(["SUCCESS", "FAILURE"]);
  });

  it("answers true for an address another account has, and mails nothing", async () => {
    const [player, owner] = [await newPlayer(), await newPlayer()];
    expect(expectData(await gql(REQUEST_CHANGE, { e: owner.email, p: player.password }, await as(player)))).toEqual({ requestEmailChange: true });
    expect(await kinds(player.user.id)).toEqual(["VERIFY_EMAIL"]);
    expect(await kinds(owner.user.id)).toEqual(["VERIFY_EMAIL"]);
  });

  it("answers CONFLICT when the address was taken between the request and the link", async () => {
    const player = await newPlayer();
    const newEmail = freshAddress();
    expectData(await gql(REQUEST_CHANGE, { e: newEmail, p: player.password }, await as(player)));
    const token = await latestMailToken(origin, databaseUrl, player.user.id, "CONFIRM_EMAIL_CHANGE");
    await registerUser(url, "Quicker", await gatewayHeaders(anonymous), newEmail);
    expect(errorCodes(await gql(CONFIRM_CHANGE, { t: token }))).toEqual(["CONFLICT"]);
    expect(await me(player)).toEqual({ email: player.email, emailVerified: false });
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
