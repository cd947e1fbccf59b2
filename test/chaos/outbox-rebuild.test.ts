import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import {
  compareStreamIds,
  createLogger,
  createMetrics,
  createOutboxRebuild,
  createOutboxRelay,
  createOutboxRetention,
  createRedis,
  outboxSentinelKey,
  prismaOutboxHistory,
  prismaOutboxRelay,
  pgOutboxSource,
  readStreamEvent,
  readStreamEventsAfter,
  streamKey,
  type EventEnvelope,
  type Logger,
  type Metrics,
  type OutboxHistory,
  type OutboxRelay,
  type Redis,
} from "@startales/service-kit";
import { createDb, type Db } from "../../subgraphs/campaign/src/db";
import { privateDatabase } from "../testkit/databases";
import { captureLogs } from "../testkit/logs";
import { metricValue } from "../testkit/metrics";
import { startPrivateRedis, type PrivateRedis } from "../testkit/private-redis";

/**
 * Redis loses its data (kill -9 of a server that persists nothing, then a fresh one on the
 * same port; or a restart from an older snapshot): the outbox relay notices and rebuilds each
 * stream from the published rows PostgreSQL keeps, with the stream ids the events had, before
 * it publishes anything new, so a subscriber resuming with `after` loses nothing.
 * A private redis-server (the shared one on 6379 must never lose its data under other suites)
 * and a private campaign database whose rows are this suite's alone: nothing else relays them.
 */

jest.setTimeout(60_000);

const HOUR_MS = 3_600_000;
const quiet = createLogger("outbox-rebuild-test", "silent");
let server: PrivateRedis;
let redis: Redis;
let database: Awaited<ReturnType<typeof privateDatabase>>;
let sql: pg.Client;
let db: Db;
/** The relays' connections, as prismaOutboxRelay gives each service's relay its own. */
let relayPool: pg.Pool;
const relays: OutboxRelay[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  [server, database] = await Promise.all([startPrivateRedis(), privateDatabase("campaign", "rebuild")]);
  // Retries forever, as the services' clients do: the server is killed and started under it.
  redis = createRedis(server.url, "outbox-rebuild-test");
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  db = createDb(database.url, 4);
  relayPool = new pg.Pool({ connectionString: database.url, max: 4 });
  relayPool.on("error", () => undefined); // the database is dropped under it at the end
}, 120_000);

beforeEach(async () => {
  // Each test is one producer's outbox and one Redis's history: its own, from empty. (The
  // private server only: FLUSHALL never goes near the shared Redis.)
  await sql.query("DELETE FROM outbox_events");
  await redis.flushall();
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await db?.$disconnect();
  await relayPool?.end();
  redis?.disconnect();
  await sql?.end();
  await server?.stop();
  await database?.drop();
});

const newProducer = () => `rebuild-test-${randomUUID().slice(0, 8)}`;
const newTopic = () => `campaign:${randomUUID()}`;

type RelaySettings = { retentionHours?: number; logger?: Logger; metrics?: Metrics; database?: { db: Db; url: string } };
function startRelay(producer: string, settings: RelaySettings = {}): OutboxRelay {
  const relay = prismaOutboxRelay(settings.database?.db ?? db, {
    producer,
    redis,
    logger: settings.logger ?? quiet,
    metrics: settings.metrics,
    config: { DATABASE_URL: settings.database?.url ?? database.url, OUTBOX_POLL_MS: 20, OUTBOX_BATCH_SIZE: 4, EVENT_STREAM_MAX_LEN: 1000, OUTBOX_RETENTION_HOURS: settings.retentionHours ?? 168, EVENT_FIREHOSE_PREFIX: "firehose:test" },
  });
  relays.push(relay);
  relay.start();
  return relay;
}

/** Polls until `check` returns a value (not undefined/false), for at most `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined); // Redis may be restarting
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Unpublished rows inserted as a service's transaction would: one per topic given, in that order. */
async function insertEvents(topics: string[], client: pg.Client = sql): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO outbox_events (id, topic, type, aggregate_id, version, data, occurred_at)
     SELECT gen_random_uuid(), t.topic, 'TEST_EVENT', gen_random_uuid(), t.n, jsonb_build_object('n', t.n), now() + t.n * interval '1 millisecond'
       FROM unnest($1::text[]) WITH ORDINALITY AS t(topic, n)
      ORDER BY t.n
     RETURNING id::text`,
    [topics],
  );
  return rows.map((row) => row.id);
}

const unpublished = async (client: pg.Client = sql) =>
  Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM outbox_events WHERE published_at IS NULL")).rows[0]!.n);
const allPublished = (client?: pg.Client) => until("every row published", async () => (await unpublished(client)) === 0);

type Entry = { streamId: string; envelope: EventEnvelope };
async function entries(topic: string): Promise<Entry[]> {
  const raw = await redis.xrange(streamKey(topic), "-", "+");
  return raw.map(([streamId, fields]) => ({ streamId, envelope: JSON.parse(fields[1]!) as EventEnvelope }));
}

/** Waits until each topic's stream holds `lengths[i]` entries again, and returns them. */
const streamsOf = (topics: string[], lengths: number[]) =>
  until(`${topics.length} streams of ${lengths.join(", ")} entries`, async () => {
    const all = await Promise.all(topics.map(entries));
    return all.every((list, i) => list.length === lengths[i]) && all;
  });

async function loseRedisData(): Promise<void> {
  await server.kill();
  await server.start();
}

const restored = async (metrics: Metrics, result: string) => metricValue(await metrics.registry.metrics(), "outbox_events_restored_total", { result }) ?? 0;

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("rebuilding the event streams after Redis lost its data", () => {
  it("restores every stream with the ids its events had, and publishes new events after them", async () => {
    const producer = newProducer();
    const metrics = createMetrics("outbox-rebuild-test");
    const [a, b] = [newTopic(), newTopic()];
    startRelay(producer, { metrics });
    const ids = await insertEvents([a, b, a, a, b, a, b, a, a, b]);
    await allPublished();
    const before = await streamsOf([a, b], [6, 4]);
    expect(before[0]!.map((e) => e.envelope.id)).toEqual([0, 2, 3, 5, 7, 8].map((i) => ids[i]));
    expect(before[1]!.map((e) => e.envelope.id)).toEqual([1, 4, 6, 9].map((i) => ids[i]));
    // Each row remembers where its event went: that is what a rebuild writes back.
    const { rows } = await sql.query<{ id: string; stream_id: string }>("SELECT id::text, stream_id FROM outbox_events");
    expect(new Map(rows.map((row) => [row.id, row.stream_id]))).toEqual(new Map(before.flat().map((e) => [e.envelope.id, e.streamId])));

    await loseRedisData();
    const after = await streamsOf([a, b], [6, 4]);
    expect(after).toEqual(before);
    expect(await restored(metrics, "restored")).toBe(10);
    expect(await restored(metrics, "out_of_order")).toBe(0);

    // A subscriber that saw a's third event resumes from it, as the gateway reads the stream.
    const seen = before[0]![2]!.streamId;
    expect(await readStreamEvent(redis, a, seen)).toMatchObject({ id: ids[3], streamId: seen });
    const [late] = await insertEvents([a]);
    const [grown] = await streamsOf([a], [7]);
    expect(grown!.at(-1)!.envelope.id).toBe(late);
    expect(compareStreamIds(grown!.at(-1)!.streamId, before[0]!.at(-1)!.streamId)).toBeGreaterThan(0);
    expect((await readStreamEventsAfter(redis, a, seen, 100)).map((event) => event.id)).toEqual([ids[5], ids[7], ids[8], late]);
  });

  it("records where an event already was when its batch is published again after a failed mark", async () => {
    const producer = newProducer();
    const a = newTopic();
    const source = pgOutboxSource(relayPool);
    let marks = 0;
    const failingOnce: typeof source = {
      transaction: (work) =>
        source.transaction((tx) =>
          work({
            claim: (limit) => tx.claim(limit),
            async markPublished(rows) {
              if (++marks === 1) throw new Error("crash between publishing and marking");
              await tx.markPublished(rows);
            },
          }),
        ),
    };
    const relay = createOutboxRelay({ source: failingOnce, producer, redis, logger: quiet, pollMs: 20, batchSize: 10 });
    relays.push(relay);
    relay.start();
    await insertEvents([a, a, a]);
    await allPublished();
    expect(marks).toBe(2);
    const [published] = await streamsOf([a], [3]);
    const { rows } = await sql.query<{ id: string; stream_id: string }>("SELECT id::text, stream_id FROM outbox_events");
    expect(new Map(rows.map((row) => [row.id, row.stream_id]))).toEqual(new Map(published!.map((e) => [e.envelope.id, e.streamId])));
  });

  it("leaves streams that are still there as they are when only the sentinel is missing", async () => {
    const producer = newProducer();
    const metrics = createMetrics("outbox-rebuild-test");
    const a = newTopic();
    startRelay(producer, { metrics });
    await insertEvents([a, a, a]);
    await allPublished();
    const [before] = await streamsOf([a], [3]);

    // What a relay finds the first time it runs against a Redis that kept the streams.
    await redis.del(outboxSentinelKey(producer));
    await until("the sentinel to be set again", async () => (await redis.exists(outboxSentinelKey(producer))) === 1);
    expect(await restored(metrics, "present")).toBe(3);
    expect(await restored(metrics, "restored")).toBe(0);
    expect(await entries(a)).toEqual(before);
  });

  it("notices a Redis restarted from an older snapshot and restores the events published since", async () => {
    const producer = newProducer();
    const metrics = createMetrics("outbox-rebuild-test");
    const a = newTopic();
    startRelay(producer, { metrics });
    await insertEvents([a, a, a]);
    await allPublished();
    await streamsOf([a], [3]);
    await redis.save();
    const [dir] = ((await redis.config("GET", "dir")) as string[]).slice(1);
    cleanups.push(async () => rmSync(join(dir!, "dump.rdb"), { force: true }));
    await insertEvents([a, a]);
    await allPublished();
    const [before] = await streamsOf([a], [5]);

    // The snapshot has the sentinel: only the relay's own last event is missing.
    await loseRedisData();
    const [after] = await streamsOf([a], [5]);
    expect(after).toEqual(before);
    expect(await restored(metrics, "present")).toBe(3);
    expect(await restored(metrics, "restored")).toBe(2);
  });

  it("holds every replica's publishing until the rebuild is done", async () => {
    const producer = newProducer();
    const a = newTopic();
    const first = startRelay(producer);
    await insertEvents([a, a, a, a, a]);
    await allPublished();
    const [before] = await streamsOf([a], [5]);
    await first.stop();
    await loseRedisData();

    // Replica 1 takes the rebuild and is held at its first read of the history.
    const reading = deferred();
    const gate = deferred();
    const history = prismaOutboxHistory(db);
    const held: OutboxHistory = {
      ...history,
      async published(options) {
        reading.resolve();
        await gate.promise;
        return history.published(options);
      },
    };
    // Batches of 2: the rebuild reads on from where each batch ended.
    const rebuild = createOutboxRebuild({ producer, history: held, redis, logger: quiet, windowMs: 168 * HOUR_MS, streamMaxLen: 1000, batchSize: 2 });
    const replica1 = createOutboxRelay({ source: pgOutboxSource(relayPool), producer, redis, logger: quiet, pollMs: 20, rebuild });
    relays.push(replica1);
    replica1.start();
    await reading.promise;

    // Replica 2 starts meanwhile, with an event to publish.
    const [late] = await insertEvents([a]);
    const logs = captureLogs("replica-2", "debug");
    startRelay(producer, { logger: logs.logger });
    await until("replica 2 to wait for the rebuild twice", async () => logs.lines().filter((line) => line.msg === "waiting for another replica to rebuild the event streams").length >= 2);
    expect(await unpublished()).toBe(1);
    expect(await redis.exists(streamKey(a))).toBe(0);

    gate.resolve();
    await allPublished();
    const [after] = await streamsOf([a], [6]);
    expect(after!.slice(0, 5)).toEqual(before);
    expect(after![5]!.envelope.id).toBe(late);
    expect(compareStreamIds(after![5]!.streamId, before!.at(-1)!.streamId)).toBeGreaterThan(0);
  });

  it("a relay that stops during a rebuild stops between batches and leaves the rest to the next replica", async () => {
    const producer = newProducer();
    const a = newTopic();
    const first = startRelay(producer);
    await insertEvents([a, a, a, a, a]);
    await allPublished();
    const [before] = await streamsOf([a], [5]);
    await first.stop();
    await loseRedisData();

    const reading = deferred();
    const gate = deferred();
    const history = prismaOutboxHistory(db);
    const held: OutboxHistory = {
      ...history,
      async published(options) {
        reading.resolve();
        await gate.promise;
        return history.published(options);
      },
    };
    const rebuild = createOutboxRebuild({ producer, history: held, redis, logger: quiet, windowMs: 168 * HOUR_MS, streamMaxLen: 1000, batchSize: 2 });
    const stopped = createOutboxRelay({ source: pgOutboxSource(relayPool), producer, redis, logger: quiet, pollMs: 20, rebuild });
    stopped.start();
    await reading.promise;
    const stopping = stopped.stop();
    gate.resolve();
    await stopping;
    // Its first batch is back; the lock is free, and without the sentinel nobody publishes yet.
    expect(await entries(a)).toEqual(before!.slice(0, 2));
    expect(await redis.exists(`outbox:rebuild:${producer}`, outboxSentinelKey(producer))).toBe(0);

    startRelay(producer);
    await until("the sentinel", async () => (await redis.exists(outboxSentinelKey(producer))) === 1);
    expect(await entries(a)).toEqual(before);
  });

  it("publishes nothing when the sentinel disappears between the relay's check and its batch", async () => {
    const producer = newProducer();
    const a = newTopic();
    const logs = captureLogs("relay", "info");
    // A guard that always says yes: only the publish script itself stands between Redis and the event.
    let checks = 0;
    const relay = createOutboxRelay({
      source: pgOutboxSource(relayPool),
      producer,
      redis,
      logger: logs.logger,
      pollMs: 20,
      rebuild: { sentinelKey: outboxSentinelKey(producer), ready: async () => (++checks, true), published: () => undefined },
    });
    relays.push(relay);
    relay.start();
    const [id] = await insertEvents([a]);
    await until("two refused batches", async () => logs.lines().filter((line) => line.msg === "Redis lost the published history during a batch; rebuilding before publishing again").length >= 2);
    expect(await unpublished()).toBe(1);
    expect(await redis.exists(streamKey(a), `outbox:published:${id}`)).toBe(0);

    await redis.set(outboxSentinelKey(producer), "test");
    await allPublished();
    expect((await entries(a)).map((e) => e.envelope.id)).toEqual([id]);
    expect(checks).toBeGreaterThan(2);
  });

  it("deletes rows published longer ago than the retention, and never restores them", async () => {
    const producer = newProducer();
    const a = newTopic();
    const first = startRelay(producer, { retentionHours: 1 });
    const ids = await insertEvents([a, a, a, a]);
    await allPublished();
    const [before] = await streamsOf([a], [4]);
    await first.stop();
    await sql.query("UPDATE outbox_events SET published_at = now() - interval '2 hours' WHERE id = ANY($1::uuid[])", [ids.slice(0, 2)]);

    await loseRedisData();
    startRelay(producer, { retentionHours: 1 });
    await until("the old rows to be deleted", async () => {
      const { rows } = await sql.query<{ id: string }>("SELECT id::text FROM outbox_events ORDER BY occurred_at");
      return rows.length === 2 && rows;
    }).then((rows) => expect(rows.map((row) => row.id)).toEqual(ids.slice(2)));
    await until("the sentinel", async () => (await redis.exists(outboxSentinelKey(producer))) === 1);
    expect(await entries(a)).toEqual(before!.slice(2));
  });

  it("reads the published history in numeric stream-id order, batch after batch, within the window", async () => {
    // Equal ids on different streams, and ids whose text order is not their numeric order.
    const streamIds = ["10-0", "9-1", "9-0", "9-10", "9-2", "10-0", "10-0", "1000-0"];
    const ids = await insertEvents(streamIds.map(() => newTopic()));
    await sql.query(
      `UPDATE outbox_events o SET published_at = now(), stream_id = s.stream_id
         FROM unnest($1::uuid[], $2::text[]) AS s(id, stream_id) WHERE o.id = s.id`,
      [ids, streamIds],
    );
    const [tooOld] = await insertEvents([newTopic()]);
    await sql.query("UPDATE outbox_events SET published_at = now() - interval '2 hours', stream_id = '5-0' WHERE id = $1", [tooOld]);
    await insertEvents([newTopic()]); // unpublished: no stream id

    const history = prismaOutboxHistory(db);
    const since = new Date(Date.now() - HOUR_MS);
    const read: string[] = [];
    for (let after = null, batch; (batch = await history.published({ since, after, limit: 3 })).length > 0; ) {
      expect(batch.length).toBeLessThanOrEqual(3);
      read.push(...batch.map((row) => row.id));
      after = { streamId: batch.at(-1)!.streamId, id: batch.at(-1)!.id };
    }
    const expected = streamIds
      .map((streamId, i) => ({ streamId, id: ids[i]! }))
      .sort((x, y) => compareStreamIds(x.streamId, y.streamId) || (x.id < y.id ? -1 : 1))
      .map((row) => row.id);
    expect(read).toEqual(expected);
  });

  it("deletes old published rows in bounded batches, and never an unpublished or recent one", async () => {
    const a = newTopic();
    const old = await insertEvents([a, a, a, a, a]);
    await sql.query("UPDATE outbox_events SET published_at = now() - interval '2 hours' WHERE id = ANY($1::uuid[])", [old]);
    const [recent] = await insertEvents([a]);
    await sql.query("UPDATE outbox_events SET published_at = now() WHERE id = $1", [recent]);
    const [pending] = await insertEvents([a]);
    await sql.query("UPDATE outbox_events SET occurred_at = now() - interval '2 days' WHERE id = $1", [pending]);

    const retention = createOutboxRetention({ history: prismaOutboxHistory(db), retentionMs: HOUR_MS, logger: quiet, batchSize: 2 });
    const sweeps = [await retention.sweep(), await retention.sweep(), await retention.sweep(), await retention.sweep()];
    expect(sweeps).toEqual([2, 2, 1, 0]);
    const { rows } = await sql.query<{ id: string }>("SELECT id::text FROM outbox_events");
    expect(rows.map((row) => row.id).sort()).toEqual([recent, pending].sort());
  });

  it("counts the events that two producers of one topic cannot both restore in order", async () => {
    // campaign and simulation both write campaign:<id> today: each rebuilds from its own outbox.
    const second = await privateDatabase("campaign", "rebuild2");
    const secondSql = new pg.Client({ connectionString: second.url });
    await secondSql.connect();
    const secondDb = createDb(second.url, 2);
    cleanups.push(async () => {
      await secondDb.$disconnect();
      await secondSql.end();
      await second.drop();
    });
    const [one, two] = [newProducer(), newProducer()];
    const topic = newTopic();
    const relayOne = startRelay(one);
    const relayTwo = startRelay(two, { database: { db: secondDb, url: second.url } });
    const [e1] = await insertEvents([topic]);
    await allPublished();
    await insertEvents([topic], secondSql);
    await allPublished(secondSql);
    const [e3] = await insertEvents([topic]);
    await allPublished();
    const [before] = await streamsOf([topic], [3]);
    await Promise.all([relayOne.stop(), relayTwo.stop()]);

    await loseRedisData();
    startRelay(one);
    await until("the first producer's rebuild", async () => (await redis.exists(outboxSentinelKey(one))) === 1);
    const logs = captureLogs("second-producer", "warn");
    const metrics = createMetrics("outbox-rebuild-test");
    startRelay(two, { database: { db: secondDb, url: second.url }, logger: logs.logger, metrics });
    await until("the second producer's rebuild", async () => (await redis.exists(outboxSentinelKey(two))) === 1);

    // Its event lies before the first producer's last one: Redis cannot insert it there.
    expect(await entries(topic)).toEqual([before![0], before![2]]);
    expect((await entries(topic)).map((e) => e.envelope.id)).toEqual([e1, e3]);
    expect(await restored(metrics, "out_of_order")).toBe(1);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: "warn", restored: 0, present: 0, outOfOrder: 1 }));
  }, 120_000);
});
