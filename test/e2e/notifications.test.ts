import { randomUUID } from "node:crypto";
import type pg from "pg";
import { Redis } from "ioredis";
import { publishEnvelope, streamKey, type Role } from "@startales/service-kit";
import {
  CreateCampaignDocument,
  EndCampaignDocument,
  FailedNotificationDeliveriesDocument,
  InboxDocument,
  JoinCampaignDocument,
  LoginDocument,
  MarkAllNotificationsReadDocument,
  MarkNotificationsReadDocument,
  NotificationByIdDocument,
  NotificationPreferencesDocument,
  PushDevicesDocument,
  RegisterPushDeviceDocument,
  RetryNotificationDeliveriesDocument,
  SendNotificationDocument,
  SetNotificationPreferenceDocument,
  SetUserRolesDocument,
  StartCampaignDocument,
  UnregisterPushDeviceDocument,
  type SendNotificationInput,
} from "../generated/operations";
import { startFakePush, type FakePush } from "../testkit/fake-push";
import { errorCodes, expectData, graphql } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startNotificationStack, type NotificationStack } from "../testkit/notification-stack";
import type { Stack } from "../testkit/stack";
import { activeSubscriptions, subscribe, untilSubscribed, wsClient } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Notifications end to end, through the gateway: the game's own events (campaign's
 * integration events, through its outbox, Redis and the worker pool's consumer group) and
 * sendNotification reach the inbox and, over FCM's protocol, a push service on loopback.
 */
describe("notifications", () => {
  let env: NotificationStack;
  let stack: Stack;
  let push: FakePush;
  let url: string;
  let db: pg.Client;
  let redis: Redis;
  let admin: TestUser;
  let service: string;

  beforeAll(async () => {
    push = await startFakePush();
    env = await startNotificationStack({
      PUSH_URL: push.url,
      PUSH_PROJECT_ID: push.projectId,
      PUSH_ACCESS_TOKEN: push.accessToken,
      DELIVERY_ATTEMPTS: "4",
      // A failed request is retried within a second and given up on after its third try.
      EVENTS_CLAIM_IDLE_MS: "300",
      EVENTS_MAX_DELIVERIES: "3",
      // The subgraph's outbox relay polls once at start, then only when woken: by the
      // subgraph's own commits, and over Redis by the worker pool's (the inbox events of
      // event-made notifications). Every live delivery here waits on a wake.
      OUTBOX_POLL_MS: "600000",
    });
    ({ stack, url, db, admin } = env);
    redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
    service = await withRole(await registerUser(url, "Herald"), "SERVICE");
  });
  afterAll(async () => {
    await env?.stop();
    await push?.stop();
    redis?.disconnect();
  });

  /** An access token of `user` carrying `role` (given by the admin, then signed in again). */
  async function withRole(user: TestUser, role: Role): Promise<string> {
    expectData(await graphql(url, SetUserRolesDocument, { userId: user.user.id, roles: [role] }, { token: admin.accessToken }));
    return expectData(await graphql(url, LoginDocument, { input: { email: user.email, password: user.password } })).login.accessToken;
  }

  const inbox = (token: string, variables: { first?: number; after?: string; unreadOnly?: boolean } = {}) => graphql(url, InboxDocument, variables, { token });
  const send = (token: string, input: Partial<SendNotificationInput>) =>
    graphql(url, SendNotificationDocument, { input: { category: "SYSTEM", title: "Maintenance", body: "Back soon", idempotencyKey: randomUUID(), recipientIds: [], ...input } }, { token });
  const device = async (user: TestUser, token = `device-${randomUUID()}`) =>
    expectData(await graphql(url, RegisterPushDeviceDocument, { input: { platform: "ANDROID", token, label: "Phone" } }, { token: user.accessToken })).registerPushDevice;
  const pushedTo = (token: string) => push.messages.filter((m) => m.token === token);
  const deliveryOf = async (notificationId: string, token: string) =>
    (await db.query<{ status: string; attempts: number; last_error: string | null }>(
      "SELECT d.status, d.attempts, d.last_error FROM deliveries d JOIN push_devices p ON p.id = d.device_id WHERE d.notification_id = $1 AND p.token = $2",
      [notificationId, token],
    )).rows[0];

  it("tells members what happened in their campaign, in the inbox and by push, never the one who did it", async () => {
    const gm = await registerUser(url, "Gm");
    const player = await registerUser(url, "Player");
    const playerPhone = `phone-${randomUUID()}`;
    await device(player, playerPhone);
    const campaign = expectData(await graphql(url, CreateCampaignDocument, { input: { name: "Andromeda Rising" } }, { token: gm.accessToken })).createCampaign;
    expectData(await graphql(url, JoinCampaignDocument, { campaignId: campaign.id }, { token: player.accessToken }));

    const joined = await eventually("the game master's notification", async () => (await inbox(gm.accessToken)).data?.notifications.notifications[0]);
    expect(joined).toMatchObject({ category: "MEMBERSHIP", title: "A player joined Andromeda Rising", campaign: { id: campaign.id }, readAt: null });
    expect(joined.data).toEqual({ template: "PLAYER_JOINED", userId: player.user.id });
    expect(joined.deliveries).toEqual([]); // the game master has no device

    expectData(await graphql(url, StartCampaignDocument, { id: campaign.id }, { token: gm.accessToken }));
    const started = await eventually("the player's notification", async () => (await inbox(player.accessToken)).data?.notifications.notifications[0]);
    expect(started).toMatchObject({ category: "CAMPAIGN", title: "Andromeda Rising has started", recipient: { id: player.user.id } });
    const [message] = await eventually("the push", async () => (pushedTo(playerPhone).length ? pushedTo(playerPhone) : undefined));
    expect(message).toMatchObject({ title: "Andromeda Rising has started", data: { notificationId: started.id, category: "CAMPAIGN", campaignId: campaign.id } });
    expect(JSON.parse(message!.data.data!)).toEqual({ template: "CAMPAIGN_STARTED" });
    const delivered = await eventually("SENT", async () => {
      const [row] = expectData(await graphql(url, NotificationByIdDocument, { id: started.id }, { token: player.accessToken })).notification!.deliveries;
      return row?.status === "SENT" ? row : undefined;
    });
    expect(delivered).toMatchObject({ channel: "PUSH", attempts: 1, lastError: null });

    // The game master started it: their inbox has the join only.
    expect((await inbox(gm.accessToken)).data?.notifications.notifications.map((n) => n.title)).toEqual(["A player joined Andromeda Rising"]);
    const devices = expectData(await graphql(url, PushDevicesDocument, {}, { token: player.accessToken })).pushDevices;
    expect(devices).toEqual([expect.objectContaining({ platform: "ANDROID", label: "Phone", active: true })]);
    expect(devices[0]!.lastUsedAt).not.toBeNull();
  });

  it("delivers each new notification live to its recipient only, event-made ones too", async () => {
    const [alice, bob] = [await registerUser(url, "Alice"), await registerUser(url, "Bob")];
    const clients = [wsClient(url, { token: alice.accessToken }), wsClient(url, { token: bob.accessToken })];
    try {
      const before = await activeSubscriptions(stack.gatewayUrl);
      const query = "subscription { notificationAdded { id title category recipient { id } } }";
      const [aliceFeed, bobFeed] = clients.map((client) => subscribe<{ notificationAdded: { id: string; title: string; category: string; recipient: { id: string } } }>(client, query, {}));
      await untilSubscribed(stack.gatewayUrl, before, { count: 2 });

      const [sent] = expectData(await send(admin.accessToken, { recipientIds: [alice.user.id], title: "Live" })).sendNotification;
      await aliceFeed!.waitFor(1);
      expect(aliceFeed!.results[0]!.data!.notificationAdded).toEqual({ id: sent!.id, title: "Live", category: "SYSTEM", recipient: { id: alice.user.id } });
      // Bob joins Alice's campaign: the game master (Alice) hears of it live, Bob hears nothing of hers.
      const campaign = expectData(await graphql(url, CreateCampaignDocument, { input: { name: "Live Wire" } }, { token: alice.accessToken })).createCampaign;
      expectData(await graphql(url, JoinCampaignDocument, { campaignId: campaign.id }, { token: bob.accessToken }));
      await aliceFeed!.waitFor(2);
      expect(aliceFeed!.results[1]!.data!.notificationAdded).toMatchObject({ title: "A player joined Live Wire", category: "MEMBERSHIP" });
      expectData(await send(admin.accessToken, { recipientIds: [bob.user.id], title: "Bob's own" }));
      await bobFeed!.waitFor(1);
      expect(bobFeed!.results.map((r) => r.data!.notificationAdded.title)).toEqual(["Bob's own"]);
      expect(aliceFeed!.results).toHaveLength(2);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });

  it("applies a redelivered event once, picks up what arrived while the pool was away, and trims what it acknowledged", async () => {
    const player = await registerUser(url, "Echo");
    const topic = stack.apps.notificationWorker.topic;
    const envelope = {
      id: randomUUID(),
      type: "NOTIFICATION_REQUESTED",
      topic,
      occurredAt: new Date().toISOString(),
      aggregateId: randomUUID(),
      version: 1,
      data: { template: "CAMPAIGN_ENDED", recipientIds: [player.user.id], campaignId: null, params: { campaignName: "Echo" } },
      traceparent: null,
    };
    // The same event twice in the stream (an outbox republished after a crash, say).
    await redis.xadd(streamKey(topic), "*", "envelope", JSON.stringify(envelope));
    await redis.xadd(streamKey(topic), "*", "envelope", JSON.stringify(envelope));
    // And one that is not a request this version understands: acknowledged, not retried forever.
    await publishEnvelope(redis, { ...envelope, id: randomUUID(), data: { template: "NO_SUCH_TEMPLATE" } }, { streamMaxLen: 100 });
    await eventually("the notification", async () => (await inbox(player.accessToken)).data?.notifications.notifications[0]);
    await eventually("the stream trimmed", async () => ((await redis.xlen(streamKey(topic))) <= 1 ? true : undefined));
    expect((await inbox(player.accessToken)).data?.notifications.notifications.map((n) => n.title)).toEqual(["Echo has ended"]);
  });

  it("retries a request it cannot apply without holding up the rest, then moves it to the dead-letter stream", async () => {
    const player = await registerUser(url, "Patient");
    const topic = stack.apps.notificationWorker.topic;
    const request = (params: Record<string, string>) => ({
      id: randomUUID(),
      type: "NOTIFICATION_REQUESTED",
      topic,
      occurredAt: new Date().toISOString(),
      aggregateId: randomUUID(),
      version: 1,
      data: { template: "PLAYER_JOINED", recipientIds: [player.user.id], campaignId: null, params: { campaignName: "Patience", ...params } },
      traceparent: null,
    });
    // PostgreSQL refuses a NUL character in jsonb: this one fails every time it is applied.
    const poison = request({ userId: "\u0000" });
    await publishEnvelope(redis, poison, { streamMaxLen: 100 });
    await publishEnvelope(redis, request({ userId: randomUUID() }), { streamMaxLen: 100 });
    const titles = await eventually("the request after it", async () => {
      const found = (await inbox(player.accessToken)).data?.notifications.notifications.map((n) => n.title) ?? [];
      return found.length > 0 ? found : undefined;
    });
    expect(titles).toEqual(["A player joined Patience"]);
    const dead = await eventually(
      "the dead letter",
      async () => ((await redis.xrange(`${streamKey(topic)}:dead-letter`, "-", "+")) as [string, string[]][]).find(([, fields]) => fields[1]!.includes(poison.id)),
    );
    expect(dead[1]).toEqual(["envelope", expect.any(String), "failedDeliveries", "4"]);
    expect(await redis.xpending(streamKey(topic), "notification")).toEqual([0, null, null, null]);
    expect((await inbox(player.accessToken)).data?.notifications.notifications).toHaveLength(1);
    await redis.del(`${streamKey(topic)}:dead-letter`);
  });

  it("keeps an inbox: newest first, paged, unread counted, marked read by its owner only", async () => {
    const [reader, other] = [await registerUser(url, "Reader"), await registerUser(url, "Other")];
    for (const title of ["one", "two", "three", "four", "five"]) expectData(await send(admin.accessToken, { recipientIds: [reader.user.id, other.user.id], title }));
    const first = expectData(await inbox(reader.accessToken, { first: 2 }));
    expect(first.notifications.notifications.map((n) => n.title)).toEqual(["five", "four"]);
    expect(first.unreadNotificationCount).toBe(5);
    const second = expectData(await inbox(reader.accessToken, { first: 2, after: first.notifications.nextCursor! }));
    expect(second.notifications.notifications.map((n) => n.title)).toEqual(["three", "two"]);
    const last = expectData(await inbox(reader.accessToken, { first: 2, after: second.notifications.nextCursor! }));
    expect(last.notifications.notifications.map((n) => n.title)).toEqual(["one"]);
    expect(last.notifications.nextCursor).toBeNull();

    const [five, four] = first.notifications.notifications;
    expect(expectData(await graphql(url, MarkNotificationsReadDocument, { ids: [five!.id, four!.id] }, { token: reader.accessToken })).markNotificationsRead).toBe(2);
    // Again: nothing changes.
    expect(expectData(await graphql(url, MarkNotificationsReadDocument, { ids: [five!.id] }, { token: reader.accessToken })).markNotificationsRead).toBe(0);
    const unread = expectData(await inbox(reader.accessToken, { unreadOnly: true }));
    expect(unread.notifications.notifications.map((n) => n.title)).toEqual(["three", "two", "one"]);
    expect(unread.unreadNotificationCount).toBe(3);

    // Someone else's: FORBIDDEN to read, to mark, to page from.
    expect(errorCodes(await graphql(url, NotificationByIdDocument, { id: five!.id }, { token: other.accessToken }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, MarkNotificationsReadDocument, { ids: [five!.id] }, { token: other.accessToken }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await inbox(other.accessToken, { after: five!.id }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await graphql(url, MarkNotificationsReadDocument, { ids: [randomUUID()] }, { token: reader.accessToken }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await inbox(reader.accessToken, { first: 101 }))).toEqual(["BAD_USER_INPUT"]);
    // Admins may read it (support); the other recipient's inbox is untouched.
    expect(expectData(await graphql(url, NotificationByIdDocument, { id: five!.id }, { token: admin.accessToken })).notification?.title).toBe("five");
    expect(expectData(await inbox(other.accessToken)).unreadNotificationCount).toBe(5);

    expect(expectData(await graphql(url, MarkAllNotificationsReadDocument, {}, { token: reader.accessToken })).markAllNotificationsRead).toBe(3);
    expect(expectData(await inbox(reader.accessToken)).unreadNotificationCount).toBe(0);
  });

  it("lets admins and services send to anyone, game masters to their members only, and nobody else", async () => {
    const gm = await registerUser(url, "Gm");
    const [member, outsider] = [await registerUser(url, "Member"), await registerUser(url, "Outsider")];
    const campaign = expectData(await graphql(url, CreateCampaignDocument, { input: { name: "Heralds" } }, { token: gm.accessToken })).createCampaign;
    expectData(await graphql(url, JoinCampaignDocument, { campaignId: campaign.id }, { token: member.accessToken }));

    const announcement = { category: "ANNOUNCEMENT" as const, campaignId: campaign.id, title: "Council tonight", body: "All fleets to Sol" };
    const sent = expectData(await send(gm.accessToken, { ...announcement, recipientIds: [member.user.id], data: { open: "council" } })).sendNotification;
    expect(sent).toEqual([expect.objectContaining({ title: "Council tonight", recipient: { id: member.user.id }, data: { open: "council" }, campaign: { id: campaign.id } })]);
    expect(errorCodes(await send(gm.accessToken, { ...announcement, recipientIds: [member.user.id, outsider.user.id] }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await send(gm.accessToken, { ...announcement, category: "SYSTEM", recipientIds: [member.user.id] }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await send(gm.accessToken, { ...announcement, campaignId: undefined, recipientIds: [member.user.id] }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await send(member.accessToken, { ...announcement, recipientIds: [gm.user.id] }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await send(outsider.accessToken, { ...announcement, recipientIds: [member.user.id] }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await send(gm.accessToken, { ...announcement, campaignId: randomUUID(), recipientIds: [member.user.id] }))).toEqual(["NOT_FOUND"]);
    expect(expectData(await send(service, { recipientIds: [outsider.user.id] })).sendNotification).toHaveLength(1);
    expect(expectData(await inbox(member.accessToken)).notifications.notifications.map((n) => n.title)).toContain("Council tonight");
    // Audited with the send: who, about which campaign, to how many; refusals changed nothing.
    const audit = await db.query("SELECT actor_id, action, target_id, details FROM audit_log WHERE target_id = $1", [campaign.id]);
    expect(audit.rows).toEqual([{ actor_id: gm.user.id, action: "notification.send", target_id: campaign.id, details: { category: "ANNOUNCEMENT", recipients: 1, deliveries: 0 } }]);
  });

  it("refuses bad input with BAD_USER_INPUT, naming the field", async () => {
    const someone = (await registerUser(url, "Someone")).user.id;
    const cases: [Partial<SendNotificationInput>, string][] = [
      [{ recipientIds: [] }, "recipientIds"],
      [{ recipientIds: Array.from({ length: 501 }, () => randomUUID()) }, "recipientIds"],
      [{ recipientIds: ["not-an-id"] }, "recipientIds.0"],
      [{ recipientIds: [someone], title: "  " }, "title"],
      [{ recipientIds: [someone], body: "x".repeat(2001) }, "body"],
      [{ recipientIds: [someone], category: "CAMPAIGN" }, "category"],
      [{ recipientIds: [someone], data: { blob: "x".repeat(5000) } }, "data"],
      [{ recipientIds: [someone], data: [1, 2] }, "data"],
      [{ recipientIds: [someone], idempotencyKey: "" }, "idempotencyKey"],
    ];
    for (const [input, field] of cases) {
      const response = await send(admin.accessToken, input);
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(response.errors?.[0]?.extensions?.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    }
    const user = await registerUser(url, "Devices");
    const badDevice = await graphql(url, RegisterPushDeviceDocument, { input: { platform: "IOS", token: "", label: null } }, { token: user.accessToken });
    expect(errorCodes(badDevice)).toEqual(["BAD_USER_INPUT"]);
  });

  it("sends nothing twice for a repeated idempotency key, and follows each recipient's preferences", async () => {
    const [quiet, loud] = [await registerUser(url, "Quiet"), await registerUser(url, "Loud")];
    const [quietPhone, loudPhone] = [`q-${randomUUID()}`, `l-${randomUUID()}`];
    await device(quiet, quietPhone);
    await device(loud, loudPhone);
    const prefs = expectData(await graphql(url, NotificationPreferencesDocument, {}, { token: quiet.accessToken })).notificationPreferences;
    expect(prefs).toEqual(["CAMPAIGN", "MEMBERSHIP", "ANNOUNCEMENT", "SYSTEM"].map((category) => ({ category, inApp: true, push: true })));
    expectData(await graphql(url, SetNotificationPreferenceDocument, { input: { category: "SYSTEM", inApp: false, push: false } }, { token: quiet.accessToken }));
    expect(expectData(await graphql(url, NotificationPreferencesDocument, {}, { token: quiet.accessToken })).notificationPreferences[3]).toEqual({
      category: "SYSTEM",
      inApp: false,
      push: false,
    });

    const idempotencyKey = randomUUID();
    const first = expectData(await send(admin.accessToken, { recipientIds: [quiet.user.id, loud.user.id], idempotencyKey })).sendNotification;
    const again = expectData(await send(admin.accessToken, { recipientIds: [quiet.user.id, loud.user.id], idempotencyKey })).sendNotification;
    expect(again.map((n) => n.id).sort()).toEqual(first.map((n) => n.id).sort());
    await eventually("the loud push", async () => (pushedTo(loudPhone).length ? true : undefined));
    // The same key from another sender is another notification.
    expect(expectData(await send(service, { recipientIds: [loud.user.id], idempotencyKey })).sendNotification[0]!.id).not.toBe(first.find((n) => n.recipient.id === loud.user.id)!.id);
    await eventually("the second loud push", async () => (pushedTo(loudPhone).length === 2 ? true : undefined));
    expect(pushedTo(quietPhone)).toEqual([]);
    expect((await inbox(quiet.accessToken)).data?.notifications.notifications).toEqual([]);
    expect(first.find((n) => n.recipient.id === quiet.user.id)!.deliveries).toEqual([]);
  });

  it("retries a push service that is down, gives up on a device that is gone, and fails what it refuses", async () => {
    const user = await registerUser(url, "Flaky");
    const [phone, tablet] = [`p-${randomUUID()}`, `t-${randomUUID()}`];
    await device(user, phone);
    const gone = await device(user, tablet);
    push.unregistered.add(tablet);
    push.queue({ kind: "status", status: 503, errorCode: "UNAVAILABLE", retryAfter: "0" }, { kind: "status", status: 429, errorCode: "QUOTA_EXCEEDED" });
    const [notification] = expectData(await send(admin.accessToken, { recipientIds: [user.user.id], title: "Retry me" })).sendNotification;
    await eventually("the phone's push", async () => (pushedTo(phone).length ? true : undefined));
    const phoneRow = await eventually("phone SENT", async () => ((await deliveryOf(notification!.id, phone))?.status === "SENT" ? deliveryOf(notification!.id, phone) : undefined));
    const tabletRow = await eventually("tablet FAILED", async () => ((await deliveryOf(notification!.id, tablet))?.status === "FAILED" ? deliveryOf(notification!.id, tablet) : undefined));
    expect(phoneRow!.last_error).toBeNull();
    expect(tabletRow!.last_error).toBe("UNREGISTERED");
    // Either device may have met the two injected failures: four attempts in all, each retried.
    expect(phoneRow!.attempts + tabletRow!.attempts).toBe(4);
    const devices = expectData(await graphql(url, PushDevicesDocument, {}, { token: user.accessToken })).pushDevices;
    expect(devices.find((d) => d.id === gone.id)?.active).toBe(false);
    // A disabled device gets no more deliveries; registering its token again revives it.
    const [next] = expectData(await send(admin.accessToken, { recipientIds: [user.user.id] })).sendNotification;
    expect(next!.deliveries).toHaveLength(1);
    await eventually("the next push", async () => (pushedTo(phone).length === 2 ? true : undefined));
    await device(user, tablet);
    push.unregistered.delete(tablet);

    // Refused for good (400): FAILED at once, not retried.
    push.queue({ kind: "status", status: 400, errorCode: "INVALID_ARGUMENT" }, { kind: "status", status: 400, errorCode: "INVALID_ARGUMENT" });
    const [refused] = expectData(await send(admin.accessToken, { recipientIds: [user.user.id], title: "Refused" })).sendNotification;
    const rows = await eventually("both FAILED", async () => {
      const found = expectData(await graphql(url, NotificationByIdDocument, { id: refused!.id }, { token: user.accessToken })).notification!.deliveries;
      return found.length === 2 && found.every((d) => d.status === "FAILED") ? found : undefined;
    });
    expect(rows.map((d) => [d.attempts, d.lastError])).toEqual([
      [1, "INVALID_ARGUMENT"],
      [1, "INVALID_ARGUMENT"],
    ]);
    expect(expectData(await graphql(url, UnregisterPushDeviceDocument, { id: gone.id }, { token: user.accessToken })).unregisterPushDevice).toBe(true);
    expect(expectData(await graphql(url, UnregisterPushDeviceDocument, { id: gone.id }, { token: user.accessToken })).unregisterPushDevice).toBe(false);
  });

  it("lets admins see what failed for good and give it another set of attempts", async () => {
    const user = await registerUser(url, "Outage");
    const phone = `o-${randomUUID()}`;
    await device(user, phone);
    // The push service is down for every attempt the delivery has (DELIVERY_ATTEMPTS is 4).
    push.queue(...Array.from({ length: 4 }, () => ({ kind: "status" as const, status: 503, errorCode: "UNAVAILABLE" })));
    const [notification] = expectData(await send(admin.accessToken, { recipientIds: [user.user.id], title: "After the outage" })).sendNotification;
    const failed = await eventually("FAILED", async () =>
      expectData(await graphql(url, FailedNotificationDeliveriesDocument, { first: 200 }, { token: admin.accessToken })).failedNotificationDeliveries.find(
        (d) => d.notification.id === notification!.id,
      ),
    );
    expect(failed).toMatchObject({ status: "FAILED", attempts: 4, lastError: "UNAVAILABLE", notification: { title: "After the outage", recipient: { id: user.user.id } } });
    expect(errorCodes(await graphql(url, FailedNotificationDeliveriesDocument, {}, { token: user.accessToken }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(url, RetryNotificationDeliveriesDocument, { ids: [failed.id] }, { token: user.accessToken }))).toEqual(["FORBIDDEN"]);

    expect(expectData(await graphql(url, RetryNotificationDeliveriesDocument, { ids: [failed.id, randomUUID()] }, { token: admin.accessToken })).retryNotificationDeliveries).toBe(1);
    await eventually("the push", async () => (pushedTo(phone).length ? true : undefined));
    expect(await eventually("SENT", async () => ((await deliveryOf(notification!.id, phone))?.status === "SENT" ? deliveryOf(notification!.id, phone) : undefined))).toMatchObject({
      attempts: 5,
      last_error: null,
    });
    // Only FAILED ones: retrying a SENT delivery does nothing.
    expect(expectData(await graphql(url, RetryNotificationDeliveriesDocument, { ids: [failed.id] }, { token: admin.accessToken })).retryNotificationDeliveries).toBe(0);
    expect(errorCodes(await graphql(url, RetryNotificationDeliveriesDocument, { ids: [] }, { token: admin.accessToken }))).toEqual(["BAD_USER_INPUT"]);
  });

  it("delivers what was committed but never queued (the sweep), once", async () => {
    const user = await registerUser(url, "Sweep");
    const phone = `s-${randomUUID()}`;
    const registered = await device(user, phone);
    // A notification and its delivery as a crash between commit and queue would leave them.
    const notificationId = randomUUID();
    await db.query("INSERT INTO notifications (id, recipient_id, category, title, body, source_key) VALUES ($1, $2, 'SYSTEM', 'Swept', 'Late but sure', $3)", [
      notificationId,
      user.user.id,
      `test:${randomUUID()}`,
    ]);
    await db.query("INSERT INTO deliveries (id, notification_id, channel, device_id, updated_at) VALUES ($1, $2, 'PUSH', $3, now() - interval '1 hour')", [
      randomUUID(),
      notificationId,
      registered.id,
    ]);
    expect(await stack.apps.notificationWorker.sweep()).toBeGreaterThanOrEqual(1);
    await eventually("the swept push", async () => (pushedTo(phone).length ? true : undefined));
    await eventually("SENT", async () => ((await deliveryOf(notificationId, phone))?.status === "SENT" ? true : undefined));
    await stack.apps.notificationWorker.sweep();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pushedTo(phone)).toHaveLength(1);
  });

  it("keeps an inbox for NOTIFICATION_RETENTION_DAYS (90 by default), not for ever", async () => {
    const user = await registerUser(url, "Veteran");
    const insert = (title: string, ageDays: number) =>
      db.query(
        `INSERT INTO notifications (id, recipient_id, category, title, body, source_key, created_at)
         VALUES ($1, $2, 'SYSTEM', $3, 'Old news', $4, now() - make_interval(days => $5))`,
        [randomUUID(), user.user.id, title, `test:${randomUUID()}`, ageDays],
      );
    await insert("Last season", 91);
    await insert("This season", 89);
    expect(await stack.apps.notificationWorker.purge()).toBeGreaterThanOrEqual(1);
    expect(expectData(await inbox(user.accessToken)).notifications.notifications.map((n) => n.title)).toEqual(["This season"]);
  });

  it("ends a campaign's story with one notification per member", async () => {
    const gm = await registerUser(url, "Gm");
    const players = [await registerUser(url, "P1"), await registerUser(url, "P2")];
    const campaign = expectData(await graphql(url, CreateCampaignDocument, { input: { name: "Finale" } }, { token: gm.accessToken })).createCampaign;
    for (const p of players) expectData(await graphql(url, JoinCampaignDocument, { campaignId: campaign.id }, { token: p.accessToken }));
    expectData(await graphql(url, EndCampaignDocument, { id: campaign.id }, { token: gm.accessToken }));
    for (const p of players) {
      const titles = await eventually("the end", async () => {
        const found = (await inbox(p.accessToken)).data?.notifications.notifications.map((n) => n.title) ?? [];
        return found.includes("Finale has ended") ? found : undefined;
      });
      expect(titles.filter((t) => t === "Finale has ended")).toHaveLength(1);
    }
  });
});
