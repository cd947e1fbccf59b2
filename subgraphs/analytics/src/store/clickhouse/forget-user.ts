import { randomUUID } from "node:crypto";
import { userHash } from "../../ingest/forgotten-users";
import type { ClickHouseClient } from "@clickhouse/client";
import type { UserFootprint } from "../analytics-store";
import { str, uuid } from "./literals";

/** Raw events name a user as their actor, as their aggregate (an account's own events), or inside their payload. */
const namesUser = (userId: string) => `(actor_id = ${uuid(userId)} OR aggregate_id = ${str(userId.toLowerCase())} OR position(data, ${str(userId.toLowerCase())}) > 0)`;

/** Rollups whose rows carry a user id, and the statement that copies a user's rows under another id. */
const ROLLUPS = [
  { table: "user_activity", copy: (from: string, to: string) => `INSERT INTO user_activity SELECT day, ${to}, sum(events) FROM user_activity WHERE user_id = ${from} GROUP BY day` },
  {
    table: "chat_activity",
    copy: (from: string, to: string) => `INSERT INTO chat_activity SELECT day, campaign, ${to}, sum(messages) FROM chat_activity WHERE user_id = ${from} GROUP BY day, campaign`,
  },
  {
    table: "command_activity",
    copy: (from: string, to: string) => `INSERT INTO command_activity SELECT day, campaign, ${to}, sum(commands) FROM command_activity WHERE user_id = ${from} GROUP BY day, campaign`,
  },
  {
    table: "session_activity",
    copy: (from: string, to: string) => `INSERT INTO session_activity SELECT day, ${to}, sum(sessions), sum(duration_ms) FROM session_activity WHERE user_id = ${from} GROUP BY day`,
  },
  {
    table: "user_milestones",
    copy: (from: string, to: string) => `INSERT INTO user_milestones SELECT ${to}, milestone, min(first_at) FROM user_milestones WHERE user_id = ${from} GROUP BY milestone`,
  },
  {
    table: "user_cohorts",
    copy: (from: string, to: string) => `INSERT INTO user_cohorts SELECT ${to}, min(registered_day), any(method) FROM user_cohorts WHERE user_id = ${from}`,
  },
];

export async function footprintOf(client: ClickHouseClient, userId: string): Promise<UserFootprint> {
  const id = uuid(userId);
  const result = await client.query({
    query: `SELECT (SELECT count() FROM analytics_events WHERE ${namesUser(userId)}) AS rawEvents,
                   (SELECT uniqExact(day) FROM user_activity WHERE user_id = ${id}) AS activityDays,
                   (SELECT uniqExact(day) FROM chat_activity WHERE user_id = ${id}) AS chatDays,
                   (SELECT uniqExact(day) FROM command_activity WHERE user_id = ${id}) AS commandDays,
                   (SELECT uniqExact(day) FROM session_activity WHERE user_id = ${id}) AS sessionDays,
                   (SELECT count() FROM user_cohorts WHERE user_id = ${id}) AS cohort,
                   (SELECT count() FROM civilization_ticks WHERE player_id = ${id}) AS civilizationTicks`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<Record<keyof UserFootprint, number>>();
  return {
    rawEvents: Number(row!.rawEvents),
    activityDays: Number(row!.activityDays),
    chatDays: Number(row!.chatDays),
    commandDays: Number(row!.commandDays),
    sessionDays: Number(row!.sessionDays),
    cohort: Number(row!.cohort) > 0,
    civilizationTicks: Number(row!.civilizationTicks),
  };
}

/** How long an erasure waits for its deletes: under the gateway's subgraph timeout, so the caller gets an answer. */
export const FORGET_WAIT_MS = 8_000;

/**
 * The user's rollup rows are copied under a fresh random id, then every row naming them is
 * deleted. ClickHouse deletes by mutation, in the background (18.16 has no mutations_sync):
 * this waits up to `waitMs` for this user's mutations, and past that answers anyway (they
 * are durable and finish on their own). A retry must not copy the rows again (they would
 * count twice), so the copy is noted first in forgotten_users, under a hash of the id: it
 * says an erasure was made, and links to none of the rows.
 */
export async function forgetUser(client: ClickHouseClient, userId: string, waitMs = FORGET_WAIT_MS): Promise<UserFootprint> {
  const before = await footprintOf(client, userId);
  const [from, to] = [uuid(userId), uuid(randomUUID())];
  const hash = str(userHash(userId));
  const noted = await client.query({ query: `SELECT count() AS n FROM forgotten_users WHERE user_hash = ${hash}`, format: "JSONEachRow" });
  const copiedBefore = Number((await noted.json<{ n: number }>())[0]?.n ?? 0) > 0;
  if (!copiedBefore) {
    await client.command({ query: `INSERT INTO forgotten_users (user_hash) VALUES (${hash})` });
    // Each GROUP BY copy writes nothing where they have no rows; the cohort's aggregate
    // without GROUP BY would write one row of nothing, so it waits for a cohort.
    for (const { table, copy } of ROLLUPS) if (table !== "user_cohorts" || before.cohort) await client.command({ query: copy(from, to) });
    // The civilization they played stays in the campaign's history, no longer theirs.
    if (before.civilizationTicks > 0) await client.command({ query: `ALTER TABLE civilization_ticks UPDATE player_id = ${to} WHERE player_id = ${from}` });
  }
  for (const { table } of ROLLUPS) await client.command({ query: `ALTER TABLE ${table} DELETE WHERE user_id = ${from}` });
  await client.command({ query: `ALTER TABLE analytics_events DELETE WHERE ${namesUser(userId)}` });
  await mutationsDone(client, userId, waitMs);
  return before;
}

/** Until no mutation naming this user is pending (another's stuck mutation holds no erasure back), or the wait is over. */
async function mutationsDone(client: ClickHouseClient, userId: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await client.query({
      query: `SELECT count() AS pending FROM system.mutations WHERE database = currentDatabase() AND NOT is_done AND position(command, ${str(userId.toLowerCase())}) > 0`,
      format: "JSONEachRow",
    });
    const [row] = await result.json<{ pending: number }>();
    if (Number(row?.pending ?? 0) === 0 || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Which of these users forgetUser erased, by the hashes it noted. */
export async function forgottenAmong(client: ClickHouseClient, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const byHash = new Map(userIds.map((id) => [userHash(id), id]));
  const result = await client.query({ query: `SELECT DISTINCT user_hash AS hash FROM forgotten_users WHERE user_hash IN (${[...byHash.keys()].map(str).join(", ")})`, format: "JSONEachRow" });
  return new Set((await result.json<{ hash: string }>()).map((row) => byHash.get(row.hash)!));
}
