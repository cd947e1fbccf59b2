import { randomUUID } from "node:crypto";
import pg from "pg";
import { Topics, createRedis, streamKey } from "@startales/service-kit";
import { createDb, type Db } from "../../subgraphs/notification/src/db";
import { eraseAccount } from "../../subgraphs/notification/src/domain/account-erasure";
import { writeNotifications } from "../../subgraphs/notification/src/domain/notification-writer";
import { privateDatabase } from "../testkit/databases";

/**
 * What notification erases of a deleted account (ACCOUNT_ERASURE_REQUESTED), on a database of
 * its own: the account's notifications with their deliveries, devices, preferences and inbox
 * stream, and nobody else's.
 */
let db: Db;
let sql: pg.Client;
let drop: () => Promise<void>;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "notification-erasure-test");
beforeAll(async () => {
  const database = await privateDatabase("notification", "erasure");
  drop = database.drop;
  db = createDb(database.url, 2);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});
afterAll(async () => {
  await db?.$disconnect();
  await sql?.end();
  redis.disconnect();
  await drop?.();
});

it("erases an account's notifications, deliveries, devices, preferences and inbox stream, once, and nobody else's", async () => {
  const [gone, stays] = [randomUUID(), randomUUID()];
  for (const user of [gone, stays]) {
    await sql.query("INSERT INTO push_devices (id, user_id, platform, token) VALUES (gen_random_uuid(), $1, 'ANDROID', $2)", [user, `token-${user}`]);
    await sql.query("INSERT INTO preferences (user_id, category, in_app, push, updated_at) VALUES ($1, 'ANNOUNCEMENT', true, false, now())", [user]);
  }
  const sourceKey = `event:${randomUUID()}`;
  await writeNotifications(
    db,
    [gone, stays].map((recipientId) => ({ recipientId, category: "CAMPAIGN" as const, title: "Started", body: "Go", campaignId: null, data: {}, senderId: null, sourceKey })),
    { push: true },
  );
  await redis.xadd(streamKey(Topics.inbox(gone)), "*", "envelope", "{}");
  const held = async (user: string) =>
    (
      await sql.query<{ notifications: number; deliveries: number; devices: number; preferences: number }>(
        `SELECT (SELECT count(*)::int FROM notifications WHERE recipient_id = $1) AS notifications,
                (SELECT count(*)::int FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.recipient_id = $1) AS deliveries,
                (SELECT count(*)::int FROM push_devices WHERE user_id = $1) AS devices,
                (SELECT count(*)::int FROM preferences WHERE user_id = $1) AS preferences`,
        [user],
      )
    ).rows[0]!;
  expect(await held(gone)).toEqual({ notifications: 1, deliveries: 1, devices: 1, preferences: 1 });

  expect(await eraseAccount(db, redis, gone)).toEqual({ notifications: 1, devices: 1, preferences: 1 });
  expect(await held(gone)).toEqual({ notifications: 0, deliveries: 0, devices: 0, preferences: 0 });
  expect(await redis.exists(streamKey(Topics.inbox(gone)))).toBe(0);
  expect(await held(stays)).toEqual({ notifications: 1, deliveries: 1, devices: 1, preferences: 1 });
  // Asked again (a redelivery): nothing left.
  expect(await eraseAccount(db, redis, gone)).toEqual({ notifications: 0, devices: 0, preferences: 0 });
});
