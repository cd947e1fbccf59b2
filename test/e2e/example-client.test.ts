import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { CampaignOverviewDocument, CommandsDocument, InboxDocument, JobDocument, MessagesDocument, CampaignChannelDocument, createStartalesClient } from "@startales/client";
import { startFakeOpenAi, type FakeOpenAi } from "../testkit/fake-openai";
import { startStack, type Stack } from "../testkit/stack";

/**
 * The example game client (examples/game-client/play.ts) as its own process against a whole
 * stack, as a developer runs it: it must play its session through and leave the state it
 * says it did. Its narration comes from a vendor on loopback, as a real deployment's would.
 */
const root = join(__dirname, "..", "..");
let stack: Stack;
let fake: FakeOpenAi;

beforeAll(async () => {
  fake = await startFakeOpenAi({ reply: "The fleet drops out of the jump gate into a silent, waiting system." });
  stack = await startStack({
    logLevel: "warn",
    providerEnv: { PROVIDER_DEPLOYMENTS: JSON.stringify([{ name: "storyteller", kind: "TEXT", modelGroup: "text", model: "fake-gpt", baseUrl: fake.baseUrl, priority: 0 }]) },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await fake?.stop();
});

/** Runs the example with tsx, as `npx tsx examples/game-client/play.ts` does. */
function play(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--require", join(root, "node_modules", "tsx", "dist", "cjs", "index.cjs"), join(root, "examples", "game-client", "play.ts")], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

it("plays a whole session and leaves the state it reports", async () => {
  const run = randomUUID().slice(0, 8);
  const result = await play({ GATEWAY_URL: stack.gatewayUrl, EXAMPLE_RUN_ID: run });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  const out = result.stdout;
  expect(out).toMatch(/^Alice and Bob signed up/m);
  expect(out).toMatch(new RegExp(`^Alice created campaign "Orion Rising ${run}" \\(DRAFT`, "m"));
  expect(out).toMatch(/^Bob joined as PLAYER; the campaign has 2 members$/m);
  expect(out).toMatch(/^ {2}event CAMPAIGN_STARTED$/m);
  expect(out).toMatch(/^ {2}event WORLD_CREATED \(tick 0\)$/m);
  expect(out).toMatch(/^The command was APPLIED at tick \d+$/m);
  expect(out).toMatch(/^Bob's chat \(.+\): Alice: Bob, the jump gate is ours\.$/m);
  expect(out).toContain(`Narrator: ${fake.reply}`);
  expect(out).toMatch(/^The narration job SUCCEEDED on storyteller/m);
  expect(out).toMatch(/^Bob's inbox: \[CAMPAIGN\] /m);
  expect(out).toMatch(/^Alice ended the campaign: ENDED/m);
  expect(out.trimEnd().split("\n").at(-1)).toBe("Session complete");

  // What it reports is what the API holds.
  const ids = JSON.parse(/^summary (.+)$/m.exec(out)![1]!) as { campaignId: string; commandId: string; messageId: string; jobId: string };
  const alice = createStartalesClient({ url: stack.graphqlUrl });
  const bob = createStartalesClient({ url: stack.graphqlUrl });
  await alice.signIn({ email: `alice-${run}@example.test`, password: "correct horse battery staple" });
  await bob.signIn({ email: `bob-${run}@example.test`, password: "correct horse battery staple" });
  const { campaign } = await alice.request(CampaignOverviewDocument, { id: ids.campaignId });
  expect(campaign).toMatchObject({ status: "ENDED", memberCount: 2, myMembership: { role: "GAME_MASTER" } });
  expect(campaign!.members.map((m) => m.user.displayName).sort()).toEqual(["Alice", "Bob"]);
  const { commands } = await alice.request(CommandsDocument, { campaignId: ids.campaignId });
  expect(commands).toEqual([expect.objectContaining({ id: ids.commandId, type: "SET_TAX", status: "APPLIED", payload: { rate: 30 } })]);
  const { campaignChannel } = await bob.request(CampaignChannelDocument, { campaignId: ids.campaignId });
  const { messages } = await bob.request(MessagesDocument, { channelId: campaignChannel.id });
  expect(messages).toEqual([expect.objectContaining({ id: ids.messageId, text: "Bob, the jump gate is ours.", author: expect.objectContaining({ displayName: "Alice" }) })]);
  const { job } = await alice.request(JobDocument, { id: ids.jobId });
  expect(job).toMatchObject({ status: "SUCCEEDED", text: fake.reply, deployment: "storyteller", campaign: { id: ids.campaignId } });
  expect(fake.calls("/v1/chat/completions").length).toBeGreaterThanOrEqual(1);
  const inbox = await bob.request(InboxDocument, {});
  expect(inbox.notifications.notifications.some((n) => n.campaign?.id === ids.campaignId)).toBe(true);
  // Bob read what he had when the example looked; only what came since (the end) is unread.
  expect(inbox.notifications.notifications.filter((n) => n.readAt === null).every((n) => /ended/i.test(n.title))).toBe(true);
}, 120_000);

it("exits 1 with a clear message when the gateway cannot be reached", async () => {
  const result = await play({ GATEWAY_URL: "http://127.0.0.1:9", EXAMPLE_TIMEOUT_MS: "10000" });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^example failed: cannot reach http:\/\/127\.0\.0\.1:9\/graphql/m);
}, 30_000);
