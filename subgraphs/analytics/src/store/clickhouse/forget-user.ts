import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import type { UserFootprint } from "../analytics-store";
import { str, uuid } from "./literals";

/** Raw events name a user as their actor, as their aggregate (an account's own events), or inside their payload. */
const namesUser = (userId: string) => `(actor_id = ${uuid(userId)} OR aggregate_id = ${str(userId)} OR position(data, ${str(userId)}) > 0)`;

/** Rollups whose rows carry a user id, and the statement that copies a user's rows under another id. */
const ROLLUPS = [
  { table: "user_activity", copy: (from: string, to: string) => `INSERT INTO user_activity SELECT day, ${to}, sum(events) FROM user_activity WHERE user_id = ${from} GROUP BY day` },
  {
    table: "chat_activity",
    copy: (from: string, to: string) => `INSERT INTO chat_activity SELECT day, campaign, ${to}, sum(messages) FROM chat_activity WHERE user_id = ${from} GROUP BY day, campaign`,
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
                   (SELECT count() FROM user_cohorts WHERE user_id = ${id}) AS cohort`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<Record<keyof UserFootprint, number>>();
  return { rawEvents: Number(row!.rawEvents), activityDays: Number(row!.activityDays), chatDays: Number(row!.chatDays), cohort: Number(row!.cohort) > 0 };
}

/**
 * The user's rollup rows are copied under a fresh random id, then every row naming them is
 * deleted. ClickHouse deletes by mutation, in the background (18.16 has no mutations_sync):
 * this waits until system.mutations says the deletes are done, so what the caller reads next
 * no longer has them.
 */
export async function forgetUser(client: ClickHouseClient, userId: string, waitMs = 60_000): Promise<UserFootprint> {
  const before = await footprintOf(client, userId);
  const [from, to] = [uuid(userId), uuid(randomUUID())];
  // Only where they have rows: an aggregate without GROUP BY over no rows is still one row.
  if (before.activityDays > 0) await client.command({ query: ROLLUPS[0]!.copy(from, to) });
  if (before.chatDays > 0) await client.command({ query: ROLLUPS[1]!.copy(from, to) });
  if (before.cohort) await client.command({ query: ROLLUPS[2]!.copy(from, to) });
  for (const { table } of ROLLUPS) await client.command({ query: `ALTER TABLE ${table} DELETE WHERE user_id = ${from}` });
  await client.command({ query: `ALTER TABLE analytics_events DELETE WHERE ${namesUser(userId)}` });
  await mutationsDone(client, ["analytics_events", ...ROLLUPS.map((r) => r.table)], waitMs);
  return before;
}

async function mutationsDone(client: ClickHouseClient, tables: string[], waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await client.query({
      query: `SELECT count() AS pending FROM system.mutations WHERE database = currentDatabase() AND table IN (${tables.map(str).join(", ")}) AND NOT is_done`,
      format: "JSONEachRow",
    });
    const [row] = await result.json<{ pending: number }>();
    if (Number(row?.pending ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`the erasure's deletes were not done within ${waitMs} ms (system.mutations)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
