import { randomUUID } from "node:crypto";
import pg from "pg";
import { errorCodes, expectData, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { privateDatabase } from "../testkit/databases";
import { eventually as pollUntil } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Analytics through the gateway, as analysts use it: a scripted game (players sign up, join,
 * chat, sign in again, the world ticks) reaches analytics through the producers' firehoses
 * only, and an analyst's API key reads sign-ups and sign-ins, active users, retention, a
 * campaign's tick history and the chat leaders from
 * the rollups, while a player's token is FORBIDDEN on the same fields and reads only their
 * own figures. The stack's analytics has a database of its own: every figure is this game's.
 */

const ADMIN_EMAIL = `admin-${randomUUID()}@example.test`;
let stack: Stack;
let url: string;
let admin: TestUser;

// The producers' databases of this file alone: every outbox relay on a database may publish
// any of its rows, to its own firehose, and other suites' relays (with firehoses of their
// own) run on the run's shared ones, so this game's events could reach another analytics.
const producers = ["identity", "campaign", "realtime", "notification"] as const;
const databases: Partial<Record<(typeof producers)[number], { url: string; drop: () => Promise<void> }>> = {};

beforeAll(async () => {
  for (const service of producers) databases[service] = await privateDatabase(service, "analytics");
  const own = (service: (typeof producers)[number]) => ({ DATABASE_URL: databases[service]!.url });
  stack = await startStack({
    logLevel: "warn",
    identityEnv: { BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL, ...own("identity") },
    campaignEnv: own("campaign"),
    realtimeEnv: own("realtime"),
    notificationEnv: own("notification"),
    // A tick's economy and standings every second tick, so a short game has a history.
    simulationWorkerEnv: { TICK_STATS_EVERY: "2" },
  });
  url = stack.graphqlUrl;
  admin = await registerUser(url, "Admin", undefined, ADMIN_EMAIL);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  for (const database of Object.values(databases)) await database.drop();
});

/** As a user (an access token) or a tool (an API key, `stk_…`). */
const call = async <T = Record<string, unknown>>(credential: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> =>
  postGraphQL<T>(url, { query, variables }, credential.startsWith("stk_") ? { headers: { "x-api-key": credential } } : { token: credential });

/**
 * Analysts' queries are costly and every caller has a cost budget a minute
 * (RATE_LIMIT_COST_PER_MINUTE): polled every 50 ms while ClickHouse catches up on a loaded run,
 * they spent it and the gateway answered 429. A quarter second apart they never come near it.
 */
const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 250) => pollUntil(what, probe, timeoutMs, everyMs);
const day = (offset = 0) => new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 + offset * 86_400_000);

/**
 * A BI tool's read-only API key: an admin makes a service account, gives it the ANALYST role
 * and a READ key (analysts themselves are read-only, so they cannot make keys).
 */
async function analystKey(): Promise<string> {
  const account = expectData(
    await call<{ createServiceAccount: { id: string } }>(admin.accessToken, 'mutation { createServiceAccount(input: { name: "Dashboards" }) { id } }'),
  ).createServiceAccount;
  expectData(await call(admin.accessToken, "mutation($id: ID!) { setUserRoles(userId: $id, roles: [SERVICE, ANALYST]) { id } }", { id: account.id }));
  return expectData(
    await call<{ createServiceApiKey: { key: string } }>(admin.accessToken, 'mutation($id: ID!) { createServiceApiKey(serviceAccountId: $id, input: { name: "dashboards", scopes: [READ] }) { key } }', {
      id: account.id,
    }),
  ).createServiceApiKey.key;
}

it("an analyst's API key reads what a scripted game added up to; a player is FORBIDDEN there and reads only their own figures", async () => {
  const gm = await registerUser(url, "Analytics GM");
  const players = [await registerUser(url, "Ada"), await registerUser(url, "Bo")];
  const campaignId = expectData(
    await call<{ createCampaign: { id: string } }>(gm.accessToken, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", {
      input: { name: `Analytics ${randomUUID().slice(0, 6)}`, tickRateMs: 200 },
    }),
  ).createCampaign.id;
  for (const player of players) expectData(await call(player.accessToken, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId }));
  const channelId = expectData(await call<{ campaignChannel: { id: string } }>(players[0]!.accessToken, "query($id: ID!) { campaignChannel(campaignId: $id) { id } }", { id: campaignId }))
    .campaignChannel.id;
  // Ada writes three messages (one of them sent twice: still three), Bo one.
  const post = (player: TestUser, key: string) =>
    call(player.accessToken, 'mutation($c: ID!, $k: String!) { postMessage(channelId: $c, text: "for analytics: nobody@example.test", idempotencyKey: $k) { id } }', { c: channelId, k: key });
  for (const key of ["a1", "a2", "a3", "a3"]) expectData(await post(players[0]!, key));
  expectData(await post(players[1]!, "b1"));
  // Bo queues a command before the start: the first tick decides it.
  expectData(
    await call(players[1]!.accessToken, "mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id } }", {
      input: { campaignId, type: "SET_TAX", payload: { rate: 20 }, idempotencyKey: "analytics-tax" },
    }),
  );
  expectData(await call(gm.accessToken, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId }));

  const key = await analystKey();
  type Tick = { tick: number; completedAt: string | null; commandsApplied: number; battles: number; campaign: { id: string } };
  const ticks = await eventually(
    "three ticks in the analytics",
    async () => {
      const history = expectData(
        await call<{ campaignTickHistory: Tick[] }>(key, "query($c: ID!) { campaignTickHistory(campaignId: $c) { tick completedAt commandsApplied battles campaign { id } } }", { c: campaignId }),
      ).campaignTickHistory;
      return history.filter((t) => t.completedAt).length >= 3 ? history : undefined;
    },
    30_000,
    200,
  );
  const completed = ticks.filter((t) => t.completedAt);
  // The economy and the leaderboard at the recorded (even) ticks, the players' civilizations among them.
  type Standing = { civId: string; rank: number; score: number; output: number | null; player: { id: string } | null };
  const history = await eventually(
    "the leaderboard's history in the analytics",
    async () => {
      const found = expectData(
        await call<{ leaderboardHistory: { tick: number; standings: Standing[] }[] }>(key, "query($c: ID!) { leaderboardHistory(campaignId: $c, first: 2) { tick standings { civId rank score output player { id } } } }", { c: campaignId }),
      ).leaderboardHistory;
      return found.length === 2 ? found : undefined;
    },
    30_000,
    200,
  );
  expect(history.map((t) => t.tick % 2)).toEqual([0, 0]);
  const standings = history[0]!.standings;
  expect(standings.map((s) => s.rank)).toEqual([...standings.map((s) => s.rank)].sort((a, b) => a - b));
  expect(standings[0]!.rank).toBe(1);
  // The players' civilizations (and the game master's, who is a member too), the rest the AI's.
  expect(standings.flatMap((s) => (s.player ? [s.player.id] : []))).toEqual(expect.arrayContaining(players.map((p) => p.user.id)));
  expect(standings.some((s) => s.player === null)).toBe(true);
  // Every civilization with cities made something that tick.
  expect(standings.filter((s) => s.player).every((s) => (s.output ?? 0) > 0)).toBe(true);
  const economy = expectData(
    await call<{ campaignEconomyHistory: { tick: number; population: number; prices: { good: string; price: number }[]; campaign: { id: string } }[] }>(
      key,
      "query($c: ID!) { campaignEconomyHistory(campaignId: $c, first: 2) { tick population prices { good price } campaign { id } } }",
      { c: campaignId },
    ),
  ).campaignEconomyHistory;
  expect(economy.map((t) => t.tick)).toEqual(history.map((t) => t.tick));
  expect(economy[0]).toMatchObject({ campaign: { id: campaignId }, population: expect.any(Number) });
  expect(economy[0]!.prices.map((p) => p.good)).toContain("food");
  // Bo's command, counted by the tick stats: the command ranking and the funnel see it.
  const commanders = expectData(
    await call<{ commandActivity: { user: { id: string }; commands: number }[] }>(
      key,
      "query($f: DateTime!, $t: DateTime!, $c: ID) { commandActivity(from: $f, to: $t, campaignId: $c) { user { id } commands } }",
      { f: day().toISOString(), t: day(1).toISOString(), c: campaignId },
    ),
  ).commandActivity;
  expect(commanders).toEqual([{ user: { id: players[1]!.user.id }, commands: 1 }]);
  expect(completed.slice(0, 3).map((t) => t.tick)).toEqual([completed[0]!.tick, completed[0]!.tick + 1, completed[0]!.tick + 2]);
  expect(ticks.every((t) => t.campaign.id === campaignId)).toBe(true);

  const chat = await eventually("the chat in the analytics", async () => {
    const rows = expectData(
      await call<{ chatActivity: { user: { id: string }; messages: number; activeDays: number }[] }>(
        key,
        "query($f: DateTime!, $t: DateTime!, $c: ID) { chatActivity(from: $f, to: $t, campaignId: $c) { user { id } messages activeDays } }",
        { f: day().toISOString(), t: day(1).toISOString(), c: campaignId },
      ),
    ).chatActivity;
    return rows.length === 2 ? rows : undefined;
  });
  expect(chat).toEqual([
    { user: { id: players[0]!.user.id }, messages: 3, activeDays: 1 },
    { user: { id: players[1]!.user.id }, messages: 1, activeDays: 1 },
  ]);

  // Bo signs in again (identity's SIGNED_IN, through its own outbox and firehose).
  expectData(await postGraphQL(url, { query: "mutation($i: LoginInput!) { login(input: $i) { accessToken } }", variables: { i: { email: players[1]!.email, password: players[1]!.password } } }));
  const signIns = await eventually("the sign-in in the analytics", async () => {
    const series = expectData(
      await call<{ eventSeries: { type: string; total: number }[] }>(key, 'query($f: DateTime!, $t: DateTime!) { eventSeries(from: $f, to: $t, bucket: DAY, producer: "identity") { type total } }', {
        f: day().toISOString(),
        t: day(1).toISOString(),
      }),
    ).eventSeries;
    return series.some((s) => s.type === "SIGNED_IN") ? series : undefined;
  });
  // The admin, the game master and both players signed up (the service account is no player),
  // each sign-up asking for its verification mail.
  expect(signIns).toEqual([
    { type: "ACCOUNT_MAIL_REQUESTED", total: 4 },
    { type: "ACCOUNT_REGISTERED", total: 4 },
    { type: "SIGNED_IN", total: 1 },
  ]);

  // Active today: those four (signed up; the game master created the campaign, the players joined and chatted).
  const active = expectData(
    await call<{ activeUsers: { day: string; users: number }[] }>(key, "query($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t, window: WEEK) { day users } }", {
      f: day(-1).toISOString(),
      t: day().toISOString(),
    }),
  ).activeUsers;
  expect(active).toEqual([
    { day: day(-1).toISOString(), users: 0 },
    { day: day().toISOString(), users: 4 },
  ]);
  // Today's cohort: four players, whose returns are not known yet.
  const cohorts = expectData(
    await call<{ retention: unknown[] }>(key, "query($f: DateTime!, $t: DateTime!) { retention(from: $f, to: $t) { day users day1 day7 day30 } }", { f: day(-7).toISOString(), t: day().toISOString() }),
  ).retention;
  expect(cohorts).toEqual([{ day: day().toISOString(), users: 4, day1: null, day7: null, day30: null }]);
  // Today's sign-ups step by step: four registered, the players (and the game master, a member too) joined, Bo commanded; nobody's 7th day yet.
  const funnel = expectData(
    await call<{ signupFunnel: Record<string, number | null> }>(
      key,
      "query($f: DateTime!, $t: DateTime!) { signupFunnel(from: $f, to: $t) { registered joinedCampaign firstCommand reachedDay7 activeAfterDay7 joinRate commandRate day7Rate } }",
      { f: day().toISOString(), t: day().toISOString() },
    ),
  ).signupFunnel;
  expect(funnel).toMatchObject({ registered: 4, firstCommand: 1, reachedDay7: 0, activeAfterDay7: 0, day7Rate: null });
  expect(funnel.joinedCampaign).toBeGreaterThanOrEqual(2);
  const series = expectData(
    await call<{ eventSeries: { producer: string; type: string; start: string; counts: number[]; total: number }[] }>(
      key,
      'query($f: DateTime!, $t: DateTime!) { eventSeries(from: $f, to: $t, bucket: HOUR, producer: "realtime") { producer type start counts total } }',
      { f: day().toISOString(), t: day(1).toISOString() },
    ),
  ).eventSeries;
  // Today's 24 hours, the four messages in the hour they were written (this one, or the one before if it just turned).
  expect(series.map(({ counts: _counts, ...rest }) => rest)).toEqual([{ producer: "realtime", type: "MESSAGE_ADDED", start: day().toISOString(), total: 4 }]);
  expect(series[0]!.counts).toHaveLength(24);
  expect(series[0]!.counts.reduce((sum, n) => sum + n, 0)).toBe(4);
  const hour = new Date().getUTCHours();
  expect(series[0]!.counts.flatMap((n, i) => (n > 0 ? [i] : [])).every((i) => i === hour || i === hour - 1)).toBe(true);

  // A player: FORBIDDEN on every analyst field, their own figures through myStats.
  const player = players[0]!.accessToken;
  const range = { f: day().toISOString(), t: day(1).toISOString() };
  for (const query of [
    "query($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t) { users } }",
    "query($f: DateTime!, $t: DateTime!) { chatActivity(from: $f, to: $t) { messages } }",
    "query($f: DateTime!, $t: DateTime!) { eventSeries(from: $f, to: $t, bucket: HOUR) { total } }",
    "query($f: DateTime!, $t: DateTime!) { retention(from: $f, to: $t) { users } }",
  ]) {
    expect(errorCodes(await call(player, query, range))).toEqual(["FORBIDDEN"]);
  }
  expect(errorCodes(await call(player, "query($c: ID!) { campaignTickHistory(campaignId: $c) { tick } }", { c: campaignId }))).toEqual(["FORBIDDEN"]);
  const mine = expectData(await call<{ myStats: { activeDays: number; events: number; messages: number } }>(player, "query($f: DateTime!, $t: DateTime!) { myStats(from: $f, to: $t) { activeDays events messages } }", range)).myStats;
  // Signed up, joined and wrote three messages (the world gave members their civilizations as it was made: no claim of hers).
  expect(mine).toEqual({ activeDays: 1, events: 5, messages: 3 });

  // Nothing of what was written reached analytics: ids and counts only.
  const db = new pg.Client({ connectionString: stack.analyticsDatabaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM analytics_events WHERE data::text LIKE '%example.test%' OR data::text LIKE '%for analytics%'");
    expect(Number(rows[0]!.n)).toBe(0);
  } finally {
    await db.end();
  }
}, 90_000);

it("refuses a range a bucket cannot span, and one that ends before it starts, as BAD_USER_INPUT", async () => {
  const token = admin.accessToken;
  const tooLong = await call(token, "query($f: DateTime!, $t: DateTime!) { eventSeries(from: $f, to: $t, bucket: MINUTE) { total } }", { f: day(-3).toISOString(), t: day().toISOString() });
  expect(errorCodes(tooLong)).toEqual(["BAD_USER_INPUT"]);
  const backwards = await call(token, "query($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t) { users } }", { f: day().toISOString(), t: day(-1).toISOString() });
  expect(errorCodes(backwards)).toEqual(["BAD_USER_INPUT"]);
  const none = await call(token, "query($c: ID!) { campaignTickHistory(campaignId: $c, first: 0) { tick } }", { c: randomUUID() });
  expect(errorCodes(none)).toEqual(["BAD_USER_INPUT"]);
});

it("an admin forgets a player: their figures are gone, the totals stay, and an analyst key cannot do it", async () => {
  const key = await analystKey();
  const player = await registerUser(url, "Forgotten");
  const others = async () =>
    expectData(
      await call<{ activeUsers: { users: number }[] }>(key, "query($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t) { users } }", { f: day().toISOString(), t: day().toISOString() }),
    ).activeUsers[0]!.users;
  const mine = async () =>
    expectData(await call<{ myStats: { activeDays: number } }>(player.accessToken, "query($f: DateTime!, $t: DateTime!) { myStats(from: $f, to: $t) { activeDays } }", { f: day().toISOString(), t: day(1).toISOString() }))
      .myStats.activeDays;
  await eventually("the sign-up in the analytics", async () => ((await mine()) === 1 ? true : undefined));
  const activeBefore = await others();

  const forget = "mutation($id: ID!) { forgetUser(userId: $id) { user { id } held { rawEvents activityDays chatDays cohort } } }";
  expect(errorCodes(await call(key, forget, { id: player.user.id }))).toEqual(["FORBIDDEN"]);
  expect(errorCodes(await call(player.accessToken, forget, { id: player.user.id }))).toEqual(["FORBIDDEN"]);
  expect(errorCodes(await call(admin.accessToken, forget, { id: "not-an-id" }))).toEqual(["BAD_USER_INPUT"]);
  const forgotten = expectData(await call<{ forgetUser: unknown }>(admin.accessToken, forget, { id: player.user.id })).forgetUser;
  // Two raw events: the sign-up and its verification mail's request (no activity: it has no actor), published together.
  expect(forgotten).toEqual({ user: { id: player.user.id }, held: { rawEvents: 2, activityDays: 1, chatDays: 0, cohort: true } });
  expect(await mine()).toBe(0);
  expect(await others()).toBe(activeBefore);
});

it("a player deletes their own account: every credential of theirs is refused at once, the email is free, their campaigns and devices let go of them, analytics forgets them and keeps the totals", async () => {
  const key = await analystKey();
  const player = await registerUser(url, "Leaving");
  const toolKey = (expectData(await call<{ createApiKey: { key: string } }>(player.accessToken, 'mutation { createApiKey(input: { name: "my tool", scopes: [READ, WRITE] }) { key } }'))).createApiKey.key;
  // A member of someone's campaign, with a phone registered for its pushes.
  const gm = await registerUser(url, "Staying GM");
  const campaignId = expectData(
    await call<{ createCampaign: { id: string } }>(gm.accessToken, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", { input: { name: `Left ${randomUUID().slice(0, 6)}` } }),
  ).createCampaign.id;
  expectData(await call(player.accessToken, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId }));
  expectData(await call(player.accessToken, 'mutation($t: String!) { registerPushDevice(input: { platform: ANDROID, token: $t }) { id } }', { t: `device-${randomUUID()}` }));
  const members = async () =>
    expectData(await call<{ campaign: { members: { user: { id: string } | null }[] } }>(gm.accessToken, "query($id: ID!) { campaign(id: $id) { members { user { id } } } }", { id: campaignId }))
      .campaign.members.map((m) => m.user?.id);
  expect(await members()).toEqual(expect.arrayContaining([gm.user.id, player.user.id]));
  const notificationDb = new pg.Client({ connectionString: databases.notification!.url });
  await notificationDb.connect();
  const devices = async () => (await notificationDb.query<{ n: number }>("SELECT count(*)::int AS n FROM push_devices WHERE user_id = $1", [player.user.id])).rows[0]!.n;
  expect(await devices()).toBe(1);
  const analyticsDb = new pg.Client({ connectionString: stack.analyticsDatabaseUrl });
  await analyticsDb.connect();
  const held = async () =>
    (
      await analyticsDb.query<{ raw: number; days: number; cohort: number; deleted: number; left: number }>(
        `SELECT (SELECT count(*)::int FROM analytics_events WHERE actor_id = $1 OR aggregate_id = $1::text) AS raw,
                (SELECT count(*)::int FROM user_activity WHERE user_id = $1) AS days,
                (SELECT count(*)::int FROM user_cohorts WHERE user_id = $1) AS cohort,
                (SELECT coalesce(sum(count), 0)::int FROM event_counts WHERE type = 'ACCOUNT_DELETED') AS deleted,
                (SELECT coalesce(sum(count), 0)::int FROM event_counts WHERE type = 'PLAYER_LEFT') AS "left"`,
        [player.user.id],
      )
    ).rows[0]!;
  try {
    const gmActive = async () => (await analyticsDb.query("SELECT 1 FROM user_activity WHERE user_id = $1", [gm.user.id])).rowCount === 1;
    // Both sign-ups counted before the day's active users are (the game master's too).
    await eventually("the sign-ups in the analytics", async () => ((await held()).days === 1 && (await gmActive()) ? true : undefined));
    const { deleted: deletedBefore, left: leftBefore } = await held();
    const activeToday = async () =>
      expectData(
        await call<{ activeUsers: { users: number }[] }>(key, "query($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t) { users } }", { f: day().toISOString(), t: day().toISOString() }),
      ).activeUsers[0]!.users;
    const activeBefore = await activeToday();

    const remove = "mutation($input: DeleteAccountInput) { deleteAccount(input: $input) }";
    // Refused, and nothing happens: without the password, with a wrong one, with a tool's key.
    expect(errorCodes(await call(player.accessToken, remove))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await call(player.accessToken, remove, { input: { password: "not my password" } }))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await call(toolKey, remove, { input: { password: player.password } }))).toEqual(["FORBIDDEN"]);
    expect(expectData(await call<{ me: { id: string } }>(player.accessToken, "{ me { id } }")).me.id).toBe(player.user.id);

    expect(expectData(await call(player.accessToken, remove, { input: { password: player.password } }))).toEqual({ deleteAccount: true });
    // The gateway heard of it before identity answered: the access token that did it is refused already.
    expect(errorCodes(await call(player.accessToken, "{ me { id } }"))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await call(toolKey, "{ me { id } }"))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await call(player.accessToken, "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", { t: player.refreshToken }))).toEqual(["UNAUTHENTICATED"]);
    const login = "mutation($input: LoginInput!) { login(input: $input) { user { id } } }";
    expect(errorCodes(await postGraphQL(url, { query: login, variables: { input: { email: player.email, password: player.password } } }))).toEqual(["UNAUTHENTICATED"]);

    // Analytics reads ACCOUNT_DELETED and forgets them as forgetUser does: nothing under their id, the totals unchanged.
    const forgotten = (now: Awaited<ReturnType<typeof held>>) => now.deleted > deletedBefore && now.raw === 0 && now.days === 0 && now.cohort === 0;
    await eventually("the deletion in the analytics, and the user forgotten", async () => (forgotten(await held()) ? true : undefined));
    // Then campaign ends their membership: its PLAYER_LEFT arrives too, and names nobody.
    await eventually("their PLAYER_LEFT in the analytics", async () => ((await held()).left > leftBefore ? true : undefined));
    expect(await held()).toEqual({ raw: 0, days: 0, cohort: 0, deleted: deletedBefore + 1, left: leftBefore + 1 });
    expect(await activeToday()).toBe(activeBefore);

    // Audited, under the account's id only; and the email can sign up again, as someone new.
    const audit = expectData(
      await call<{ identityAuditLog: { outcome: string; targetId: string; details: Record<string, unknown> }[] }>(
        admin.accessToken,
        'query { identityAuditLog(action: "identity.account.delete", first: 50) { outcome targetId details } }',
      ),
    ).identityAuditLog.filter((entry) => entry.targetId === player.user.id);
    expect(audit).toEqual([
      { outcome: "SUCCESS", targetId: player.user.id, details: { apiKeys: 1, sessions: 1 } },
      { outcome: "FAILURE", targetId: player.user.id, details: { reason: "wrong password" } },
    ]);
    const again = await registerUser(url, "Back", undefined, player.email);
    expect(again.user.id).not.toBe(player.user.id);

    // Campaign ended the membership (the game master stays), notification dropped the phone.
    await eventually("the membership ended", async () => ((await members()).includes(player.user.id) ? undefined : true));
    expect(await members()).toEqual([gm.user.id]);
    await eventually("the device dropped", async () => ((await devices()) === 0 ? true : undefined));
  } finally {
    await analyticsDb.end();
    await notificationDb.end();
  }
});

it("an analyst reads the API's own usage: operations per client version with errors by code and latency, as a series too", async () => {
  const key = await analystKey();
  const player = await registerUser(url, "Client");
  const client = { "apollographql-client-name": "analytics-e2e", "apollographql-client-version": "3.1.4" };
  const from = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  for (let i = 0; i < 3; i++) expectData(await postGraphQL(url, { query: "query WhoAmI { me { id } }" }, { token: player.accessToken, headers: client }));
  // FORBIDDEN: a player's token on an analyst field.
  const refused = await postGraphQL(url, { query: "query Peek($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t) { users } }", variables: { f: day().toISOString(), t: day().toISOString() } }, { token: player.accessToken, headers: client });
  expect(errorCodes(refused)).toEqual(["FORBIDDEN"]);

  type Stats = { operation: string; clientVersion: string; requests: number; errors: number; errorRate: number; errorsByCode: { code: string; count: number }[]; p50Ms: number | null; p99Ms: number | null };
  const range = { f: from.toISOString(), t: new Date(from.getTime() + 3_600_000).toISOString() };
  const mine = await eventually(
    "the gateway's statistics in the analytics",
    async () => {
      const rows = expectData(
        await call<{ apiOperations: (Stats & { clientName: string })[] }>(
          key,
          "query($f: DateTime!, $t: DateTime!) { apiOperations(from: $f, to: $t) { operation clientName clientVersion requests errors errorRate errorsByCode { code count } p50Ms p99Ms } }",
          range,
        ),
      ).apiOperations.filter((row) => row.clientName === "analytics-e2e");
      return rows.find((r) => r.operation === "WhoAmI")?.requests === 3 && rows.some((r) => r.operation === "Peek") ? rows : undefined;
    },
    20_000,
    250,
  );
  const byName = Object.fromEntries(mine.map(({ operation, ...rest }) => [operation, rest]));
  expect(byName.WhoAmI).toMatchObject({ clientVersion: "3.1.4", requests: 3, errors: 0, errorRate: 0, errorsByCode: [] });
  expect(byName.WhoAmI!.p50Ms).toBeGreaterThan(0);
  expect(byName.WhoAmI!.p99Ms).toBeGreaterThanOrEqual(byName.WhoAmI!.p50Ms!);
  expect(byName.Peek).toMatchObject({ requests: 1, errors: 1, errorRate: 1, errorsByCode: [{ code: "FORBIDDEN", count: 1 }] });

  const series = expectData(
    await call<{ apiSeries: { start: string; requests: number[]; errors: number[]; p95Ms: (number | null)[] } }>(
      key,
      'query($f: DateTime!, $t: DateTime!) { apiSeries(from: $f, to: $t, bucket: HOUR, clientName: "analytics-e2e") { start requests errors p95Ms } }',
      range,
    ),
  ).apiSeries;
  expect(series.start).toBe(new Date(Math.floor(from.getTime() / 3_600_000) * 3_600_000).toISOString());
  expect(series.requests.reduce((a, b) => a + b, 0)).toBe(4);
  expect(series.errors.reduce((a, b) => a + b, 0)).toBe(1);
  // A player sees none of it.
  expect(errorCodes(await call(player.accessToken, "query($f: DateTime!, $t: DateTime!) { apiOperations(from: $f, to: $t) { requests } }", range))).toEqual(["FORBIDDEN"]);
});

it("an analyst reads what the AI was asked for: jobs per deployment and model, with tokens, cost and run times", async () => {
  const key = await analystKey();
  const player = await registerUser(url, "Storyteller");
  const from = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  const job = expectData(
    await call<{ generateText: { id: string } }>(player.accessToken, "mutation($i: GenerateTextInput!) { generateText(input: $i) { id } }", {
      i: { idempotencyKey: randomUUID(), prompt: `Tell the tale of ${randomUUID()}` },
    }),
  ).generateText;
  await eventually("the job finished", async () => {
    const found = expectData(await call<{ job: { status: string } }>(player.accessToken, "query($id: ID!) { job(id: $id) { status } }", { id: job.id })).job;
    return found.status === "SUCCEEDED" ? true : undefined;
  });
  type Usage = { kind: string; deployment: string | null; model: string | null; requests: number; failures: number; completionTokens: number; costUsd: number; p50Ms: number | null };
  const usage = await eventually("the job's usage in the analytics", async () => {
    const rows = expectData(
      await call<{ aiUsage: Usage[] }>(key, "query($f: DateTime!, $t: DateTime!) { aiUsage(from: $f, to: $t) { kind deployment model requests failures completionTokens costUsd p50Ms } }", {
        f: from.toISOString(),
        t: new Date(from.getTime() + 3_600_000).toISOString(),
      }),
    ).aiUsage;
    return rows.find((r) => r.kind === "TEXT" && r.requests >= 1);
  });
  expect(usage).toMatchObject({ deployment: "offline-narrator", model: "startales-narrator-1", failures: 0, costUsd: 0 });
  expect(usage.completionTokens).toBeGreaterThan(0);
  expect(usage.p50Ms).not.toBeNull();
  // And over time, a minute at a time: the job in its minute's bucket.
  type Series = { start: string; requests: number[]; tokens: number[]; p95Ms: (number | null)[] };
  const series = expectData(
    await call<{ aiSeries: Series }>(key, 'query($f: DateTime!, $t: DateTime!) { aiSeries(from: $f, to: $t, bucket: MINUTE, kind: "TEXT") { start requests tokens p95Ms } }', {
      f: from.toISOString(),
      t: new Date(from.getTime() + 3_600_000).toISOString(),
    }),
  ).aiSeries;
  expect(series.start).toBe(from.toISOString());
  expect(series.requests).toHaveLength(60);
  expect(series.requests.reduce((sum, n) => sum + n, 0)).toBe(usage.requests);
  const busy = series.requests.findIndex((n) => n > 0);
  expect(series.tokens[busy]).toBeGreaterThan(0);
  expect(series.p95Ms[busy]).not.toBeNull();
  expect(series.p95Ms.filter((p, i) => series.requests[i] === 0 && p !== null)).toEqual([]);
});
