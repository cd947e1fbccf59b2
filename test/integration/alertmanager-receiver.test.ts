import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { ADMIN_IDS_PATH, type Logger, type SubgraphApp } from "@startales/service-kit";
import { createNotificationApp } from "../../subgraphs/notification/src/app";
import { InboxDocument, RegisterPushDeviceDocument, SetNotificationPreferenceDocument, SetUserRolesDocument, type Role } from "../generated/operations";
import { notificationTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { startFakePush, type FakePush } from "../testkit/fake-push";
import { expectData, graphql } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { unusedPort } from "../testkit/ports";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

const PATH = "/internal/alerts/alertmanager";

/** Alertmanager's webhook payload (version 4) for one group of HighErrorRate alerts. */
function payload(groupKey: string, status: "firing" | "resolved", alerts: { fingerprint: string; status: "firing" | "resolved"; startsAt: string; endsAt?: string }[]) {
  return {
    version: "4",
    receiver: "startales-notification",
    status,
    groupKey,
    truncatedAlerts: 0,
    groupLabels: { alertname: "HighErrorRate" },
    commonLabels: { alertname: "HighErrorRate", severity: "ticket" },
    commonAnnotations: { summary: "Errors above the objective", description: "The gateway answers too many errors.", runbook_url: "docs/runbooks.md#graphql-errors" },
    externalURL: "http://alertmanager.example:9093",
    alerts: alerts.map((alert) => ({
      status: alert.status,
      labels: { alertname: "HighErrorRate", severity: "ticket", job: `job-${alert.fingerprint}` },
      annotations: { summary: "Errors above the objective" },
      startsAt: alert.startsAt,
      endsAt: alert.endsAt ?? "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.example:9090/graph?g0.expr=up",
      fingerprint: alert.fingerprint,
    })),
  };
}

/** How long the receiver under test keeps identity's answer (30 s in production). */
const ADMINS_CACHE_MS = 300;

/**
 * The notification subgraph's Alertmanager receiver on a whole stack: the users who hold ADMIN
 * in identity (asked when an alert arrives, briefly cached) hear of an alert group once per
 * change (in the inbox and by push), Alertmanager's repeats notify no one again, others hear
 * nothing, an admin demoted stops hearing; a caller without the token, a malformed payload or
 * an identity that cannot be reached writes nothing. The receiver runs in a notification
 * process of its own beside the stack's (same database and delivery queue, the stack's
 * identity), with the token.
 */
describe("Alertmanager receiver", () => {
  const ADMIN_EMAIL = `admin-${randomUUID()}@example.test`;
  const TOKEN = randomBytes(24).toString("base64url");
  const REDIS_PREFIX = `notification:test:${randomUUID()}:`;
  let stack: Stack;
  let push: FakePush;
  let db: pg.Client;
  let receiver: SubgraphApp;
  let receiverUrl: string;
  let admin: TestUser;
  let quietAdmin: TestUser;
  let player: TestUser;

  beforeAll(async () => {
    push = await startFakePush();
    const pushEnv = { PUSH_URL: push.url, PUSH_PROJECT_ID: push.projectId, PUSH_ACCESS_TOKEN: push.accessToken, NOTIFICATION_REDIS_PREFIX: REDIS_PREFIX };
    stack = await startStack({ logLevel: "warn", identityEnv: { BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL }, notificationEnv: pushEnv });
    db = new pg.Client({ connectionString: required("NOTIFICATION_DATABASE_URL") });
    await db.connect();
    admin = await registerUser(stack.graphqlUrl, "Admin", undefined, ADMIN_EMAIL);
    quietAdmin = await registerUser(stack.graphqlUrl, "QuietAdmin");
    // The first admin registered with a bootstrap email; the second is promoted by them, as an admin would.
    expectData(await graphql(stack.graphqlUrl, SetUserRolesDocument, { userId: quietAdmin.user.id, roles: ["PLAYER", "ADMIN"] }, { token: admin.accessToken }));
    player = await registerUser(stack.graphqlUrl, "Player");
    // The second admin wants SYSTEM notifications by push only.
    expectData(await graphql(stack.graphqlUrl, SetNotificationPreferenceDocument, { input: { category: "SYSTEM", inApp: false, push: true } }, { token: quietAdmin.accessToken }));
    expectData(await graphql(stack.graphqlUrl, RegisterPushDeviceDocument, { input: { platform: "ANDROID", token: `admin-phone-${randomUUID()}`, label: "Phone" } }, { token: admin.accessToken }));
    receiver = createNotificationApp(
      notificationTestConfig(stack.campaignUrl, { ...pushEnv, ALERT_WEBHOOK_TOKEN: TOKEN, IDENTITY_URL: stack.identityUrl, ALERT_ADMINS_CACHE_MS: String(ADMINS_CACHE_MS) }),
      captureLogs("alert-receiver", "warn").logger as Logger,
    );
    receiverUrl = await receiver.listen();
  });
  afterAll(async () => {
    await receiver?.stop();
    await stack?.stop();
    await push?.stop();
    await db?.end();
  });

  const post = (body: unknown, token: string | null = TOKEN, url = receiverUrl) =>
    fetch(`${url}${PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const inbox = async (user: TestUser) =>
    expectData(await graphql(stack.graphqlUrl, InboxDocument, { first: 100 }, { token: user.accessToken })).notifications.notifications;
  const alertsIn = async (user: TestUser, groupKey: string) => (await inbox(user)).filter((n) => (n.data as { groupKey?: string }).groupKey === groupKey);
  // Identity's database is shared with the other suites, whose admins hear of these alerts too: only this suite's users are counted.
  const ours = () => new Set([admin.user.id, quietAdmin.user.id, player.user.id]);
  const rowsOf = async (groupKey: string) =>
    (await db.query<{ recipient_id: string; in_inbox: boolean; title: string }>("SELECT recipient_id, in_inbox, title FROM notifications WHERE data->>'groupKey' = $1 ORDER BY created_at", [groupKey])).rows.filter((row) =>
      ours().has(row.recipient_id),
    );
  /** A 200 that created a notification for each admin there is: at least `atLeast` of them (this suite's). */
  const createdFor = async (answer: Response, atLeast: number) => {
    const body = (await answer.json()) as { created: number };
    expect({ status: answer.status, enough: body.created >= atLeast }).toEqual({ status: 200, enough: true });
  };

  it("tells every admin once per change of an alert group, in the inbox and by push, and no one else", async () => {
    const groupKey = `{}/{severity="ticket"}:{alertname="HighErrorRate"}-${randomUUID()}`;
    const startsAt = "2026-12-07T10:00:00.123456789Z";
    const firing = payload(groupKey, "firing", [
      { fingerprint: "a1b2c3d4e5f60718", status: "firing", startsAt },
      { fingerprint: "0f1e2d3c4b5a6978", status: "firing", startsAt },
    ]);

    const first = await post(firing);
    await createdFor(first, 2);
    const [notified] = await alertsIn(admin, groupKey);
    expect(notified).toMatchObject({
      category: "SYSTEM",
      title: "[FIRING] HighErrorRate (2)",
      body: "Errors above the objective\n\nThe gateway answers too many errors.",
      data: {
        source: "alertmanager",
        groupKey,
        status: "firing",
        alertNames: ["HighErrorRate"],
        fingerprints: ["0f1e2d3c4b5a6978", "a1b2c3d4e5f60718"],
        externalURL: "http://alertmanager.example:9093",
        generatorURL: "http://prometheus.example:9090/graph?g0.expr=up",
        runbookURL: "docs/runbooks.md#graphql-errors",
      },
    });
    // By push too: the admin's device, through the stack's worker pool.
    await eventually("the admin's phone to get the alert", async () => push.messages.find((m) => m.title === "[FIRING] HighErrorRate (2)" && m.data.notificationId === notified!.id));

    // Alertmanager's repeat (repeat_interval, or a retry): the alerts listed in another order, endsAt moved on.
    const repeat = await post({ ...firing, alerts: [...firing.alerts].reverse().map((alert) => ({ ...alert, endsAt: "2026-12-07T10:15:00Z" })) });
    expect({ status: repeat.status, body: await repeat.json() }).toEqual({ status: 200, body: { created: 0 } });
    expect(await alertsIn(admin, groupKey)).toHaveLength(1);

    // The quiet admin has the row (their push preference applies to it) but not in the inbox; the player has nothing.
    expect(await alertsIn(quietAdmin, groupKey)).toEqual([]);
    expect(await alertsIn(player, groupKey)).toEqual([]);
    expect((await rowsOf(groupKey)).map((row) => [row.recipient_id, row.in_inbox]).sort()).toEqual(
      [
        [admin.user.id, true],
        [quietAdmin.user.id, false],
      ].sort(),
    );

    // Resolved: one more notification each, also once however often it is sent.
    const resolved = payload(groupKey, "resolved", firing.alerts.map((alert) => ({ fingerprint: alert.fingerprint, status: "resolved" as const, startsAt, endsAt: "2026-12-07T10:30:00Z" })));
    expect((await post(resolved)).status).toBe(200);
    expect((await post(resolved)).status).toBe(200);
    const titles = (await alertsIn(admin, groupKey)).map((n) => n.title);
    expect(titles).toEqual(["[RESOLVED] HighErrorRate (2)", "[FIRING] HighErrorRate (2)"]);
    expect(await alertsIn(player, groupKey)).toEqual([]);
    expect(await rowsOf(groupKey)).toHaveLength(4);

    // The same alert firing anew (a new startsAt) is news again.
    const again = await post(payload(groupKey, "firing", [{ fingerprint: "a1b2c3d4e5f60718", status: "firing", startsAt: "2026-12-07T11:00:00Z" }]));
    await createdFor(again, 2);
    expect((await alertsIn(admin, groupKey))[0]!.title).toBe("[FIRING] HighErrorRate (1)");
  });

  it("notifies whoever holds ADMIN when the alert arrives: a demoted admin stops hearing, a promoted one starts", async () => {
    const setRoles = async (user: TestUser, roles: Role[]) =>
      expectData(await graphql(stack.graphqlUrl, SetUserRolesDocument, { userId: user.user.id, roles }, { token: admin.accessToken }));
    const alertOf = (groupKey: string) => payload(groupKey, "firing", [{ fingerprint: "4444444444444444", status: "firing", startsAt: "2026-12-07T10:00:00Z" }]);
    const recipientsOf = async (groupKey: string) => (await rowsOf(groupKey)).map((row) => row.recipient_id).sort();
    const untilStale = () => new Promise((resolve) => setTimeout(resolve, ADMINS_CACHE_MS + 100));

    await setRoles(quietAdmin, ["PLAYER"]);
    await untilStale();
    const afterDemotion = `{}:{alertname="Demoted"}-${randomUUID()}`;
    const demoted = await post(alertOf(afterDemotion));
    await createdFor(demoted, 1);
    expect(await recipientsOf(afterDemotion)).toEqual([admin.user.id]);

    // The player, promoted, hears of the next group; the demoted admin, promoted again, too.
    await setRoles(player, ["PLAYER", "ADMIN"]);
    await setRoles(quietAdmin, ["PLAYER", "ADMIN"]);
    await untilStale();
    const afterPromotion = `{}:{alertname="Promoted"}-${randomUUID()}`;
    expect((await post(alertOf(afterPromotion))).status).toBe(200);
    expect(await recipientsOf(afterPromotion)).toEqual([admin.user.id, quietAdmin.user.id, player.user.id].sort());
    expect(await alertsIn(player, afterPromotion)).toHaveLength(1);
    await setRoles(player, ["PLAYER"]);
    await untilStale();
  });

  it("answers 503 while identity cannot be reached, writing nothing (Alertmanager retries)", async () => {
    const closedPort = await unusedPort();
    const cutOff = createNotificationApp(
      notificationTestConfig(stack.campaignUrl, { ALERT_WEBHOOK_TOKEN: TOKEN, IDENTITY_URL: `http://127.0.0.1:${closedPort}`, IDENTITY_TIMEOUT_MS: "2000" }),
      captureLogs("alert-receiver-cut-off", "error").logger as Logger,
    );
    const cutOffUrl = await cutOff.listen();
    try {
      const groupKey = `{}:{alertname="IdentityDown"}-${randomUUID()}`;
      const response = await post(payload(groupKey, "firing", [{ fingerprint: "5555555555555555", status: "firing", startsAt: "2026-12-07T10:00:00Z" }]), TOKEN, cutOffUrl);
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 503,
        body: { errors: [{ message: expect.stringContaining("identity"), extensions: { code: "SERVICE_UNAVAILABLE", reason: "IDENTITY_UNAVAILABLE" } }] },
      });
      expect(await rowsOf(groupKey)).toEqual([]);
      // The token is still checked first: a caller without it learns nothing of identity.
      expect((await post(payload(groupKey, "firing", [{ fingerprint: "5555555555555555", status: "firing", startsAt: "2026-12-07T10:00:00Z" }]), null, cutOffUrl)).status).toBe(401);
    } finally {
      await cutOff.stop();
    }
  });

  it("identity lists the admins to a signed SERVICE identity only", async () => {
    const ask = (headers: Record<string, string>) => fetch(`${stack.identityUrl}${ADMIN_IDS_PATH}`, { method: "POST", headers });
    const service = await ask(await gatewayHeaders(asUser(randomUUID(), ["SERVICE"], ["read"])));
    expect(service.status).toBe(200);
    const { userIds } = (await service.json()) as { userIds: string[] };
    expect(userIds).toEqual(expect.arrayContaining([admin.user.id, quietAdmin.user.id]));
    expect(userIds).not.toContain(player.user.id);

    const refused: [string, Record<string, string>, number][] = [
      ["no identity", {}, 401],
      ["an identity signed with another secret", await gatewayHeaders(asUser(randomUUID(), ["SERVICE"], ["read"]), randomBytes(48).toString("base64url")), 401],
      ["an admin", await gatewayHeaders(asUser(admin.user.id, ["ADMIN"])), 403],
      ["a player", await gatewayHeaders(asUser(player.user.id, ["PLAYER"])), 403],
    ];
    for (const [who, headers, status] of refused) {
      const response = await ask(headers);
      expect({ who, status: response.status, body: await response.json() }).toEqual({ who, status, body: { error: status === 401 ? "UNAUTHENTICATED" : "FORBIDDEN", message: expect.any(String) } });
    }
    // The gateway does not route /internal/*.
    expect((await fetch(`${stack.gatewayUrl}${ADMIN_IDS_PATH}`, { method: "POST", headers: await gatewayHeaders(asUser(randomUUID(), ["SERVICE"], ["read"])) })).status).not.toBe(200);
  });

  it("refuses a caller without the token or with a wrong one (401), writing nothing", async () => {
    const groupKey = `{}:{alertname="Unauthenticated"}-${randomUUID()}`;
    const body = payload(groupKey, "firing", [{ fingerprint: "1111111111111111", status: "firing", startsAt: "2026-12-07T10:00:00Z" }]);
    for (const token of [null, "wrong-token-of-some-length", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const response = await post(body, token);
      expect({ token, status: response.status, code: ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code }).toEqual({
        token,
        status: 401,
        code: "UNAUTHENTICATED",
      });
    }
    // Basic credentials are not the bearer token either.
    const basic = await fetch(`${receiverUrl}${PATH}`, { method: "POST", headers: { authorization: `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString("base64")}` }, body: JSON.stringify(body) });
    expect(basic.status).toBe(401);
    expect(await rowsOf(groupKey)).toEqual([]);
  });

  it("refuses what is not an Alertmanager payload (400), writing nothing", async () => {
    const groupKey = `{}:{alertname="Malformed"}-${randomUUID()}`;
    const valid = payload(groupKey, "firing", [{ fingerprint: "2222222222222222", status: "firing", startsAt: "2026-12-07T10:00:00Z" }]);
    const malformed: [string, unknown][] = [
      ["not JSON", "{ version: 4"],
      ["another version", { ...valid, version: "3" }],
      ["a status of its own", { ...valid, status: "pending" }],
      ["no alerts", { ...valid, alerts: [] }],
      ["too many alerts", { ...valid, alerts: Array.from({ length: 201 }, (_, i) => ({ ...valid.alerts[0], fingerprint: `f${i}` })) }],
      ["a bad startsAt", { ...valid, alerts: [{ ...valid.alerts[0], startsAt: "yesterday" }] }],
      ["a label that is not a string", { ...valid, alerts: [{ ...valid.alerts[0], labels: { alertname: 7 } }] }],
      ["an annotation too long", { ...valid, commonAnnotations: { summary: "x".repeat(8_193) } }],
      ["no groupKey", { ...valid, groupKey: "" }],
    ];
    for (const [what, body] of malformed) {
      const response = await post(body);
      const answer = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect({ what, status: response.status, code: answer.errors[0]!.extensions.code }).toEqual({ what, status: 400, code: typeof body === "string" ? "BAD_REQUEST" : "BAD_USER_INPUT" });
    }
    const tooLarge = await post({ ...valid, padding: "x".repeat(1024 * 1024) });
    expect(tooLarge.status).toBe(413);
    expect(await rowsOf(groupKey)).toEqual([]);
    // The same group, well formed, is written: what was refused was the body alone.
    expect((await post(valid)).status).toBe(200);
    expect(await rowsOf(groupKey)).toHaveLength(2);
  });

  it("answers 503 where the receiver is not configured (the stack's own notification has no token)", async () => {
    const response = await post(payload(`{}:{alertname="Off"}-${randomUUID()}`, "firing", [{ fingerprint: "3333333333333333", status: "firing", startsAt: "2026-12-07T10:00:00Z" }]), TOKEN, stack.notificationUrl);
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 503,
      body: { errors: [{ message: expect.stringContaining("ALERT_WEBHOOK_TOKEN"), extensions: { code: "SERVICE_UNAVAILABLE", reason: "ALERTS_OFF" } }] },
    });
  });
});
