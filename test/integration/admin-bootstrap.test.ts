import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { required } from "../testkit/config";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * `npm run admin -- EMAIL` (scripts/admin.ts), the way to a first admin on a local stack: run
 * as its own process against the test stack's identity database, it makes an existing
 * account an admin, audited like setUserRoles. Access tokens carry roles, so the account
 * acts as an admin once it refreshes or signs in again, not before.
 */

const root = join(__dirname, "..", "..");
let stack: Stack;
let url: string;

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  url = stack.graphqlUrl;
}, 60_000);
afterAll(() => stack?.stop());

type Run = { code: number; stdout: string; stderr: string };

/** The npm script as an operator runs it, pointed at this run's identity database (never a developer's). */
async function admin(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)("npm", ["run", "--silent", "admin", "--", ...args], {
      cwd: root,
      env: { ...process.env, IDENTITY_DATABASE_URL: required("IDENTITY_DATABASE_URL") },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

const call = (token: string, query: string, variables: Record<string, unknown> = {}) => postGraphQL<Record<string, unknown>>(url, { query, variables }, { token });
const AUDIT = "query($action: String) { identityAuditLog(first: 200, action: $action) { action outcome actor { id } targetType targetId details } }";
type Entry = { action: string; outcome: string; actor: { id: string } | null; targetType: string; targetId: string; details: Record<string, unknown> };

const refresh = async (user: TestUser) =>
  expectData(
    await postGraphQL<{ refreshToken: { accessToken: string; user: { roles: string[] } } }>(url, {
      query: "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken user { roles } } }",
      variables: { t: user.refreshToken },
    }),
  ).refreshToken;

describe("npm run admin -- EMAIL", () => {
  it("makes an existing account an admin, audited; its next access token acts as one", async () => {
    const user = await registerUser(url, "Operator");
    expect(errorCodes(await call(user.accessToken, AUDIT))).toEqual(["FORBIDDEN"]);

    // The email as an operator might type it: case and spacing do not matter.
    const run = await admin(`  ${user.email.toUpperCase()} `);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toContain(`${user.email} (Operator, ${user.user.id}): roles PLAYER → PLAYER, ADMIN`);
    expect(run.stdout).toMatch(/sign in again .* or refresh/);

    // The token it already had was signed with the old roles.
    expect(errorCodes(await call(user.accessToken, AUDIT))).toEqual(["FORBIDDEN"]);
    const refreshed = await refresh(user);
    expect(refreshed.user.roles).toEqual(["PLAYER", "ADMIN"]);
    const entries = expectData(await call(refreshed.accessToken, AUDIT, { action: "identity.roles.set" })).identityAuditLog as Entry[];
    expect(entries.filter((entry) => entry.targetId === user.user.id)).toEqual([
      {
        action: "identity.roles.set",
        outcome: "SUCCESS",
        actor: null,
        targetType: "User",
        targetId: user.user.id,
        details: { from: ["PLAYER"], to: ["PLAYER", "ADMIN"], via: "npm run admin" },
      },
    ]);

    // Signing in again gives an admin token too, and the admin can use setUserRoles from now on.
    const login = expectData(
      await postGraphQL<{ login: { accessToken: string } }>(url, {
        query: "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        variables: { i: { email: user.email, password: user.password } },
      }),
    ).login;
    const other = await registerUser(url, "Analyst");
    const promoted = expectData(await call(login.accessToken, "mutation($id: ID!) { setUserRoles(userId: $id, roles: [PLAYER, ANALYST]) { roles } }", { id: other.user.id }));
    expect(promoted.setUserRoles).toEqual({ roles: ["PLAYER", "ANALYST"] });
  }, 30_000);

  it("changes nothing for an account that is already an admin", async () => {
    const user = await registerUser(url, "Twice");
    expect((await admin(user.email)).code).toBe(0);
    const again = await admin(user.email);
    expect(again).toMatchObject({ code: 0, stderr: "" });
    expect(again.stdout).toContain(`${user.email} (Twice, ${user.user.id}) already has ADMIN`);
    const token = (await refresh(user)).accessToken;
    const entries = expectData(await call(token, AUDIT, { action: "identity.roles.set" })).identityAuditLog as Entry[];
    expect(entries.filter((entry) => entry.targetId === user.user.id)).toHaveLength(1);
  }, 30_000);

  it("exits 1 with a clear message for an email without an account, and 2 without one email", async () => {
    const missing = await admin("nobody-at-all@example.test");
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toContain("No account with the email nobody-at-all@example.test in ");
    expect(missing.stderr).toContain("register it first");

    for (const args of [[], ["a@example.test", "b@example.test"], ["not-an-email"]]) {
      const usage = await admin(...args);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain("usage: npm run admin -- EMAIL");
    }
  }, 30_000);
});
