import { randomUUID } from "node:crypto";
import { userHash } from "../../ingest/forgotten-users";
import { Prisma } from "../../generated/prisma/client";
import type { UserFootprint } from "../analytics-store";
import type { Db } from "./db";

type Client = Pick<Db, "$queryRaw" | "$executeRaw">;

/**
 * Raw events name a user as their actor, as their aggregate (an account's own events), or
 * inside their payload (a recipient, a member): all three count. The payload match scans the
 * raw days kept (ANALYTICS_RAW_RETENTION_DAYS); an erasure is rare, and raw rows are few
 * beside the rollups.
 */
const namesUser = (userId: string) => Prisma.sql`(actor_id = ${userId}::uuid OR aggregate_id = ${userId} OR strpos(data::text, ${userId}) > 0)`;

export async function footprintOf(db: Client, userId: string): Promise<UserFootprint> {
  const [row] = await db.$queryRaw<UserFootprint[]>`
    SELECT (SELECT count(*)::int FROM analytics_events WHERE ${namesUser(userId)}) AS "rawEvents",
           (SELECT count(*)::int FROM user_activity WHERE user_id = ${userId}::uuid) AS "activityDays",
           (SELECT count(DISTINCT day)::int FROM chat_activity WHERE user_id = ${userId}::uuid) AS "chatDays",
           (SELECT count(DISTINCT day)::int FROM command_activity WHERE user_id = ${userId}::uuid) AS "commandDays",
           (SELECT count(DISTINCT day)::int FROM session_activity WHERE user_id = ${userId}::uuid) AS "sessionDays",
           EXISTS (SELECT 1 FROM user_cohorts WHERE user_id = ${userId}::uuid) AS cohort,
           (SELECT count(*)::int FROM civilization_ticks WHERE player_id = ${userId}::uuid) AS "civilizationTicks"`;
  return row!;
}

/**
 * The erasure is noted first, on its own (a hash of the id), so the ingest sees it before
 * anything here runs: an event naming the user written after that is either seen by the
 * statements below or, written after them, seen by the ingest's look at the list once it is
 * written (firehose-ingest.ts), which forgets again. Then, in one transaction, the raw events
 * naming the user are deleted and their rollup rows move to a fresh random id; a second time
 * (already noted), rows naming them are late arrivals of activity already counted under that
 * id, and are deleted instead, as ClickHouse does.
 */
export async function forgetUser(db: Db, userId: string): Promise<UserFootprint> {
  const anonymous = randomUUID();
  const noted = await db.$executeRaw`INSERT INTO forgotten_users (user_hash) VALUES (${userHash(userId)}) ON CONFLICT DO NOTHING`;
  return db.$transaction(async (tx) => {
    const before = await footprintOf(tx, userId);
    await tx.$executeRaw`DELETE FROM analytics_events WHERE ${namesUser(userId)}`;
    for (const table of ["user_activity", "chat_activity", "user_cohorts", "command_activity", "session_activity", "user_milestones"]) {
      if (noted === 1) await tx.$executeRawUnsafe(`UPDATE ${table} SET user_id = $1::uuid WHERE user_id = $2::uuid`, anonymous, userId);
      else await tx.$executeRawUnsafe(`DELETE FROM ${table} WHERE user_id = $1::uuid`, userId);
    }
    // The civilization they played stays in the campaign's history, no longer theirs.
    await tx.$executeRaw`UPDATE civilization_ticks SET player_id = ${anonymous}::uuid WHERE player_id = ${userId}::uuid`;
    return before;
  });
}

/** Which of these users forgetUser erased, by the hashes it noted. */
export async function forgottenAmong(db: Client, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const byHash = new Map(userIds.map((id) => [userHash(id), id]));
  const rows = await db.$queryRaw<{ hash: string }[]>`SELECT user_hash AS hash FROM forgotten_users WHERE user_hash = ANY(${[...byHash.keys()]}::text[])`;
  return new Set(rows.map((row) => byHash.get(row.hash)!));
}
