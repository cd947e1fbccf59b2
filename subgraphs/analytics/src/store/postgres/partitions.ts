import type { Logger } from "@startales/service-kit";
import type { Db } from "./db";

export const DAY_MS = 86_400_000;
/** The day partitions this manager makes: `analytics_events_20261207`. */
const NAME = /^analytics_events_(\d{4})(\d{2})(\d{2})$/;

/** `2026-12-07` for the UTC day of `ms`. */
export const dayOf = (ms: number) => new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
const partitionName = (day: string) => `analytics_events_${day.replaceAll("-", "")}`;

/** The day of one of this manager's partitions, or null for another table. */
export function nativeDayOf(name: string): string | null {
  const match = NAME.exec(name);
  return match ? `${match[1]}-${match[2]}-${match[3]}` : null;
}

/** The partitions of `analytics_events` (the default one among them). */
export async function partitionsOf(db: Pick<Db, "$queryRaw">): Promise<string[]> {
  const rows = await db.$queryRaw<{ name: string }[]>`
    SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'analytics_events'::regclass`;
  return rows.map((row) => row.name);
}

/** Drops this manager's day partitions older than `oldest` among `names`, and empties the default of those days; returns what it dropped. */
export async function dropNativeBefore(db: Db, names: string[], oldest: string): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of names) {
    const day = nativeDayOf(name);
    if (day === null || day >= oldest) continue;
    await db.$executeRawUnsafe(`DROP TABLE IF EXISTS "${name}"`);
    dropped.push(name);
  }
  await db.$executeRaw`DELETE FROM analytics_events_default WHERE occurred_at < ${new Date(`${oldest}T00:00:00Z`)}`;
  return dropped;
}

/**
 * The day partitions of `analytics_events` (PostgreSQL's declarative partitioning; no
 * extension, so it runs on any server, managed ones included). A day's partition is made
 * before its first event is written; those past the retention are dropped whole, which costs
 * nothing like a DELETE. Events older than the retention that arrive late go to the default
 * partition, emptied by the same sweep: a partition is never made for a day past the
 * retention, so the default never holds rows of a day that gets one.
 */
export function createPartitions(deps: { db: Db; retentionDays: number; logger: Logger; now?: () => number }) {
  const { db, logger } = deps;
  const now = deps.now ?? Date.now;
  const made = new Set<string>();
  const oldestKept = () => dayOf(now() - deps.retentionDays * DAY_MS);

  async function make(day: string): Promise<void> {
    const next = dayOf(Date.parse(`${day}T00:00:00Z`) + DAY_MS);
    // One maker at a time across the pool's replicas: two CREATEs of one partition race in the catalog.
    await db.$transaction([
      db.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('analytics_events partitions'))`,
      db.$executeRawUnsafe(
        `CREATE TABLE IF NOT EXISTS "${partitionName(day)}" PARTITION OF analytics_events FOR VALUES FROM ('${day}T00:00:00Z') TO ('${next}T00:00:00Z')`,
      ),
    ]);
    made.add(day);
  }

  return {
    /** Makes the partitions these events need (days within the retention), once per day per process. */
    async ensureFor(occurredAt: string[]): Promise<void> {
      const oldest = oldestKept();
      const days = new Set(occurredAt.map((at) => at.slice(0, 10)).filter((day) => day >= oldest && !made.has(day)));
      for (const day of [...days].sort()) await make(day);
    },

    /** Drops the day partitions past the retention, empties the default of them, and makes today's and tomorrow's. */
    async sweep(): Promise<{ dropped: string[] }> {
      const oldest = oldestKept();
      const dropped = await dropNativeBefore(db, await partitionsOf(db), oldest);
      for (const name of dropped) made.delete(nativeDayOf(name)!);
      for (const day of [dayOf(now()), dayOf(now() + DAY_MS)]) if (!made.has(day)) await make(day);
      if (dropped.length) logger.info({ dropped, oldestKept: oldest }, "dropped raw event partitions past the retention");
      return { dropped };
    },
  };
}

export type Partitions = ReturnType<typeof createPartitions>;
