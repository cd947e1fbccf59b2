import { randomUUID } from "node:crypto";
import { databaseOutageReason } from "@startales/service-kit";
import { createDb, type Db } from "../../subgraphs/campaign/src/db";
import { required } from "../testkit/config";

/**
 * DATABASE_POOL_TIMEOUT_MS: how long a query waits for one of the pool's connections. With
 * the only connection held by a transaction that takes seconds, the next query gives up after
 * the wait it was given (a database outage to the service: SERVICE_UNAVAILABLE), or, given
 * longer than that transaction, gets its connection and its answer.
 */

let dbs: Db[] = [];
afterEach(async () => {
  await Promise.all(dbs.map((db) => db.$disconnect()));
  dbs = [];
});

/** A pool of one connection, held for `holdSeconds` by a transaction; then a second query (`asTransaction`: an interactive transaction). */
async function queryBehindHeldConnection(waitMs: number, holdSeconds: number, asTransaction = false): Promise<PromiseSettledResult<unknown>> {
  const db = createDb(required("CAMPAIGN_DATABASE_URL"), 1, waitMs);
  dbs.push(db);
  await db.$queryRaw`SELECT 1`;
  const tag = randomUUID();
  const holding = db.$transaction(async (tx) => tx.$executeRawUnsafe(`SELECT pg_sleep(${holdSeconds}) -- ${tag}`), { timeout: 30_000 });
  // The transaction has the connection once its sleep shows in pg_stat_activity.
  const probe = createDb(required("CAMPAIGN_DATABASE_URL"), 1);
  dbs.push(probe);
  for (;;) {
    const [row] = await probe.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE ${`%${tag}%`} AND state = 'active' AND pid <> pg_backend_pid()`;
    if (row!.n > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const [second] = await Promise.allSettled([asTransaction ? db.$transaction(async (tx) => tx.$queryRaw`SELECT 2 AS two`) : db.$queryRaw`SELECT 2 AS two`]);
  await holding;
  return second;
}

it("a query that waits longer than DATABASE_POOL_TIMEOUT_MS for a connection fails as a database outage", async () => {
  const second = await queryBehindHeldConnection(300, 3);
  expect(second.status).toBe("rejected");
  expect(databaseOutageReason((second as PromiseRejectedResult).reason)).toBeDefined();
});

it("a query given longer than the connection is held gets it and its answer", async () => {
  const second = await queryBehindHeldConnection(10_000, 1);
  expect(second).toEqual({ status: "fulfilled", value: [{ two: 2 }] });
});

it("an interactive transaction waits for its connection as long as a query does, not Prisma's 2 s", async () => {
  const second = await queryBehindHeldConnection(10_000, 3, true);
  expect(second).toEqual({ status: "fulfilled", value: [{ two: 2 }] });
});

it("an interactive transaction that waits longer than DATABASE_POOL_TIMEOUT_MS fails as a database outage", async () => {
  const second = await queryBehindHeldConnection(300, 3, true);
  expect(second.status).toBe("rejected");
  expect(databaseOutageReason((second as PromiseRejectedResult).reason)).toBeDefined();
});
