import { randomUUID } from "node:crypto";
import pg from "pg";
import { Topics, createLogger, type ConsumedEvent } from "@startales/service-kit";
import { toEventRow } from "../../subgraphs/analytics/src/ingest/event-rows";
import type { AnalyticsStore } from "../../subgraphs/analytics/src/store/analytics-store";
import { createPostgresStore } from "../../subgraphs/analytics/src/store/postgres";
import { privateDatabase } from "../testkit/databases";

/**
 * ANALYTICS_PARTITIONS=pg_partman on a real server with Debian's postgresql-15-partman: the
 * table is registered once, keeps the days the native manager made before the switch, gets a
 * partition for every day within the retention before its first event (never the default),
 * and loses whole days past the retention at the sweep, pg_partman's and native ones alike.
 * (What the engine answers with pg_partman is the contract suite's, analytics-store.test.ts.)
 */
const RETENTION_DAYS = 3;
const DAY = 86_400_000;
const logger = createLogger("analytics-partman-test", "silent");
const today = Math.floor(Date.now() / DAY) * DAY;
const day = (offset: number) => new Date(today + offset * DAY + 3_600_000);
const stamp = (offset: number) => new Date(today + offset * DAY).toISOString().slice(0, 10);
let database: Awaited<ReturnType<typeof privateDatabase>>;
let sql: pg.Client;
const stores: AnalyticsStore[] = [];

beforeAll(async () => {
  database = await privateDatabase("analytics", "partman");
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await sql?.end();
  await database?.drop();
});

const store = (partitions: "native" | "pg_partman") => {
  const made = createPostgresStore({ url: database.url, poolSize: 2, retentionDays: RETENTION_DAYS, logger, partitions });
  stores.push(made);
  return made;
};
const signedIn = (at: Date): ConsumedEvent => {
  const userId = randomUUID();
  return { id: randomUUID(), streamId: "1-1", type: "SIGNED_IN", topic: Topics.account(userId), occurredAt: at.toISOString(), aggregateId: userId, version: 1, data: { method: "PASSWORD" }, traceparent: null, producer: "identity" };
};
const children = async () =>
  (await sql.query<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'analytics_events'::regclass ORDER BY 1")).rows.map((r) => r.name);
/** The partition each raw event of these ids landed in. */
const homes = async (ids: string[]) =>
  (await sql.query<{ home: string }>("SELECT tableoid::regclass::text AS home FROM analytics_events WHERE id = ANY($1::uuid[]) ORDER BY occurred_at", [ids])).rows.map((r) => r.home);
const partmanName = (offset: number) => `analytics_events_p${stamp(offset).replaceAll("-", "_")}`;
const nativeName = (offset: number) => `analytics_events_${stamp(offset).replaceAll("-", "")}`;

it("takes over from the native manager: registered once, native days kept, every day within the retention partitioned before its first event, days past it dropped whole", async () => {
  // Before the switch: the native manager made today's and yesterday's.
  const before = [signedIn(day(-1)), signedIn(day(0))].map(toEventRow);
  await store("native").writeEvents(before);
  expect(await children()).toEqual(expect.arrayContaining([nativeName(-1), nativeName(0)]));

  const partman = store("pg_partman");
  const after = [signedIn(day(0)), signedIn(day(-2)), signedIn(day(1))].map(toEventRow);
  await partman.writeEvents(after);
  const config = await sql.query("SELECT partition_interval, premake, retention, retention_keep_table FROM partman.part_config WHERE parent_table = 'public.analytics_events'");
  expect(config.rows).toEqual([{ partition_interval: "1 day", premake: 3, retention: `${RETENTION_DAYS} days`, retention_keep_table: false }]);
  // From the day after the native manager's newest; the day before yesterday made for its late event.
  expect(await children()).toEqual(expect.arrayContaining([nativeName(-1), nativeName(0), partmanName(-2), partmanName(1), partmanName(3)]));
  expect(await children()).not.toContain(partmanName(0));
  expect(await homes(after.map((r) => r.id))).toEqual([partmanName(-2), nativeName(0), partmanName(1)]);
  // A second process registers nothing again.
  await store("pg_partman").writeEvents([toEventRow(signedIn(day(0)))]);
  expect((await sql.query("SELECT 1 FROM partman.part_config")).rowCount).toBe(1);

  // Days past the retention: one of pg_partman's, one native, and a late event in the default.
  await sql.query("SET TimeZone = 'UTC'");
  await sql.query(`SELECT partman.create_partition_time('public.analytics_events', ARRAY['${stamp(-6)} 00:00:00+00']::timestamptz[])`);
  await sql.query(`CREATE TABLE "${nativeName(-5)}" PARTITION OF analytics_events FOR VALUES FROM ('${stamp(-5)}T00:00:00Z') TO ('${stamp(-4)}T00:00:00Z')`);
  const late = toEventRow(signedIn(day(-7)));
  await partman.writeEvents([late]);
  expect(await homes([late.id])).toEqual(["analytics_events_default"]);
  const { dropped } = await partman.sweep();
  expect(dropped.sort()).toEqual([nativeName(-5), partmanName(-6)].sort());
  expect(await homes([late.id])).toEqual([]);
  expect(await children()).toEqual(expect.arrayContaining([nativeName(-1), nativeName(0), partmanName(-2), partmanName(1)]));
  expect(await homes(after.map((r) => r.id))).toHaveLength(3);
});
