import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type pg from "pg";
import { DELIVERY_QUEUE } from "../../subgraphs/notification/src/delivery/queue";
import { startFakePush, type FakePush } from "../testkit/fake-push";
import { expectData, type GraphQLResponse } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startNotificationStack, type NotificationStack } from "../testkit/notification-stack";
import { registerUser, type TestUser } from "../testkit/users";

const hhmm = (minute: number) => `${String(Math.floor(minute / 60) % 24).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

/**
 * Quiet hours on a whole stack: a player in their window gets the notification in the inbox at
 * once and its push when the window ends (the job is delayed until then; the test brings that
 * moment forward by promoting the job once the window is gone, rather than waiting minutes);
 * a player outside quiet hours, and SYSTEM notifications, are pushed at once.
 */
describe("notification quiet hours", () => {
  let env: NotificationStack;
  let push: FakePush;
  let url: string;
  let db: pg.Client;
  let redis: Redis;
  let admin: TestUser;
  const queues: Queue[] = [];
  const connections: Redis[] = [];

  beforeAll(async () => {
    push = await startFakePush();
    env = await startNotificationStack({ PUSH_URL: push.url, PUSH_PROJECT_ID: push.projectId, PUSH_ACCESS_TOKEN: push.accessToken });
    ({ url, db, admin } = env);
    redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  }, 60_000);
  afterAll(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    for (const connection of connections) connection.disconnect();
    await env?.stop();
    await push?.stop();
    redis?.disconnect();
  });

  const call = <T = Record<string, unknown>>(user: TestUser, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> => env.call<T>(user, query, variables);
  const setQuietHours = (user: TestUser, input: { start: string; end: string; timeZone: string } | null) =>
    call<{ setQuietHours: { start: string; end: string; timeZone: string } | null }>(user, "mutation($i: QuietHoursInput) { setQuietHours(input: $i) { start end timeZone } }", { i: input });
  const device = async (user: TestUser) => {
    const token = `quiet-${randomUUID()}`;
    expectData(await call(user, "mutation($t: String!) { registerPushDevice(input: { platform: ANDROID, token: $t }) { id } }", { t: token }));
    return token;
  };
  const send = async (recipients: TestUser[], category: "ANNOUNCEMENT" | "SYSTEM") =>
    expectData(
      await call<{ sendNotification: { id: string; recipient: { id: string } }[] }>(
        admin,
        "mutation($r: [ID!]!, $c: NotificationCategory!, $k: String!) { sendNotification(input: { recipientIds: $r, category: $c, title: \"Night watch\", body: \"Report\", idempotencyKey: $k }) { id recipient { id } } }",
        { r: recipients.map((u) => u.user.id), c: category, k: randomUUID() },
      ),
    ).sendNotification;
  const deliveriesOf = async (notificationId: string) =>
    (await db.query<{ id: string; status: string }>("SELECT id::text, status::text FROM deliveries WHERE notification_id = $1 ORDER BY id", [notificationId])).rows;
  const inbox = async (user: TestUser) =>
    expectData(await call<{ notifications: { notifications: { id: string }[] } }>(user, "{ notifications(first: 20) { notifications { id } } }")).notifications.notifications.map((n) => n.id);
  const pushedTo = (token: string) => push.messages.filter((m) => m.token === token);

  /** The delivery's own job (id = the delivery's id), once it is delayed. */
  const delayedJob = (deliveryId: string) =>
    eventually(`a delayed job for ${deliveryId}`, async () => {
      const [key] = await redis.keys(`*:${DELIVERY_QUEUE}:${deliveryId}`);
      if (!key) return undefined;
      const connection = redis.duplicate();
      connections.push(connection);
      const queue = new Queue(DELIVERY_QUEUE, { connection, prefix: key.slice(0, key.indexOf(`:${DELIVERY_QUEUE}:`)) });
      queues.push(queue);
      const job = await queue.getJob(deliveryId);
      return job && (await job.getState()) === "delayed" ? job : undefined;
    });

  it("holds pushes to a player in quiet hours until the window ends, not the inbox, other players or SYSTEM", async () => {
    const [alone, twoDevices, awake] = await Promise.all([registerUser(url, "Nightowl"), registerUser(url, "Sleeper"), registerUser(url, "Earlybird")]);
    const aloneToken = await device(alone);
    const sleeperTokens = [await device(twoDevices), await device(twoDevices)];
    const awakeToken = await device(awake);
    // A window around now, in UTC, ending three minutes after the current minute.
    const nowMinute = Math.floor(Date.now() / 60_000);
    const end = (nowMinute + 3) * 60_000;
    const window = { start: hhmm((nowMinute - 1) % 1440), end: hhmm((nowMinute + 3) % 1440), timeZone: "UTC" };
    for (const user of [alone, twoDevices]) expect(expectData(await setQuietHours(user, window)).setQuietHours).toEqual(window);
    expect(expectData(await call(alone, "{ quietHours { start end timeZone } }"))).toEqual({ quietHours: window });
    expect(expectData(await call(awake, "{ quietHours { start end timeZone } }"))).toEqual({ quietHours: null });

    // One send to all three (a batch job), one to the first alone (a job of one delivery).
    const batch = await send([alone, twoDevices, awake], "ANNOUNCEMENT");
    const [single] = await send([alone], "ANNOUNCEMENT");
    const [urgent] = await send([alone], "SYSTEM");

    // The player outside quiet hours, and SYSTEM, are pushed at once.
    await eventually("the awake player's push", async () => (pushedTo(awakeToken).length === 1 ? true : undefined));
    await eventually("the SYSTEM push", async () => (pushedTo(aloneToken).some((m) => m.data.notificationId === urgent!.id) ? true : undefined));

    // Everything is in the inboxes at once.
    const mine = (user: TestUser) => batch.find((n) => n.recipient.id === user.user.id)!.id;
    expect(await inbox(alone)).toEqual(expect.arrayContaining([mine(alone), single!.id, urgent!.id]));
    expect(await inbox(twoDevices)).toContain(mine(twoDevices));

    // The held pushes wait, PENDING, in jobs delayed until the window's end.
    const held = [...(await deliveriesOf(mine(alone))), ...(await deliveriesOf(mine(twoDevices))), ...(await deliveriesOf(single!.id))];
    expect(held).toHaveLength(4);
    const jobs = await Promise.all(held.map((d) => delayedJob(d.id)));
    // When each runs: its score in the queue's delayed set (BullMQ: the time × 4096 + a counter).
    for (const job of jobs) {
      const score = Number(await redis.zscore(`${job.queueQualifiedName}:delayed`, job.id!));
      expect(Math.abs(Math.floor(score / 4096) - end)).toBeLessThan(1_000);
    }
    expect((await deliveriesOf(mine(alone))).map((d) => d.status)).toEqual(["PENDING"]);
    expect(pushedTo(aloneToken).filter((m) => m.data.notificationId !== urgent!.id)).toEqual([]);
    expect(sleeperTokens.flatMap(pushedTo)).toEqual([]);
    // The sweep finds them waiting in the queue and leaves them so.
    await env.stack.apps.notificationWorker.sweep();
    for (const d of held) expect(await (await delayedJob(d.id)).getState()).toBe("delayed");

    // The window ends (brought forward: the players clear theirs and the jobs run now).
    for (const user of [alone, twoDevices]) expect(expectData(await setQuietHours(user, null)).setQuietHours).toBeNull();
    expect(expectData(await call(alone, "{ quietHours { start } }"))).toEqual({ quietHours: null });
    await Promise.all(jobs.map((job) => job.promote()));
    await eventually("the held pushes", async () => (pushedTo(aloneToken).length === 3 && sleeperTokens.every((t) => pushedTo(t).length === 1) ? true : undefined));
    for (const d of held) await eventually(`${d.id} SENT`, async () => ((await db.query("SELECT 1 FROM deliveries WHERE id = $1 AND status = 'SENT'", [d.id])).rowCount === 1 ? true : undefined));
  });

  it("refuses bad quiet hours with the fields at fault, and writes nothing", async () => {
    const player = await registerUser(url, "Insomniac");
    const cases: [Record<string, string>, string][] = [
      [{ start: "7:30", end: "22:00", timeZone: "Europe/Paris" }, "input.start"],
      [{ start: "22:00", end: "24:00", timeZone: "Europe/Paris" }, "input.end"],
      [{ start: "22:00", end: "07:30", timeZone: "Mars/Olympus_Mons" }, "input.timeZone"],
      [{ start: "22:00", end: "07:30", timeZone: "UTC+2" }, "input.timeZone"],
      [{ start: "22:00", end: "22:00", timeZone: "Europe/Paris" }, "input.end"],
    ];
    for (const [input, field] of cases) {
      const response = await setQuietHours(player, input as { start: string; end: string; timeZone: string });
      expect(response.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect((response.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field)).toEqual([field]);
    }
    expect((await db.query("SELECT 1 FROM quiet_hours WHERE user_id = $1", [player.user.id])).rowCount).toBe(0);
    expect(expectData(await call(player, "{ quietHours { start } }"))).toEqual({ quietHours: null });
    // A window crossing midnight is fine; a zone is kept by its canonical name.
    expect(expectData(await setQuietHours(player, { start: "22:00", end: "07:30", timeZone: "America/New_York" })).setQuietHours).toEqual({ start: "22:00", end: "07:30", timeZone: "America/New_York" });
  });
});
