/**
 * The two analytics engines side by side, in one run: the same events written through each
 * store (PostgreSQL, the default, is the baseline; ClickHouse is Debian's 18.16 server on
 * loopback, started like the tests start it), then the same dashboard reads from each.
 *
 * - Ingest: BENCH_ENGINES_EVENTS events of a BENCH_ENGINES_PLAYERS-player campaign (mostly
 *   chat, joins, ticks with battles, a TICK_STATS every 400 events) spread over a week, written
 *   by writeEvents in batches of 500 (what the ingest does per firehose read): events/s, and
 *   ClickHouse's ratio to PostgreSQL.
 * - Reads: each dashboard read BENCH_ENGINES_REQUESTS times, one at a time, straight on the
 *   store (no HTTP: bench:analytics measures the subgraph): p50/p95 and the ratio.
 *
 *   npm run bench:analytics-engines
 *   BENCH_ENGINES_EVENTS=500000 npm run bench:analytics-engines
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Topics, createLogger, type ConsumedEvent } from "@startales/service-kit";
import { toEventRow, type EventRow } from "../subgraphs/analytics/src/ingest/event-rows";
import type { AnalyticsStore } from "../subgraphs/analytics/src/store/analytics-store";
import { createClickHouseStore } from "../subgraphs/analytics/src/store/clickhouse";
import { createPostgresStore } from "../subgraphs/analytics/src/store/postgres";
import { startClickHouse } from "../test/testkit/clickhouse";
import { serviceNamed } from "../test/testkit/services";
import { machine, printTable, progress, quantile, round, writeResults } from "./lib/report";
import { migrateAll } from "./lib/services";

const EVENTS = Number(process.env.BENCH_ENGINES_EVENTS ?? 200_000);
const PLAYERS = Number(process.env.BENCH_ENGINES_PLAYERS ?? 10_000);
const REQUESTS = Number(process.env.BENCH_ENGINES_REQUESTS ?? 30);
const BATCH = 500;
const DAY = 86_400_000;
const logger = createLogger("bench-analytics-engines", "silent");

const campaignId = randomUUID();
const players = Array.from({ length: PLAYERS }, () => randomUUID());
const today = Math.floor(Date.now() / DAY) * DAY;
const start = today - 6 * DAY;

/** The i-th event, at its moment in the week. */
function eventAt(i: number): EventRow {
  const at = new Date(start + Math.floor((i / EVENTS) * 7 * DAY));
  const base = { id: randomUUID(), streamId: "0-1", occurredAt: at.toISOString(), version: 1, traceparent: null };
  const player = players[(i * 7919) % PLAYERS]!;
  const tick = Math.floor(i / 400);
  let event: ConsumedEvent;
  if (i < PLAYERS * 2 && i % 2 === 0) {
    event = { ...base, type: i % 4 === 0 ? "ACCOUNT_REGISTERED" : "SIGNED_IN", topic: Topics.account(player), aggregateId: player, data: { method: "PASSWORD" }, producer: "identity" };
  } else if (i % 400 === 1) {
    event = { ...base, type: "TICK_COMPLETED", topic: Topics.world(campaignId), aggregateId: campaignId, data: { tick, hash: "h", commandsApplied: 40, commandsRejected: 1, events: 12 }, producer: "simulation" };
  } else if (i % 400 === 2) {
    const civilizations = Array.from({ length: 12 }, (_, c) => ({ civId: `c${c}`, playerId: players[(tick * 12 + c) % PLAYERS]!, population: 1000 + c, credits: 500, score: 100 * c + tick, stability: 60, ships: 4, eliminated: false, commands: c % 3 }));
    const data = { campaignId, tick, population: 12_000, credits: 6_000, ships: 48, battles: 2, tradeVolume: 300, meanStability: 60, prices: { food: 10, energy: 12 }, civilizations };
    event = { ...base, type: "TICK_STATS", topic: Topics.telemetry("simulation"), aggregateId: campaignId, data, producer: "simulation" };
  } else if (i % 400 === 3) {
    event = { ...base, type: "BATTLE_RESOLVED", topic: Topics.world(campaignId), aggregateId: campaignId, data: { tick, systemId: "s1", winnerId: "c1", loserId: "c2", winnerLosses: 1, loserLosses: 2 }, producer: "simulation" };
  } else {
    event = { ...base, type: "MESSAGE_ADDED", topic: Topics.channel(campaignId), aggregateId: randomUUID(), data: { channelId: campaignId, campaignId, authorId: player }, producer: "realtime" };
  }
  return toEventRow(event);
}

async function ingest(store: AnalyticsStore, rows: EventRow[]): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < rows.length; i += BATCH) {
    await store.writeEvents(rows.slice(i, i + BATCH));
    if ((i / BATCH) % 40 === 0) progress(`${store.engine}: ${i}/${rows.length}\r`);
  }
  return Math.round(rows.length / ((performance.now() - started) / 1000));
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The reads a dashboard makes, the same on both engines. */
const READS: { name: string; read: (store: AnalyticsStore) => Promise<unknown> }[] = [
  { name: "DAU, 7 days", read: (s) => s.activeUsers({ from: isoDay(start), to: isoDay(today) }, 1) },
  { name: "WAU, 7 days", read: (s) => s.activeUsers({ from: isoDay(start), to: isoDay(today) }, 7) },
  { name: "events per minute, 1 day", read: (s) => s.eventCounts({ from: new Date(today - DAY), to: new Date(today), bucket: "MINUTE", producer: null, type: null }) },
  { name: "events per hour, 7 days", read: (s) => s.eventCounts({ from: new Date(start), to: new Date(today + DAY), bucket: "HOUR", producer: null, type: null }) },
  { name: "retention, 7 days", read: (s) => s.cohorts({ from: isoDay(start), to: isoDay(today) }) },
  { name: "funnel, 7 days", read: (s) => s.funnel({ from: isoDay(start), to: isoDay(today) }, isoDay(today)) },
  { name: "top chatters, 7 days", read: (s) => s.chatActivity({ range: { from: isoDay(start), to: isoDay(today) }, campaignId: null, first: 100 }) },
  { name: "leaderboard history, 100 ticks", read: (s) => s.civilizationHistory({ campaignId, fromTick: 0, first: 100 }) },
];

async function reads(store: AnalyticsStore): Promise<{ name: string; p50: number; p95: number }[]> {
  const results = [];
  for (const { name, read } of READS) {
    await read(store); // warm
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now();
      await read(store);
      times.push(performance.now() - t0);
    }
    results.push({ name, p50: round(quantile(times, 0.5), 1), p95: round(quantile(times, 0.95), 1) });
  }
  return results;
}

async function main(): Promise<void> {
  const databaseUrl = Object.assign(new URL(process.env.DATABASE_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432"), { pathname: `/${serviceNamed("analytics").database}_bench_engines` }).toString();
  await migrateAll({ ANALYTICS_DATABASE_URL: databaseUrl }, ["--service", "analytics", "--drop"]).catch(() => undefined);
  await migrateAll({ ANALYTICS_DATABASE_URL: databaseUrl }, ["--service", "analytics"]);
  const clickhouse = await startClickHouse("startales_analytics_bench");
  const postgres = createPostgresStore({ url: databaseUrl, poolSize: 4, retentionDays: 30, logger });
  const ch = createClickHouseStore({ url: clickhouse.url, database: clickhouse.database, username: "default", password: "", retentionDays: 30, logger });
  try {
    progress(`generating ${EVENTS} events\n`);
    const rows = Array.from({ length: EVENTS }, (_, i) => eventAt(i));
    const pgRate = await ingest(postgres, rows);
    const chRate = await ingest(ch, rows);
    const [pgReads, chReads] = [await reads(postgres), await reads(ch)];
    console.log(`\n${JSON.stringify(machine())}`);
    printTable(`Ingest (${EVENTS} events of a ${PLAYERS}-player campaign over a week, batches of ${BATCH})`, ["engine", "events/s", "ratio to PostgreSQL"], [
      ["PostgreSQL (baseline)", String(pgRate), "1.00"],
      ["ClickHouse 18.16", String(chRate), (chRate / pgRate).toFixed(2)],
    ]);
    printTable(`Reads on the store (${REQUESTS} each, one at a time)`, ["read", "PostgreSQL p50 ms", "p95 ms", "ClickHouse p50 ms", "p95 ms", "ClickHouse p95 ÷ PostgreSQL p95"], READS.map(({ name }, i) => [
      name,
      String(pgReads[i]!.p50),
      String(pgReads[i]!.p95),
      String(chReads[i]!.p50),
      String(chReads[i]!.p95),
      (chReads[i]!.p95 / Math.max(pgReads[i]!.p95, 0.1)).toFixed(2),
    ]));
    writeResults("analytics-engines", { events: EVENTS, players: PLAYERS, ingest: { postgres: pgRate, clickhouse: chRate }, reads: READS.map(({ name }, i) => ({ name, postgres: pgReads[i], clickhouse: chReads[i] })) });
  } finally {
    await postgres.close();
    await ch.close();
    await clickhouse.stop();
    await migrateAll({ ANALYTICS_DATABASE_URL: databaseUrl }, ["--service", "analytics", "--drop"]).catch(() => undefined);
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
