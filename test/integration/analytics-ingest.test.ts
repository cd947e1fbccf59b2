import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { Topics, createLogger, streamKey, type EventEnvelope } from "@startales/service-kit";
import { createDb, type Db } from "../../subgraphs/analytics/src/store/postgres/db";
import { createPartitions } from "../../subgraphs/analytics/src/store/postgres/partitions";
import { createAnalyticsWorker, type AnalyticsWorker } from "../../subgraphs/analytics/src/worker-app";
import { analyticsTestConfig, testFirehosePrefix } from "../testkit/config";
import { startClickHouse, type PrivateClickHouse } from "../testkit/clickhouse";
import { privateDatabase } from "../testkit/databases";
import { startTcpProxy } from "../testkit/tcp-proxy";
import { eventually } from "../testkit/simulation";

/**
 * The analytics ingest against real PostgreSQL and Redis, on a database of its own: what it
 * makes of firehose entries (raw rows and rollups, each event once however often delivered),
 * the day partitions and their retention.
 */

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const logger = createLogger("analytics-ingest-test", "silent");
const DAY = 86_400_000;
let database: { url: string; drop: () => Promise<void> };
let sql: pg.Client;
let db: Db;
let worker: AnalyticsWorker;
const prefix = testFirehosePrefix(randomUUID());

beforeAll(async () => {
  database = await privateDatabase("analytics", "ingest");
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  db = createDb(database.url, 2);
  worker = createAnalyticsWorker(analyticsTestConfig({ DATABASE_URL: database.url, EVENT_FIREHOSE_PREFIX: prefix, ANALYTICS_RAW_RETENTION_DAYS: "3" }), logger);
  await worker.listen();
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await db?.$disconnect();
  await sql?.end();
  await database?.drop();
  redis.disconnect();
});

const envelope = (topic: string, type: string, aggregateId: string, data: Record<string, unknown>, occurredAt = new Date()): EventEnvelope => ({
  id: randomUUID(),
  type,
  topic,
  occurredAt: occurredAt.toISOString(),
  aggregateId,
  version: 1,
  data,
  traceparent: null,
  producer: topic.startsWith("channel:") ? "realtime" : "campaign",
});
/** Onto a producer's firehose as its relay copies it. */
const add = (producer: string, event: EventEnvelope) => redis.xadd(streamKey(Topics.firehose(producer, prefix)), "*", "envelope", JSON.stringify(event));
const one = async <T>(query: string, values: unknown[] = []) => (await sql.query<T & pg.QueryResultRow>(query, values)).rows;

it("reads every producer's firehose with its own group, and folds each event into the rollups once however often it is delivered", async () => {
  // The pool made each firehose (its group), which is what turns the relays' copies on.
  for (const producer of ["campaign", "notification", "realtime", "simulation"]) {
    const key = streamKey(Topics.firehose(producer, prefix));
    await eventually(`the group on ${key}`, async () => ((await redis.exists(key)) ? true : undefined));
    const groups = (await redis.xinfo("GROUPS", key)) as unknown[][];
    expect(groups.map((g) => g[1])).toEqual(["analytics"]);
  }
  const [campaignId, channelId, author] = [randomUUID(), randomUUID(), randomUUID()];
  const message = envelope(Topics.channel(channelId), "MESSAGE_ADDED", randomUUID(), { channelId, campaignId, authorId: author });
  const joined = envelope(Topics.campaign(campaignId), "PLAYER_JOINED", campaignId, { userId: author, membershipId: randomUUID() });
  // The message twice (a relay that republished after Redis lost its dedupe key), in two reads.
  await add("realtime", message);
  await add("campaign", joined);
  await eventually("both ingested", async () => ((await one<{ n: string }>("SELECT count(*) AS n FROM analytics_events"))[0]!.n === "2" ? true : undefined));
  await add("realtime", message);
  const outcome = 'analytics_events_ingested_total{producer="realtime",outcome="duplicate",service="analytics-worker"} 1';
  await eventually("the repeat read as a duplicate", async () => ((await worker.metrics.registry.getSingleMetricAsString("analytics_events_ingested_total")).includes(outcome) ? true : undefined));
  expect(((await redis.xpending(streamKey(Topics.firehose("realtime", prefix)), "analytics")) as [number])[0]).toBe(0);

  expect(await one("SELECT type, campaign_id::text AS campaign, actor_id::text AS actor, producer, family FROM analytics_events ORDER BY type")).toEqual([
    { type: "MESSAGE_ADDED", campaign: campaignId, actor: author, producer: "realtime", family: "channel" },
    { type: "PLAYER_JOINED", campaign: campaignId, actor: author, producer: "campaign", family: "campaign" },
  ]);
  expect(await one("SELECT messages FROM chat_activity WHERE user_id = $1", [author])).toEqual([{ messages: 1 }]);
  expect(await one("SELECT events FROM user_activity WHERE user_id = $1", [author])).toEqual([{ events: 2 }]);
  expect(await one("SELECT producer, type, count FROM event_counts ORDER BY type")).toEqual([
    { producer: "realtime", type: "MESSAGE_ADDED", count: 1 },
    { producer: "campaign", type: "PLAYER_JOINED", count: 1 },
  ]);
});

it("keeps a tick's row whichever of its events comes first", async () => {
  const campaignId = randomUUID();
  const world = Topics.world(campaignId);
  const at = new Date();
  await add("simulation", envelope(world, "BATTLE_RESOLVED", campaignId, { tick: 7, systemId: "s1", winnerId: "c1", loserId: "c2", winnerLosses: 1, loserLosses: 3 }, at));
  await add("simulation", envelope(world, "TICK_COMPLETED", campaignId, { tick: 7, hash: "h7", commandsApplied: 2, commandsRejected: 1, events: 4 }, at));
  await add("simulation", envelope(world, "BATTLE_RESOLVED", campaignId, { tick: 7, systemId: "s2", winnerId: "c2", loserId: "c1", winnerLosses: 0, loserLosses: 1 }, at));
  const tick = await eventually("the tick's row whole", async () => {
    const [row] = await one<{ battles: number }>("SELECT tick, commands_applied, commands_rejected, engine_events, battles, completed_at FROM campaign_ticks WHERE campaign_id = $1", [campaignId]);
    return row?.battles === 2 ? row : undefined;
  });
  expect(tick).toEqual({ tick: 7, commands_applied: 2, commands_rejected: 1, engine_events: 4, battles: 2, completed_at: at });
});

it("keeps raw events in day partitions, and the sweep drops the days past the retention but keeps their rollups", async () => {
  const now = Date.now();
  const userId = randomUUID();
  const campaignId = randomUUID();
  // Five days ago (its own partition, made when it was recent) and ten days ago (late: older than the retention, so the default partition).
  const fiveDaysAgo = createPartitions({ db, retentionDays: 3, logger, now: () => now - 5 * DAY });
  await fiveDaysAgo.ensureFor([new Date(now - 5 * DAY).toISOString()]);
  for (const age of [5, 10]) await add("campaign", envelope(Topics.campaign(campaignId), "PLAYER_LEFT", campaignId, { userId }, new Date(now - age * DAY)));
  await eventually("both old events kept", async () => ((await one<{ n: string }>("SELECT count(*) AS n FROM analytics_events WHERE actor_id = $1", [userId]))[0]!.n === "2" ? true : undefined));
  const partitionOf = async () =>
    (await one<{ partition: string }>("SELECT tableoid::regclass::text AS partition FROM analytics_events WHERE actor_id = $1 ORDER BY occurred_at", [userId])).map((r) => r.partition);
  const oldDay = new Date(now - 5 * DAY).toISOString().slice(0, 10).replaceAll("-", "");
  expect(await partitionOf()).toEqual(["analytics_events_default", `analytics_events_${oldDay}`]);

  const { dropped } = await worker.sweep();
  expect(dropped).toContain(`analytics_events_${oldDay}`);
  expect(await partitionOf()).toEqual([]);
  // Today's and tomorrow's partitions are ready; the rollups of the dropped days stay.
  const today = new Date(now).toISOString().slice(0, 10).replaceAll("-", "");
  const tomorrow = new Date(now + DAY).toISOString().slice(0, 10).replaceAll("-", "");
  const partitions = (await one<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'analytics_events'::regclass")).map((r) => r.name);
  expect(partitions).toEqual(expect.arrayContaining([`analytics_events_${today}`, `analytics_events_${tomorrow}`]));
  expect(await one("SELECT events FROM user_activity WHERE user_id = $1 ORDER BY day", [userId])).toEqual([{ events: 1 }, { events: 1 }]);
});

describe("with ANALYTICS_STORE=clickhouse", () => {
  let clickhouse: PrivateClickHouse;
  let onClickHouse: AnalyticsWorker;
  let baseUrl: string;
  const ownPrefix = testFirehosePrefix(randomUUID());
  beforeAll(async () => {
    clickhouse = await startClickHouse();
    onClickHouse = createAnalyticsWorker(
      analyticsTestConfig({ DATABASE_URL: database.url, EVENT_FIREHOSE_PREFIX: ownPrefix, ANALYTICS_STORE: "clickhouse", CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_DATABASE: "analytics_ingest" }),
      logger,
    );
    baseUrl = await onClickHouse.listen();
  }, 60_000);
  afterAll(async () => {
    await onClickHouse?.stop();
    await clickhouse?.stop();
  });

  it("reads the firehoses into ClickHouse: the database and tables made on first use, each event once", async () => {
    const [campaignId, author] = [randomUUID(), randomUUID()];
    const message = envelope(Topics.channel(randomUUID()), "MESSAGE_ADDED", randomUUID(), { channelId: randomUUID(), campaignId, authorId: author });
    const firehose = streamKey(Topics.firehose("realtime", ownPrefix));
    await eventually("the group on the firehose", async () => ((await redis.exists(firehose)) ? true : undefined));
    for (let i = 0; i < 2; i++) await redis.xadd(firehose, "*", "envelope", JSON.stringify(message));
    const today = new Date().toISOString().slice(0, 10);
    const chat = await eventually("the message in ClickHouse", async () => {
      const rows = await onClickHouse.store.chatActivity({ range: { from: today, to: today }, campaignId, first: 10 });
      return rows.length ? rows : undefined;
    });
    expect(chat).toEqual([{ userId: author, messages: 1, activeDays: 1 }]);
    const outcome = 'analytics_events_ingested_total{producer="realtime",outcome="duplicate",service="analytics-worker"} 1';
    await eventually("the repeat read as a duplicate", async () => ((await onClickHouse.metrics.registry.getSingleMetricAsString("analytics_events_ingested_total")).includes(outcome) ? true : undefined));
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
  });
});

it("reads nothing while its database is away, so an outage dead-letters nothing, and catches up when it is back", async () => {
  const outagePrefix = testFirehosePrefix(randomUUID());
  const target = new URL(database.url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const throughProxy = Object.assign(new URL(database.url), { port: String(proxy.port) }).toString();
  // One failed delivery would be enough to dead-letter an event, and failures are claimed back within 200 ms.
  const fragile = createAnalyticsWorker(
    analyticsTestConfig({ DATABASE_URL: throughProxy, EVENT_FIREHOSE_PREFIX: outagePrefix, INGEST_MAX_DELIVERIES: "1", INGEST_CLAIM_IDLE_MS: "200" }),
    logger,
  );
  await fragile.listen();
  try {
    const firehose = streamKey(Topics.firehose("realtime", outagePrefix));
    await eventually("the group on the firehose", async () => ((await redis.exists(firehose)) ? true : undefined));
    await proxy.refuse();
    const [campaignId, author] = [randomUUID(), randomUUID()];
    for (let i = 0; i < 3; i++) await redis.xadd(firehose, "*", "envelope", JSON.stringify(envelope(Topics.channel(randomUUID()), "MESSAGE_ADDED", randomUUID(), { channelId: randomUUID(), campaignId, authorId: author })));
    // Long enough for several claim rounds had it been reading.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Without the pause each would have failed, been claimed back and dead-lettered by now.
    expect(await redis.exists(`${firehose}:dead-letter`)).toBe(0);

    await proxy.restore();
    await eventually("the three messages kept", async () => ((await one<{ messages: number }>("SELECT messages FROM chat_activity WHERE user_id = $1", [author]))[0]?.messages === 3 ? true : undefined));
    expect(await redis.exists(`${firehose}:dead-letter`)).toBe(0);
  } finally {
    await fragile.stop();
    await proxy.close();
  }
}, 60_000);
