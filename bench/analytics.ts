/**
 * Analytics: ingest and dashboards at 10,000 players, each beside a baseline of the same run.
 *
 * - Ingest, drained: BENCH_ANALYTICS_EVENTS events of a 10,000-player campaign (chat messages,
 *   joins, ticks with their battles) waiting on the producers' firehoses, read by the analytics
 *   worker pool (its built process) into raw rows and rollups. Baseline: the same rows written
 *   by one connection as plain multi-row INSERTs of the same batch size into a table of the
 *   same shape, no partitions, no rollups, no Redis: what writing them costs at the least.
 * - Ingest, live: the firehoses fed at a 10,000-player campaign's rate (a 1 Hz tick and its
 *   battles, each player writing a chat message every BENCH_ANALYTICS_CHAT_S seconds) for
 *   BENCH_ANALYTICS_LIVE_S seconds: the lag from an event's publication to its row (p50, p95,
 *   max). Target: < 5 s.
 * - Dashboards: a week of 10,000 players' rollups generated in the database (daily activity,
 *   per-minute event counts, chat per player, a tick a second), then each dashboard query
 *   BENCH_ANALYTICS_REQUESTS times by each path, one request at a time, the two paths taking
 *   turns: as analysts use it, through the gateway (its built process, with its V8 flags as
 *   deployed, routing to identity and the analytics subgraph, each its own process) with an
 *   analyst's API key (a service account with the ANALYST role and a READ key, made through
 *   the gateway by identity's first admin, as test/e2e/analytics.test.ts does), and straight
 *   to the analytics subgraph (its built process) with the identity the gateway signs for
 *   that key: p50 and p95 of each path and their ratio (through the gateway ÷ straight).
 *   Baselines: `{ __typename }` on each path (through the gateway: its HTTP, API key,
 *   rate-limit and GraphQL floor; on the subgraph: its HTTP, identity and GraphQL floor). The
 *   gateway's limits are raised so that no request of the run is refused (the checks still
 *   run). Target: p95 through the gateway < 200 ms.
 *
 *   npm run bench:analytics
 *   BENCH_ANALYTICS_EVENTS=200000 BENCH_ANALYTICS_LIVE_S=30 BENCH_ANALYTICS_REQUESTS=50 npm run bench:analytics
 *   BENCH_ANALYTICS_EVENTS=20000 BENCH_ANALYTICS_LIVE_S=5 BENCH_ANALYTICS_REQUESTS=10 npm run bench:analytics
 */
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { IDENTITY_HEADER, Role, Scope, Topics, createIdentitySigner, createRedis, outboxDedupeKey, signedIn, streamKey, type EventEnvelope, type SignedInViewer } from "@startales/service-kit";
import { GATEWAY_NODE_FLAGS } from "../gateway/src/node-flags";
import { deleteKeysMatching } from "../test/testkit/redis-keys";
import { gatewayService, serviceNamed, wiredUrls } from "../test/testkit/services";
import { machine, printTable, progress, quantile, round, writeResults } from "./lib/report";
import { graphql, loopbackPlayersGatewayEnv, migrateAll, spawnService, type ServiceProcess } from "./lib/services";

const EVENTS = Number(process.env.BENCH_ANALYTICS_EVENTS ?? 200_000);
const PLAYERS = Number(process.env.BENCH_ANALYTICS_PLAYERS ?? 10_000);
const LIVE_S = Number(process.env.BENCH_ANALYTICS_LIVE_S ?? 30);
const CHAT_S = Number(process.env.BENCH_ANALYTICS_CHAT_S ?? 30);
const REQUESTS = Number(process.env.BENCH_ANALYTICS_REQUESTS ?? 50);
const BATCH = 500;
const LAG_TARGET_S = 5;
const DASHBOARD_TARGET_MS = 200;
const DAY = 86_400_000;

const run = randomBytes(4).toString("hex");
const prefix = `firehose:bench:${run}`;
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const databaseUrl = Object.assign(new URL(process.env.DATABASE_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432"), { pathname: `/${serviceNamed("analytics").database}_bench` }).toString();
// Identity's of this bench alone: the benches on startBenchStack drop `startales_identity_bench` when they stop.
const identityDatabaseUrl = Object.assign(new URL(process.env.DATABASE_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432"), { pathname: `/${serviceNamed("identity").database}_bench_analytics` }).toString();
const secret = randomBytes(48).toString("base64url");
const adminEmail = `bench-admin-${run}@example.test`;
const rateLimitPrefix = `rate-limit:bench:${run}:`;
const env = {
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  GATEWAY_SIGNING_SECRET: secret,
  EVENT_FIREHOSE_PREFIX: prefix,
};

const campaignId = randomUUID();
const channelId = randomUUID();
const players = Array.from({ length: PLAYERS }, () => randomUUID());

/** The i-th event of the campaign's mix: mostly chat, a tick every 400 events with two battles after it, joins at the start. */
function eventAt(i: number, at: Date): { producer: string; envelope: EventEnvelope } {
  const base = { id: randomUUID(), occurredAt: at.toISOString(), version: 1, traceparent: null };
  if (i < PLAYERS && i % 20 === 0) {
    const userId = players[i % PLAYERS]!;
    return { producer: "campaign", envelope: { ...base, type: "PLAYER_JOINED", topic: Topics.campaign(campaignId), aggregateId: campaignId, data: { userId, membershipId: randomUUID() }, producer: "campaign" } };
  }
  const tick = Math.floor(i / 400);
  if (i % 400 === 1) {
    return {
      producer: "simulation",
      envelope: { ...base, type: "TICK_COMPLETED", topic: Topics.world(campaignId), aggregateId: campaignId, data: { tick, hash: "h", commandsApplied: 40, commandsRejected: 1, events: 12 }, producer: "simulation" },
    };
  }
  if (i % 400 === 2 || i % 400 === 3) {
    const data = { tick, systemId: `s${i % 97}`, winnerId: "c1", loserId: "c2", winnerLosses: 1, loserLosses: 2 };
    return { producer: "simulation", envelope: { ...base, type: "BATTLE_RESOLVED", topic: Topics.world(campaignId), aggregateId: campaignId, data, producer: "simulation" } };
  }
  const authorId = players[(i * 7919) % PLAYERS]!;
  return {
    producer: "realtime",
    envelope: { ...base, type: "MESSAGE_ADDED", topic: Topics.channel(channelId), aggregateId: randomUUID(), data: { channelId, campaignId, authorId }, producer: "realtime" },
  };
}

type Redis = ReturnType<typeof createRedis>;

/** Appends envelopes to their firehoses, as the relays' publish script does, pipelined. */
async function publish(redis: Redis, events: { producer: string; envelope: EventEnvelope }[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const { producer, envelope } of events) pipeline.xadd(streamKey(Topics.firehose(producer, prefix)), "*", "envelope", JSON.stringify(envelope));
  await pipeline.exec();
}

const count = async (db: pg.Client, table: string) => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

async function rawBaseline(db: pg.Client, rows: { producer: string; envelope: EventEnvelope }[]): Promise<number> {
  await db.query("DROP TABLE IF EXISTS bench_raw_events");
  await db.query("CREATE TABLE bench_raw_events (LIKE analytics_events INCLUDING DEFAULTS, PRIMARY KEY (occurred_at, id))");
  const started = performance.now();
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH).map(({ producer, envelope: e }) => ({
      id: e.id,
      occurred_at: e.occurredAt,
      producer,
      family: e.topic.split(":")[0],
      type: e.type,
      aggregate_id: e.aggregateId,
      data: e.data,
    }));
    await db.query(
      `INSERT INTO bench_raw_events (id, occurred_at, producer, family, type, aggregate_id, data)
       SELECT id, occurred_at, producer, family, type, aggregate_id, data
         FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, occurred_at timestamptz, producer text, family text, type text, aggregate_id text, data jsonb)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(batch)],
    );
  }
  const seconds = (performance.now() - started) / 1000;
  await db.query("DROP TABLE bench_raw_events");
  return rows.length / seconds;
}

async function drainedIngest(db: pg.Client, redis: Redis, rows: { producer: string; envelope: EventEnvelope }[]): Promise<{ perSecond: number; worker: ServiceProcess }> {
  for (let i = 0; i < rows.length; i += 5_000) await publish(redis, rows.slice(i, i + 5_000));
  progress(`  ${rows.length} events waiting on the firehoses; starting the worker pool\n`);
  const worker = await spawnService("analytics-worker", serviceNamed("analytics").workerPool!.main, env);
  const started = performance.now();
  let done = 0;
  while (done < rows.length) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    done = await count(db, "analytics_events");
    progress(`\r  ingested ${done}/${rows.length}`);
    if (performance.now() - started > 600_000) throw new Error(`ingest stalled at ${done}/${rows.length}`);
  }
  const seconds = (performance.now() - started) / 1000;
  progress("\n");
  return { perSecond: rows.length / seconds, worker };
}

/** Feeds the firehoses at the campaign's rate for LIVE_S seconds; the lag of every event from its publication to its row. */
async function liveIngest(db: pg.Client, redis: Redis, offset: number): Promise<{ rate: number; lags: number[] }> {
  const perSecond = Math.round(PLAYERS / CHAT_S) + 3; // the chat, a tick and its two battles
  const before = await count(db, "analytics_events");
  let sent = 0;
  for (let s = 0; s < LIVE_S; s++) {
    const second = performance.now();
    const events = Array.from({ length: perSecond }, (_, k) => eventAt(offset + s * 400 + (k < 3 ? k + 1 : k + 4), new Date()));
    await publish(redis, events);
    sent += events.length;
    progress(`\r  live: ${s + 1}/${LIVE_S} s, ${sent} events`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - second))));
  }
  const deadline = Date.now() + 60_000;
  while ((await count(db, "analytics_events")) < before + sent && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  progress("\n");
  const { rows } = await db.query<{ lag: number }>(
    "SELECT extract(epoch FROM ingested_at - occurred_at) * 1000 AS lag FROM analytics_events ORDER BY ingested_at DESC LIMIT $1",
    [sent],
  );
  return { rate: perSecond, lags: rows.map((row) => Number(row.lag)) };
}

/** A week of 10,000 players: about 60 % active a day, 12 event types a minute, 40 messages a player a week, a tick a second. */
async function generateWeek(db: pg.Client): Promise<void> {
  const today = new Date(Math.floor(Date.now() / DAY) * DAY);
  const from = new Date(today.getTime() - 6 * DAY).toISOString().slice(0, 10);
  const to = today.toISOString().slice(0, 10);
  const users = JSON.stringify(players);
  await db.query(
    `INSERT INTO user_activity (day, user_id, events)
     SELECT d::date, u::uuid, 1 + (abs(hashtext(u || d::text)) % 30)
       FROM generate_series($1::date, $2::date, interval '1 day') d, jsonb_array_elements_text($3::jsonb) u
      WHERE abs(hashtext(d::text || u)) % 10 < 6
     ON CONFLICT DO NOTHING`,
    [from, to, users],
  );
  await db.query(
    `INSERT INTO event_counts (minute, producer, type, count)
     SELECT m, p, t, 1 + (abs(hashtext(m::text || t)) % 400)
       FROM generate_series($1::timestamptz, $2::timestamptz + interval '1 day' - interval '1 minute', interval '1 minute') m,
            (VALUES ('realtime', 'MESSAGE_ADDED'), ('realtime', 'MESSAGE_EDITED'), ('realtime', 'MESSAGE_DELETED'), ('campaign', 'PLAYER_JOINED'), ('campaign', 'PLAYER_LEFT'),
                    ('simulation', 'TICK_COMPLETED'), ('simulation', 'BATTLE_RESOLVED'), ('simulation', 'FLEET_ARRIVED'), ('simulation', 'FLEET_DESTROYED'),
                    ('simulation', 'RESEARCH_COMPLETED'), ('simulation', 'PRICE_SHOCK'), ('notification', 'NOTIFICATION_ADDED')) AS k(p, t)
     ON CONFLICT DO NOTHING`,
    [`${from}T00:00:00Z`, `${to}T00:00:00Z`],
  );
  await db.query(
    `INSERT INTO chat_activity (day, campaign_id, user_id, messages)
     SELECT d::date, $4::uuid, u::uuid, 1 + (abs(hashtext(u || d::text)) % 12)
       FROM generate_series($1::date, $2::date, interval '1 day') d, jsonb_array_elements_text($3::jsonb) u
      WHERE abs(hashtext(d::text || u)) % 10 < 4
     ON CONFLICT DO NOTHING`,
    [from, to, users, campaignId],
  );
  await db.query(
    `INSERT INTO campaign_ticks (campaign_id, tick, completed_at, commands_applied, commands_rejected, engine_events, battles, fleets_destroyed, wars)
     SELECT $1::uuid, t, $2::timestamptz + t * interval '1 second', 40, 1, 12, t % 3, t % 5, 0 FROM generate_series(100000, 100000 + 7 * 86400) t
     ON CONFLICT DO NOTHING`,
    [campaignId, `${from}T00:00:00Z`],
  );
  await db.query("ANALYZE");
}

/** The key, the identity the gateway signs for it, and the accounts made for it (the admin and the service account). */
type Analyst = { key: string; viewer: SignedInViewer; accounts: string[] };

/**
 * Identity (a database of its own; its first admin by BOOTSTRAP_ADMIN_EMAILS) and the gateway
 * routing to it and to the analytics subgraph, each its own process. Their events and the
 * gateway's usage statistics go to this run's firehoses (read by this run's worker pool), its
 * rate-limit buckets to a namespace of the run's; its limits are raised so none refuses a
 * request of the bench (the checks still run).
 */
async function startGateway(subgraph: ServiceProcess, services: ServiceProcess[]): Promise<ServiceProcess> {
  await migrateAll({ IDENTITY_DATABASE_URL: identityDatabaseUrl }, ["--service", "identity", "--drop"]).catch(() => undefined);
  await migrateAll({ IDENTITY_DATABASE_URL: identityDatabaseUrl }, ["--service", "identity"]);
  const identity = await spawnService("identity", serviceNamed("identity").main, {
    DATABASE_URL: identityDatabaseUrl,
    REDIS_URL: redisUrl,
    GATEWAY_SIGNING_SECRET: secret,
    EVENT_FIREHOSE_PREFIX: prefix,
    JWT_PRIVATE_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    BOOTSTRAP_ADMIN_EMAILS: adminEmail,
  });
  services.push(identity);
  const origins = { identity: identity.url, analytics: subgraph.url };
  const gateway = await spawnService(
    "gateway",
    gatewayService.main,
    {
      ...wiredUrls(gatewayService, origins),
      ...Object.fromEntries(Object.entries(origins).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`])),
      GATEWAY_SIGNING_SECRET: secret,
      REDIS_URL: redisUrl,
      EVENT_FIREHOSE_PREFIX: prefix,
      RATE_LIMIT_KEY_PREFIX: rateLimitPrefix,
      ...loopbackPlayersGatewayEnv(),
      RATE_LIMIT_API_KEY_PER_MINUTE: "100000000",
    },
    // As deployed: the gateway's V8 flags (gateway/src/node-flags.ts).
    GATEWAY_NODE_FLAGS,
  );
  services.push(gateway);
  return gateway;
}

/**
 * A BI tool's read-only API key, made through the gateway as test/e2e/analytics.test.ts makes
 * it: identity's first admin signs up, makes a service account, gives it the ANALYST role and
 * a READ key. With the identity the gateway signs for that key, for the straight path.
 */
async function analystKey(gatewayUrl: string): Promise<Analyst> {
  const gql = `${gatewayUrl}/graphql`;
  const { register } = await graphql<{ register: { accessToken: string; user: { id: string } } }>(gql, "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }", {
    i: { email: adminEmail, password: `pw-${randomUUID()}`, displayName: "Bench admin" },
  });
  const token = register.accessToken;
  const account = (await graphql<{ createServiceAccount: { id: string } }>(gql, 'mutation { createServiceAccount(input: { name: "Dashboards" }) { id } }', {}, token)).createServiceAccount;
  await graphql(gql, "mutation($id: ID!) { setUserRoles(userId: $id, roles: [SERVICE, ANALYST]) { id } }", { id: account.id }, token);
  const created = (
    await graphql<{ createServiceApiKey: { key: string; apiKey: { id: string } } }>(
      gql,
      'mutation($id: ID!) { createServiceApiKey(serviceAccountId: $id, input: { name: "dashboards", scopes: [READ] }) { key apiKey { id } } }',
      { id: account.id },
      token,
    )
  ).createServiceApiKey;
  return {
    key: created.key,
    viewer: signedIn(account.id, [Role.SERVICE, Role.ANALYST], { credential: "api_key", scopes: [Scope.READ], apiKeyId: created.apiKey.id }),
    accounts: [register.user.id, account.id],
  };
}

/** The event streams identity published the accounts' events to, and the relay's dedupe keys of those events (kept for days). */
async function removeAccountStreams(redis: Redis, accounts: readonly string[]): Promise<void> {
  for (const account of accounts) {
    const stream = streamKey(Topics.account(account));
    const entries = await redis.xrange(stream, "-", "+");
    const ids = entries.flatMap(([, fields]) => {
      const envelope = fields[fields.indexOf("envelope") + 1];
      return envelope ? [(JSON.parse(envelope) as { id: string }).id] : [];
    });
    await redis.del(stream, ...ids.map(outboxDedupeKey));
  }
}

type Path = "direct" | "gateway";
type Answer = { ms: number; bytes: number; data: unknown };
type Timing = { p50: number; p95: number };
type DashboardRow = { name: string; answerBytes: number; direct: Timing; gateway: Timing };

const timing = (times: number[]): Timing => ({ p50: round(quantile(times, 0.5)), p95: round(quantile(times, 0.95)) });

async function dashboards(subgraph: ServiceProcess, gateway: ServiceProcess, analyst: Analyst): Promise<DashboardRow[]> {
  const sign = createIdentitySigner(secret);
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const queries: [string, string, Record<string, unknown>][] = [
    ["baseline: { __typename }", "{ __typename }", {}],
    ["DAU, last 30 days", "query($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t, window: DAY) { day users } }", { f: iso(now - 30 * DAY), t: iso(now) }],
    ["MAU, last 30 days", "query($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t, window: MONTH) { day users } }", { f: iso(now - 30 * DAY), t: iso(now) }],
    ["events, 24 h by minute", "query($f: DateTime!, $t: DateTime!) { eventSeries(from: $f, to: $t, bucket: MINUTE) { producer type start counts } }", { f: iso(now - DAY), t: iso(now) }],
    ["events, 30 days by hour", "query($f: DateTime!, $t: DateTime!) { eventSeries(from: $f, to: $t, bucket: HOUR) { producer type start counts } }", { f: iso(now - 30 * DAY), t: iso(now) }],
    ["chat leaders, 7 days", "query($f: DateTime!, $t: DateTime!, $c: ID) { chatActivity(from: $f, to: $t, campaignId: $c, first: 100) { user { id } messages activeDays } }", { f: iso(now - 7 * DAY), t: iso(now), c: campaignId }],
    ["ticks, 500 of a week", "query($c: ID!, $t: Int) { campaignTickHistory(campaignId: $c, fromTick: $t, first: 500) { tick completedAt battles } }", { c: campaignId, t: 400_000 }],
  ];
  /** One request by one path, timed from its sending to its parsed answer (the identity is signed before: the gateway's signing is in its own time). */
  const request = async (path: Path, name: string, body: string): Promise<Answer> => {
    const [url, credential] = path === "direct" ? [`${subgraph.url}/graphql`, { [IDENTITY_HEADER]: await sign(analyst.viewer, randomUUID()) }] : [`${gateway.url}/graphql`, { "x-api-key": analyst.key }];
    const started = performance.now();
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...credential }, body });
    const text = await response.text();
    const answer = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
    const ms = performance.now() - started;
    if (answer.errors || !response.ok) throw new Error(`${name} failed ${path === "direct" ? "straight to the subgraph" : "through the gateway"} (HTTP ${response.status}): ${JSON.stringify(answer.errors)}`);
    return { ms, bytes: Buffer.byteLength(text), data: answer.data };
  };
  const results: DashboardRow[] = [];
  for (const [name, query, variables] of queries) {
    const body = JSON.stringify({ query, variables });
    const times = { direct: [] as number[], gateway: [] as number[] };
    let answerBytes = 0;
    for (let i = 0; i < REQUESTS + 3; i++) {
      // The paths take turns, each first every other round: neither is always the one after a warm cache.
      const order = i % 2 === 0 ? (["direct", "gateway"] as const) : (["gateway", "direct"] as const);
      const answers: Partial<Record<Path, Answer>> = {};
      for (const path of order) answers[path] = await request(path, name, body);
      const { direct, gateway: viaGateway } = answers as Record<Path, Answer>;
      if (i === 0 && JSON.stringify(direct.data) !== JSON.stringify(viaGateway.data)) progress(`  note: ${name}: the gateway's first answer differs from the subgraph's\n`);
      answerBytes = direct.bytes;
      // The first three rounds warm the processes, the gateway's API key cache and the database's caches.
      if (i >= 3) {
        times.direct.push(direct.ms);
        times.gateway.push(viaGateway.ms);
      }
    }
    const row = { name, answerBytes, direct: timing(times.direct), gateway: timing(times.gateway) };
    results.push(row);
    progress(`  ${name}: p95 ${row.direct.p95} ms straight to the subgraph, ${row.gateway.p95} ms through the gateway\n`);
  }
  return results;
}

async function main(): Promise<void> {
  const m = machine();
  console.log(`bench:analytics on ${m.cpu} (${m.cores} cores), Node ${m.node}, load ${m.loadavg.join(" ")}`);
  await migrateAll({ ANALYTICS_DATABASE_URL: databaseUrl }, ["--service", "analytics", "--drop"]).catch(() => undefined);
  await migrateAll({ ANALYTICS_DATABASE_URL: databaseUrl }, ["--service", "analytics"]);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const redis = createRedis(redisUrl, "bench-analytics");
  const services: ServiceProcess[] = [];
  const accounts: string[] = [];
  try {
    const start = Date.now() - EVENTS;
    const rows = Array.from({ length: EVENTS }, (_, i) => eventAt(i, new Date(start + i)));
    progress("raw INSERT baseline\n");
    const baseline = await rawBaseline(db, rows);
    progress(`  ${Math.round(baseline)} rows/s\n`);
    progress("ingest, drained\n");
    const drained = await drainedIngest(db, redis, rows);
    services.push(drained.worker);
    progress("ingest, live\n");
    const live = await liveIngest(db, redis, EVENTS);
    progress("dashboards: generating a week of 10,000 players\n");
    await generateWeek(db);
    const subgraph = await spawnService("analytics", serviceNamed("analytics").main, env);
    services.push(subgraph);
    progress("dashboards: starting identity and the gateway, making an analyst's API key\n");
    const gateway = await startGateway(subgraph, services);
    const analyst = await analystKey(gateway.url);
    accounts.push(...analyst.accounts);
    const queries = await dashboards(subgraph, gateway, analyst);

    const lagP95 = quantile(live.lags, 0.95);
    printTable(`Ingest (${EVENTS} events of a ${PLAYERS}-player campaign, batches of ${BATCH})`, ["path", "events/s", "ratio to baseline"], [
      ["raw INSERT, no rollups (baseline)", String(Math.round(baseline)), "1"],
      ["firehoses → analytics worker pool → raw + rollups", String(Math.round(drained.perSecond)), String(round(drained.perSecond / baseline))],
    ]);
    printTable(`Ingest, live at ${live.rate} events/s (${PLAYERS} players, a 1 Hz tick) for ${LIVE_S} s`, ["lag p50 ms", "lag p95 ms", "lag max ms", `target p95 < ${LAG_TARGET_S} s`, "headroom (drained ÷ live rate)"], [
      [
        String(round(quantile(live.lags, 0.5))),
        String(round(lagP95)),
        String(round(Math.max(...live.lags))),
        lagP95 < LAG_TARGET_S * 1000 ? "PASS" : "FAIL",
        `${round(drained.perSecond / live.rate)}×`,
      ],
    ]);
    printTable(
      `Dashboards (a week of ${PLAYERS} players; ${REQUESTS} requests each path, one at a time, the paths taking turns): straight to the subgraph with the identity the gateway signs, and through the gateway with an analyst's API key`,
      ["query", "answer bytes", "straight p50 ms", "straight p95 ms", "gateway p50 ms", "gateway p95 ms", "gateway ÷ straight p50", "gateway ÷ straight p95", `target gateway p95 < ${DASHBOARD_TARGET_MS} ms`],
      queries.map((q, i) => [
        q.name,
        String(q.answerBytes),
        String(q.direct.p50),
        String(q.direct.p95),
        String(q.gateway.p50),
        String(q.gateway.p95),
        String(round(q.gateway.p50 / q.direct.p50)),
        String(round(q.gateway.p95 / q.direct.p95)),
        i === 0 ? "" : q.gateway.p95 < DASHBOARD_TARGET_MS ? "PASS" : "FAIL",
      ]),
    );
    writeResults("analytics", { events: EVENTS, players: PLAYERS, baselinePerSecond: baseline, drainedPerSecond: drained.perSecond, live: { rate: live.rate, p50: quantile(live.lags, 0.5), p95: lagP95 }, queries });
  } finally {
    for (const service of services.reverse()) await service.stop();
    await deleteKeysMatching(redis, `events:${prefix}:*`);
    await deleteKeysMatching(redis, `${rateLimitPrefix}*`);
    await removeAccountStreams(redis, accounts);
    redis.disconnect();
    await db.end();
    await migrateAll({ ANALYTICS_DATABASE_URL: databaseUrl }, ["--service", "analytics", "--drop"]).catch(() => undefined);
    await migrateAll({ IDENTITY_DATABASE_URL: identityDatabaseUrl }, ["--service", "identity", "--drop"]).catch(() => undefined);
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
