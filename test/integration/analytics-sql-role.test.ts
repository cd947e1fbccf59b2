import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { required } from "../testkit/config";

/**
 * The read-only SQL door for BI tools: a login given the role startales_analyst (as an
 * operator makes one for Grafana or Metabase) reads the documented views of the analytics
 * database, and nothing else: no rollup or raw table, no write, no table of another service's
 * database.
 */

const analyticsUrl = required("ANALYTICS_DATABASE_URL");
const login = `analyst_test_${required("TEST_RUN_ID")}_${randomBytes(2).toString("hex")}`;
const as = (databaseUrl: string, user: string) => Object.assign(new URL(databaseUrl), { username: user, password: "bi-tool" }).toString();
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: analyticsUrl });
  await admin.connect();
  await admin.query(`CREATE ROLE "${login}" LOGIN PASSWORD 'bi-tool' IN ROLE startales_analyst`);
});
afterAll(async () => {
  await admin.query(`DROP ROLE IF EXISTS "${login}"`);
  await admin.end();
});

async function connected<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: as(databaseUrl, login) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE a statement fails with, or "ok". */
const outcome = (client: pg.Client, sql: string) =>
  client.query(sql).then(
    () => "ok",
    (error: { code?: string }) => error.code ?? "error",
  );

it("reads the analyst views, and the figures in them are the rollups'", async () => {
  const user = randomUUID();
  await admin.query("INSERT INTO user_activity (day, user_id, events) VALUES ('2001-02-03', $1, 7)", [user]);
  await connected(analyticsUrl, async (client) => {
    expect((await client.query("SELECT events FROM analyst.user_activity WHERE user_id = $1", [user])).rows).toEqual([{ events: 7 }]);
    expect((await client.query("SELECT users FROM analyst.daily_active_users WHERE day = '2001-02-03'")).rows).toEqual([{ users: 1 }]);
    for (const view of ["user_cohorts", "event_counts", "campaign_ticks", "chat_activity"]) expect(await outcome(client, `SELECT * FROM analyst.${view} LIMIT 1`)).toBe("ok");
  });
});

it("cannot read the raw events or the rollup tables, write anything, or read another service's database", async () => {
  // 42501: insufficient_privilege.
  await connected(analyticsUrl, async (client) => {
    expect(await outcome(client, "SELECT * FROM analytics_events LIMIT 1")).toBe("42501");
    expect(await outcome(client, "SELECT * FROM public.user_activity LIMIT 1")).toBe("42501");
    expect(await outcome(client, `INSERT INTO analyst.user_activity (day, user_id, events) VALUES ('2001-02-04', '${randomUUID()}', 1)`)).toBe("42501");
    expect(await outcome(client, "DELETE FROM analyst.event_counts")).toBe("42501");
    expect(await outcome(client, "CREATE TABLE analyst.mine (x int)")).toBe("42501");
    expect(await outcome(client, "CREATE TABLE public.mine (x int)")).toBe("42501");
  });
  // The server may let it connect to another database (CONNECT is PUBLIC's by default; the
  // runbook says to revoke it), but it can read none of its tables.
  await connected(required("IDENTITY_DATABASE_URL"), async (client) => {
    expect(await outcome(client, "SELECT email FROM users LIMIT 1")).toBe("42501");
    expect(await outcome(client, "SELECT * FROM outbox_events LIMIT 1")).toBe("42501");
  });
});
