import type { Logger } from "@startales/service-kit";
import type { Db } from "./db";

const DAY_MS = 86_400_000;
const NAME = /^analytics_events_(\d{4})(\d{2})(\d{2})$/;

/** `2026-12-07` for the UTC day of `ms`. */
const dayOf = (ms: number) => new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
const partitionName = (day: string) => `analytics_events_${day.replaceAll("-", "")}`;

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
      const partitions = await db.$queryRaw<{ name: string }[]>`
        SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'analytics_events'::regclass`;
      const dropped: string[] = [];
      for (const { name } of partitions) {
        const match = NAME.exec(name);
        if (!match || `${match[1]}-${match[2]}-${match[3]}` >= oldest) continue;
        await db.$executeRawUnsafe(`DROP TABLE IF EXISTS "${name}"`);
        made.delete(`${match[1]}-${match[2]}-${match[3]}`);
        dropped.push(name);
      }
      await db.$executeRaw`DELETE FROM analytics_events_default WHERE occurred_at < ${new Date(`${oldest}T00:00:00Z`)}`;
      for (const day of [dayOf(now()), dayOf(now() + DAY_MS)]) if (!made.has(day)) await make(day);
      if (dropped.length) logger.info({ dropped, oldestKept: oldest }, "dropped raw event partitions past the retention");
      return { dropped };
    },
  };
}

export type Partitions = ReturnType<typeof createPartitions>;
