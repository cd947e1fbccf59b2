import { createHmac, randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { Webhook as StandardWebhook } from "standardwebhooks";
import {
  CreateWebhookDocument,
  PingWebhookDocument,
  RedeliverWebhookDocument,
  RotateWebhookSecretDocument,
  SetWebhookEnabledDocument,
  WebhookDeliveriesDocument,
  WebhooksDocument,
  type WebhookEvent,
} from "../generated/operations";
import { required } from "../testkit/config";
import { startFakeWebhookReceiver, type FakeWebhookReceiver, type ReceivedWebhook } from "../testkit/fake-webhook-receiver";
import { errorCodes, expectData, graphql } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

const ALERT_PATH = "/internal/alerts/alertmanager";

/** A firing (or resolved) Alertmanager payload (version 4) of one alert, in its own group. */
function alertPayload(groupKey: string, status: "firing" | "resolved") {
  const alert = {
    status,
    labels: { alertname: "HighErrorRate", severity: "page" },
    annotations: { summary: "Errors above the objective" },
    startsAt: "2026-12-07T10:00:00Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus.example:9090/graph",
    fingerprint: "a1b2c3d4e5f60718",
  };
  return {
    version: "4",
    receiver: "startales-notification",
    status,
    groupKey,
    truncatedAlerts: 0,
    groupLabels: { alertname: "HighErrorRate" },
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: "http://alertmanager.example:9093",
    alerts: [alert],
  };
}

/** The signature a receiver computes by hand from the spec: HMAC-SHA256 of `${id}.${timestamp}.${body}` with the secret's base64 key. */
function independentSignature(secret: string, request: ReceivedWebhook): string {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const content = `${request.headers["webhook-id"]}.${request.headers["webhook-timestamp"]}.${request.body}`;
  return `v1,${createHmac("sha256", key).update(content).digest("base64")}`;
}

/** Both ways a receiver checks a request: the spec's own library, and the HMAC computed independently. */
function verifies(secret: string, request: ReceivedWebhook): boolean {
  let library = true;
  try {
    new StandardWebhook(secret).verify(request.body, request.headers);
  } catch {
    library = false;
  }
  const independent = request.headers["webhook-signature"]!.split(" ").includes(independentSignature(secret, request));
  return library && independent;
}

/**
 * Outgoing webhooks on a whole stack: an admin registers an operator's tool, events reach it
 * signed (Standard Webhooks), failed attempts are retried until one succeeds, 410 Gone turns
 * the webhook off, the delivery log tells it all; addresses inside our network are refused,
 * non-admins are FORBIDDEN. The receiver is a real HTTP server on loopback (the test config
 * allows private addresses for it).
 */
describe("outgoing webhooks", () => {
  const ADMIN_EMAIL = `admin-${randomUUID()}@example.test`;
  const TOKEN = randomBytes(24).toString("base64url");
  let stack: Stack;
  let receiver: FakeWebhookReceiver;
  let db: pg.Client;
  let admin: TestUser;
  let player: TestUser;

  beforeAll(async () => {
    receiver = await startFakeWebhookReceiver();
    stack = await startStack({ logLevel: "warn", identityEnv: { BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL }, notificationEnv: { ALERT_WEBHOOK_TOKEN: TOKEN, WEBHOOK_TIMEOUT_MS: "1000" } });
    admin = await registerUser(stack.graphqlUrl, "Admin", undefined, ADMIN_EMAIL);
    player = await registerUser(stack.graphqlUrl, "Player");
    db = new pg.Client({ connectionString: required("NOTIFICATION_DATABASE_URL") });
    await db.connect();
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.stop();
    await db?.end();
  });

  const asAdmin = () => ({ token: admin.accessToken });
  const create = async (path: string, events: WebhookEvent[]) =>
    expectData(await graphql(stack.graphqlUrl, CreateWebhookDocument, { input: { url: `${receiver.origin}${path}`, events, description: "on-call bot" } }, asAdmin())).createWebhook;
  const log = async (webhookId: string) => expectData(await graphql(stack.graphqlUrl, WebhookDeliveriesDocument, { webhookId, first: 50 }, asAdmin())).webhookDeliveries.deliveries;
  const postAlert = (body: unknown) =>
    fetch(`${stack.notificationUrl}${ALERT_PATH}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  const webhookNamed = async (id: string) => expectData(await graphql(stack.graphqlUrl, WebhooksDocument, {}, asAdmin())).webhooks.find((w) => w.id === id);

  it("sends a firing alert to an admin's webhook, retried until it succeeds, with a valid signature", async () => {
    const path = `/alerts-${randomUUID()}`;
    const { secret, webhook } = await create(path, ["ALERT_FIRING"]);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(webhook).toMatchObject({ url: `${receiver.origin}${path}`, events: ["ALERT_FIRING"], enabled: true, description: "on-call bot" });
    receiver.answer(path, 500, 503);

    const groupKey = `{}:{alertname="HighErrorRate"}-${randomUUID()}`;
    expect((await postAlert(alertPayload(groupKey, "firing"))).status).toBe(200);

    const [delivery] = await eventually("the delivery to be SENT", async () => {
      const rows = await log(webhook.id);
      return rows[0]?.status === "SENT" ? rows : undefined;
    });
    expect(delivery).toMatchObject({ eventType: "ALERT_FIRING", status: "SENT", attempts: 3, lastStatusCode: 204, lastError: null, nextAttemptAt: null });
    const requests = receiver.requestsTo(path);
    expect(requests.map((r) => r.answeredWith)).toEqual([500, 503, 204]);
    // The same message every attempt (receivers dedupe on webhook-id), each signed anew.
    expect(new Set(requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([delivery!.id]));
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    expect(requests.map((r) => verifies(secret, r))).toEqual([true, true, true]);
    const body = new StandardWebhook(secret).verify(requests[2]!.body, requests[2]!.headers) as { type: string; data: Record<string, unknown> };
    expect(body).toMatchObject({ type: "alert.firing", data: { source: "alertmanager", groupKey, status: "firing", title: "[FIRING] HighErrorRate (1)" } });
    // A forged body does not verify.
    expect(verifies(secret, { ...requests[2]!, body: requests[2]!.body.replace("firing", "resolved") })).toBe(false);

    // Alertmanager's repeat of the group is the same event: no second delivery. Its resolution is another kind, not subscribed to.
    expect((await postAlert(alertPayload(groupKey, "firing"))).status).toBe(200);
    expect((await postAlert(alertPayload(groupKey, "resolved"))).status).toBe(200);
    expect((await log(webhook.id)).map((d) => d.id)).toEqual([delivery!.id]);
  });

  it("gives up after the last attempt (FAILED), and sends again by hand with redeliverWebhook", async () => {
    const path = `/down-${randomUUID()}`;
    const { secret, webhook } = await create(path, ["PING"]);
    receiver.always(path, 503);
    const ping = expectData(await graphql(stack.graphqlUrl, PingWebhookDocument, { id: webhook.id }, asAdmin())).pingWebhook;
    expect(ping).toMatchObject({ eventType: "PING", status: "PENDING", attempts: 0 });
    const failed = await eventually("the delivery to run out of attempts", async () => (await log(webhook.id)).find((d) => d.status === "FAILED"));
    // WEBHOOK_MAX_ATTEMPTS' default.
    expect(failed).toMatchObject({ id: ping.id, attempts: 10, lastStatusCode: 503, lastError: "HTTP_503", nextAttemptAt: null });
    expect(failed.responseSnippet!.length).toBeLessThanOrEqual(256);

    receiver.always(path, 200);
    const redelivered = expectData(await graphql(stack.graphqlUrl, RedeliverWebhookDocument, { deliveryId: ping.id }, asAdmin())).redeliverWebhook;
    expect(redelivered).toMatchObject({ id: ping.id, status: "PENDING" });
    const sent = await eventually("the redelivery to be SENT", async () => (await log(webhook.id)).find((d) => d.status === "SENT"));
    expect(sent).toMatchObject({ id: ping.id, attempts: 11, lastStatusCode: 200 });
    const last = receiver.requestsTo(path).at(-1)!;
    expect(last.headers["webhook-id"]).toBe(ping.id);
    expect(verifies(secret, last)).toBe(true);
    expect(JSON.parse(last.body)).toMatchObject({ type: "webhook.ping", data: { webhookId: webhook.id } });
  });

  it("gives up on a receiver that does not answer within WEBHOOK_TIMEOUT_MS, and tries again", async () => {
    const path = `/slow-${randomUUID()}`;
    const { secret, webhook } = await create(path, ["PING"]);
    receiver.answer(path, "timeout");
    const ping = expectData(await graphql(stack.graphqlUrl, PingWebhookDocument, { id: webhook.id }, asAdmin())).pingWebhook;
    const sent = await eventually("the ping to be SENT", async () => (await log(webhook.id)).find((d) => d.status === "SENT"));
    expect(sent).toMatchObject({ id: ping.id, attempts: 2, lastStatusCode: 204 });
    expect(receiver.requestsTo(path).map((r) => r.answeredWith)).toEqual(["timeout", 204]);
    expect(receiver.requestsTo(path).every((r) => verifies(secret, r))).toBe(true);
  });

  it("sends a delivery whose job was lost (committed, never queued) when the worker pool's sweep finds it", async () => {
    const path = `/lost-${randomUUID()}`;
    const { secret, webhook } = await create(path, ["PING"]);
    const body = JSON.stringify({ type: "webhook.ping", timestamp: new Date().toISOString(), data: { webhookId: webhook.id } });
    // As a process that died between the commit and the enqueue would leave it: PENDING, untouched for minutes, no job.
    const lost = await db.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, created_at, updated_at)
       VALUES (gen_random_uuid(), $1, $2, 'PING', $3, now() - interval '5 minutes', now() - interval '5 minutes') RETURNING id`,
      [webhook.id, `lost:${randomUUID()}`, body],
    );
    expect(await stack.apps.notificationWorker.sweepWebhooks()).toBeGreaterThanOrEqual(1);
    const sent = await eventually("the lost delivery to be SENT", async () => (await log(webhook.id)).find((d) => d.status === "SENT"));
    expect(sent).toMatchObject({ id: lost.rows[0]!.id, attempts: 1 });
    const [request] = receiver.requestsTo(path);
    expect({ id: request!.headers["webhook-id"], body: request!.body, verifies: verifies(secret, request!) }).toEqual({ id: lost.rows[0]!.id, body, verifies: true });
  });

  it("turns a webhook off when its receiver answers 410 Gone", async () => {
    const path = `/gone-${randomUUID()}`;
    const { webhook } = await create(path, ["PING"]);
    receiver.always(path, 410);
    const ping = expectData(await graphql(stack.graphqlUrl, PingWebhookDocument, { id: webhook.id }, asAdmin())).pingWebhook;
    const off = await eventually("the webhook to be disabled", async () => {
      const found = await webhookNamed(webhook.id);
      return found?.enabled === false ? found : undefined;
    });
    expect(off.disabledReason).toMatch(/410 Gone/);
    expect((await log(webhook.id))[0]).toMatchObject({ id: ping.id, status: "FAILED", attempts: 1, lastStatusCode: 410 });
    expect(receiver.requestsTo(path)).toHaveLength(1);

    // An admin turns it back on (the receiver is back): what is pinged now is sent.
    receiver.always(path, 204);
    const on = expectData(await graphql(stack.graphqlUrl, SetWebhookEnabledDocument, { id: webhook.id, enabled: true }, asAdmin())).setWebhookEnabled;
    expect(on).toMatchObject({ enabled: true, disabledReason: null });
    const again = expectData(await graphql(stack.graphqlUrl, PingWebhookDocument, { id: webhook.id }, asAdmin())).pingWebhook;
    await eventually("the new ping to be SENT", async () => ((await log(webhook.id)).find((d) => d.id === again.id)?.status === "SENT" ? true : undefined));
  });

  it("shows a secret once, and signs with the new one after rotateWebhookSecret (audited)", async () => {
    const path = `/rotate-${randomUUID()}`;
    const { secret: first, webhook } = await create(path, ["PING"]);
    // Nothing reads a secret back: the Webhook type has no such field.
    const listed = await webhookNamed(webhook.id);
    expect(Object.keys(listed!)).not.toContain("secret");

    await graphql(stack.graphqlUrl, PingWebhookDocument, { id: webhook.id }, asAdmin());
    await eventually("the first ping", async () => (receiver.requestsTo(path).length === 1 ? true : undefined));
    const rotated = expectData(await graphql(stack.graphqlUrl, RotateWebhookSecretDocument, { id: webhook.id }, asAdmin())).rotateWebhookSecret;
    expect(rotated.secret).not.toBe(first);
    await graphql(stack.graphqlUrl, PingWebhookDocument, { id: webhook.id }, asAdmin());
    await eventually("the second ping", async () => (receiver.requestsTo(path).length === 2 ? true : undefined));
    const [before, after] = receiver.requestsTo(path) as [ReceivedWebhook, ReceivedWebhook];
    expect([verifies(first, before), verifies(rotated.secret, before), verifies(first, after), verifies(rotated.secret, after)]).toEqual([true, false, false, true]);

    const audit = await db.query<{ action: string; actor_id: string }>("SELECT action, actor_id FROM audit_log WHERE target_id = $1 ORDER BY occurred_at", [webhook.id]);
    expect(audit.rows).toEqual([
      { action: "webhook.create", actor_id: admin.user.id },
      { action: "webhook.rotate_secret", actor_id: admin.user.id },
    ]);
    // The secret is sealed at rest: neither form of it is in the row.
    const stored = await db.query<{ secret_ciphertext: string }>("SELECT secret_ciphertext FROM webhooks WHERE id = $1", [webhook.id]);
    expect(stored.rows[0]!.secret_ciphertext).not.toContain(rotated.secret.slice("whsec_".length));
  });

  it("refuses URLs inside our network and other invalid input, naming the field, and writes nothing", async () => {
    const refused = async (input: { url: string; events: WebhookEvent[] }) => {
      const answer = await graphql(stack.graphqlUrl, CreateWebhookDocument, { input }, asAdmin());
      return { codes: errorCodes(answer), fields: (answer.errors?.[0]?.extensions?.fields as { field: string }[] | undefined)?.map((f) => f.field) };
    };
    const before = expectData(await graphql(stack.graphqlUrl, WebhooksDocument, {}, asAdmin())).webhooks.length;
    // Cloud metadata and link-local addresses, even where private addresses are allowed.
    expect(await refused({ url: "http://169.254.169.254/latest/meta-data", events: ["PING"] })).toEqual({ codes: ["BAD_USER_INPUT"], fields: ["url"] });
    expect(await refused({ url: "http://[fe80::1]/hook", events: ["PING"] })).toEqual({ codes: ["BAD_USER_INPUT"], fields: ["url"] });
    expect(await refused({ url: "http://metadata.google.internal/computeMetadata/v1", events: ["PING"] })).toEqual({ codes: ["BAD_USER_INPUT"], fields: ["url"] });
    expect(await refused({ url: "ftp://example.com/hook", events: ["PING"] })).toEqual({ codes: ["BAD_USER_INPUT"], fields: ["url"] });
    expect(await refused({ url: "https://user:pw@example.com/hook", events: ["PING"] })).toEqual({ codes: ["BAD_USER_INPUT"], fields: ["url"] });
    expect(await refused({ url: `https://example.com/${"a".repeat(2048)}`, events: ["PING"] })).toEqual({ codes: ["BAD_USER_INPUT"], fields: ["url"] });
    expect(await refused({ url: `${receiver.origin}/empty`, events: [] })).toEqual({ codes: ["BAD_USER_INPUT"], fields: ["events"] });
    expect(expectData(await graphql(stack.graphqlUrl, WebhooksDocument, {}, asAdmin())).webhooks).toHaveLength(before);
  });

  it("refuses non-admins", async () => {
    const input = { url: `${receiver.origin}/player`, events: ["PING" as const] };
    expect(errorCodes(await graphql(stack.graphqlUrl, CreateWebhookDocument, { input }, { token: player.accessToken }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(stack.graphqlUrl, WebhooksDocument, {}, { token: player.accessToken }))).toEqual(["FORBIDDEN"]);
  });
});
