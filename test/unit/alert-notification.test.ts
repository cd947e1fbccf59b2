import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, IDENTITY_HEADER, createIdentityVerifier, createLogger, headerValue, parseConfig } from "@startales/service-kit";
import { alertNotification, alertSourceKey } from "../../subgraphs/notification/src/alerts/alert-notification";
import { alertmanagerPayload } from "../../subgraphs/notification/src/alerts/alertmanager-payload";
import { createIdentityAdminsClient } from "../../subgraphs/notification/src/alerts/identity-admins";
import { notificationConfigSchema } from "../../subgraphs/notification/src/config";
import { MAX_DATA_BYTES } from "../../subgraphs/notification/src/domain/input";

const alert = (fingerprint: string, overrides: Record<string, unknown> = {}) => ({
  status: "firing",
  labels: { alertname: "QueueBacklogGrowing", queue: "deliveries" },
  annotations: {},
  startsAt: "2026-12-07T10:00:00Z",
  endsAt: "0001-01-01T00:00:00Z",
  generatorURL: "",
  fingerprint,
  ...overrides,
});
const parse = (overrides: Record<string, unknown> = {}) =>
  alertmanagerPayload.parse({ version: "4", status: "firing", groupKey: '{}:{alertname="QueueBacklogGrowing"}', alerts: [alert("aa"), alert("bb")], ...overrides });

describe("alert notifications", () => {
  it("keys a group on its status and its alerts' (fingerprint, status, startsAt), not their order or endsAt", () => {
    const key = alertSourceKey(parse());
    expect(alertSourceKey(parse({ alerts: [alert("bb", { endsAt: "2026-12-07T11:00:00Z" }), alert("aa")] }))).toBe(key);
    expect(alertSourceKey(parse({ alerts: [alert("aa"), alert("bb", { status: "resolved" })] }))).not.toBe(key);
    expect(alertSourceKey(parse({ alerts: [alert("aa"), alert("bb", { startsAt: "2026-12-07T12:00:00Z" })] }))).not.toBe(key);
    expect(alertSourceKey(parse({ status: "resolved" }))).not.toBe(key);
    expect(alertSourceKey(parse({ groupKey: "{}:{}" }))).not.toBe(key);
  });

  it("names the alerts without a common alertname, counts what still fires, and says something without annotations", () => {
    const mixed = alertNotification(parse({ alerts: [alert("aa", { labels: { alertname: "A" } }), alert("bb", { labels: { alertname: "B" }, status: "resolved" })] }));
    expect(mixed.title).toBe("[FIRING] A, B (1)");
    expect(mixed.body).toBe("1 firing alert: A, B");
    expect(mixed.data).toMatchObject({ firing: 1, resolved: 1, alertNames: ["A", "B"] });
  });

  it("keeps title, body and data within what a notification may hold", () => {
    const long = "x".repeat(2_000);
    const many = Array.from({ length: 200 }, (_, i) => alert(`${i}`.padStart(64, "f"), { labels: { alertname: long }, generatorURL: `http://p/${long}` }));
    const notification = alertNotification(parse({ alerts: many, commonAnnotations: { summary: "s".repeat(8_000) }, externalURL: `http://am/${long}`, groupKey: long }));
    expect(notification.title.length).toBeLessThanOrEqual(120);
    expect(notification.body.length).toBeLessThanOrEqual(2_000);
    expect(Buffer.byteLength(JSON.stringify(notification.data))).toBeLessThanOrEqual(MAX_DATA_BYTES);
  });

  it("needs only the token: the admins come from identity", () => {
    const env = { GATEWAY_SIGNING_SECRET: "s".repeat(48), ALERT_WEBHOOK_TOKEN: "t".repeat(32), WEBHOOK_SECRET_KEY: "k".repeat(32), UNSUBSCRIBE_SIGNING_SECRET: "u".repeat(48) };
    expect(parseConfig(notificationConfigSchema, env)).toMatchObject({ IDENTITY_URL: "http://127.0.0.1:4001", ALERT_ADMINS_CACHE_MS: 30_000, NOTIFICATION_SERVICE_ID: "00000000-0000-4000-8000-000000004007" });
    expect(() => parseConfig(notificationConfigSchema, { ...env, NOTIFICATION_SERVICE_ID: "not-a-uuid" })).toThrow(ConfigError);
    expect(() => parseConfig(notificationConfigSchema, { GATEWAY_SIGNING_SECRET: "s".repeat(48), ALERT_WEBHOOK_TOKEN: "short" })).toThrow(ConfigError);
  });
});

describe("identity's admins, as the alert receiver asks", () => {
  const SECRET = "s".repeat(48);
  let server: Server;
  let identityUrl: string;
  let answer: { status: number; userIds: string[] };
  const callers: { roles: string[]; sub: string }[] = [];

  beforeAll(async () => {
    const verify = createIdentityVerifier(SECRET);
    server = createServer((req, res) => {
      void verify(headerValue(req, IDENTITY_HEADER)).then((viewer) => {
        callers.push({ roles: viewer.kind === "user" ? [...viewer.roles] : [], sub: viewer.kind === "user" ? viewer.userId : "" });
        res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify({ userIds: answer.userIds }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    identityUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = (cacheMs: number) =>
    createIdentityAdminsClient({ identityUrl, secret: SECRET, serviceId: "00000000-0000-4000-8000-000000004007", timeoutMs: 2_000, cacheMs, logger: createLogger("test", "silent") });

  it("asks once for a storm of alerts, as a SERVICE it signs, and again once the answer is stale", async () => {
    callers.length = 0;
    answer = { status: 200, userIds: ["a"] };
    const admins = client(200);
    expect(await Promise.all(Array.from({ length: 10 }, () => admins.adminIds()))).toEqual(Array.from({ length: 10 }, () => ["a"]));
    expect(await admins.adminIds()).toEqual(["a"]);
    expect(callers).toEqual([{ roles: ["SERVICE"], sub: "00000000-0000-4000-8000-000000004007" }]);
    answer = { status: 200, userIds: ["b"] };
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await admins.adminIds()).toEqual(["b"]);
    expect(callers).toHaveLength(2);
  });

  it("throws when identity refuses or is unreachable, and keeps no failure", async () => {
    answer = { status: 500, userIds: [] };
    const admins = client(60_000);
    await expect(admins.adminIds()).rejects.toThrow("identity answered 500");
    answer = { status: 200, userIds: ["c"] };
    expect(await admins.adminIds()).toEqual(["c"]);
    const closed = createIdentityAdminsClient({ identityUrl: "http://127.0.0.1:1", secret: SECRET, serviceId: "00000000-0000-4000-8000-000000004007", timeoutMs: 2_000, cacheMs: 1_000, logger: createLogger("test", "silent") });
    await expect(closed.adminIds()).rejects.toThrow();
  });
});
