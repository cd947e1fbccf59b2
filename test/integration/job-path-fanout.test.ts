import { randomUUID } from "node:crypto";
import pg from "pg";
import { NOTIFICATION_REQUESTED, createRedis, publishEnvelope, type Logger, type Redis } from "@startales/service-kit";
import { createDeliveryQueue } from "../../subgraphs/notification/src/delivery/queue";
import { createNotificationWorker, type NotificationWorker } from "../../subgraphs/notification/src/worker-app";
import { notificationTestConfig, testNotificationTopic } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { startFakePush, type FakePush } from "../testkit/fake-push";
import { captureLogs } from "../testkit/logs";
import { deleteKeysMatching } from "../testkit/redis-keys";

/**
 * A campaign-wide notification request through the worker pool as deployed (its consumer, its
 * batched delivery jobs, its pooled push client) to a fake FCM: every recipient's device gets
 * exactly one push, whatever is retried. Its own database and topic: no other suite's pool
 * reads this stream or pushes these deliveries.
 */
describe("notification fan-out (one request, many recipients)", () => {
  let sql: pg.Client;
  let redis: Redis;
  let push: FakePush;
  let worker: NotificationWorker;
  let drop: () => Promise<void>;
  let prefix: string;
  const topic = testNotificationTopic(`fanout-${randomUUID().slice(0, 8)}`);

  beforeAll(async () => {
    const database = await privateDatabase("notification", `fanout${randomUUID().slice(0, 6)}`);
    drop = database.drop;
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "fanout-test");
    push = await startFakePush();
    prefix = `notification:test:${randomUUID()}:`;
    const config = notificationTestConfig("http://127.0.0.1:9", {
      DATABASE_URL: database.url,
      NOTIFICATION_REDIS_PREFIX: prefix,
      NOTIFICATION_TOPIC: topic,
      PUSH_URL: push.url,
      PUSH_PROJECT_ID: push.projectId,
      PUSH_ACCESS_TOKEN: push.accessToken,
      DELIVERY_ATTEMPTS: "3",
      DELIVERY_RETRY_BASE_MS: "10",
      DELIVERY_RETRY_MAX_MS: "50",
    });
    worker = createNotificationWorker(config, captureLogs("notification-worker", "error").logger as Logger);
    await worker.listen();
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await push?.stop();
    await sql?.end();
    await deleteKeysMatching(redis, `${prefix}*`);
    redis?.disconnect();
    await drop?.();
  });

  /** Recipients with one registered device each; returns them and their tokens. */
  async function recipientsWithDevices(count: number): Promise<{ ids: string[]; tokens: Map<string, string> }> {
    const ids = Array.from({ length: count }, () => randomUUID());
    await sql.query("INSERT INTO push_devices (id, user_id, platform, token) SELECT gen_random_uuid(), u, 'ANDROID', 'fanout-' || u FROM unnest($1::uuid[]) AS u", [ids]);
    return { ids, tokens: new Map(ids.map((id) => [`fanout-${id}`, id])) };
  }

  const request = (recipientIds: string[]) =>
    publishEnvelope(
      redis,
      {
        id: randomUUID(),
        type: NOTIFICATION_REQUESTED,
        topic,
        occurredAt: new Date().toISOString(),
        aggregateId: randomUUID(),
        version: 1,
        data: { template: "CAMPAIGN_STARTED", recipientIds, campaignId: null, params: { campaignName: "Fan-out" } },
        traceparent: null,
      },
      { streamMaxLen: 10_000 },
    );

  /** Delivery statuses of these recipients' notifications, counted. */
  async function statuses(recipientIds: string[]): Promise<Record<string, number>> {
    const { rows } = await sql.query<{ status: string; n: number }>(
      "SELECT d.status::text AS status, count(*)::int AS n FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.recipient_id = ANY($1::uuid[]) GROUP BY 1",
      [recipientIds],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    for (let i = 0; i < 600; i++) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await read())}`);
  }

  it("pushes exactly once to each of N recipients (several write chunks and batch jobs), marks each SENT, over pooled connections", async () => {
    // More than one write chunk (1,000) and many batch jobs (50 each), not a multiple of either.
    const { ids, tokens } = await recipientsWithDevices(1_234);
    const before = push.messages.length;
    await request(ids);
    await push.waitFor(before + ids.length, 60_000);
    expect(await until("every delivery SENT", () => statuses(ids), (s) => s.SENT === ids.length)).toEqual({ SENT: ids.length });
    const mine = push.messages.slice(before).filter((m) => tokens.has(m.token));
    expect(mine).toHaveLength(ids.length);
    expect(new Set(mine.map((m) => m.token)).size).toBe(ids.length);
    expect(mine[0]).toMatchObject({ title: "Fan-out has started", data: { category: "CAMPAIGN", notificationId: expect.any(String) } });
    // Keep-alive: far fewer connections than pushes (the client pools at most 64).
    expect(push.connections).toBeLessThanOrEqual(64);
    const attempts = await sql.query<{ attempts: number; n: number }>(
      "SELECT d.attempts, count(*)::int AS n FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.recipient_id = ANY($1::uuid[]) GROUP BY 1",
      [ids],
    );
    expect(attempts.rows).toEqual([{ attempts: 1, n: ids.length }]);

    // Their jobs run again (an operator's requeue, a sweep): nothing is pushed twice.
    const queue = createDeliveryQueue(redis, { redisPrefix: prefix, attempts: 3, logger: captureLogs("fanout-queue", "error").logger as Logger });
    try {
      const deliveryIds = (await sql.query<{ id: string }>("SELECT d.id::text AS id FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.recipient_id = ANY($1::uuid[]) LIMIT 60", [ids])).rows.map((r) => r.id);
      await queue.requeue(deliveryIds);
      await until("the requeued jobs to complete", async () => Promise.all(deliveryIds.map((id) => queue.queue.getJobState(id))), (states) => states.every((s) => s === "completed"));
      expect(push.messages.slice(before).filter((m) => tokens.has(m.token))).toHaveLength(ids.length);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it("in a batch, retries only what the push service asked to, fails an unregistered token for good, and pushes nothing twice", async () => {
    const { ids, tokens } = await recipientsWithDevices(73);
    const dead = [...tokens.keys()][5]!;
    push.unregistered.add(dead);
    // The first two requests of this request's batches fail as an outage would.
    push.queue({ kind: "status", status: 503, errorCode: "UNAVAILABLE", retryAfter: "0" }, { kind: "status", status: 429, errorCode: "QUOTA_EXCEEDED" });
    const before = push.messages.length;
    await request(ids);
    const final = await until("every delivery finished", () => statuses(ids), (s) => (s.SENT ?? 0) + (s.FAILED ?? 0) === ids.length);
    expect(final).toEqual({ SENT: ids.length - 1, FAILED: 1 });
    const mine = push.messages.slice(before).filter((m) => tokens.has(m.token));
    expect(mine).toHaveLength(ids.length - 1);
    expect(new Set(mine.map((m) => m.token)).size).toBe(ids.length - 1);
    expect(mine.some((m) => m.token === dead)).toBe(false);
    const device = await sql.query<{ disabled: boolean }>("SELECT disabled_at IS NOT NULL AS disabled FROM push_devices WHERE token = $1", [dead]);
    expect(device.rows).toEqual([{ disabled: true }]);
    // Each refusal cost its delivery one more attempt, and nothing else was attempted twice. The
    // batch's sends run at once, so which deliveries took the two failures is the push
    // service's to say (the dead token's own request may have taken one).
    const failedTokens = push.failed.filter((token) => tokens.has(token));
    expect(failedTokens).toHaveLength(2);
    const refusals = new Map<string, number>();
    for (const token of failedTokens.filter((token) => token !== dead)) refusals.set(token, (refusals.get(token) ?? 0) + 1);
    const expected = new Map<number, number>([[1, ids.length - 1 - refusals.size]]);
    for (const count of refusals.values()) expected.set(1 + count, (expected.get(1 + count) ?? 0) + 1);
    const attempts = await sql.query<{ attempts: number; n: number }>(
      "SELECT d.attempts, count(*)::int AS n FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.recipient_id = ANY($1::uuid[]) AND d.status = 'SENT' GROUP BY 1 ORDER BY 1",
      [ids],
    );
    expect(attempts.rows).toEqual([...expected].sort(([a], [b]) => a - b).map(([attempt, n]) => ({ attempts: attempt, n })));
  }, 120_000);
});
