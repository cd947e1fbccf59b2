import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { API_KEY_REVOKED_CHANNEL, IDENTITY_HEADER, anonymous, type Role, type Scope, type SubgraphApp } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import {
  ApiKeysOfDocument,
  CreateApiKeyDocument,
  CreateServiceAccountDocument,
  CreateServiceApiKeyDocument,
  LoginDocument,
  MyApiKeysDocument,
  RevokeApiKeyDocument,
  SetUserRolesDocument,
  type CreateApiKeyInput,
} from "../generated/operations";
import { identityTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { registerUser, type TestUser } from "../testkit/users";

type Verified = { userId: string; roles: Role[]; scopes: Scope[]; apiKeyId: string; expiresAt: string | null };

/**
 * API keys on the identity subgraph alone (as the gateway calls it) and its real database:
 * people create keys for their tools, admins for services, and the gateway verifies them.
 */
describe("identity API keys: tools and services get keys, and the gateway checks them", () => {
  let app: SubgraphApp;
  let baseUrl: string;
  let url: string;
  let db: pg.Client;

  beforeAll(async () => {
    app = await createIdentityApp(identityTestConfig(), captureLogs("identity").logger);
    baseUrl = await app.listen();
    url = `${baseUrl}/graphql`;
    db = new pg.Client({ connectionString: required("IDENTITY_DATABASE_URL") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await app?.stop();
  });

  const newPlayer = async (name: string) => registerUser(url, name, await gatewayHeaders(anonymous));
  const as = (user: TestUser, roles: Role[] = ["PLAYER"]) => gatewayHeaders(asUser(user.user.id, roles));
  /** Headers of a request the gateway verified from an API key (not an access token). */
  const withKey = (user: TestUser, scopes: Scope[], roles: Role[] = ["PLAYER"]) => gatewayHeaders(asUser(user.user.id, roles, scopes));
  const input = (overrides: Partial<CreateApiKeyInput> = {}): CreateApiKeyInput => ({ name: "ci bot", scopes: ["READ"], ...overrides });
  const createKey = async (headers: Record<string, string>, overrides: Partial<CreateApiKeyInput> = {}) =>
    graphql(url, CreateApiKeyDocument, { input: input(overrides) }, { headers });
  const keyOf = async (user: TestUser, overrides: Partial<CreateApiKeyInput> = {}) =>
    expectData(await createKey(await as(user), overrides)).createApiKey;
  const myKeys = async (headers: Record<string, string>) => expectData(await graphql(url, MyApiKeysDocument, {}, { headers })).myApiKeys;
  const revoke = async (id: string, headers: Record<string, string>) => graphql(url, RevokeApiKeyDocument, { id }, { headers });
  const fieldsOf = (response: GraphQLResponse<unknown>) =>
    [...new Set(((response.errors?.[0]?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field))].sort();
  const sha256 = (text: string) => createHash("sha256").update(text).digest("base64url");
  const wellFormedKey = () => `stk_${randomBytes(4).toString("hex")}_${randomBytes(32).toString("hex")}`;

  /** The gateway's call: POST /internal/api-keys/verify with its signed identity. */
  const verify = async (key: string, headers?: Record<string, string>) => {
    const response = await fetch(`${baseUrl}/internal/api-keys/verify`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(headers ?? (await gatewayHeaders(anonymous))) },
      body: JSON.stringify({ key }),
    });
    return { status: response.status, body: (await response.json()) as Verified | { error: string } };
  };
  const lastUsedAt = async (id: string) =>
    (await db.query<{ last_used_at: Date | null }>("SELECT last_used_at FROM api_keys WHERE id = $1", [id])).rows[0]?.last_used_at;

  describe("a player creates a key for their tool", () => {
    it("shows the key once, in the documented format, and stores only its hash", async () => {
      const player = await newPlayer("Builder");
      const created = await keyOf(player, { name: "  nightly export  ", scopes: ["READ"] });

      expect(created.key).toMatch(/^stk_[0-9a-f]{8}_[0-9a-f]{64}$/);
      expect(created.apiKey).toMatchObject({
        name: "nightly export",
        prefix: created.key.slice(0, 12),
        scopes: ["READ"],
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
        owner: { id: player.user.id, roles: ["PLAYER"] },
      });

      const { rows } = await db.query<{ key_hash: string; row: string }>(
        "SELECT key_hash, row_to_json(k)::text AS row FROM api_keys k WHERE owner_id = $1",
        [player.user.id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]?.key_hash).toBe(sha256(created.key));
      const secret = created.key.slice(13);
      expect(rows[0]?.row).not.toContain(secret);
    });

    it("lists the caller's keys newest first without the key or its hash", async () => {
      const player = await newPlayer("Lister");
      const first = await keyOf(player, { name: "first" });
      const second = await keyOf(player, { name: "second", scopes: ["READ", "WRITE"] });

      const listed = await myKeys(await as(player));
      expect(listed.map((k) => k.name)).toEqual(["second", "first"]);
      expect(listed[0]).toEqual(second.apiKey);
      const text = JSON.stringify(listed);
      for (const { key } of [first, second]) {
        expect(text).not.toContain(key.slice(13));
        expect(text).not.toContain(sha256(key));
      }
      // Nobody else's keys show up in the list.
      const other = await newPlayer("Other");
      expect(await myKeys(await as(other))).toEqual([]);
    });

    it("lets a key's own API key list it (reading is fine with a READ key)", async () => {
      const player = await newPlayer("Reader");
      const created = await keyOf(player);
      expect((await myKeys(await withKey(player, ["read"]))).map((k) => k.id)).toEqual([created.apiKey.id]);
    });

    it("stores READ for a READ key and READ+WRITE for a WRITE key, whatever the order or repeats", async () => {
      const player = await newPlayer("Scoper");
      expect((await keyOf(player, { scopes: ["READ", "READ"] })).apiKey.scopes).toEqual(["READ"]);
      expect((await keyOf(player, { scopes: ["WRITE"] })).apiKey.scopes).toEqual(["READ", "WRITE"]);
      expect((await keyOf(player, { scopes: ["WRITE", "READ"] })).apiKey.scopes).toEqual(["READ", "WRITE"]);
    });

    it("accepts an expiry in the future and returns it", async () => {
      const player = await newPlayer("Planner");
      const expiresAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
      expect((await keyOf(player, { expiresAt })).apiKey.expiresAt).toBe(expiresAt);
    });

    it("refuses bad input with BAD_USER_INPUT naming each field", async () => {
      const player = await newPlayer("Careless");
      const headers = await as(player);
      const all = await createKey(headers, { name: "   ", scopes: [], expiresAt: new Date(Date.now() - 60_000).toISOString() });
      expect(errorCodes(all)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(all)).toEqual(["expiresAt", "name", "scopes"]);

      const long = await createKey(headers, { name: "x".repeat(65) });
      expect(fieldsOf(long)).toEqual(["name"]);
      expect(expectData(await createKey(headers, { name: "x".repeat(64) })).createApiKey.apiKey.name).toHaveLength(64);
      expect(fieldsOf(await createKey(headers, { name: "tab\there" }))).toEqual(["name"]);
      expect(await myKeys(headers)).toHaveLength(1);
    });

    it("caps a user at 25 active keys (CONFLICT); revoked and expired keys do not count", async () => {
      const player = await newPlayer("Hoarder");
      const headers = await as(player);
      const keys = [];
      for (let i = 0; i < 25; i++) keys.push(await keyOf(player, { name: `key ${i}` }));

      const refused = await createKey(headers, { name: "one too many" });
      expect(errorCodes(refused)).toEqual(["CONFLICT"]);

      expectData(await revoke(keys[0]!.apiKey.id, headers));
      expectData(await createKey(headers, { name: "after a revocation" }));
      expect(errorCodes(await createKey(headers, { name: "full again" }))).toEqual(["CONFLICT"]);

      await db.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [keys[1]!.apiKey.id]);
      expectData(await createKey(headers, { name: "after an expiry" }));
    });

    it("lets only a signed-in person create keys: an API key gets FORBIDDEN, anonymous UNAUTHENTICATED", async () => {
      const player = await newPlayer("Tool");
      expect(errorCodes(await createKey(await withKey(player, ["read", "write"])))).toEqual(["FORBIDDEN"]);
      expect(errorCodes(await createKey(await withKey(player, ["read"])))).toEqual(["FORBIDDEN"]);
      expect(errorCodes(await createKey(await gatewayHeaders(anonymous)))).toEqual(["UNAUTHENTICATED"]);
      expect(await myKeys(await as(player))).toEqual([]);
    });
  });

  describe("revoking a key", () => {
    it("revokes at once, and revoking again returns the key unchanged", async () => {
      const player = await newPlayer("Revoker");
      const created = await keyOf(player);
      expect((await verify(created.key)).status).toBe(200);

      const revoked = expectData(await revoke(created.apiKey.id, await as(player))).revokeApiKey;
      expect(revoked.revokedAt).toEqual(expect.any(String));
      expect((await verify(created.key)).status).toBe(401);

      const again = expectData(await revoke(created.apiKey.id, await as(player))).revokeApiKey;
      expect(again).toEqual(revoked);
      expect((await myKeys(await as(player)))[0]?.revokedAt).toBe(revoked.revokedAt);
    });

    it("announces the revoked key's hash on Redis, so every gateway can drop it", async () => {
      const player = await newPlayer("Announcer");
      const created = await keyOf(player);
      const subscriber = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
      try {
        const heard: string[] = [];
        const ours = new Promise<void>((resolve) =>
          subscriber.on("message", (_channel: string, message: string) => {
            heard.push(message);
            if (message === sha256(created.key)) resolve();
          }),
        );
        await subscriber.subscribe(API_KEY_REVOKED_CHANNEL);
        expectData(await revoke(created.apiKey.id, await as(player)));
        await ours;
        expect(heard).toContain(sha256(created.key));
        expect(heard.join("\n")).not.toContain(created.key);
      } finally {
        subscriber.disconnect();
      }
    });

    it("answers NOT_FOUND to another player, as for a key that does not exist, and the key keeps working", async () => {
      const alice = await newPlayer("Alice");
      const mallory = await newPlayer("Mallory");
      const created = await keyOf(alice);

      expect(errorCodes(await revoke(created.apiKey.id, await as(mallory)))).toEqual(["NOT_FOUND"]);
      expect(errorCodes(await revoke(randomUUID(), await as(mallory)))).toEqual(["NOT_FOUND"]);
      expect((await verify(created.key)).status).toBe(200);

      const malformed = await revoke("42", await as(mallory));
      expect(errorCodes(malformed)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(malformed)).toEqual(["id"]);
    });

    it("lets a tool revoke its own key with a WRITE key, but not with a READ key", async () => {
      const player = await newPlayer("Leaky");
      const created = await keyOf(player, { scopes: ["WRITE"] });
      expect(errorCodes(await revoke(created.apiKey.id, await withKey(player, ["read"])))).toEqual(["FORBIDDEN"]);
      expect((await verify(created.key)).status).toBe(200);

      expectData(await revoke(created.apiKey.id, await withKey(player, ["read", "write"])));
      expect((await verify(created.key)).status).toBe(401);
    });

    it("lets an admin list and revoke anyone's keys, and no one else list them", async () => {
      const admin = await newPlayer("Admin");
      const player = await newPlayer("Watched");
      const created = await keyOf(player);
      const adminHeaders = await as(admin, ["PLAYER", "ADMIN"]);

      const listed = expectData(await graphql(url, ApiKeysOfDocument, { ownerId: player.user.id }, { headers: adminHeaders })).apiKeys;
      expect(listed.map((k) => k.id)).toEqual([created.apiKey.id]);
      const asPlayer = await graphql(url, ApiKeysOfDocument, { ownerId: player.user.id }, { headers: await as(admin) });
      expect(errorCodes(asPlayer)).toEqual(["FORBIDDEN"]);
      const unknown = await graphql(url, ApiKeysOfDocument, { ownerId: randomUUID() }, { headers: adminHeaders });
      expect(errorCodes(unknown)).toEqual(["NOT_FOUND"]);

      expect(expectData(await revoke(created.apiKey.id, adminHeaders)).revokeApiKey.revokedAt).toEqual(expect.any(String));
      expect((await verify(created.key)).status).toBe(401);
    });
  });

  describe("an admin sets up a service", () => {
    const adminRoles: Role[] = ["PLAYER", "ADMIN"];

    it("creates a service account that cannot sign in, and a key that acts as it", async () => {
      const admin = await newPlayer("Admin");
      const headers = await as(admin, adminRoles);
      const service = expectData(await graphql(url, CreateServiceAccountDocument, { input: { name: "Market feed" } }, { headers }))
        .createServiceAccount;
      expect(service).toEqual({ id: expect.any(String), displayName: "Market feed", roles: ["SERVICE"] });

      const created = expectData(
        await graphql(url, CreateServiceApiKeyDocument, { serviceAccountId: service.id, input: input({ scopes: ["WRITE"] }) }, { headers }),
      ).createServiceApiKey;
      expect(created.apiKey).toMatchObject({ scopes: ["READ", "WRITE"], owner: { id: service.id, roles: ["SERVICE"] } });

      const verified = await verify(created.key);
      expect(verified).toEqual({
        status: 200,
        body: { userId: service.id, roles: ["SERVICE"], scopes: ["read", "write"], apiKeyId: created.apiKey.id, expiresAt: null },
      });
      const listed = expectData(await graphql(url, ApiKeysOfDocument, { ownerId: service.id }, { headers })).apiKeys;
      expect(listed.map((k) => k.id)).toEqual([created.apiKey.id]);

      // No password works for it: it acts only through its keys.
      const { rows } = await db.query<{ email: string }>("SELECT email FROM users WHERE id = $1", [service.id]);
      const email = rows[0]?.email ?? "";
      for (const password of ["", "!service-account", "password"]) {
        const login = await graphql(url, LoginDocument, { input: { email, password } }, { headers: await gatewayHeaders(anonymous) });
        expect(errorCodes(login)).toEqual([password === "" ? "BAD_USER_INPUT" : "UNAUTHENTICATED"]);
      }
    });

    it("is for admins signed in with an access token only", async () => {
      const admin = await newPlayer("Admin");
      const player = await newPlayer("Player");
      const serviceInput = { input: { name: "Scheduler" } };
      for (const headers of [await as(player), await withKey(admin, ["read", "write"], adminRoles)]) {
        expect(errorCodes(await graphql(url, CreateServiceAccountDocument, serviceInput, { headers }))).toEqual(["FORBIDDEN"]);
      }
      const service = expectData(await graphql(url, CreateServiceAccountDocument, serviceInput, { headers: await as(admin, adminRoles) }))
        .createServiceAccount;
      for (const headers of [await as(player), await withKey(admin, ["read", "write"], adminRoles)]) {
        const response = await graphql(url, CreateServiceApiKeyDocument, { serviceAccountId: service.id, input: input() }, { headers });
        expect(errorCodes(response)).toEqual(["FORBIDDEN"]);
      }
      expect(errorCodes(await graphql(url, CreateServiceAccountDocument, serviceInput, { headers: await gatewayHeaders(anonymous) }))).toEqual([
        "UNAUTHENTICATED",
      ]);
    });

    it("gives service keys only to service accounts, and checks its input", async () => {
      const admin = await newPlayer("Admin");
      const player = await newPlayer("Player");
      const headers = await as(admin, adminRoles);
      for (const serviceAccountId of [player.user.id, randomUUID()]) {
        const response = await graphql(url, CreateServiceApiKeyDocument, { serviceAccountId, input: input() }, { headers });
        expect(errorCodes(response)).toEqual(["NOT_FOUND"]);
      }
      const badId = await graphql(url, CreateServiceApiKeyDocument, { serviceAccountId: "svc", input: input({ scopes: [] }) }, { headers });
      expect(fieldsOf(badId)).toEqual(["serviceAccountId"]);
      const badName = await graphql(url, CreateServiceAccountDocument, { input: { name: "x" } }, { headers });
      expect(errorCodes(badName)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(badName)).toEqual(["name"]);
    });
  });

  describe("the gateway's verification endpoint", () => {
    it("refuses callers without the gateway's signed identity with 403, whatever the key", async () => {
      const player = await newPlayer("Guarded");
      const created = await keyOf(player);
      const forged = await gatewayHeaders(anonymous, randomBytes(48).toString("base64url"));
      for (const headers of [{}, forged, { [IDENTITY_HEADER]: "not-a-jwt" }]) {
        const response = await verify(created.key, headers);
        expect(response.status).toBe(403);
        expect(JSON.stringify(response.body)).not.toContain(player.user.id);
      }
      // A GET does not reach it at all.
      expect((await fetch(`${baseUrl}/internal/api-keys/verify`)).status).toBe(404);
    });

    it("answers who holds a valid key: the owner's current roles, the key's scopes and id", async () => {
      const player = await newPlayer("Holder");
      const admin = await newPlayer("Admin");
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const created = await keyOf(player, { expiresAt });
      expect(await verify(created.key)).toEqual({
        status: 200,
        body: { userId: player.user.id, roles: ["PLAYER"], scopes: ["read"], apiKeyId: created.apiKey.id, expiresAt },
      });

      const headers = await as(admin, ["PLAYER", "ADMIN"]);
      expectData(await graphql(url, SetUserRolesDocument, { userId: player.user.id, roles: ["PLAYER", "GAME_MASTER"] }, { headers }));
      expect((await verify(created.key)).body).toMatchObject({ roles: ["PLAYER", "GAME_MASTER"] });
    });

    it("answers 401 for a key that is unknown, malformed, revoked or expired", async () => {
      const player = await newPlayer("Refused");
      const revoked = await keyOf(player, { name: "revoked" });
      expectData(await revoke(revoked.apiKey.id, await as(player)));
      const expired = await keyOf(player, { name: "expired" });
      await db.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [expired.apiKey.id]);
      const valid = await keyOf(player, { name: "valid" });

      const tampered = `${valid.key.slice(0, -1)}${valid.key.endsWith("0") ? "1" : "0"}`;
      for (const key of [wellFormedKey(), "garbage", "", valid.key.toUpperCase(), tampered, revoked.key, expired.key]) {
        expect(await verify(key)).toEqual({ status: 401, body: { error: expect.any(String) } });
      }
      expect((await verify(valid.key)).status).toBe(200);
    });

    it("answers 400 to a body that is not {key}", async () => {
      const headers = { "content-type": "application/json", ...(await gatewayHeaders(anonymous)) };
      for (const body of ["not json", "{}", JSON.stringify({ key: 42 })]) {
        const response = await fetch(`${baseUrl}/internal/api-keys/verify`, { method: "POST", headers, body });
        expect(response.status).toBe(400);
      }
    });

    it("records when a key was last used, at most once a minute", async () => {
      const player = await newPlayer("Busy");
      const created = await keyOf(player);
      expect(await lastUsedAt(created.apiKey.id)).toBeNull();

      expect((await verify(created.key)).status).toBe(200);
      const first = await lastUsedAt(created.apiKey.id);
      expect(first).toBeInstanceOf(Date);
      expect((await myKeys(await as(player)))[0]?.lastUsedAt).toBe(first?.toISOString());

      // Used again within the minute: the recorded time stays.
      for (let i = 0; i < 3; i++) expect((await verify(created.key)).status).toBe(200);
      expect(await lastUsedAt(created.apiKey.id)).toEqual(first);

      // Once the recorded use is more than a minute old, the next use is recorded.
      await db.query("UPDATE api_keys SET last_used_at = last_used_at - interval '2 minutes' WHERE id = $1", [created.apiKey.id]);
      const aged = await lastUsedAt(created.apiKey.id);
      expect((await verify(created.key)).status).toBe(200);
      const recorded = await lastUsedAt(created.apiKey.id);
      expect(recorded!.getTime()).toBeGreaterThan(aged!.getTime());
      expect(recorded!.getTime()).toBeGreaterThanOrEqual(first!.getTime());
    });

    it("does not record a use of a refused key", async () => {
      const player = await newPlayer("Idle");
      const created = await keyOf(player);
      expectData(await revoke(created.apiKey.id, await as(player)));
      expect((await verify(created.key)).status).toBe(401);
      expect(await lastUsedAt(created.apiKey.id)).toBeNull();
    });
  });
});
