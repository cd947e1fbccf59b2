import { createPgPool, inPgTransaction, pgSql, prismaSql } from "@startales/service-kit";
import { createDb } from "../../subgraphs/simulation/src/db";
import { required } from "../testkit/config";

/**
 * The kit's bare node-postgres path (pg-sql.ts), on the real PostgreSQL: a transaction commits
 * when its work returns and leaves nothing when it throws or a statement overruns, the pool
 * gets its connection back either way, and the same SQL reads the same through a Prisma
 * transaction (prismaSql), which world generation uses.
 */
const url = required("SIMULATION_DATABASE_URL");
const pool = createPgPool(url, 2);
const prisma = createDb(url, 1);
const table = `pg_sql_test_${process.pid}`;

beforeAll(() => pool.query(`CREATE TABLE IF NOT EXISTS ${table} (id int PRIMARY KEY, data jsonb NOT NULL)`));
afterAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
  await prisma.$disconnect();
});

it("commits what the work wrote when it returns, and nothing when it throws", async () => {
  const written = await inPgTransaction(pool, (sql) => sql.execute(`INSERT INTO ${table} (id, data) VALUES ($1::int, $2::jsonb)`, [1, JSON.stringify({ tick: 1 })]));
  expect(written).toBe(1);
  await expect(
    inPgTransaction(pool, async (sql) => {
      await sql.execute(`INSERT INTO ${table} (id, data) VALUES ($1::int, $2::jsonb)`, [2, JSON.stringify({ tick: 2 })]);
      throw new Error("the tick broke");
    }),
  ).rejects.toThrow("the tick broke");
  expect(await pgSql(pool).rows<{ id: number; data: { tick: number } }>(`SELECT id, data FROM ${table} ORDER BY id`)).toEqual([{ id: 1, data: { tick: 1 } }]);
  // Both connections back in the pool, none waiting.
  expect([pool.totalCount - pool.idleCount, pool.waitingCount]).toEqual([0, 0]);
});

it("ends a statement that overruns its bound, and rolls its transaction back", async () => {
  await expect(
    inPgTransaction(
      pool,
      async (sql) => {
        await sql.execute(`INSERT INTO ${table} (id, data) VALUES (3, '{}')`);
        await sql.rows("SELECT pg_sleep(2)");
      },
      { statementTimeoutMs: 100 },
    ),
  ).rejects.toThrow(/statement timeout/);
  expect((await pgSql(pool).rows(`SELECT id FROM ${table} WHERE id = 3`)).length).toBe(0);
});

it("reads and writes the same through a Prisma transaction", async () => {
  const rows = await prisma.$transaction(async (tx) => {
    const sql = prismaSql(tx);
    expect(await sql.execute(`UPDATE ${table} SET data = $2::jsonb WHERE id = $1::int`, [1, JSON.stringify({ tick: 5 })])).toBe(1);
    return sql.rows<{ id: number; data: { tick: number } }>(`SELECT id, data FROM ${table} WHERE id = $1::int`, [1]);
  });
  expect(rows).toEqual([{ id: 1, data: { tick: 5 } }]);
});
