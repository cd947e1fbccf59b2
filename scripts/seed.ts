/**
 * `npm run seed`: a demo in a running stack (`npm start` or `npm run dev`), made through the
 * public GraphQL API only, as players' clients would make it: four accounts (an admin, a game
 * master, two players), a RUNNING campaign whose world has its AI civilizations, chat in the
 * campaign's channel, notifications (the game's own and an announcement), a command and an AI
 * narration (the provider's offline narrator when no vendor is configured). Prints the
 * accounts' emails and their password, once.
 *   GATEWAY_URL     the gateway's GraphQL endpoint (default http://127.0.0.1:4000/graphql)
 *   SEED_PASSWORD   the accounts' password (default: generated)
 * Each run makes a demo of its own (the accounts' emails and the campaign carry the run's tag),
 * so it can run again at any time and never changes an earlier run's. The admin gets ADMIN
 * from `npm run admin` (it writes identity's database, which the API cannot grant a first
 * admin); without it, the command to run is printed instead.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..");
const url = process.env.GATEWAY_URL ?? "http://127.0.0.1:4000/graphql";
const tag = randomBytes(3).toString("hex");
const password = process.env.SEED_PASSWORD ?? randomBytes(12).toString("base64url");

type GraphQLError = { message: string; extensions?: { code?: string } };
type Account = { key: string; displayName: string; email: string; id: string; token: string; roles: string[] };

/** One operation; throws with the errors' codes and messages, naming `step`. */
async function gql<T>(step: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new Error(`${step}: cannot reach ${url} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}); is the stack running (npm start)?`);
  }
  const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: GraphQLError[] };
  if (body.errors?.length || !body.data) {
    const errors = body.errors?.map((e) => `${e.extensions?.code ?? "ERROR"}: ${e.message}`).join("; ") ?? `HTTP ${response.status}`;
    throw new Error(`${step}: ${errors}`);
  }
  return body.data;
}

/** Polls `probe` until it returns a value, for at most `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const AUTH = "accessToken user { id roles }";
type AuthPayload = { accessToken: string; user: { id: string; roles: string[] } };

async function register(key: string, displayName: string): Promise<Account> {
  const email = `${key}.${tag}@demo.startales.test`;
  const { register } = await gql<{ register: AuthPayload }>(
    `registering ${email}`,
    `mutation($input: RegisterInput!) { register(input: $input) { ${AUTH} } }`,
    { input: { email, password, displayName } },
  );
  return { key, displayName, email, id: register.user.id, token: register.accessToken, roles: register.user.roles };
}

async function signIn(account: Account): Promise<Account> {
  const { login } = await gql<{ login: AuthPayload }>(`signing in ${account.email}`, `mutation($input: LoginInput!) { login(input: $input) { ${AUTH} } }`, {
    input: { email: account.email, password },
  });
  return { ...account, token: login.accessToken, roles: login.user.roles };
}

/**
 * ADMIN through `npm run admin` (run here as it runs there); the caller then signs in again,
 * since access tokens carry roles. `note` says what to do when it could not be granted.
 */
function grantAdmin(account: Account): { granted: boolean; note: string } {
  const command = `npm run admin -- ${account.email}`;
  const script = join(root, "scripts", "admin.ts");
  if (!existsSync(script)) return { granted: false, note: `not an admin yet: run \`${command}\`` };
  const result = spawnSync(process.execPath, ["--import", "tsx", script, account.email], { cwd: root, env: process.env, encoding: "utf8" });
  if (result.status === 0) return { granted: true, note: "" };
  const why = `${result.stderr ?? ""}${result.stdout ?? ""}`.trim().split("\n")[0] ?? "";
  return { granted: false, note: `not an admin: \`${command}\` failed (${why})` };
}

type Civilization = { name: string; species: string; isAi: boolean; player: { displayName: string } | null };
type World = { tick: number; civilizations: Civilization[] };

async function main(): Promise<void> {
  console.log(`Seeding a demo (run ${tag}) through ${url}…`);
  let admin = await register("admin", "Admin");
  const alice = await register("alice", "Alice");
  const bob = await register("bob", "Bob");
  const carol = await register("carol", "Carol");

  let adminNote = "ADMIN";
  if (!admin.roles.includes("ADMIN")) {
    const { granted, note } = grantAdmin(admin);
    if (granted) admin = await signIn(admin);
    else adminNote = note;
  }
  const name = `Orion Rising ${tag}`;
  // The accounts first: whatever fails later, they exist and can sign in.
  console.log(`Password of every account below (shown only now): ${password}`);
  const roles: [Account, string][] = [
    [admin, adminNote],
    [alice, `game master of "${name}"`],
    [bob, "player"],
    [carol, "player"],
  ];
  for (const [account, role] of roles) console.log(`  ${account.key.padEnd(6)} ${account.email.padEnd(40)} ${role}`);

  const { createCampaign: campaign } = await gql<{ createCampaign: { id: string } }>(
    "creating the campaign",
    `mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }`,
    { input: { name, tickRateMs: 2_000 } },
    alice.token,
  );
  for (const player of [bob, carol]) {
    await gql(`${player.displayName} joining`, `mutation($id: ID!) { joinCampaign(campaignId: $id) { role } }`, { id: campaign.id }, player.token);
  }
  await gql("starting the campaign", `mutation($id: ID!) { startCampaign(id: $id) { status } }`, { id: campaign.id }, alice.token);
  // The simulation's worker pool generates the world, AI civilizations included, once the campaign has started.
  const { status, world } = await eventually("the world to be generated (by the simulation worker pool: is it running?)", async () => {
    const { campaign: view } = await gql<{ campaign: { status: string; world: World | null } }>(
      "reading the world",
      `query($id: ID!) { campaign(id: $id) { status world { tick civilizations { name species isAi player { displayName } } } } }`,
      { id: campaign.id },
      alice.token,
    );
    return view.world ? { status: view.status, world: view.world } : undefined;
  });
  const players = world.civilizations.filter((c) => !c.isAi);
  const ai = world.civilizations.filter((c) => c.isAi);
  console.log(`Campaign "${name}" (${campaign.id}): ${status}, world at tick ${world.tick}`);
  console.log(`  players' civilizations: ${players.map((c) => `${c.name} (${c.player?.displayName ?? "?"})`).join(", ")}`);
  console.log(`  AI civilizations: ${ai.map((c) => c.name).join(", ")}`);

  const { campaignChannel: channel } = await gql<{ campaignChannel: { id: string; name: string } }>(
    "opening the campaign's channel",
    `query($id: ID!) { campaignChannel(campaignId: $id) { id name } }`,
    { id: campaign.id },
    alice.token,
  );
  const lines: [Account, string][] = [
    [alice, `Welcome to ${name}! The first council meets at tick 10.`],
    [bob, "Our scouts report an AI fleet near the core worlds."],
    [carol, "Then let us trade before we fight. Alloys for food, anyone?"],
  ];
  for (const [author, text] of lines) {
    await gql(
      `${author.displayName} posting to the chat`,
      `mutation($channel: ID!, $text: String!, $key: String!) { postMessage(channelId: $channel, text: $text, idempotencyKey: $key) { id } }`,
      { channel: channel.id, text, key: `seed-${tag}-${author.key}` },
      author.token,
    );
  }
  console.log(`Chat: ${lines.length} messages in the campaign's channel, "${channel.name}" (channel ${channel.id})`);

  await gql(
    "Bob's first command",
    `mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id } }`,
    { input: { campaignId: campaign.id, type: "SET_POLICY", payload: { policy: "research" }, idempotencyKey: `seed-${tag}-policy` } },
    bob.token,
  );

  // Bob and Carol are also told, by the notification worker pool, that the campaign started.
  await gql(
    "the game master's announcement",
    `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id } }`,
    {
      input: {
        recipientIds: [bob.id, carol.id],
        campaignId: campaign.id,
        category: "ANNOUNCEMENT",
        title: "The first council",
        body: "Bring your best envoy: the council meets at tick 10.",
        idempotencyKey: `seed-${tag}-announcement`,
      },
    },
    alice.token,
  );
  if (admin.roles.includes("ADMIN")) {
    await gql(
      "the admin's notice",
      `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id } }`,
      {
        input: {
          recipientIds: [alice.id, bob.id, carol.id],
          category: "SYSTEM",
          title: "Welcome to the Startales demo",
          body: "This server was seeded with demo data; it may be reset at any time.",
          idempotencyKey: `seed-${tag}-welcome`,
        },
      },
      admin.token,
    );
  }
  console.log(`Notifications: an announcement to Bob and Carol${admin.roles.includes("ADMIN") ? ", the admin's notice to everyone" : ""}, and the game's own (campaign started, players joined)`);

  const { generateText: job } = await gql<{ generateText: { id: string } }>(
    "requesting the narration",
    `mutation($input: GenerateTextInput!) { generateText(input: $input) { id } }`,
    {
      input: {
        idempotencyKey: `seed-${tag}-opening`,
        style: "NARRATION",
        campaignId: campaign.id,
        prompt: `Narrate the opening of the campaign ${name}.`,
        context: `Civilizations: ${world.civilizations.map((c) => `${c.name} (${c.species}${c.isAi ? ", AI" : ""})`).join(", ")}.`,
      },
    },
    alice.token,
  );
  const narration = await eventually("the narration (by the provider worker pool: is it running?)", async () => {
    const { job: view } = await gql<{ job: { status: string; text: string | null; deployment: string | null; error: string | null } | null }>(
      "reading the narration",
      `query($id: ID!) { job(id: $id) { status text deployment error } }`,
      { id: job.id },
      alice.token,
    );
    return view && (view.status === "SUCCEEDED" || view.status === "FAILED") ? view : undefined;
  });

  console.log(
    narration.status === "SUCCEEDED"
      ? `Narration (job ${job.id}, ${narration.deployment ?? "?"}): ${narration.text}`
      : `Narration (job ${job.id}) FAILED: ${narration.error ?? "no reason given"}`,
  );
  console.log(`Sign in: mutation { login(input: { email: "${alice.email}", password: "<the password above>" }) { accessToken } }`);
}

main().catch((error: Error) => {
  console.error(`seed: ${error.message}`);
  process.exit(1);
});
