import { randomUUID } from "node:crypto";
import pg from "pg";
import { DELETED_ACCOUNTS_KEY, Scope, anonymous, createRedis, type Role, type SubgraphApp } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { identityTestConfig } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { registerUser } from "../testkit/users";

/**
 * deleteAccount on the identity subgraph (as the gateway calls it) and a database of its own,
 * so "the last admin" is this file's: what an account must prove, who cannot delete theirs,
 * and what a deletion leaves (an ACCOUNT_DELETED in the outbox, the announcement for the
 * gateways) and takes (the user, their sign-ins and keys).
 */
let database: Awaited<ReturnType<typeof privateDatabase>>;
let app: SubgraphApp;
let url: string;
let db: pg.Client;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "account-deletion-test");

beforeAll(async () => {
  database = await privateDatabase("identity", "deletion");
  app = await createIdentityApp(identityTestConfig({ DATABASE_URL: database.url, LOGIN_MAX_FAILURES: "2" }), captureLogs("identity", "warn").logger);
  url = `${await app.listen()}/graphql`;
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await app?.stop();
  redis.disconnect();
  await database?.drop();
});

const DELETE = "mutation($input: DeleteAccountInput) { deleteAccount(input: $input) }";
const deleteAs = async (userId: string, input?: Record<string, unknown>, options: { roles?: Role[]; apiKey?: boolean } = {}) =>
  postGraphQL(url, { query: DELETE, variables: { input } }, { headers: await gatewayHeaders(asUser(userId, options.roles ?? ["PLAYER"], options.apiKey ? [Scope.READ, Scope.WRITE] : undefined)) });
const newPlayer = async () => registerUser(url, "Deleting", await gatewayHeaders(anonymous));
const exists = async (userId: string) => (await db.query("SELECT 1 FROM users WHERE id = $1", [userId])).rowCount === 1;
const events = async (userId: string) =>
  (await db.query<{ type: string; topic: string }>("SELECT type, topic FROM outbox_events WHERE aggregate_id = $1 ORDER BY version, type", [userId])).rows.map((row) =>
    row.type === "ACCOUNT_ERASURE_REQUESTED" ? `${row.type} on ${row.topic}` : row.type,
  );
const DELETION = ["ACCOUNT_DELETED", `ACCOUNT_ERASURE_REQUESTED on ${identityTestConfig().ACCOUNT_ERASURE_TOPIC}`];

it("takes an account without a password on its email, compared as it was stored, and leaves the event and the announcement", async () => {
  // As an OpenID Connect sign-up leaves it: a marker where the password hash would be.
  const userId = randomUUID();
  const email = `oidc-${userId}@example.test`;
  await db.query("INSERT INTO users (id, email, display_name, password_hash, updated_at) VALUES ($1, $2, 'Oidc', 'oidc-only', now())", [userId, email]);
  expect(errorCodes(await deleteAs(userId, { password: "anything" }))).toEqual(["BAD_USER_INPUT"]);
  expect(errorCodes(await deleteAs(userId, { email: "someone-else@example.test" }))).toEqual(["BAD_USER_INPUT"]);
  expect(errorCodes(await deleteAs(userId, { email: "not an email" }))).toEqual(["BAD_USER_INPUT"]);
  expect(await exists(userId)).toBe(true);

  const before = Date.now();
  expect(expectData(await deleteAs(userId, { email: `  ${email.toUpperCase()} ` }))).toEqual({ deleteAccount: true });
  expect(await exists(userId)).toBe(false);
  expect(await events(userId)).toEqual(DELETION);
  // Announced until the last access token it may hold expires (the default 15 minutes).
  const until = Number(await redis.zscore(DELETED_ACCOUNTS_KEY, userId));
  expect(until).toBeGreaterThanOrEqual(before + 900_000);
  expect(until).toBeLessThanOrEqual(Date.now() + 900_000);
  // Gone: a second try is refused, and writes nothing.
  expect(errorCodes(await deleteAs(userId, { email }))).toEqual(["UNAUTHENTICATED"]);
  expect(await events(userId)).toEqual(DELETION);
});

it("takes a password account with its sign-ins and keys, and guards the password with the sign-in throttle", async () => {
  const player = await newPlayer();
  const id = player.user.id;
  const headers = await gatewayHeaders(asUser(id, ["PLAYER"]));
  expectData(await postGraphQL(url, { query: 'mutation { createApiKey(input: { name: "bot", scopes: [READ] }) { key } }' }, { headers }));
  // Two wrong passwords lock it (LOGIN_MAX_FAILURES=2): even the right one then waits.
  for (let i = 0; i < 2; i++) expect(errorCodes(await deleteAs(id, { password: `wrong-${i}` }))).toEqual(["UNAUTHENTICATED"]);
  expect(errorCodes(await deleteAs(id, { password: player.password }))).toEqual(["RATE_LIMITED"]);
  expect(await exists(id)).toBe(true);
  await redis.del(`login-throttle:failures:${player.email}`, `login-throttle:lock:${player.email}`);

  expect(expectData(await deleteAs(id, { password: player.password }))).toEqual({ deleteAccount: true });
  const left = await db.query<{ keys: number; tokens: number }>(
    "SELECT (SELECT count(*)::int FROM api_keys WHERE owner_id = $1) AS keys, (SELECT count(*)::int FROM refresh_tokens WHERE user_id = $1) AS tokens",
    [id],
  );
  expect(left.rows[0]).toEqual({ keys: 0, tokens: 0 });
  // The sign-up asked for its verification mail (the same version as ACCOUNT_REGISTERED, on another topic).
  expect(await events(id)).toEqual(["ACCOUNT_MAIL_REQUESTED", "ACCOUNT_REGISTERED", ...DELETION]);
});

it("refuses a tool's API key, a service account and the last admin, and lets an admin go once another remains", async () => {
  const player = await newPlayer();
  expect(errorCodes(await deleteAs(player.user.id, { password: player.password }, { apiKey: true }))).toEqual(["FORBIDDEN"]);
  const service = await newPlayer();
  await db.query("UPDATE users SET roles = '{SERVICE}' WHERE id = $1", [service.user.id]);
  expect(errorCodes(await deleteAs(service.user.id, { password: service.password }, { roles: ["SERVICE"] }))).toEqual(["FORBIDDEN"]);

  const [first, second] = [await newPlayer(), await newPlayer()];
  await db.query("UPDATE users SET roles = '{PLAYER}' WHERE 'ADMIN' = ANY(roles)");
  await db.query("UPDATE users SET roles = '{PLAYER,ADMIN}' WHERE id = $1", [first.user.id]);
  expect(errorCodes(await deleteAs(first.user.id, { password: first.password }, { roles: ["PLAYER", "ADMIN"] }))).toEqual(["CONFLICT"]);
  expect(await exists(first.user.id)).toBe(true);
  await db.query("UPDATE users SET roles = '{PLAYER,ADMIN}' WHERE id = $1", [second.user.id]);
  expect(expectData(await deleteAs(first.user.id, { password: first.password }, { roles: ["PLAYER", "ADMIN"] }))).toEqual({ deleteAccount: true });
  for (const user of [player, service]) expect(await exists(user.user.id)).toBe(true);
});
