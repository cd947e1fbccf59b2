import { randomUUID } from "node:crypto";
import { createClient } from "@clickhouse/client";
import { Topics, createLogger, type ConsumedEvent } from "@startales/service-kit";
import { toEventRow } from "../../subgraphs/analytics/src/ingest/event-rows";
import type { AnalyticsStore } from "../../subgraphs/analytics/src/store/analytics-store";
import { createClickHouseStore } from "../../subgraphs/analytics/src/store/clickhouse";
import { createPostgresStore } from "../../subgraphs/analytics/src/store/postgres";
import { startClickHouse } from "../testkit/clickhouse";
import { privateDatabase } from "../testkit/databases";

/**
 * The contract every analytics engine keeps (ANALYTICS_STORE), run on each against a real
 * server with a database of its own: what the ingest writes, what analysts read back, the
 * raw retention and a user's erasure. The engines differ in how; these answers may not.
 */

const logger = createLogger("analytics-store-test", "silent");
const DAY = 86_400_000;
const RETENTION_DAYS = 3;

type Engine = { name: string; start: (now: () => number) => Promise<{ store: AnalyticsStore; stop: () => Promise<void> }> };

const engines: Engine[] = [
  {
    name: "postgres",
    async start(now) {
      const database = await privateDatabase("analytics", "store_contract");
      const store = createPostgresStore({ url: database.url, poolSize: 2, retentionDays: RETENTION_DAYS, logger, now });
      return {
        store,
        stop: async () => {
          await store.close();
          await database.drop();
        },
      };
    },
  },
  {
    // The same engine with its day partitions kept by pg_partman (ANALYTICS_PARTITIONS).
    name: "postgres (pg_partman)",
    async start(now) {
      const database = await privateDatabase("analytics", "store_contract_partman");
      const store = createPostgresStore({ url: database.url, poolSize: 2, retentionDays: RETENTION_DAYS, logger, now, partitions: "pg_partman" });
      return {
        store,
        stop: async () => {
          await store.close();
          await database.drop();
        },
      };
    },
  },
  {
    name: "clickhouse",
    async start(now) {
      const server = await startClickHouse();
      const store = createClickHouseStore({ url: server.url, database: server.database, username: "default", password: "", retentionDays: RETENTION_DAYS, logger, now });
      return {
        store,
        stop: async () => {
          await store.close();
          await server.stop();
        },
      };
    },
  },
];

/** Midnight UTC `offset` days from today. */
const today = Math.floor(Date.now() / DAY) * DAY;
const dayAt = (offset: number) => new Date(today + offset * DAY);
const isoDay = (offset: number) => dayAt(offset).toISOString().slice(0, 10);

const event = (topic: string, type: string, aggregateId: string, data: Record<string, unknown>, occurredAt: Date, producer: string): ConsumedEvent => ({
  id: randomUUID(),
  streamId: "0-1",
  type,
  topic,
  occurredAt: occurredAt.toISOString(),
  aggregateId,
  version: 1,
  data,
  traceparent: null,
  producer,
});
const registered = (userId: string, at: Date) => event(Topics.account(userId), "ACCOUNT_REGISTERED", userId, { method: "PASSWORD" }, at, "identity");
const signedIn = (userId: string, at: Date) => event(Topics.account(userId), "SIGNED_IN", userId, { method: "PASSWORD" }, at, "identity");
const message = (campaignId: string, authorId: string, at: Date) =>
  event(Topics.channel(randomUUID()), "MESSAGE_ADDED", randomUUID(), { channelId: randomUUID(), campaignId, authorId }, at, "realtime");

const civ = (civId: string, playerId: string | null, score: number, commands = 0) => ({ civId, playerId, population: score * 2, credits: score * 3, score, stability: 60, ships: 4, output: score * 5, eliminated: false, commands });
const tickStats = (campaignId: string, tick: number, at: Date, civilizations: (Omit<ReturnType<typeof civ>, "output"> & { output?: number })[]) =>
  event(
    Topics.telemetry("simulation"),
    "TICK_STATS",
    campaignId,
    { campaignId, tick, population: 100 + tick, credits: 1_000, ships: 8, battles: tick % 2, tradeVolume: 40, meanStability: 55, prices: { food: 10.5, energy: 20 }, civilizations },
    at,
    "simulation",
  );

describe.each(engines)("the $name analytics store", (engine) => {
  let store: AnalyticsStore;
  let stop: () => Promise<void>;
  const clock = Date.now();

  beforeAll(async () => {
    ({ store, stop } = await engine.start(() => clock));
  }, 120_000);
  afterAll(() => stop?.());

  it("keeps each event once however often it is written, and counts it once in every rollup", async () => {
    const [campaignId, author] = [randomUUID(), randomUUID()];
    const rows = [message(campaignId, author, dayAt(0)), message(campaignId, author, dayAt(0))].map(toEventRow);
    expect((await store.writeEvents(rows)).sort()).toEqual(rows.map((r) => r.id).sort());
    // A redelivery, alone and beside a new event.
    expect(await store.writeEvents([rows[0]!])).toEqual([]);
    const third = toEventRow(message(campaignId, author, dayAt(0)));
    expect(await store.writeEvents([rows[1]!, third])).toEqual([third.id]);

    expect(await store.chatActivity({ range: { from: isoDay(0), to: isoDay(0) }, campaignId, first: 10 })).toEqual([{ userId: author, messages: 3, activeDays: 1 }]);
    expect(await store.playerStats(author, { from: isoDay(0), to: isoDay(0) })).toEqual({ activeDays: 1, events: 3, messages: 3, commands: 0, sessionMs: 0 });
    expect(await store.footprint(author)).toEqual({ rawEvents: 3, activityDays: 1, chatDays: 1, commandDays: 0, sessionDays: 0, cohort: false, civilizationTicks: 0 });
  });

  it("counts events per minute, hour and day, by producer and type, filtered on either", async () => {
    const base = dayAt(-1).getTime() + 10 * 3_600_000; // yesterday 10:00
    const campaignId = randomUUID();
    const users = [randomUUID(), randomUUID()];
    await store.writeEvents(
      [
        message(campaignId, users[0]!, new Date(base + 5_000)),
        message(campaignId, users[1]!, new Date(base + 50_000)),
        message(campaignId, users[0]!, new Date(base + 61_000)),
        signedIn(users[0]!, new Date(base + 3_600_000 + 1)),
      ].map(toEventRow),
    );
    const window = { from: new Date(base), to: new Date(base + 2 * 3_600_000) };
    const minutes = await store.eventCounts({ ...window, bucket: "MINUTE", producer: "realtime", type: null });
    expect(minutes.map((c) => [c.at.getTime() - base, c.type, c.count])).toEqual([
      [0, "MESSAGE_ADDED", 2],
      [60_000, "MESSAGE_ADDED", 1],
    ]);
    const hours = await store.eventCounts({ ...window, bucket: "HOUR", producer: null, type: null });
    expect(hours.map((c) => [c.producer, c.type, c.at.getTime() - base, c.count])).toEqual([
      ["identity", "SIGNED_IN", 3_600_000, 1],
      ["realtime", "MESSAGE_ADDED", 0, 3],
    ]);
    const days = await store.eventCounts({ from: dayAt(-1), to: dayAt(0), bucket: "DAY", producer: null, type: "SIGNED_IN" });
    expect(days.map((c) => [c.at.toISOString(), c.count])).toEqual([[dayAt(-1).toISOString(), 1]]);
  });

  it("answers daily and weekly active users, and retention of each sign-up day", async () => {
    // A fresh cohort 40 days ago, so no other test's users are in it or its windows.
    const [ada, bo, cy] = [randomUUID(), randomUUID(), randomUUID()];
    const at = (offset: number) => new Date(dayAt(-40 + offset).getTime() + 3_600_000);
    await store.writeEvents(
      [
        registered(ada, at(0)),
        registered(bo, at(0)),
        registered(cy, at(1)),
        signedIn(ada, at(1)),
        signedIn(ada, at(7)),
        signedIn(bo, at(7)),
        signedIn(ada, at(30)),
        signedIn(cy, at(2)),
      ].map(toEventRow),
    );
    const range = { from: isoDay(-40), to: isoDay(-38) };
    expect(await store.activeUsers(range, 1)).toEqual([
      { day: isoDay(-40), users: 2 },
      { day: isoDay(-39), users: 2 },
      { day: isoDay(-38), users: 1 },
    ]);
    expect(await store.activeUsers({ from: isoDay(-33), to: isoDay(-33) }, 7)).toEqual([{ day: isoDay(-33), users: 3 }]);
    expect(await store.cohorts({ from: isoDay(-41), to: isoDay(-38) })).toEqual([
      { day: isoDay(-40), users: 2, day1: 1, day7: 2, day30: 1 },
      { day: isoDay(-39), users: 1, day1: 1, day7: 0, day30: 0 },
    ]);
  });

  it("counts a user on every day whose window holds one of their active days, whatever the gaps between them", async () => {
    // Days far from every other test's, so these users are the only ones in the windows.
    const facts: [userId: string, activeOn: number[]][] = [
      // Before the range within the month's window and the week's, on both edges of the range,
      // gaps shorter than a week, longer than a week, and two days in a row.
      [randomUUID(), [-199, -175, -170, -168, -160, -152, -151, -143, -140]],
      // Just outside every window of the range's first day, then exactly a month's gap, then after the range.
      [randomUUID(), [-205, -171, -141, -139]],
      // Only long before the range and after it.
      [randomUUID(), [-260, -135]],
      // Five days in a row (signed in twice on one of them: still one day), then a gap longer than a month.
      [randomUUID(), [-150, -149, -148, -147, -146, -146, -112]],
    ];
    const at = (offset: number) => new Date(dayAt(offset).getTime() + 3_600_000);
    await store.writeEvents(facts.flatMap(([userId, days]) => days.map((offset) => toEventRow(signedIn(userId, at(offset))))));
    // The users with an active day in (day - windowDays, day], each day of [from, to]: counted here from the facts.
    const expected = (from: number, to: number, windowDays: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i).map((offset) => ({
        day: isoDay(offset),
        users: facts.filter(([, days]) => days.some((day) => day > offset - windowDays && day <= offset)).length,
      }));
    // The month's range, a day on its first edge, the days after it, and days before anyone's window.
    for (const [from, to] of [[-170, -140], [-170, -170], [-140, -113], [-215, -206]] as const) {
      for (const windowDays of [1, 7, 30]) {
        expect({ from, windowDays, points: await store.activeUsers({ from: isoDay(from), to: isoDay(to) }, windowDays) }).toEqual({ from, windowDays, points: expected(from, to, windowDays) });
      }
    }
    // Not a range of zeros by accident: the month's window on the range's first day holds the first two users.
    expect(expected(-170, -170, 30)[0]!.users).toBe(2);
  });

  it("keeps a tick's row whichever of its events comes first, in tick order", async () => {
    const campaignId = randomUUID();
    const world = Topics.world(campaignId);
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const tick = (n: number, type: string, data: Record<string, unknown>) => toEventRow(event(world, type, campaignId, { tick: n, ...data }, at, "simulation"));
    await store.writeEvents([tick(7, "BATTLE_RESOLVED", { systemId: "s1" }), tick(8, "WAR_DECLARED", {})]);
    await store.writeEvents([tick(7, "TICK_COMPLETED", { hash: "h", commandsApplied: 2, commandsRejected: 1, events: 4 }), tick(7, "BATTLE_RESOLVED", { systemId: "s2" })]);
    expect(await store.tickHistory({ campaignId, fromTick: 0, first: 10 })).toEqual([
      { campaignId, tick: 7, completedAt: at, commandsApplied: 2, commandsRejected: 1, engineEvents: 4, battles: 2, fleetsDestroyed: 0, wars: 0 },
      { campaignId, tick: 8, completedAt: null, commandsApplied: 0, commandsRejected: 0, engineEvents: 0, battles: 0, fleetsDestroyed: 0, wars: 1 },
    ]);
    expect((await store.tickHistory({ campaignId, fromTick: 8, first: 10 })).map((t) => t.tick)).toEqual([8]);
    expect((await store.tickHistory({ campaignId, fromTick: 0, first: 1 })).map((t) => t.tick)).toEqual([7]);
  });

  it("ranks chatters by messages, in one campaign or all", async () => {
    const [one, two] = [randomUUID(), randomUUID()];
    const [loud, quiet] = [randomUUID(), randomUUID()];
    await store.writeEvents(
      [message(one, loud, dayAt(-50)), message(one, loud, dayAt(-49)), message(two, loud, dayAt(-49)), message(one, quiet, dayAt(-50))].map(toEventRow),
    );
    const range = { from: isoDay(-50), to: isoDay(-49) };
    expect(await store.chatActivity({ range, campaignId: one, first: 10 })).toEqual([
      { userId: loud, messages: 2, activeDays: 2 },
      { userId: quiet, messages: 1, activeDays: 1 },
    ]);
    expect(await store.chatActivity({ range, campaignId: null, first: 1 })).toEqual([{ userId: loud, messages: 3, activeDays: 2 }]);
  });

  it("drops raw events past the retention and keeps their rollups", async () => {
    const userId = randomUUID();
    await store.writeEvents([signedIn(userId, dayAt(-RETENTION_DAYS - 2)), signedIn(userId, dayAt(0))].map(toEventRow));
    expect((await store.footprint(userId)).rawEvents).toBe(2);
    await store.sweep();
    expect(await store.footprint(userId)).toEqual({ rawEvents: 1, activityDays: 2, chatDays: 0, commandDays: 0, sessionDays: 0, cohort: false, civilizationTicks: 0 });
    expect(await store.playerStats(userId, { from: isoDay(-RETENTION_DAYS - 2), to: isoDay(0) })).toEqual({ activeDays: 2, events: 2, messages: 0, commands: 0, sessionMs: 0 });
  });

  it("keeps a campaign's economy and every civilization's standing per recorded tick: the leaderboard's history", async () => {
    const campaignId = randomUUID();
    const player = randomUUID();
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    // Tick 30's AI civilization was recorded before output was: its output is null, not 0.
    const { output: _unrecorded, ...withoutOutput } = civ("ai-1", null, 130);
    const ticks = [10, 20, 30].map((tick) => tickStats(campaignId, tick, at, [tick === 30 ? withoutOutput : civ("ai-1", null, 100 + tick), civ("p-1", player, 200 - tick)]));
    await store.writeEvents(ticks.map(toEventRow));
    // A redelivery adds nothing.
    await store.writeEvents([toEventRow(ticks[0]!)]);
    const economy = await store.economyHistory({ campaignId, fromTick: 15, first: 10 });
    expect(economy).toEqual([20, 30].map((tick) => ({ tick, recordedAt: at, population: 100 + tick, credits: 1_000, ships: 8, battles: 0, tradeVolume: 40, meanStability: 55, prices: { food: 10.5, energy: 20 } })));
    expect((await store.economyHistory({ campaignId, fromTick: 0, first: 1 })).map((t) => t.tick)).toEqual([10]);

    const standings = await store.civilizationHistory({ campaignId, fromTick: 0, first: 2 });
    expect(standings.map((s) => [s.tick, s.civId, s.score, s.playerId])).toEqual([
      [10, "p-1", 190, player],
      [10, "ai-1", 110, null],
      [20, "p-1", 180, player],
      [20, "ai-1", 120, null],
    ]);
    expect(standings[0]).toEqual({ tick: 10, civId: "p-1", playerId: player, population: 380, credits: 570, score: 190, stability: 60, ships: 4, output: 950, eliminated: false, commands: 0 });
    expect((await store.civilizationHistory({ campaignId, fromTick: 25, first: 10 })).map((s) => [s.tick, s.civId, s.score, s.output])).toEqual([
      [30, "p-1", 170, 850],
      [30, "ai-1", 130, null],
    ]);
    expect(await store.footprint(player)).toMatchObject({ civilizationTicks: 3 });
  });

  it("counts each player's commands from the tick stats as activity, and walks the sign-up funnel", async () => {
    // Four players sign up 80 days ago: all join a campaign but one, two have commands decided, one of them still plays on day 9.
    const campaignId = randomUUID();
    const [ada, bo, cy, di] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const day = (offset: number) => new Date(dayAt(-80 + offset).getTime() + 3_600_000);
    const joined = (userId: string) => event(Topics.campaign(campaignId), "PLAYER_JOINED", campaignId, { userId, membershipId: randomUUID() }, day(0), "campaign");
    await store.writeEvents(
      [
        ...[ada, bo, cy, di].map((u) => registered(u, day(0))),
        ...[ada, bo, cy].map(joined),
        tickStats(campaignId, 10, day(1), [civ("a", ada, 100, 4), civ("b", bo, 90, 0), civ("c", cy, 80, 1)]),
        tickStats(campaignId, 20, day(9), [civ("a", ada, 110, 2), civ("b", bo, 95, 0), civ("c", cy, 85, 0)]),
      ].map(toEventRow),
    );
    const range = { from: isoDay(-80), to: isoDay(-71) };
    expect(await store.commandActivity({ range, campaignId, first: 10 })).toEqual([
      { userId: ada, commands: 6, activeDays: 2 },
      { userId: cy, commands: 1, activeDays: 1 },
    ]);
    expect(await store.commandActivity({ range, campaignId: null, first: 1 })).toEqual([{ userId: ada, commands: 6, activeDays: 2 }]);
    // Commands are activity: ada active on day 1 (commands only) and 9; sign-up and join on day 0.
    expect(await store.playerStats(ada, range)).toEqual({ activeDays: 3, events: 8, messages: 0, commands: 6, sessionMs: 0 });
    expect(await store.funnel({ from: isoDay(-80), to: isoDay(-80) }, isoDay(0))).toEqual({ registered: 4, joined: 3, commanded: 2, reachedDay7: 4, activeAfterDay7: 1 });
    // Seen from the 5th day, nobody's 7th day had begun.
    expect(await store.funnel({ from: isoDay(-80), to: isoDay(-80) }, isoDay(-75))).toMatchObject({ registered: 4, reachedDay7: 0, activeAfterDay7: 0 });
    expect(await store.footprint(ada)).toMatchObject({ commandDays: 2, civilizationTicks: 2 });
  });

  it("keeps each ended session per user and day, with a histogram of their lengths", async () => {
    const campaignId = randomUUID();
    const [ada, bo] = [randomUUID(), randomUUID()];
    const ended = (userId: string, endedAt: Date, minutes: number) =>
      toEventRow(
        event(Topics.sessions, "SESSION_ENDED", userId, { campaignId, userId, startedAt: new Date(endedAt.getTime() - minutes * 60_000).toISOString(), endedAt: endedAt.toISOString(), durationMs: minutes * 60_000 }, endedAt, "realtime"),
      );
    const day = (offset: number, hour: number) => new Date(dayAt(-100 + offset).getTime() + hour * 3_600_000);
    const sessions = [ended(ada, day(0, 10), 3), ended(ada, day(0, 20), 45), ended(bo, day(0, 12), 600), ended(bo, day(1, 9), 20)];
    await store.writeEvents(sessions);
    await store.writeEvents([sessions[0]!]);
    const hist = (...indexes: number[]) => indexes.reduce((b, i) => (b[i]! += 1, b), new Array<number>(9).fill(0));
    expect(await store.sessionLengths({ from: isoDay(-100), to: isoDay(-99) })).toEqual([
      { day: isoDay(-100), sessions: 3, durationMs: 648 * 60_000, buckets: hist(1, 4, 8) },
      { day: isoDay(-99), sessions: 1, durationMs: 20 * 60_000, buckets: hist(3) },
    ]);
    expect(await store.playerStats(ada, { from: isoDay(-100), to: isoDay(-99) })).toEqual({ activeDays: 1, events: 2, messages: 0, commands: 0, sessionMs: 48 * 60_000 });
    expect(await store.footprint(bo)).toMatchObject({ sessionDays: 2 });
  });

  it("adds up provider's usage records per kind, deployment and model, and per campaign", async () => {
    const at = dayAt(-90).getTime() + 6 * 3_600_000;
    const [one, two] = [randomUUID(), randomUUID()];
    const job = (campaignId: string | null, fields: Record<string, unknown>) => {
      const jobId = randomUUID();
      const data = { jobId, kind: "TEXT", campaignId, status: "SUCCEEDED", deployment: "narrator", model: "gpt-x", cached: false, failovers: 0, attempts: 1, promptTokens: 100, completionTokens: 50, costMicros: 300, waitMs: 5, runMs: 700, errorCode: null, ...fields };
      return toEventRow(event(Topics.ai, "JOB_FINISHED", jobId, data, new Date(at), "provider"));
    };
    const jobs = [
      job(one, {}),
      job(one, { runMs: 2_000, failovers: 1 }),
      job(two, { cached: true, promptTokens: 0, completionTokens: 0, costMicros: 0, runMs: 20 }),
      job(null, { status: "FAILED", deployment: null, model: null, promptTokens: 0, completionTokens: 0, costMicros: 0, failovers: 2, errorCode: "SERVICE_UNAVAILABLE", runMs: 30_000 }),
      job(two, { kind: "SPEECH", deployment: "voice", model: "tts-1", promptTokens: 0, completionTokens: 0, costMicros: 1_000, runMs: 400 }),
    ];
    await store.writeEvents(jobs);
    await store.writeEvents([jobs[0]!]);
    const range = { from: new Date(at), to: new Date(at + 60_000), first: 10 };
    const bucketsWith = (...indexes: number[]) => indexes.reduce((b, i) => (b[i]! += 1, b), new Array<number>(11).fill(0));
    expect(await store.aiUsage(range)).toEqual([
      { kind: "TEXT", deployment: "narrator", model: "gpt-x", requests: 3, failures: 0, cacheHits: 1, failovers: 1, promptTokens: 200, completionTokens: 100, costMicros: 600, buckets: bucketsWith(0, 3, 4) },
      { kind: "SPEECH", deployment: "voice", model: "tts-1", requests: 1, failures: 0, cacheHits: 0, failovers: 0, promptTokens: 0, completionTokens: 0, costMicros: 1_000, buckets: bucketsWith(2) },
      { kind: "TEXT", deployment: "", model: "", requests: 1, failures: 1, cacheHits: 0, failovers: 2, promptTokens: 0, completionTokens: 0, costMicros: 0, buckets: bucketsWith(7) },
    ]);
    expect(await store.aiUsageByCampaign(range)).toEqual([
      { campaignId: two, requests: 2, tokens: 0, costMicros: 1_000 },
      { campaignId: one, requests: 2, tokens: 300, costMicros: 600 },
    ]);
    // As a series: the minute's jobs in their hour's bucket, one kind or one deployment alone; nothing outside the range.
    const hour = new Date(at - (at % 3_600_000));
    const series = { from: hour, to: new Date(hour.getTime() + 2 * 3_600_000), bucket: "HOUR" as const };
    expect(await store.aiSeries({ ...series, kind: null, deployment: null })).toEqual([
      { at: hour, requests: 5, failures: 1, cacheHits: 1, tokens: 300, costMicros: 1_600, buckets: bucketsWith(0, 2, 3, 4, 7) },
    ]);
    expect(await store.aiSeries({ ...series, kind: "SPEECH", deployment: null })).toEqual([{ at: hour, requests: 1, failures: 0, cacheHits: 0, tokens: 0, costMicros: 1_000, buckets: bucketsWith(2) }]);
    expect((await store.aiSeries({ ...series, kind: null, deployment: "narrator" }))[0]).toMatchObject({ requests: 3, cacheHits: 1, tokens: 300 });
    expect(await store.aiSeries({ from: new Date(at + 60_000), to: new Date(at + 120_000), bucket: "MINUTE", kind: null, deployment: null })).toEqual([]);
  });

  it("adds up the gateway's operation statistics per operation and client, with error codes, latency histograms and deprecated use", async () => {
    const minute = dayAt(-70).getTime() + 9 * 3_600_000; // 09:00, 70 days ago
    const buckets = (...counts: number[]) => [...counts, ...new Array<number>(11 - counts.length).fill(0)];
    const stats = (at: number, replica: string, operations: object[]) =>
      toEventRow(event(Topics.api(replica), "OPERATION_STATS", replica, { minute: new Date(at).toISOString(), operations }, new Date(at + 60_000), "gateway"));
    const op = (operation: string, clientName: string, requests: number, errors: number, codes: Record<string, number>, histogram: number[], deprecated: Record<string, number> = {}) => ({
      operation,
      clientName,
      clientVersion: "1.0.0",
      requests,
      errors,
      errorCodes: codes,
      durationMsSum: requests * 10,
      durationBuckets: histogram,
      deprecated,
    });
    // Two replicas in one minute, one of them again a minute later (and once more, redelivered).
    const first = stats(minute, "a", [op("GalaxyMap", "web", 3, 1, { FORBIDDEN: 1 }, buckets(1, 2), { "Query.oldField": 2 }), op("Me", "ios", 1, 0, {}, buckets(0, 0, 1))]);
    const second = stats(minute, "b", [op("GalaxyMap", "web", 2, 1, { BAD_USER_INPUT: 1 }, buckets(0, 0, 0, 2), { "Query.oldField": 1 })]);
    const later = stats(minute + 60_000, "a", [op("GalaxyMap", "web", 5, 0, {}, buckets(5))]);
    await store.writeEvents([first, second]);
    await store.writeEvents([later, first]);

    const range = { from: new Date(minute), to: new Date(minute + 3_600_000) };
    expect(await store.apiOperations({ ...range, first: 10 })).toEqual([
      { operation: "GalaxyMap", clientName: "web", clientVersion: "1.0.0", requests: 10, errors: 2, durationMsSum: 100, buckets: buckets(6, 2, 0, 2) },
      { operation: "Me", clientName: "ios", clientVersion: "1.0.0", requests: 1, errors: 0, durationMsSum: 10, buckets: buckets(0, 0, 1) },
    ]);
    expect(await store.apiOperations({ ...range, first: 1 })).toHaveLength(1);
    expect(await store.apiErrors(range)).toEqual([
      { operation: "GalaxyMap", clientName: "web", clientVersion: "1.0.0", code: "BAD_USER_INPUT", count: 1 },
      { operation: "GalaxyMap", clientName: "web", clientVersion: "1.0.0", code: "FORBIDDEN", count: 1 },
    ]);
    const perMinute = await store.apiSeries({ ...range, bucket: "MINUTE", operation: "GalaxyMap", clientName: null });
    expect(perMinute.map((p) => [p.at.getTime() - minute, p.requests, p.errors, p.buckets])).toEqual([
      [0, 5, 2, buckets(1, 2, 0, 2)],
      [60_000, 5, 0, buckets(5)],
    ]);
    expect((await store.apiSeries({ ...range, bucket: "HOUR", operation: null, clientName: "ios" })).map((p) => [p.at.getTime(), p.requests])).toEqual([[minute, 1]]);
    expect(await store.deprecatedUsage({ ...range, bucket: "HOUR" })).toEqual([{ at: new Date(minute), field: "Query.oldField", clientName: "web", clientVersion: "1.0.0", count: 3 }]);
  });

  it("forgets a user: their raw events go, their rollup rows lose their id, and every count stays true", async () => {
    const campaignId = randomUUID();
    const [gone, stays] = [randomUUID(), randomUUID()];
    // Their own account's events, their messages, and another player's event that names them.
    const mention = event(Topics.campaign(campaignId), "PLAYER_KICKED", campaignId, { userId: stays, kickedUserId: gone }, dayAt(-60), "campaign");
    // And the civilization they played: it stays in the campaign's history, no longer theirs.
    const played = tickStats(campaignId, 10, dayAt(-59), [civ("c1", gone, 500, 3), civ("c2", null, 400)]);
    await store.writeEvents([registered(gone, dayAt(-60)), registered(stays, dayAt(-60)), message(campaignId, gone, dayAt(-60)), signedIn(gone, dayAt(-59)), mention, played].map(toEventRow));
    const range = { from: isoDay(-60), to: isoDay(-59) };
    const before = { active: await store.activeUsers(range, 1), cohorts: await store.cohorts(range), chat: await store.chatActivity({ range, campaignId, first: 10 }) };

    const funnelBefore = await store.funnel(range, isoDay(0));
    expect(await store.forgetUser(gone)).toEqual({ rawEvents: 5, activityDays: 2, chatDays: 1, commandDays: 1, sessionDays: 0, cohort: true, civilizationTicks: 1 });
    expect(await store.footprint(gone)).toEqual({ rawEvents: 0, activityDays: 0, chatDays: 0, commandDays: 0, sessionDays: 0, cohort: false, civilizationTicks: 0 });
    expect(await store.funnel(range, isoDay(0))).toEqual(funnelBefore);
    const c1 = (await store.civilizationHistory({ campaignId, fromTick: 0, first: 10 })).find((c) => c.civId === "c1");
    expect(c1).toMatchObject({ civId: "c1", score: 500, playerId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(c1!.playerId).not.toBe(gone);
    expect(await store.playerStats(gone, range)).toEqual({ activeDays: 0, events: 0, messages: 0, commands: 0, sessionMs: 0 });
    // The other player keeps what is theirs (less the raw event that named the forgotten one); the totals do not move.
    expect(await store.footprint(stays)).toEqual({ rawEvents: 1, activityDays: 1, chatDays: 0, commandDays: 0, sessionDays: 0, cohort: true, civilizationTicks: 0 });
    expect(await store.activeUsers(range, 1)).toEqual(before.active);
    expect(await store.cohorts(range)).toEqual(before.cohorts);
    const chat = await store.chatActivity({ range, campaignId, first: 10 });
    expect(chat.map((c) => c.messages)).toEqual(before.chat.map((c) => c.messages));
    expect(chat.map((c) => c.userId)).not.toContain(gone);
    // Twice is harmless.
    expect(await store.forgetUser(gone)).toEqual({ rawEvents: 0, activityDays: 0, chatDays: 0, commandDays: 0, sessionDays: 0, cohort: false, civilizationTicks: 0 });
    expect(await store.activeUsers(range, 1)).toEqual(before.active);
    // The erasure is remembered, by a hash: the ingest takes the user out of what arrives later.
    expect(await store.forgottenAmong([gone.toUpperCase(), stays, randomUUID()])).toEqual(new Set([gone.toUpperCase()]));
    expect(await store.forgottenAmong([])).toEqual(new Set());
    // An event of theirs that slipped in after the erasure (written while it ran) is taken out
    // by forgetting again: deleted, not moved, so the day they were already counted on under
    // their new id does not count them twice.
    await store.writeEvents([toEventRow(signedIn(gone, dayAt(-59)))]);
    expect((await store.activeUsers(range, 1)).map((d) => d.users)).toEqual(before.active.map((d, i) => d.users + i));
    expect((await store.forgetUser(gone)).rawEvents).toBe(1);
    expect(await store.footprint(gone)).toEqual({ rawEvents: 0, activityDays: 0, chatDays: 0, commandDays: 0, sessionDays: 0, cohort: false, civilizationTicks: 0 });
    expect(await store.activeUsers(range, 1)).toEqual(before.active);
  });
});

describe("a ClickHouse database made by an earlier version of the store", () => {
  it("gets the columns added since (a civilization's output): old rows read null, new rows their figure", async () => {
    const server = await startClickHouse();
    const admin = createClient({ url: server.url, username: "default", password: "" });
    let store: AnalyticsStore | undefined;
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${server.database}` });
      // civilization_ticks as the store first made it, with a row recorded then.
      await admin.command({
        query: `CREATE TABLE ${server.database}.civilization_ticks (
          campaign_id UUID, tick UInt32, civ_id String, player_id Nullable(UUID), population UInt64, credits Int64, score Int64,
          stability UInt8, ships UInt64, eliminated UInt8, commands UInt64) ENGINE = ReplacingMergeTree() ORDER BY (campaign_id, tick, civ_id)`,
      });
      const campaignId = randomUUID();
      await admin.insert({
        table: `${server.database}.civilization_ticks`,
        values: [{ campaign_id: campaignId, tick: 10, civ_id: "old", player_id: null, population: 5, credits: 1, score: 9, stability: 50, ships: 1, eliminated: 0, commands: 0 }],
        format: "JSONEachRow",
      });
      store = createClickHouseStore({ url: server.url, database: server.database, username: "default", password: "", retentionDays: RETENTION_DAYS, logger });
      const at = new Date(Math.floor(Date.now() / 1000) * 1000);
      await store.writeEvents([tickStats(campaignId, 10, at, []), tickStats(campaignId, 20, at, [civ("new", null, 7)])].map(toEventRow));
      expect((await store.civilizationHistory({ campaignId, fromTick: 0, first: 10 })).map((c) => [c.tick, c.civId, c.output])).toEqual([
        [10, "old", null],
        [20, "new", 35],
      ]);
    } finally {
      await store?.close();
      await admin.close();
      await server.stop();
    }
  }, 120_000);
});
