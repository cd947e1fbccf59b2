import type { Logger } from "@startales/service-kit";
import type { Db } from "./db";
import { DAY_MS, dayOf, dropNativeBefore, nativeDayOf, partitionsOf, type Partitions } from "./partitions";

/** pg_partman's daily children: `analytics_events_p2026_12_07`. */
const PARTMAN_NAME = /^analytics_events_p(\d{4})_(\d{2})_(\d{2})$/;
const PARENT = "public.analytics_events";
/** Days pg_partman makes ahead of today. */
const PREMAKE = 3;

/**
 * The day partitions of `analytics_events` kept by pg_partman (ANALYTICS_PARTITIONS=pg_partman,
 * for servers that have the extension, Debian's `postgresql-15-partman`): registered once with
 * `create_parent` (daily, PREMAKE days ahead, the retention in `part_config`), then
 * `run_maintenance` at each sweep makes the coming days and drops those past the retention.
 *
 * What partitions.ts guarantees holds here too: a day within the retention has its partition
 * before its first event is written (`create_partition_time` for a day pg_partman has not made
 * yet: a late or early event), so the default partition only ever holds days past the
 * retention, which the sweep deletes; partman cannot then be refused a day the default holds.
 * Day partitions the native manager made before the switch stay, and are dropped by the sweep
 * past the retention as before. Boundaries are UTC days: every statement runs with TimeZone UTC.
 */
export function createPartmanPartitions(deps: { db: Db; retentionDays: number; logger: Logger; now?: () => number }): Partitions {
  const { db, logger } = deps;
  const now = deps.now ?? Date.now;
  const made = new Set<string>();
  const oldestKept = () => dayOf(now() - deps.retentionDays * DAY_MS);
  let registered: Promise<void> | undefined;

  /** The day a partition holds, whichever manager made it. */
  const dayOfName = (name: string) => {
    const match = PARTMAN_NAME.exec(name);
    return match ? `${match[1]}-${match[2]}-${match[3]}` : nativeDayOf(name);
  };
  const remember = (names: string[]) => {
    made.clear();
    for (const name of names) {
      const day = dayOfName(name);
      if (day) made.add(day);
    }
  };

  /** Once per process: the extension, and the table registered with it (by whichever replica comes first). */
  const register = () =>
    (registered ??= db
      .$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('analytics_events partitions'))`;
        await tx.$executeRawUnsafe(`SET LOCAL TimeZone = 'UTC'`);
        await tx.$executeRawUnsafe(`CREATE SCHEMA IF NOT EXISTS partman`);
        await tx.$executeRawUnsafe(`CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman`);
        const [known] = await tx.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM partman.part_config WHERE parent_table = ${PARENT}::text`;
        if (known!.n === 0) {
          // From the day after the native manager's newest, so no two children cover one day.
          const natives = (await partitionsOf(tx))
            .map(nativeDayOf)
            .filter((day): day is string => day !== null)
            .sort();
          const newest = natives.at(-1);
          const start = newest && newest >= oldestKept() ? dayOf(Date.parse(`${newest}T00:00:00Z`) + DAY_MS) : oldestKept();
          // pg_partman (4.7) makes the default partition itself, under the name the migration's
          // has: that one steps aside, and what it held (days past the retention only) moves to
          // the new one, where the sweep deletes it as before.
          await tx.$executeRawUnsafe(`ALTER TABLE analytics_events DETACH PARTITION analytics_events_default`);
          await tx.$executeRawUnsafe(`ALTER TABLE analytics_events_default RENAME TO analytics_events_default_native`);
          await tx.$executeRaw`SELECT partman.create_parent(p_parent_table := ${PARENT}::text, p_control := 'occurred_at', p_type := 'native', p_interval := 'daily', p_premake := ${PREMAKE}::int, p_start_partition := ${`${start} 00:00:00+00`}::text)`;
          await tx.$executeRawUnsafe(`INSERT INTO analytics_events SELECT * FROM analytics_events_default_native`);
          await tx.$executeRawUnsafe(`DROP TABLE analytics_events_default_native`);
          await tx.$executeRaw`UPDATE partman.part_config SET retention = ${`${deps.retentionDays} days`}::text, retention_keep_table = false, infinite_time_partitions = true WHERE parent_table = ${PARENT}::text`;
          logger.info({ start, premake: PREMAKE, retentionDays: deps.retentionDays }, "analytics_events registered with pg_partman");
        }
      })
      .then(async () => remember(await partitionsOf(db)))
      .catch((error: unknown) => {
        registered = undefined;
        throw error;
      }));

  async function make(day: string): Promise<void> {
    await db.$transaction([
      db.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('analytics_events partitions'))`,
      db.$executeRawUnsafe(`SET LOCAL TimeZone = 'UTC'`),
      db.$executeRaw`SELECT partman.create_partition_time(${PARENT}::text, ARRAY[${`${day} 00:00:00+00`}::timestamptz])`,
    ]);
    made.add(day);
  }

  return {
    async ensureFor(occurredAt: string[]): Promise<void> {
      await register();
      const oldest = oldestKept();
      const days = new Set(occurredAt.map((at) => at.slice(0, 10)).filter((day) => day >= oldest && !made.has(day)));
      for (const day of [...days].sort()) await make(day);
    },

    async sweep(): Promise<{ dropped: string[] }> {
      await register();
      const oldest = oldestKept();
      const before = await partitionsOf(db);
      await db.$transaction([db.$executeRawUnsafe(`SET LOCAL TimeZone = 'UTC'`), db.$executeRaw`SELECT partman.run_maintenance(${PARENT}::text)`]);
      // The native manager's days past the retention (pg_partman drops only its own), as it would.
      await dropNativeBefore(db, before, oldest);
      const after = await partitionsOf(db);
      const dropped = before.filter((name) => !after.includes(name));
      remember(after);
      if (dropped.length) logger.info({ dropped, oldestKept: oldest }, "dropped raw event partitions past the retention");
      return { dropped };
    },
  };
}
