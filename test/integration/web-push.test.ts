import { randomBytes, randomUUID } from "node:crypto";
import type pg from "pg";
import webpush from "web-push";
import { MAX_WEB_PUSH_PLAINTEXT } from "../../subgraphs/notification/src/delivery/web-push-client";
import { startFakeWebPush, type FakeBrowser, type FakeWebPush } from "../testkit/fake-web-push";
import { errorCodes, expectData, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startNotificationStack, type NotificationStack } from "../testkit/notification-stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Web Push to browsers, through the gateway on a whole stack: a player registers their
 * browser's subscription, the game's own events and sendNotification reach a push service on
 * loopback that checks VAPID and decrypts each payload as the browser would (RFC 8030/8291/8292);
 * 410 disables the subscription for good, 503 is retried, bad subscriptions are refused.
 * FCM is off in this stack: the two push services are switched on apart.
 */
describe("web push", () => {
  const vapid = webpush.generateVAPIDKeys();
  let env: NotificationStack;
  let fake: FakeWebPush;
  let url: string;
  let db: pg.Client;
  let admin: TestUser;

  beforeAll(async () => {
    fake = await startFakeWebPush({ vapidPublicKey: vapid.publicKey });
    env = await startNotificationStack({
      WEB_PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
      WEB_PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
      WEB_PUSH_SUBJECT: "mailto:ops@startales.test",
      WEB_PUSH_TTL_SECONDS: "3600",
      DELIVERY_ATTEMPTS: "5",
    });
    ({ url, db, admin } = env);
  });
  afterAll(async () => {
    await env?.stop();
    await fake?.stop();
  });

  const call = <T = Record<string, unknown>>(user: TestUser, query: string, variables: Record<string, unknown> = {}) => env.call<T>(user, query, variables);
  const register = (user: TestUser, input: { endpoint: string; keys: { p256dh: string; auth: string }; label?: string }) =>
    call<{ registerWebPushSubscription: { id: string; platform: string; service: string; active: boolean } }>(
      user,
      "mutation($i: RegisterWebPushSubscriptionInput!) { registerWebPushSubscription(input: $i) { id platform service active label } }",
      { i: input },
    );
  const subscribed = async (user: TestUser): Promise<FakeBrowser & { id: string }> => {
    const browser = fake.subscribe();
    const device = expectData(await register(user, { endpoint: browser.endpoint, keys: browser.keys, label: "Firefox" })).registerWebPushSubscription;
    return Object.assign(browser, { id: device.id });
  };
  const send = async (to: TestUser, input: { title?: string; body?: string; data?: unknown } = {}) =>
    (
      expectData(
        await call<{ sendNotification: { id: string }[] }>(
          admin,
          "mutation($i: SendNotificationInput!) { sendNotification(input: $i) { id } }",
          { i: { recipientIds: [to.user.id], category: "SYSTEM", title: input.title ?? "Maintenance", body: input.body ?? "Back soon", data: input.data, idempotencyKey: randomUUID() } },
        ),
      ).sendNotification[0]!
    ).id;
  const deliveryTo = async (notificationId: string, endpoint: string) =>
    (
      await db.query<{ status: string; attempts: number; last_error: string | null; provider_message_id: string | null }>(
        "SELECT d.status, d.attempts, d.last_error, d.provider_message_id FROM deliveries d JOIN push_devices p ON p.id = d.device_id WHERE d.notification_id = $1 AND p.token = $2",
        [notificationId, endpoint],
      )
    ).rows[0];
  const rowsFor = async (endpoint: string) => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM push_devices WHERE token = $1", [endpoint])).rows[0]!.n);
  const fieldsOf = (response: GraphQLResponse<unknown>) => (response.errors?.[0]?.extensions?.fields as { field: string }[] | undefined)?.map((f) => f.field);

  it("gives signed-in clients the key to subscribe with", async () => {
    const player = await registerUser(url, "Keyholder");
    expect(expectData(await call(player, "{ webPushApplicationServerKey }")).webPushApplicationServerKey).toBe(vapid.publicKey);
    expect(errorCodes(await postGraphQL(url, { query: "{ webPushApplicationServerKey }" }))).toEqual(["UNAUTHENTICATED"]);
  });

  it("pushes a campaign's start to a member's browser, encrypted for it and VAPID-signed", async () => {
    const gm = await registerUser(url, "Gm");
    const player = await registerUser(url, "Player");
    const browser = await subscribed(player);
    const devices = expectData(await call(player, "{ pushDevices { id platform service label active lastUsedAt } }")).pushDevices;
    expect(devices).toEqual([{ id: browser.id, platform: "WEB", service: "WEB_PUSH", label: "Firefox", active: true, lastUsedAt: null }]);

    const created = expectData(await call(gm, 'mutation { createCampaign(input: { name: "Web Andromeda" }) { id } }')).createCampaign as { id: string };
    expectData(await call(player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: created.id }));
    expectData(await call(gm, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: created.id }));

    const [message] = await fake.waitFor(browser.endpoint, 1);
    const started = await eventually("the player's notification", async () => {
      const inbox = expectData(await call(player, "{ notifications(first: 5) { notifications { id title } } }")).notifications as { notifications: { id: string; title: string }[] };
      return inbox.notifications.find((n) => n.title === "Web Andromeda has started");
    });
    expect(message!.json).toEqual({
      title: "Web Andromeda has started",
      body: "The galaxy is live: your civilization awaits its first orders.",
      notificationId: started.id,
      category: "CAMPAIGN",
      campaignId: created.id,
      data: { template: "CAMPAIGN_STARTED" },
    });
    expect(message).toMatchObject({ ttl: 3600, urgency: "normal", vapidKey: vapid.publicKey, jwt: expect.objectContaining({ aud: fake.origin, sub: "mailto:ops@startales.test" }) });
    const delivery = await eventually("SENT", async () => {
      const row = await deliveryTo(started.id, browser.endpoint);
      return row?.status === "SENT" ? row : undefined;
    });
    expect(delivery).toMatchObject({ attempts: 1, last_error: null, provider_message_id: expect.stringMatching(`^${fake.origin}/messages/`) });
    const [after] = expectData(await call(player, "{ pushDevices { lastUsedAt } }")).pushDevices as { lastUsedAt: string | null }[];
    expect(after!.lastUsedAt).not.toBeNull();
    expect(fake.violations).toEqual([]);
  });

  it("retries a push service that answers 503 until it takes the message", async () => {
    const player = await registerUser(url, "Patient");
    const browser = await subscribed(player);
    fake.answer(browser.endpoint, { status: 503 }, { status: 429, retryAfter: "0" });
    const id = await send(player, { title: "Eventually" });
    const [message] = await fake.waitFor(browser.endpoint, 1);
    expect(message!.json).toMatchObject({ title: "Eventually", body: "Back soon", notificationId: id, category: "SYSTEM", data: {} });
    const delivery = await eventually("SENT", async () => {
      const row = await deliveryTo(id, browser.endpoint);
      return row?.status === "SENT" ? row : undefined;
    });
    expect(delivery!.attempts).toBe(3);
    expect(fake.requestsTo(browser.endpoint)).toBe(3);
  });

  it("disables a subscription the push service says is gone (410) and sends it nothing more", async () => {
    const player = await registerUser(url, "Gone");
    const browser = await subscribed(player);
    fake.answer(browser.endpoint, { status: 410 });
    const first = await send(player);
    const failed = await eventually("FAILED", async () => {
      const row = await deliveryTo(first, browser.endpoint);
      return row?.status === "FAILED" ? row : undefined;
    });
    expect(failed).toMatchObject({ attempts: 1, last_error: "WEB_PUSH_HTTP_410" });
    expect(expectData(await call(player, "{ pushDevices { id active } }")).pushDevices).toEqual([{ id: browser.id, active: false }]);

    const second = await send(player);
    const notification = expectData(await call(player, "query($id: ID!) { notification(id: $id) { deliveries { id } } }", { id: second })).notification as { deliveries: unknown[] };
    expect(notification.deliveries).toEqual([]);
    // An operator's retry does not bring it back either.
    const retried = expectData(await call(admin, "mutation($ids: [ID!]!) { retryNotificationDeliveries(ids: $ids) }", { ids: [(await db.query<{ id: string }>("SELECT id FROM deliveries WHERE notification_id = $1", [first])).rows[0]!.id] }));
    expect(retried.retryNotificationDeliveries).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.requestsTo(browser.endpoint)).toBe(1);
    expect(fake.messages.filter((m) => m.endpoint === browser.endpoint)).toEqual([]);
  });

  it("pushes nothing of a category the player turned push off for, and pushes again once it is back on", async () => {
    const player = await registerUser(url, "Quiet");
    const browser = await subscribed(player);
    const prefer = (push: boolean) => call(player, "mutation($i: NotificationPreferenceInput!) { setNotificationPreference(input: $i) { push } }", { i: { category: "SYSTEM", inApp: true, push } });
    expectData(await prefer(false));
    const muted = await send(player, { title: "Muted" });
    // In the inbox all the same, with no delivery to the browser.
    const inbox = expectData(await call(player, "query($id: ID!) { notification(id: $id) { title deliveries { id } } }", { id: muted })).notification;
    expect(inbox).toEqual({ title: "Muted", deliveries: [] });
    expectData(await prefer(true));
    const heard = await send(player, { title: "Heard" });
    const [message] = await fake.waitFor(browser.endpoint, 1);
    // The first push to reach the browser is the second notification: the muted one never went out.
    expect(message!.json).toMatchObject({ title: "Heard", notificationId: heard });
    expect(fake.messages.filter((m) => m.endpoint === browser.endpoint).map((m) => (m.json as { title: string }).title)).toEqual(["Heard"]);
  });

  it("cuts a body too long for one record, within 4096 bytes of encrypted body", async () => {
    const player = await registerUser(url, "Verbose");
    const browser = await subscribed(player);
    const body = "é".repeat(2000);
    const data = { blob: "x".repeat(2000) };
    const id = await send(player, { title: "Long", body, data });
    const [message] = await fake.waitFor(browser.endpoint, 1);
    expect(Buffer.byteLength(message!.plaintext)).toBeLessThanOrEqual(MAX_WEB_PUSH_PLAINTEXT);
    const json = message!.json as { title: string; body: string; notificationId: string; data?: unknown };
    expect(json).toMatchObject({ title: "Long", notificationId: id, data });
    expect(json.body.endsWith("…")).toBe(true);
    expect(body.startsWith(json.body.slice(0, -1))).toBe(true);
    expect(fake.violations).toEqual([]);
  });

  it("refuses an endpoint that is not https (or loopback) and keys of the wrong size, writing nothing", async () => {
    const player = await registerUser(url, "Careless");
    const browser = fake.subscribe();
    const cases: [{ endpoint: string; keys: { p256dh: string; auth: string } }, string][] = [
      [{ endpoint: "http://push.example.com/push/1", keys: browser.keys }, "endpoint"],
      [{ endpoint: "https://169.254.169.254/latest/meta-data", keys: browser.keys }, "endpoint"],
      [{ endpoint: "not a url", keys: browser.keys }, "endpoint"],
      [{ endpoint: browser.endpoint, keys: { ...browser.keys, p256dh: randomBytes(33).toString("base64url") } }, "keys.p256dh"],
      [{ endpoint: browser.endpoint, keys: { ...browser.keys, p256dh: Buffer.concat([Buffer.from([4]), randomBytes(64)]).toString("base64url") } }, "keys.p256dh"],
      [{ endpoint: browser.endpoint, keys: { ...browser.keys, auth: randomBytes(8).toString("base64url") } }, "keys.auth"],
      [{ endpoint: browser.endpoint, keys: { ...browser.keys, auth: "not base64url!" } }, "keys.auth"],
    ];
    for (const [input, field] of cases) {
      const response = await register(player, input);
      expect({ field, codes: errorCodes(response) }).toEqual({ field, codes: ["BAD_USER_INPUT"] });
      expect(fieldsOf(response)).toEqual([field]);
      expect(await rowsFor(input.endpoint)).toBe(0);
    }
    expect(expectData(await call(player, "{ pushDevices { id } }")).pushDevices).toEqual([]);
  });

  it("lets only its owner remove a subscription", async () => {
    const [owner, other] = [await registerUser(url, "Owner"), await registerUser(url, "Other")];
    const browser = await subscribed(owner);
    const removeByEndpoint = (user: TestUser) => call(user, "mutation($e: String!) { unregisterWebPushSubscription(endpoint: $e) }", { e: browser.endpoint });
    expect(expectData(await removeByEndpoint(other)).unregisterWebPushSubscription).toBe(false);
    expect(expectData(await call(other, "mutation($id: ID!) { unregisterPushDevice(id: $id) }", { id: browser.id })).unregisterPushDevice).toBe(false);
    expect(await rowsFor(browser.endpoint)).toBe(1);
    expect(expectData(await call(owner, "{ pushDevices { id } }")).pushDevices).toEqual([{ id: browser.id }]);

    expect(expectData(await removeByEndpoint(owner)).unregisterWebPushSubscription).toBe(true);
    expect(await rowsFor(browser.endpoint)).toBe(0);
    expect(expectData(await removeByEndpoint(owner)).unregisterWebPushSubscription).toBe(false);
  });
});
