import { randomUUID } from "node:crypto";
import pg from "pg";
import { required } from "../testkit/config";
import { errorCodes, expectData, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The append-only audit logs of identity and campaign, through the gateway: what gets
 * recorded, that only admins read it, and that the database refuses to rewrite history.
 */

type Entry = {
  id: string;
  occurredAt: string;
  actor: { id: string; displayName: string; email: string | null } | null;
  action: string;
  outcome: "SUCCESS" | "FAILURE";
  targetType: string | null;
  targetId: string | null;
  requestId: string;
  details: Record<string, unknown> | null;
};

const ENTRY_FIELDS = "id occurredAt actor { id displayName email } action outcome targetType targetId requestId details";
const ADMIN_EMAIL = `audit-admin-${randomUUID()}@example.test`;

let stack: Stack;
let url: string;
let admin: TestUser;

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn", identityEnv: { BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL } });
  url = stack.graphqlUrl;
  admin = await registerUser(url, "Auditor", undefined, ADMIN_EMAIL);
});
afterAll(() => stack?.stop());

const call = <T = Record<string, unknown>>(token: string | undefined, query: string, variables: Record<string, unknown> = {}) =>
  postGraphQL<T>(url, { query, variables }, token ? { token } : {});

const login = (email: string, password: string) =>
  call(undefined, "mutation($input: LoginInput!) { login(input: $input) { accessToken } }", { input: { email, password } });

/**
 * Identity's entries for one action and target. Other test files write to the same log at
 * the same time, so this pages (with `after`) until it has looked far enough back.
 */
async function identityEntries(action: string, targetId: string): Promise<Entry[]> {
  const found: Entry[] = [];
  let after: string | undefined;
  for (let page = 0; page < 20; page++) {
    const data = expectData(
      await call<{ identityAuditLog: Entry[] }>(
        admin.accessToken,
        `query($action: String, $after: ID) { identityAuditLog(first: 200, action: $action, after: $after) { ${ENTRY_FIELDS} } }`,
        { action, after },
      ),
    );
    const entries = data.identityAuditLog;
    found.push(...entries.filter((entry) => entry.targetId === targetId));
    if (entries.length < 200) break;
    after = entries[entries.length - 1]!.id;
  }
  return found;
}

async function campaignEntries(campaignId: string): Promise<Entry[]> {
  const data = expectData(
    await call<{ campaignAuditLog: Entry[] }>(admin.accessToken, `query($id: ID!) { campaignAuditLog(campaignId: $id) { ${ENTRY_FIELDS} } }`, {
      id: campaignId,
    }),
  );
  return data.campaignAuditLog;
}

const isNewestFirst = (entries: Entry[]) =>
  entries.every((entry, i) => i === 0 || Date.parse(entries[i - 1]!.occurredAt) >= Date.parse(entry.occurredAt));

describe("identity audit log", () => {
  it("records a failed and then a successful login, without the email", async () => {
    const user = await registerUser(url, "Signer");
    expect(errorCodes(await login(user.email, "not the password"))).toEqual(["UNAUTHENTICATED"]);
    expectData(await login(user.email, user.password));

    const entries = await identityEntries("identity.login", user.user.id);
    expect(entries.map((entry) => entry.outcome)).toEqual(["SUCCESS", "FAILURE"]);
    expect(isNewestFirst(entries)).toBe(true);
    for (const entry of entries) {
      expect(entry).toMatchObject({ action: "identity.login", actor: null, targetType: "User", targetId: user.user.id });
      expect(entry.requestId).toEqual(expect.any(String));
      expect(JSON.stringify(entry)).not.toContain(user.email);
      expect(JSON.stringify(entry)).not.toContain(user.password);
    }
    expect(entries[1]!.details).toEqual({ reason: "wrong password" });
  });

  it("records creating and revoking an API key, by whom, without the key", async () => {
    const owner = await registerUser(url, "Toolsmith");
    const created = expectData(
      await call<{ createApiKey: { key: string; apiKey: { id: string } } }>(
        owner.accessToken,
        'mutation { createApiKey(input: { name: "audit tool", scopes: [READ] }) { key apiKey { id } } }',
      ),
    ).createApiKey;
    expectData(await call(owner.accessToken, "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", { id: created.apiKey.id }));

    const [creation] = await identityEntries("identity.api_key.create", created.apiKey.id);
    const [revocation] = await identityEntries("identity.api_key.revoke", created.apiKey.id);
    expect(creation).toMatchObject({ outcome: "SUCCESS", targetType: "ApiKey", actor: { id: owner.user.id } });
    expect(creation!.details).toMatchObject({ ownerId: owner.user.id, scopes: ["READ"] });
    expect(revocation).toMatchObject({ outcome: "SUCCESS", targetType: "ApiKey", actor: { id: owner.user.id }, details: { ownerId: owner.user.id } });
    expect(JSON.stringify([creation, revocation])).not.toContain(created.key);
  });

  it("records role changes with the roles before and after", async () => {
    const user = await registerUser(url, "Promoted");
    expectData(
      await call(admin.accessToken, "mutation($id: ID!) { setUserRoles(userId: $id, roles: [PLAYER, ANALYST]) { id } }", { id: user.user.id }),
    );
    const entries = await identityEntries("identity.roles.set", user.user.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      outcome: "SUCCESS",
      actor: { id: admin.user.id },
      targetType: "User",
      details: { from: ["PLAYER"], to: ["PLAYER", "ANALYST"] },
    });
  });

  it("checks the page size", async () => {
    for (const first of [0, 201]) {
      const response = await call(admin.accessToken, "query($first: Int) { identityAuditLog(first: $first) { id } }", { first });
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    }
  });
});

describe("campaign audit log", () => {
  it("records a game master's lifecycle changes with from and to", async () => {
    const gameMaster = await registerUser(url, "Keeper");
    const id = (
      expectData(await call<{ createCampaign: { id: string } }>(gameMaster.accessToken, 'mutation { createCampaign(input: { name: "Audited" }) { id } }'))
        .createCampaign
    ).id;
    expectData(await call(gameMaster.accessToken, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id }));
    expectData(await call(gameMaster.accessToken, "mutation($id: ID!) { pauseCampaign(id: $id) { id } }", { id }));

    const entries = await campaignEntries(id);
    expect(isNewestFirst(entries)).toBe(true);
    const byAction = Object.fromEntries(entries.map((entry) => [entry.action, entry]));
    expect(Object.keys(byAction).sort()).toEqual(["campaign.create", "campaign.pause", "campaign.start"]);
    for (const entry of entries) {
      expect(entry).toMatchObject({ outcome: "SUCCESS", targetType: "Campaign", targetId: id, actor: { id: gameMaster.user.id } });
    }
    expect(byAction["campaign.start"]!.details).toEqual({ from: "DRAFT", to: "RUNNING" });
    expect(byAction["campaign.pause"]!.details).toEqual({ from: "RUNNING", to: "PAUSED" });
  });
});

describe("who may read the logs", () => {
  it("refuses a player either log", async () => {
    const player = await registerUser(url, "Nosy");
    for (const query of ["{ identityAuditLog { id } }", "{ campaignAuditLog { id } }"]) {
      const response: GraphQLResponse<unknown> = await call(player.accessToken, query);
      expect(errorCodes(response)).toEqual(["FORBIDDEN"]);
    }
  });
});

describe("append-only, enforced by the database", () => {
  it.each([
    ["identity", "IDENTITY_DATABASE_URL"],
    ["campaign", "CAMPAIGN_DATABASE_URL"],
  ])("%s: INSERT works, UPDATE, DELETE and TRUNCATE are refused", async (_service, env) => {
    const db = new pg.Client({ connectionString: required(env) });
    await db.connect();
    try {
      const id = randomUUID();
      await db.query(
        "INSERT INTO audit_log (id, actor_roles, action, outcome, request_id) VALUES ($1, '{}', 'test.append_only', 'SUCCESS', $2)",
        [id, `req-${id}`],
      );
      await expect(db.query("UPDATE audit_log SET outcome = 'FAILURE' WHERE id = $1", [id])).rejects.toThrow(/append-only: UPDATE/);
      await expect(db.query("DELETE FROM audit_log WHERE id = $1", [id])).rejects.toThrow(/append-only: DELETE/);
      await expect(db.query("TRUNCATE audit_log")).rejects.toThrow(/append-only: TRUNCATE/);
      const rows = await db.query<{ outcome: string }>("SELECT outcome FROM audit_log WHERE id = $1", [id]);
      expect(rows.rows).toEqual([{ outcome: "SUCCESS" }]);
    } finally {
      await db.end();
    }
  });
});
