import { randomUUID } from "node:crypto";
import pg from "pg";
import { createDb, type Db } from "../../subgraphs/notification/src/db";
import { writeNotifications } from "../../subgraphs/notification/src/domain/notification-writer";
import { privateDatabase } from "../testkit/databases";

/**
 * The writer at the size the game makes it work: a campaign of 10,000 players starting is one
 * request for 9,999 notifications, each with its inbox event and a delivery per device, in
 * one transaction (more rows than PostgreSQL takes bind parameters in one statement). Its own
 * database: no stack's relay publishes these events, no stack's sweep pushes these deliveries.
 */
describe("notification writer", () => {
  let db: Db;
  let sql: pg.Client;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await privateDatabase("notification", "writer");
    drop = database.drop;
    db = createDb(database.url, 2);
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });
  afterAll(async () => {
    await db?.$disconnect();
    await sql?.end();
    await drop?.();
  });

  it("writes a 10,000-player campaign's notifications, events and deliveries at once, and nothing twice", async () => {
    const recipients = Array.from({ length: 9_999 }, () => randomUUID());
    await sql.query("INSERT INTO push_devices (id, user_id, platform, token) SELECT gen_random_uuid(), u, 'ANDROID', 'bulk-' || u FROM unnest($1::uuid[]) AS u", [recipients]);
    const sourceKey = `event:${randomUUID()}`;
    const items = recipients.map((recipientId) => ({
      recipientId,
      category: "CAMPAIGN" as const,
      title: "Andromeda has started",
      body: "Go",
      campaignId: null,
      data: { template: "CAMPAIGN_STARTED" },
      senderId: null,
      sourceKey,
    }));
    const written = await writeNotifications(db, items, { push: true });
    expect(written.created).toHaveLength(9_999);
    expect(written.deliveryIds).toHaveLength(9_999);
    expect(written.created[0]).toMatchObject({ title: "Andromeda has started", category: "CAMPAIGN", inInbox: true, readAt: null, data: { template: "CAMPAIGN_STARTED" } });
    expect(written.created[0]!.createdAt).toBeInstanceOf(Date);
    const counts = await sql.query<{ notifications: string; events: string }>(
      `SELECT (SELECT count(*) FROM notifications WHERE source_key = $1) AS notifications,
              (SELECT count(*) FROM outbox_events WHERE aggregate_id IN (SELECT id FROM notifications WHERE source_key = $1)) AS events`,
      [sourceKey],
    );
    expect(counts.rows[0]).toEqual({ notifications: "9999", events: "9999" });
    // The same request again (a redelivered event): nothing new.
    expect(await writeNotifications(db, items, { push: true })).toEqual({ created: [], deliveryIds: [] });
  }, 60_000);
});
