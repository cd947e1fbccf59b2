import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import {
  createLogger,
  createOutboxRelay,
  publishEnvelope,
  requireUser,
  type EventEnvelope,
  type OutboxRelay,
  type OutboxSource,
} from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createDb, type Db } from "../../subgraphs/campaign/src/db";
import { createCampaignService } from "../../subgraphs/campaign/src/domain/campaign-service";
import { createCampaignInput } from "../../subgraphs/campaign/src/domain/input";
import { pgOutboxSource } from "@startales/service-kit";
import { CampaignSubgraphCreateDocument } from "../generated/operations";
import { campaignTestConfig } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { onClaim } from "../testkit/outbox-sources";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { expectData, graphql } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";

/**
 * The transactional-outbox relay (docs/architecture.md §5) against real PostgreSQL and Redis.
 * This suite has a campaign database of its own: every campaign app of the other suites runs
 * a relay too, and one of them must not publish the row the kill test leaves unpublished.
 */

const root = join(__dirname, "..", "..");
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = new Redis(redisUrl);
const logger = createLogger("outbox-relay-test", "silent");
let database: { url: string; drop: () => Promise<void> };
let sql: pg.Client;
const dbs: Db[] = [];
const pools: pg.Pool[] = [];
const topics: string[] = [];
const children = new Set<ChildProcess>();

beforeAll(async () => {
  database = await privateDatabase("campaign", "outbox");
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
}, 60_000);
afterEach(() => {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
});
afterAll(async () => {
  await Promise.all(dbs.map((db) => db.$disconnect()));
  await Promise.all(pools.map((pool) => pool.end()));
  if (topics.length) await redis.del(...topics.map((topic) => `events:${topic}`));
  redis.disconnect();
  await sql?.end();
  await database?.drop();
});

const newDb = () => {
  const db = createDb(database.url, 2);
  dbs.push(db);
  return db;
};
/** A relay's own connection, as prismaOutboxRelay gives each service's relay. */
const newRelayPool = () => {
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  pool.on("error", () => undefined); // the database is dropped under it at the end
  pools.push(pool);
  return pool;
};
const testTopic = () => {
  const topic = `outbox-test-${randomUUID()}`;
  topics.push(topic);
  return topic;
};

/** A loopback port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** Polls until `check` returns a value (not undefined/false), for at most `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A stream id at Redis's "now": entries appended after it sort after it. */
async function streamNow(): Promise<string> {
  const [seconds, micros] = await redis.time();
  return `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1}-0`;
}

type Entry = { streamId: string; envelope: EventEnvelope };
async function streamEntries(topic: string, from = "-"): Promise<Entry[]> {
  const entries = await redis.xrange(`events:${topic}`, from, "+");
  return entries.map(([streamId, fields]) => {
    expect(fields[0]).toBe("envelope");
    return { streamId, envelope: JSON.parse(fields[1]!) as EventEnvelope };
  });
}

async function publishedAt(id: string): Promise<Date | null> {
  const { rows } = await sql.query<{ published_at: Date | null }>("SELECT published_at FROM outbox_events WHERE id = $1", [id]);
  expect(rows).toHaveLength(1);
  return rows[0]!.published_at;
}

/** `count` unpublished rows of a fresh topic, inserted directly (as a service's transaction would). */
async function insertEvents(topic: string, count: number): Promise<string[]> {
  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO outbox_events (id, topic, type, aggregate_id, version, data, occurred_at)
     SELECT gen_random_uuid(), $1, 'TEST_EVENT', $2::uuid, n, jsonb_build_object('n', n), now() + n * interval '1 millisecond'
       FROM generate_series(1, $3::int) AS n
     RETURNING id::text`,
    [topic, randomUUID(), count],
  );
  return rows.map((row) => row.id);
}

async function unpublishedOf(topic: string): Promise<number> {
  const { rows } = await sql.query<{ n: string }>("SELECT count(*) AS n FROM outbox_events WHERE topic = $1 AND published_at IS NULL", [topic]);
  return Number(rows[0]!.n);
}

/** The relay as its own process (test/testkit/outbox-relay-process.ts), run by tsx. */
function relayProcess(env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    ["--require", join(root, "node_modules", "tsx", "dist", "cjs", "index.cjs"), join(root, "test", "testkit", "outbox-relay-process.ts")],
    { cwd: root, env: { PATH: process.env.PATH ?? "", DATABASE_URL: database.url, REDIS_URL: redisUrl, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, exited, stdout: () => stdout };
}

/** The campaign source, counting the rows each claim returned. */
function countingSource(source: OutboxSource, claimed: string[][], failMarkOnce = false): OutboxSource {
  let failed = !failMarkOnce;
  return {
    transaction: (work) =>
      source.transaction((tx) =>
        work({
          async claim(limit) {
            const rows = await tx.claim(limit);
            if (rows.length > 0) claimed.push(rows.map((row) => row.id));
            return rows;
          },
          async markPublished(ids) {
            if (!failed) {
              failed = true;
              throw new Error("crash between publishing and marking");
            }
            await tx.markPublished(ids);
          },
        }),
      ),
  };
}

describe("the outbox relay", () => {
  it("publishes a campaign change to the campaign stream and on pub/sub, with the whole envelope", async () => {
    const subscriber = new Redis(redisUrl);
    const live: Record<string, unknown>[] = [];
    subscriber.on("pmessage", (_pattern: string, _channel: string, message: string) => live.push(JSON.parse(message) as Record<string, unknown>));
    await subscriber.psubscribe("events:campaign:*");
    // This app's firehose, read (so made) by a group as analytics would.
    const prefix = `firehose:test-${randomUUID()}`;
    topics.push(`${prefix}:campaign`);
    await redis.xgroup("CREATE", `events:${prefix}:campaign`, "analytics", "0", "MKSTREAM");
    const app = createCampaignApp(campaignTestConfig({ DATABASE_URL: database.url, EVENT_FIREHOSE_PREFIX: prefix }), captureLogs("campaign", "warn").logger);
    try {
      const url = `${await app.listen()}/graphql`;
      const from = await streamNow();
      const gm = asUser(randomUUID(), ["GAME_MASTER"]);
      const input = { name: `Relay ${randomUUID().slice(0, 8)}` };
      const campaign = expectData(await graphql(url, CampaignSubgraphCreateDocument, { input }, { headers: await gatewayHeaders(gm) })).createCampaign;

      const { rows } = await sql.query<{ id: string; occurred_at: Date }>("SELECT id::text, occurred_at FROM outbox_events WHERE aggregate_id = $1", [campaign.id]);
      expect(rows).toHaveLength(1);
      const expected: EventEnvelope = {
        id: rows[0]!.id,
        type: "CAMPAIGN_CREATED",
        topic: `campaign:${campaign.id}`,
        occurredAt: rows[0]!.occurred_at.toISOString(),
        aggregateId: campaign.id,
        version: 1,
        data: { name: input.name, gameMasterId: requireUser(gm).userId },
        traceparent: null,
        // The service whose outbox it came from: the gateway resolves each event through its owner.
        producer: "campaign",
      };

      const entries = await until("the stream entry", async () => {
        const mine = await streamEntries(`campaign:${campaign.id}`, from);
        return mine.length > 0 && mine;
      });
      expect(entries.map((e) => e.envelope)).toEqual([expected]);
      const message = await until("the pub/sub message", async () => live.find((m) => m.aggregateId === campaign.id));
      expect(message).toEqual({ streamId: entries[0]!.streamId, ...expected });
      expect(await until("published_at", () => publishedAt(expected.id).then((at) => at ?? undefined))).toBeInstanceOf(Date);
      expect(live.filter((m) => m.aggregateId === campaign.id)).toHaveLength(1);
      // And its copy on the campaign producer's firehose, the same envelope.
      expect((await streamEntries(`${prefix}:campaign`)).map((e) => e.envelope)).toEqual([expected]);
    } finally {
      await app.stop();
      subscriber.disconnect();
    }
  });

  it("delivers an event once after the relay is killed between claiming it and publishing it", async () => {
    const from = await streamNow();
    const gm = asUser(randomUUID(), ["GAME_MASTER"]);
    const campaign = await createCampaignService(newDb()).create(requireUser(gm), createCampaignInput.parse({ name: "Killed Relay" }), {
      viewer: gm,
      requestId: randomUUID(),
    });
    const { rows } = await sql.query<{ id: string }>("SELECT id::text FROM outbox_events WHERE aggregate_id = $1", [campaign.id]);
    expect(rows).toHaveLength(1);
    const eventId = rows[0]!.id;
    const inStream = async () => (await streamEntries(`campaign:${campaign.id}`, from)).filter((e) => e.envelope.id === eventId);

    const crashed = await relayProcess({ OUTBOX_RELAY_CRASH_BEFORE_PUBLISH: "1" }).exited;
    expect(crashed.code).toBe(1);
    expect(crashed.stdout).toContain(eventId); // it had claimed the event
    expect(await inStream()).toEqual([]);
    expect(await redis.exists(`outbox:published:${eventId}`)).toBe(0);
    expect(await publishedAt(eventId)).toBeNull();

    const restarted = relayProcess();
    await until("the restarted relay to publish", () => publishedAt(eventId).then((at) => at ?? undefined));
    restarted.child.kill("SIGTERM");
    expect((await restarted.exited).code).toBe(0);
    const delivered = await inStream();
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.envelope).toMatchObject({ id: eventId, type: "CAMPAIGN_CREATED", aggregateId: campaign.id, version: 1 });
  }, 60_000);

  it("appends an event to the stream once when it is published twice", async () => {
    const topic = testTopic();
    const envelope: EventEnvelope = {
      id: randomUUID(),
      type: "TEST_EVENT",
      topic,
      occurredAt: new Date().toISOString(),
      aggregateId: randomUUID(),
      version: 1,
      data: { list: [], nested: {} },
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };
    const first = await publishEnvelope(redis, envelope, { streamMaxLen: 1000 });
    expect(first).toMatch(/^\d+-\d+$/);
    expect(await publishEnvelope(redis, envelope, { streamMaxLen: 1000 })).toBeNull();
    expect(await streamEntries(topic)).toEqual([{ streamId: first, envelope }]);
  });

  it("copies each new event to the producer's firehose once its reader has made the stream, and never a repeat", async () => {
    const topic = testTopic();
    const firehose = `firehose:test-${randomUUID()}`;
    topics.push(firehose);
    const envelope = (n: number): EventEnvelope => ({
      id: randomUUID(),
      type: "TEST_EVENT",
      topic,
      occurredAt: new Date().toISOString(),
      aggregateId: randomUUID(),
      version: n,
      data: { n },
      traceparent: null,
    });
    // No reader yet: published as always, nothing written to the firehose (no stream made).
    const before = envelope(1);
    expect(await publishEnvelope(redis, before, { streamMaxLen: 1000, firehose })).toMatch(/^\d+-\d+$/);
    expect(await redis.exists(`events:${firehose}`)).toBe(0);
    // The reader's group makes the stream; from then on each new event is copied, once.
    await redis.xgroup("CREATE", `events:${firehose}`, "analytics", "0", "MKSTREAM");
    const [first, second] = [envelope(2), envelope(3)];
    await publishEnvelope(redis, first, { streamMaxLen: 1000, firehose });
    expect(await publishEnvelope(redis, first, { streamMaxLen: 1000, firehose })).toBeNull();
    await publishEnvelope(redis, second, { streamMaxLen: 1000, firehose });
    expect(await streamEntries(firehose)).toEqual([
      { streamId: expect.stringMatching(/^\d+-\d+$/), envelope: first },
      { streamId: expect.stringMatching(/^\d+-\d+$/), envelope: second },
    ]);
    expect((await streamEntries(topic)).map((entry) => entry.envelope.id)).toEqual([before.id, first.id, second.id]);
  });

  it("survives its connection being cut while it publishes a batch, and publishes the batch again", async () => {
    const topic = testTopic();
    const ids = await insertEvents(topic, 3);
    const real = pgOutboxSource(newRelayPool());
    let cut = false;
    const cutting = onClaim(real, async (rows) => {
      if (rows.length === 0 || cut) return;
      cut = true;
      // The backend holding the relays' advisory lock is this batch's: the server ends it.
      const { rows: ended } = await sql.query<{ pid: number }>(
        `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()`,
      );
      expect(ended).toHaveLength(1);
      await sql.query("SELECT pg_terminate_backend($1)", [ended[0]!.pid]);
      await until("the backend gone", async () => (await sql.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [ended[0]!.pid])).rowCount === 0);
      // No condition to wait on without listening to the client (which is what is under
      // test): a bound for the socket's close to reach the idle, checked-out client.
      await new Promise((resolve) => setTimeout(resolve, 100));
    });
    const relay = createOutboxRelay({ source: cutting, redis, logger, batchSize: 10, pollMs: 20 });
    relay.start();
    try {
      await until("every row published", async () => (await unpublishedOf(topic)) === 0);
    } finally {
      await relay.stop();
    }
    expect(cut).toBe(true);
    expect((await streamEntries(topic)).map((e) => e.envelope.id).sort()).toEqual([...ids].sort());
  });

  it("republishes a batch whose marking failed, and the stream still holds each event once", async () => {
    const topic = testTopic();
    const ids = await insertEvents(topic, 5);
    const claimed: string[][] = [];
    const relay = createOutboxRelay({ source: countingSource(pgOutboxSource(newRelayPool()), claimed, true), redis, logger, batchSize: 10, pollMs: 20 });
    relay.start();
    try {
      await until("every row published", async () => (await unpublishedOf(topic)) === 0);
    } finally {
      await relay.stop();
    }
    // The first batch was published but not marked, so it was claimed (and sent) again.
    expect(claimed.length).toBeGreaterThanOrEqual(2);
    expect([...claimed[1]!].sort()).toEqual([...ids].sort());
    expect(claimed[0]).toEqual(claimed[1]);
    const entries = await streamEntries(topic);
    expect(entries.map((e) => e.envelope.id).sort()).toEqual([...ids].sort());
    // Oldest first: event n occurred n ms after the insert.
    expect(entries.map((e) => e.envelope.data)).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
  });

  it("claims nothing while its Redis is not connected, so a replica with Redis publishes every row", async () => {
    const topic = testTopic();
    const ids = await insertEvents(topic, 20);
    // A client that never connects: its commands would wait in the offline queue for good.
    const cutOff = new Redis({ port: await closedPort(), lazyConnect: false, maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: () => 50 });
    cutOff.on("error", () => undefined);
    const claimed: [string[][], string[][]] = [[], []];
    const [stranded, healthy] = [
      createOutboxRelay({ source: countingSource(pgOutboxSource(newRelayPool()), claimed[0]), redis: cutOff, logger, pollMs: 10 }),
      createOutboxRelay({ source: countingSource(pgOutboxSource(newRelayPool()), claimed[1]), redis, logger, pollMs: 10 }),
    ];
    stranded.start();
    // Its first cycles come first: with the rows there and nothing to stop it, it would claim them.
    await new Promise((resolve) => setTimeout(resolve, 100));
    healthy.start();
    try {
      await until("every row published by the healthy relay", async () => (await unpublishedOf(topic)) === 0, 15_000);
    } finally {
      await healthy.stop();
      await stranded.stop();
      cutOff.disconnect();
    }
    expect(claimed[0]).toEqual([]);
    expect(new Set(claimed[1].flat())).toEqual(new Set(ids));
  });

  it("two relays over many events: each row is claimed by one of them and reaches the stream once, in the order written", async () => {
    const topic = testTopic();
    const ids = await insertEvents(topic, 300);
    const claimed: [string[][], string[][]] = [[], []];
    const relays: OutboxRelay[] = claimed.map((batches) =>
      createOutboxRelay({ source: countingSource(pgOutboxSource(newRelayPool()), batches), redis, logger, batchSize: 7, pollMs: 10 }),
    );
    relays.forEach((relay) => relay.start());
    try {
      await until("every row published", async () => (await unpublishedOf(topic)) === 0, 30_000);
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
    }
    const claimedIds = claimed.flat(2);
    expect(claimedIds).toHaveLength(ids.length); // SKIP LOCKED: no row claimed twice
    expect(new Set(claimedIds)).toEqual(new Set(ids));
    const entries = await streamEntries(topic);
    const streamIds = entries.map((e) => e.envelope.id);
    expect(streamIds).toHaveLength(ids.length);
    expect(new Set(streamIds)).toEqual(new Set(ids));
    // Replicas take turns: a consumer of the topic sees the events in the order they were written.
    expect(entries.map((e) => (e.envelope.data as { n: number }).n)).toEqual(ids.map((_, i) => i + 1));
  }, 60_000);
});
