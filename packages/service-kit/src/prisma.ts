import { PrismaPg } from "@prisma/adapter-pg";
import type { ReadinessCheck } from "./health";

type Adapter = Awaited<ReturnType<PrismaPg["connect"]>>;
type Transaction = Awaited<ReturnType<Adapter["startTransaction"]>>;

/** The statements Prisma ends an interactive transaction with (it calls commit() or rollback() only after them). */
const CLOSING_STATEMENTS = new Set(["COMMIT", "ROLLBACK"]);

/**
 * adapter-pg gives a transaction's connection back to the pool in commit() and rollback(),
 * and Prisma calls them only once its COMMIT or ROLLBACK statement succeeded. On a
 * connection the server closed (a restart, a failover, a network cut) that statement fails,
 * so the dead connection stayed checked out for good: the pool lost a slot with every
 * outage until it had none, and `$disconnect()` waited on it forever. Here a failed closing
 * statement gives the connection back (the pool discards one that is dead).
 */
function releaseWhenClosingFails(transaction: Transaction): Transaction {
  const executeRaw = transaction.executeRaw.bind(transaction);
  transaction.executeRaw = async (query) => {
    try {
      return await executeRaw(query);
    } catch (error) {
      if (CLOSING_STATEMENTS.has(query.sql)) await transaction.rollback().catch(() => undefined);
      throw error;
    }
  };
  return transaction;
}

class RecoveringPrismaPg extends PrismaPg {
  override async connect(): Promise<Adapter> {
    const adapter = await super.connect();
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => releaseWhenClosingFails(await startTransaction(isolationLevel));
    return adapter;
  }
}

/**
 * The driver adapter a service's generated PrismaClient runs on (no native engine, so no
 * binary download), as prismaOptions gives it to a PrismaClient.
 */
export function pgAdapter(connectionString: string, poolSize: number, waitMs = 5_000): PrismaPg {
  // min = max: a connection, once opened, is kept (pg's default closes one idle for 10 s).
  // Opening one costs a PostgreSQL backend, authentication and TLS in production, 25-35 ms on
  // our 2-core machine, and the load comes in bursts (a tick, a wave of chat): traced,
  // realtime's slowest live deliveries were requests that waited on connections opened anew.
  // The pool is still bounded by DATABASE_POOL_SIZE, which max_connections must fit anyway.
  // A query that waits DATABASE_POOL_TIMEOUT_MS (`waitMs`) for a connection fails, and the
  // request answers SERVICE_UNAVAILABLE with a retryAfter.
  return new RecoveringPrismaPg({ connectionString, max: poolSize, min: poolSize, connectionTimeoutMillis: waitMs });
}

type Pingable = { $queryRawUnsafe(query: string): Promise<unknown> };

export const databaseReadiness = (prisma: Pingable): ReadinessCheck => ({
  name: "database",
  check: () => prisma.$queryRawUnsafe("SELECT 1"),
});

/**
 * What a service's generated PrismaClient is built with: `new PrismaClient(prismaOptions(url,
 * size, waitMs))`. The adapter (pgAdapter), and interactive transactions (`$transaction(fn)`)
 * that wait for a connection as long as a query does: Prisma's own maxWait (2 s) refused them
 * under load while the pool would have handed a connection out in time.
 */
export const prismaOptions = (connectionString: string, poolSize: number, waitMs = 5_000) => ({
  adapter: pgAdapter(connectionString, poolSize, waitMs),
  transactionOptions: { maxWait: waitMs },
});
