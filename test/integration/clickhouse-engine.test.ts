import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from "@clickhouse/client";
import { startClickHouse, type PrivateClickHouse } from "../testkit/clickhouse";

/**
 * What Debian's clickhouse-server (bookworm: 18.16, from 2018) accepts through
 * @clickhouse/client 1.x: the facts the analytics ClickHouse engine is written against. Each
 * test is one capability, with what works and, where the obvious newer syntax does not, the
 * error it gets instead. One private server for the file.
 */

let server: PrivateClickHouse;
let client: ClickHouseClient;

beforeAll(async () => {
  server = await startClickHouse();
  client = createClient({
    url: server.url,
    database: server.database,
    // Without it 18.16 reads only "YYYY-MM-DD hh:mm:ss" and unix seconds into a DateTime.
    clickhouse_settings: { date_time_input_format: "best_effort" },
    // The failures below are expected and asserted; the client would also log them.
    log: { level: ClickHouseLogLevel.OFF },
  });
}, 60_000);
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

const run = (query: string, clickhouse_settings?: ClickHouseSettings) => client.command({ query, clickhouse_settings });
const rows = async <T = Record<string, unknown>>(query: string, clickhouse_settings?: ClickHouseSettings) => (await client.query({ query, format: "JSONEachRow", clickhouse_settings })).json<T>();
const insert = (table: string, values: object[], clickhouse_settings?: ClickHouseSettings) => client.insert({ table, values, format: "JSONEachRow", clickhouse_settings });

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const ALICE = "aaaaaaaa-0000-4000-8000-000000000001";
const BOB = "bbbbbbbb-0000-4000-8000-000000000002";

type Event = { id: string; occurred_at: string | number; producer: string; type: string; campaign_id: string | null; actor_id: string | null; data: string };
const event = (n: number, occurred_at: string | number, fields: Partial<Event> = {}): Event => ({
  id: uuid(n),
  occurred_at,
  producer: "game",
  type: "tick",
  campaign_id: null,
  actor_id: null,
  data: "{}",
  ...fields,
});

/** The events table as the engine creates it. */
const createEvents = (table: string) =>
  run(
    `CREATE TABLE ${table} (id UUID, occurred_at DateTime, producer String, type String, campaign_id Nullable(UUID), actor_id Nullable(UUID), data String)
     ENGINE = MergeTree() PARTITION BY toDate(occurred_at) ORDER BY (producer, type, occurred_at, id)`,
  );

/** ALTER ... DELETE returns before the rows are gone: the table's mutations are done when system.mutations says so. */
async function mutationsDone(table: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pending = (await rows<{ pending: string }>(`SELECT count() AS pending FROM system.mutations WHERE database = currentDatabase() AND table = '${table}' AND NOT is_done`))[0]?.pending;
    if (pending === "0") return;
    if (Date.now() > deadline) throw new Error(`${table}: ${pending} mutation(s) not done after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it("is clickhouse-server 18.16", async () => {
  expect(await rows("SELECT version() AS version")).toEqual([{ version: expect.stringMatching(/^18\.16\./) }]);
});

describe("a. the events table", () => {
  it("is a MergeTree partitioned by toDate(occurred_at), its Nullable(UUID) columns outside the sorting key", async () => {
    await createEvents("events_a");
    expect(await rows("SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'events_a'")).toEqual([
      { name: "id", type: "UUID" },
      { name: "occurred_at", type: "DateTime" },
      { name: "producer", type: "String" },
      { name: "type", type: "String" },
      { name: "campaign_id", type: "Nullable(UUID)" },
      { name: "actor_id", type: "Nullable(UUID)" },
      { name: "data", type: "String" },
    ]);
    await expect(run("CREATE TABLE nullable_key (actor_id Nullable(UUID)) ENGINE = MergeTree() ORDER BY actor_id")).rejects.toThrow(/Sorting key cannot contain nullable columns/);
  });

  it("has no DateTime64, TTL or column CODEC, and LowCardinality only behind an experimental setting", async () => {
    await expect(run("CREATE TABLE dt64 (at DateTime64(3)) ENGINE = Memory")).rejects.toThrow(/Unknown data type family: DateTime64/);
    await expect(run("CREATE TABLE ttl (at DateTime) ENGINE = MergeTree() ORDER BY at TTL at + INTERVAL 1 DAY")).rejects.toThrow(/Syntax error/);
    await expect(run("CREATE TABLE codec (at DateTime CODEC(ZSTD)) ENGINE = MergeTree() ORDER BY at")).rejects.toThrow(/Syntax error/);
    await expect(run("CREATE TABLE low (type LowCardinality(String)) ENGINE = MergeTree() ORDER BY type")).rejects.toThrow(/LowCardinality type is not allowed/);
    await run("CREATE TABLE low (type LowCardinality(String)) ENGINE = MergeTree() ORDER BY type", { allow_experimental_low_cardinality_type: 1 });
  });

  it("reads a DateTime from JSONEachRow as 'YYYY-MM-DD hh:mm:ss' or unix seconds, and ISO 8601 only with date_time_input_format=best_effort", async () => {
    await createEvents("events_a_time");
    await expect(insert("events_a_time", [event(1, "2026-12-07T10:11:12.345Z")], { date_time_input_format: "basic" })).rejects.toThrow(/Cannot parse input/);
    await insert("events_a_time", [event(2, "2026-12-07 10:11:12")], { date_time_input_format: "basic" });
    await insert("events_a_time", [event(3, 1796638272)], { date_time_input_format: "basic" });
    // best_effort (this client's default): T, milliseconds (dropped), Z and offsets (to UTC, the server's <timezone>).
    await insert("events_a_time", [event(4, "2026-12-07T10:11:12.345Z"), event(5, "2026-12-07T12:11:12+02:00"), event(6, "2026-12-07 10:11:12")]);
    expect(await rows("SELECT id, occurred_at, toUnixTimestamp(occurred_at) AS seconds FROM events_a_time ORDER BY id")).toEqual(
      [2, 3, 4, 5, 6].map((n) => ({ id: uuid(n), occurred_at: "2026-12-07 10:11:12", seconds: 1796638272 })),
    );
  });
});

describe("b. insert, select, and values in queries", () => {
  it("inserts JSONEachRow and reads it back with .json(); 64-bit integers come back as strings", async () => {
    await createEvents("events_b");
    const written = [event(1, "2026-12-07 10:00:00", { type: "joined", campaign_id: uuid(100), actor_id: ALICE, data: '{"ship":"Kestrel"}' }), event(2, "2026-12-07 10:00:01")];
    await insert("events_b", written);
    expect(await rows("SELECT * FROM events_b ORDER BY id")).toEqual(written);
    expect(await rows("SELECT count() AS events FROM events_b")).toEqual([{ events: "2" }]);
    expect(await rows("SELECT count() AS events FROM events_b", { output_format_json_quote_64bit_integers: 0 })).toEqual([{ events: 2 }]);
  });

  it("has no query parameters: the client sends query_params as param_<name>, which 18.16 takes for an unknown setting", async () => {
    const query = client.query({ query: "SELECT {actor:UUID} AS actor", query_params: { actor: ALICE }, format: "JSONEachRow" });
    await expect(query).rejects.toThrow(/Unknown setting param_actor/);
  });

  it("takes values as literals we make ourselves: a checked UUID, unix seconds, parseDateTimeBestEffort, a backslash-escaped string", async () => {
    await createEvents("events_b_literals");
    await insert("events_b_literals", [event(1, "2026-12-07 10:00:00", { actor_id: ALICE }), event(2, "2026-12-07 11:00:00", { actor_id: BOB, type: "it's" })]);
    const since = Date.parse("2026-12-07T10:30:00Z") / 1000;
    expect(await rows(`SELECT id FROM events_b_literals WHERE actor_id = toUUID('${BOB}') AND occurred_at >= toDateTime(${since})`)).toEqual([{ id: uuid(2) }]);
    expect(await rows(`SELECT id FROM events_b_literals WHERE actor_id = '${BOB}' AND occurred_at >= parseDateTimeBestEffort('2026-12-07T10:30:00Z')`)).toEqual([{ id: uuid(2) }]);
    expect(await rows(`SELECT id FROM events_b_literals WHERE type = 'it\\'s'`)).toEqual([{ id: uuid(2) }]);
    // date_time_input_format is for input formats, not SQL: an ISO literal is no DateTime.
    await expect(rows("SELECT id FROM events_b_literals WHERE occurred_at >= '2026-12-07T10:30:00Z'")).rejects.toThrow(/String is too long for DateTime/);
    await expect(rows("SELECT toUUID('not-a-uuid') AS id")).rejects.toThrow(/Cannot parse uuid/);
  });
});

describe("c. a SummingMergeTree rollup fed by a materialized view", () => {
  it("counts per minute, producer and type: sum(count) ... GROUP BY is right before and after OPTIMIZE TABLE ... FINAL", async () => {
    await createEvents("events_c");
    await run("CREATE TABLE events_per_minute (minute DateTime, producer String, type String, count UInt64) ENGINE = SummingMergeTree() PARTITION BY toDate(minute) ORDER BY (minute, producer, type)");
    await run(
      "CREATE MATERIALIZED VIEW events_per_minute_mv TO events_per_minute AS SELECT toStartOfMinute(occurred_at) AS minute, producer, type, count() AS count FROM events_c GROUP BY minute, producer, type",
    );
    // Two inserts, two parts: the same minute twice until a merge.
    await insert("events_c", [event(1, "2026-12-07 10:00:01"), event(2, "2026-12-07 10:00:59"), event(3, "2026-12-07 10:01:00", { type: "joined" })]);
    await insert("events_c", [event(4, "2026-12-07 10:00:30"), event(5, "2026-12-08 00:00:00")]);
    const totals = "SELECT minute, producer, type, sum(count) AS count FROM events_per_minute GROUP BY minute, producer, type ORDER BY minute, type";
    const expected = [
      { minute: "2026-12-07 10:00:00", producer: "game", type: "tick", count: "3" },
      { minute: "2026-12-07 10:01:00", producer: "game", type: "joined", count: "1" },
      { minute: "2026-12-08 00:00:00", producer: "game", type: "tick", count: "1" },
    ];
    expect(await rows("SELECT count() AS rows FROM events_per_minute")).toEqual([{ rows: "4" }]);
    expect(await rows(totals)).toEqual(expected);
    await run("OPTIMIZE TABLE events_per_minute FINAL");
    expect(await rows("SELECT * FROM events_per_minute ORDER BY minute, type")).toEqual(expected);
    expect(await rows(totals)).toEqual(expected);
  });
});

describe("d. AggregatingMergeTree", () => {
  it("keeps each actor's first day (minState/minMerge) and the distinct actors per day (uniqExactState/uniqExactMerge)", async () => {
    await createEvents("events_d");
    await run("CREATE TABLE first_seen (user_id UUID, first_day AggregateFunction(min, Date)) ENGINE = AggregatingMergeTree() ORDER BY user_id");
    // The alias is not actor_id: see the next test.
    await run(
      "CREATE MATERIALIZED VIEW first_seen_mv TO first_seen AS SELECT assumeNotNull(actor_id) AS user_id, minState(toDate(occurred_at)) AS first_day FROM events_d WHERE isNotNull(actor_id) GROUP BY user_id",
    );
    await run("CREATE TABLE daily_actors (day Date, producer String, actors AggregateFunction(uniqExact, UUID)) ENGINE = AggregatingMergeTree() PARTITION BY day ORDER BY (day, producer)");
    await run(
      "CREATE MATERIALIZED VIEW daily_actors_mv TO daily_actors AS SELECT toDate(occurred_at) AS day, producer, uniqExactState(assumeNotNull(actor_id)) AS actors FROM events_d WHERE isNotNull(actor_id) GROUP BY day, producer",
    );
    await insert("events_d", [event(1, "2026-12-07 10:00:00", { actor_id: ALICE }), event(2, "2026-12-07 11:00:00", { actor_id: BOB }), event(3, "2026-12-07 12:00:00")]);
    await insert("events_d", [event(4, "2026-12-06 23:59:59", { actor_id: ALICE }), event(5, "2026-12-08 09:00:00", { actor_id: ALICE })]);
    const firstSeen = "SELECT user_id, minMerge(first_day) AS first_day FROM first_seen GROUP BY user_id ORDER BY user_id";
    const expected = [
      { user_id: ALICE, first_day: "2026-12-06" },
      { user_id: BOB, first_day: "2026-12-07" },
    ];
    expect(await rows(firstSeen)).toEqual(expected);
    expect(await rows("SELECT day, uniqExactMerge(actors) AS actors FROM daily_actors GROUP BY day ORDER BY day")).toEqual([
      { day: "2026-12-06", actors: "1" },
      { day: "2026-12-07", actors: "2" },
      { day: "2026-12-08", actors: "1" },
    ]);
    expect(await rows("SELECT uniqExactMerge(actors) AS actors FROM daily_actors")).toEqual([{ actors: "2" }]);
    await run("OPTIMIZE TABLE first_seen FINAL");
    expect(await rows(firstSeen)).toEqual(expected);
  });

  it("lets an alias named like a column replace that column everywhere, WHERE included: NULL actors get through as the zero UUID", async () => {
    await createEvents("events_d_alias");
    await insert("events_d_alias", [event(1, "2026-12-07 10:00:00", { actor_id: ALICE }), event(2, "2026-12-07 11:00:00")]);
    expect(await rows("SELECT assumeNotNull(actor_id) AS actor_id FROM events_d_alias WHERE isNotNull(actor_id) ORDER BY actor_id")).toEqual([
      { actor_id: "00000000-0000-0000-0000-000000000000" },
      { actor_id: ALICE },
    ]);
  });
});

describe("e. mutations", () => {
  it("deletes with ALTER TABLE ... DELETE WHERE in the background, done when system.mutations says is_done", async () => {
    await createEvents("events_e");
    await insert("events_e", [event(1, "2026-12-07 10:00:00", { actor_id: ALICE }), event(2, "2026-12-07 11:00:00", { actor_id: BOB }), event(3, "2026-12-08 10:00:00", { actor_id: ALICE })]);
    await run(`ALTER TABLE events_e DELETE WHERE actor_id = '${ALICE}'`);
    expect(await rows("SELECT command FROM system.mutations WHERE database = currentDatabase() AND table = 'events_e'")).toEqual([{ command: `DELETE WHERE actor_id = '${ALICE}'` }]);
    await mutationsDone("events_e");
    expect(await rows("SELECT id FROM events_e")).toEqual([{ id: uuid(2) }]);
  });

  it("checks the WHERE when the ALTER is issued: a bad UUID fails the statement, no mutation is queued", async () => {
    await createEvents("events_e_bad");
    await insert("events_e_bad", [event(1, "2026-12-07 10:00:00", { actor_id: ALICE })]);
    await expect(run("ALTER TABLE events_e_bad DELETE WHERE actor_id = 'not-a-uuid'")).rejects.toThrow(/Cannot parse uuid/);
    expect(await rows("SELECT count() AS mutations FROM system.mutations WHERE database = currentDatabase() AND table = 'events_e_bad'")).toEqual([{ mutations: "0" }]);
  });

  it("has no mutations_sync setting and no KILL MUTATION", async () => {
    await createEvents("events_e_sync");
    await expect(run(`ALTER TABLE events_e_sync DELETE WHERE actor_id = '${ALICE}'`, { mutations_sync: "2" })).rejects.toThrow(/Unknown setting mutations_sync/);
    await expect(run("KILL MUTATION WHERE database = currentDatabase() AND table = 'events_e_sync'")).rejects.toThrow(/Syntax error/);
  });

  it("deletes from SummingMergeTree and AggregatingMergeTree tables (a materialized view's TO table, not the view)", async () => {
    await run("CREATE TABLE sums_e (day Date, user_id UUID, count UInt64) ENGINE = SummingMergeTree() ORDER BY (day, user_id)");
    await run("CREATE TABLE firsts_e (user_id UUID, first_day AggregateFunction(min, Date)) ENGINE = AggregatingMergeTree() ORDER BY user_id");
    await run("CREATE MATERIALIZED VIEW firsts_e_mv TO firsts_e AS SELECT user_id, minState(day) AS first_day FROM sums_e GROUP BY user_id");
    await insert("sums_e", [
      { day: "2026-12-07", user_id: ALICE, count: 2 },
      { day: "2026-12-07", user_id: BOB, count: 1 },
    ]);
    await run(`ALTER TABLE sums_e DELETE WHERE user_id = '${ALICE}'`);
    await run(`ALTER TABLE firsts_e DELETE WHERE user_id = '${ALICE}'`);
    await expect(run(`ALTER TABLE firsts_e_mv DELETE WHERE user_id = '${ALICE}'`)).rejects.toThrow(/Execute the statement directly on it/);
    await mutationsDone("sums_e");
    await mutationsDone("firsts_e");
    expect(await rows("SELECT user_id, sum(count) AS count FROM sums_e GROUP BY user_id")).toEqual([{ user_id: BOB, count: "1" }]);
    expect(await rows("SELECT user_id, minMerge(first_day) AS first_day FROM firsts_e GROUP BY user_id")).toEqual([{ user_id: BOB, first_day: "2026-12-07" }]);
  });
});

describe("f. partitions", () => {
  const partitions = (table: string) =>
    rows(
      `SELECT partition, partition_id, sum(rows) AS rows FROM system.parts WHERE active AND database = currentDatabase() AND table = '${table}' GROUP BY partition, partition_id ORDER BY partition`,
    );

  it("names a toDate partition '2026-12-07' (partition_id '20261207'), dropped by that string, by toDate(...) or by ID", async () => {
    await createEvents("events_f");
    await insert("events_f", [event(1, "2026-12-05 10:00:00"), event(2, "2026-12-06 10:00:00"), event(3, "2026-12-07 10:00:00"), event(4, "2026-12-08 10:00:00")]);
    expect(await partitions("events_f")).toEqual([
      { partition: "2026-12-05", partition_id: "20261205", rows: "1" },
      { partition: "2026-12-06", partition_id: "20261206", rows: "1" },
      { partition: "2026-12-07", partition_id: "20261207", rows: "1" },
      { partition: "2026-12-08", partition_id: "20261208", rows: "1" },
    ]);
    await run("ALTER TABLE events_f DROP PARTITION '2026-12-05'");
    await run("ALTER TABLE events_f DROP PARTITION toDate('2026-12-06')");
    await run("ALTER TABLE events_f DROP PARTITION ID '20261207'");
    expect(await partitions("events_f")).toEqual([{ partition: "2026-12-08", partition_id: "20261208", rows: "1" }]);
    expect(await rows("SELECT id FROM events_f")).toEqual([{ id: uuid(4) }]);
  });

  it("takes a bare number for a day number, not YYYYMMDD: DROP PARTITION 20261208 drops nothing, silently", async () => {
    await createEvents("events_f_number");
    await insert("events_f_number", [event(1, "2026-12-08 10:00:00")]);
    await run("ALTER TABLE events_f_number DROP PARTITION 20261208");
    expect(await partitions("events_f_number")).toEqual([{ partition: "2026-12-08", partition_id: "20261208", rows: "1" }]);
  });
});

describe("g. the client's HTTP requests", () => {
  it("work with createClient's defaults (no settings sent, no compression), with gzip both ways, and with a session", async () => {
    await createEvents("events_g");
    for (const options of [{}, { compression: { request: true, response: true } }, { session_id: `probe-${Date.now()}` }]) {
      const other = createClient({ url: server.url, database: server.database, ...options });
      try {
        expect(await other.ping()).toEqual({ success: true });
        await other.insert({ table: "events_g", values: [event(1000, "2026-12-09 00:00:00")], format: "JSONEachRow" });
        expect(await (await other.query({ query: `SELECT occurred_at FROM events_g WHERE id = '${uuid(1000)}'`, format: "JSONEachRow" })).json()).toEqual([{ occurred_at: "2026-12-09 00:00:00" }]);
        await other.command({ query: `ALTER TABLE events_g DELETE WHERE id = '${uuid(1000)}'` });
        await mutationsDone("events_g");
      } finally {
        await other.close();
      }
    }
  });

  it("fail on any setting 18.16 does not know (async_insert), while wait_end_of_query and send_progress_in_http_headers are known", async () => {
    await expect(rows("SELECT 1 AS one", { async_insert: 1 })).rejects.toThrow(/Unknown setting async_insert/);
    expect(await rows("SELECT 1 AS one", { wait_end_of_query: 1, send_progress_in_http_headers: 1, max_execution_time: 10 })).toEqual([{ one: 1 }]);
  });

  it("read JSONEachRow, JSON, JSONCompact and TabSeparated, not the newer JSONCompactEachRow or JSONObjectEachRow", async () => {
    expect(await (await client.query({ query: "SELECT 1 AS one", format: "JSON" })).json()).toMatchObject({ data: [{ one: 1 }], rows: 1 });
    expect(await (await client.query({ query: "SELECT 1 AS one", format: "JSONCompact" })).json()).toMatchObject({ data: [[1]] });
    expect(await (await client.query({ query: "SELECT 1 AS one", format: "TabSeparated" })).text()).toBe("1\n");
    for (const format of ["JSONCompactEachRow", "JSONObjectEachRow", "JSONEachRowWithProgress"] as const) {
      await expect(client.query({ query: "SELECT 1 AS one", format }).then((result) => result.json())).rejects.toThrow(new RegExp(`Unknown format ${format}`));
    }
  });

  it("throw the server's errors as plain Errors, 'Code: <n>, e.displayText() = ...': the client's ClickHouseError (code, type) does not parse 18.16's text", async () => {
    const error = await rows("SELECT * FROM no_such_table").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ClickHouseError);
    expect((error as Error).message).toMatch(/^Code: 60, e\.displayText\(\) = DB::Exception: Table startales_analytics\.no_such_table doesn't exist/);
  });
});

describe("h. SQL", () => {
  it("reads a ReplacingMergeTree with FINAL (a plain MergeTree refuses FINAL)", async () => {
    await run("CREATE TABLE latest_h (id UUID, name String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id");
    await insert("latest_h", [{ id: ALICE, name: "old", version: 1 }]);
    await insert("latest_h", [{ id: ALICE, name: "new", version: 2 }]);
    expect(await rows("SELECT name FROM latest_h ORDER BY version")).toEqual([{ name: "old" }, { name: "new" }]);
    expect(await rows("SELECT name FROM latest_h FINAL")).toEqual([{ name: "new" }]);
    await createEvents("events_h_final");
    await expect(rows("SELECT * FROM events_h_final FINAL")).rejects.toThrow(/Storage MergeTree doesn't support FINAL/);
  });

  it("has WITH for expressions and scalar subqueries, not for named subqueries (CTEs): a subquery in FROM instead", async () => {
    expect(await rows("WITH 2 AS two SELECT two * 3 AS six")).toEqual([{ six: 6 }]);
    expect(await rows("WITH (SELECT max(number) FROM numbers(5)) AS top SELECT count() AS n FROM numbers(10) WHERE number <= top")).toEqual([{ n: "5" }]);
    await expect(rows("WITH small AS (SELECT number FROM numbers(3)) SELECT count() AS n FROM small")).rejects.toThrow(/Syntax error/);
    expect(await rows("SELECT count() AS n FROM (SELECT number FROM numbers(3))")).toEqual([{ n: "3" }]);
  });

  it("has arrayJoin, ARRAY JOIN, IN (subquery), LIMIT n BY and JOIN ... ON", async () => {
    expect(await rows("SELECT arrayJoin([1, 2, 3]) AS x")).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
    expect(await rows("SELECT x FROM (SELECT [1, 2] AS xs) ARRAY JOIN xs AS x")).toEqual([{ x: 1 }, { x: 2 }]);
    expect(await rows("SELECT number FROM numbers(10) WHERE number IN (SELECT number * 3 FROM numbers(3)) ORDER BY number")).toEqual([{ number: "0" }, { number: "3" }, { number: "6" }]);
    expect(await rows("SELECT number % 2 AS odd, number FROM numbers(6) ORDER BY odd, number DESC LIMIT 1 BY odd")).toEqual([
      { odd: 0, number: "4" },
      { odd: 1, number: "5" },
    ]);
    expect(await rows("SELECT l.a AS a, r.b AS b FROM (SELECT 1 AS a) AS l LEFT JOIN (SELECT 1 AS a, 2 AS b) AS r ON l.a = r.a")).toEqual([{ a: 1, b: 2 }]);
  });

  it("has toStartOfMinute/FiveMinute/FifteenMinutes/Hour/Day, toMonday, toStartOfMonth, toYYYYMMDD, today(), not toStartOfInterval or toStartOfWeek", async () => {
    const at = "toDateTime('2026-12-10 10:11:12')";
    expect(
      await rows(
        `SELECT toStartOfMinute(${at}) AS minute, toStartOfFiveMinute(${at}) AS five, toStartOfFifteenMinutes(${at}) AS fifteen, toStartOfHour(${at}) AS hour,
                toStartOfDay(${at}) AS day, toMonday(${at}) AS monday, toStartOfMonth(${at}) AS month, toYYYYMMDD(${at}) AS yyyymmdd, today() = toDate(now()) AS today`,
      ),
    ).toEqual([
      {
        minute: "2026-12-10 10:11:00",
        five: "2026-12-10 10:10:00",
        fifteen: "2026-12-10 10:00:00",
        hour: "2026-12-10 10:00:00",
        day: "2026-12-10 00:00:00",
        monday: "2026-12-07",
        month: "2026-12-01",
        yyyymmdd: 20261210,
        today: 1,
      },
    ]);
    await expect(rows(`SELECT toStartOfInterval(${at}, INTERVAL 5 MINUTE) AS x`)).rejects.toThrow(/Unknown function toStartOfInterval/);
    await expect(rows(`SELECT toStartOfWeek(${at}) AS x`)).rejects.toThrow(/Unknown function toStartOfWeek/);
  });

  it("has countIf, sumIf, uniqExactIf, quantiles(0.5, 0.95) and quantilesTDigest", async () => {
    expect(
      await rows(
        "SELECT countIf(number % 2 = 0) AS even, sumIf(number, number < 10) AS small, uniqExactIf(number % 7, number > 50) AS sevens, quantiles(0.5, 0.95)(number) AS q, quantilesTDigest(0.5, 0.95)(number) AS t FROM numbers(100)",
      ),
    ).toEqual([{ even: "50", small: "45", sevens: "7", q: [49.5, 94.05], t: [49.5, 94.5] }]);
  });

  it("reads JSON text with visitParamExtract*, not JSONExtract*", async () => {
    expect(await rows(`SELECT visitParamExtractString('{"ship":"Kestrel","crew":4}', 'ship') AS ship, visitParamExtractUInt('{"ship":"Kestrel","crew":4}', 'crew') AS crew`)).toEqual([
      { ship: "Kestrel", crew: "4" },
    ]);
    await expect(rows(`SELECT JSONExtractString('{"ship":"Kestrel"}', 'ship') AS ship`)).rejects.toThrow(/Unknown function JSONExtractString/);
  });

  it("refuses several statements in one query, DELETE FROM, ADD COLUMN IF NOT EXISTS and window functions", async () => {
    await createEvents("events_h_refused");
    await expect(run("SELECT 1; SELECT 2")).rejects.toThrow(/Multi-statements are not allowed/);
    await expect(run("DELETE FROM events_h_refused WHERE 1")).rejects.toThrow(/Syntax error/);
    await expect(run("ALTER TABLE events_h_refused ADD COLUMN IF NOT EXISTS extra String")).rejects.toThrow(/Syntax error/);
    await expect(rows("SELECT number, sum(number) OVER () AS total FROM numbers(3)")).rejects.toThrow(/Syntax error/);
  });
});
