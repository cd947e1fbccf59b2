import { ConfigError, parseConfig } from "@startales/service-kit";
import { alertNotification, alertSourceKey } from "../../subgraphs/notification/src/alerts/alert-notification";
import { alertmanagerPayload } from "../../subgraphs/notification/src/alerts/alertmanager-payload";
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

  it("requires the admins with the token", () => {
    const env = { GATEWAY_SIGNING_SECRET: "s".repeat(48), ALERT_WEBHOOK_TOKEN: "t".repeat(32) };
    expect(() => parseConfig(notificationConfigSchema, env)).toThrow(ConfigError);
    const ids = "8E1B2F5A-1C2D-4E5F-8A9B-0C1D2E3F4A5B, 8e1b2f5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b,";
    expect(parseConfig(notificationConfigSchema, { ...env, ALERT_ADMIN_USER_IDS: ids }).ALERT_ADMIN_USER_IDS).toEqual(["8e1b2f5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"]);
    expect(() => parseConfig(notificationConfigSchema, { ...env, ALERT_ADMIN_USER_IDS: "not-a-uuid" })).toThrow(ConfigError);
    expect(() => parseConfig(notificationConfigSchema, { GATEWAY_SIGNING_SECRET: "s".repeat(48), ALERT_WEBHOOK_TOKEN: "short" })).toThrow(ConfigError);
  });
});
