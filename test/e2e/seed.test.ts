import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";

/**
 * `npm run seed` (scripts/seed.ts) against a stack, as a developer runs it against `npm
 * start`: what it prints is enough to sign in, and what it made is there, read back through
 * the gateway. It runs twice: a second run makes a demo of its own.
 */

const root = join(__dirname, "..", "..");
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

type Seeded = { output: string; password: string; accounts: Record<string, string>; campaignId: string; channelId: string; jobId: string };

/** Runs the seed as `npm run seed` does (tsx), with this process's env (npm run admin finds the run's identity database there). */
async function seed(): Promise<Seeded> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", join(root, "scripts", "seed.ts")], {
    cwd: root,
    env: { ...process.env, GATEWAY_URL: stack.graphqlUrl },
  });
  const find = (pattern: RegExp) => {
    const found = pattern.exec(stdout)?.[1];
    if (!found) throw new Error(`the seed printed nothing matching ${pattern}:\n${stdout}`);
    return found;
  };
  const accounts = Object.fromEntries([...stdout.matchAll(/^ {2}(admin|alice|bob|carol) +(\S+@\S+)/gm)].map((m) => [m[1]!, m[2]!]));
  return {
    output: stdout,
    password: find(/^Password of every account below \(shown only now\): (\S+)$/m),
    accounts,
    campaignId: find(/^Campaign ".*" \((\S+)\): RUNNING/m),
    channelId: find(/^Chat: .* \(channel (\S+)\)$/m),
    jobId: find(/^Narration \(job (\S+), /m),
  };
}

async function signIn(email: string, password: string): Promise<{ token: string; roles: string[] }> {
  const { login } = expectData(
    await postGraphQL<{ login: { accessToken: string; user: { roles: string[] } } }>(stack.graphqlUrl, {
      query: "mutation($input: LoginInput!) { login(input: $input) { accessToken user { roles } } }",
      variables: { input: { email, password } },
    }),
  );
  return { token: login.accessToken, roles: login.user.roles };
}

const call = async <T>(token: string, query: string, variables: Record<string, unknown> = {}) => expectData(await postGraphQL<T>(stack.graphqlUrl, { query, variables }, { token }));

it("prints credentials that sign in, and leaves a running campaign with AI civilizations, chat, notifications and a narration", async () => {
  const seeded = await seed();
  expect(Object.keys(seeded.accounts).sort()).toEqual(["admin", "alice", "bob", "carol"]);

  const sessions = Object.fromEntries(await Promise.all(Object.entries(seeded.accounts).map(async ([key, email]) => [key, await signIn(email, seeded.password)] as const)));
  // ADMIN comes from npm run admin when the repository has it; otherwise the seed says what to run.
  if (existsSync(join(root, "scripts", "admin.ts"))) expect(sessions.admin!.roles).toContain("ADMIN");
  else expect(seeded.output).toContain(`npm run admin -- ${seeded.accounts.admin}`);
  const alice = sessions.alice!.token;
  const bob = sessions.bob!.token;

  const { campaign } = await call<{ campaign: { status: string; members: { role: string }[]; world: { civilizations: { isAi: boolean }[] } | null } }>(
    alice,
    "query($id: ID!) { campaign(id: $id) { status members { role } world { civilizations { isAi } } } }",
    { id: seeded.campaignId },
  );
  expect(campaign.status).toBe("RUNNING");
  expect(campaign.members.map((m) => m.role).sort()).toEqual(["GAME_MASTER", "PLAYER", "PLAYER"]);
  expect(campaign.world!.civilizations.filter((c) => !c.isAi)).toHaveLength(3);
  expect(campaign.world!.civilizations.filter((c) => c.isAi).length).toBeGreaterThan(0);

  const { messages } = await call<{ messages: { text: string; author: { displayName: string } }[] }>(bob, "query($id: ID!) { messages(channelId: $id) { text author { displayName } } }", {
    id: seeded.channelId,
  });
  expect(messages.map((m) => m.author.displayName).sort()).toEqual(["Alice", "Bob", "Carol"]);

  // The announcement is there at once; the campaign's start reaches the inbox through the worker pool.
  const categories = await eventually("Bob's notifications", async () => {
    const { notifications } = await call<{ notifications: { notifications: { category: string }[] } }>(bob, "{ notifications { notifications { category } } }");
    const seen = notifications.notifications.map((n) => n.category);
    return seen.includes("ANNOUNCEMENT") && seen.includes("CAMPAIGN") ? seen : undefined;
  });
  expect(categories).toEqual(expect.arrayContaining(["ANNOUNCEMENT", "CAMPAIGN"]));

  const { job } = await call<{ job: { status: string; text: string | null } }>(alice, "query($id: ID!) { job(id: $id) { status text } }", { id: seeded.jobId });
  expect(job.status).toBe("SUCCEEDED");
  expect(job.text).toEqual(expect.any(String));

  // Again: a demo of its own, nothing shared with the first.
  const again = await seed();
  expect(Object.values(again.accounts).filter((email) => Object.values(seeded.accounts).includes(email))).toEqual([]);
  expect(again.campaignId).not.toBe(seeded.campaignId);
  expect((await signIn(again.accounts.carol!, again.password)).token).toEqual(expect.any(String));
}, 180_000);
