import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { createSecretBox } from "../../subgraphs/notification/src/webhooks/secret-box";
import { newWebhookSecret, signatureHeaders } from "../../subgraphs/notification/src/webhooks/signing";
import { webhookRetryDelayMs } from "../../subgraphs/notification/src/webhooks/retry-delay";
import { checkWebhookAddress } from "../../subgraphs/notification/src/webhooks/webhook-address";
import { checkWebhookUrl } from "../../subgraphs/notification/src/webhooks/webhook-input";
import { outcomeOf } from "../../subgraphs/notification/src/webhooks/webhook-runner";

describe("webhook signing (Standard Webhooks)", () => {
  const at = new Date("2026-12-07T19:30:00.750Z");
  const body = JSON.stringify({ type: "webhook.ping", timestamp: at.toISOString(), data: { webhookId: "w" } });

  it("makes whsec_ secrets of 32 random bytes", () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_/);
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it("signs HMAC-SHA256 of id.timestamp.body with the secret's key, in whole seconds", () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, "msg_1", at, body);
    expect(headers["webhook-id"]).toBe("msg_1");
    expect(headers["webhook-timestamp"]).toBe("1796671800");
    const expected = createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`msg_1.1796671800.${body}`).digest("base64");
    expect(headers["webhook-signature"]).toBe(`v1,${expected}`);
  });

  it("verifies with the spec's library, and not with another secret or body", () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, "msg_2", new Date(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body.replace("ping", "pong"), headers)).toThrow();
  });
});

describe("webhook secrets at rest", () => {
  it("seals with AES-256-GCM: opens with the key only, and a tampered value does not open", () => {
    const box = createSecretBox("k".repeat(32));
    const sealed = box.seal("whsec_abc");
    expect(sealed).not.toContain("abc");
    expect(box.seal("whsec_abc")).not.toBe(sealed);
    expect(box.open(sealed)).toBe("whsec_abc");
    expect(() => createSecretBox("j".repeat(32)).open(sealed)).toThrow();
    const [v, iv, tag, data] = sealed.split(".");
    expect(() => box.open([v, iv, tag, `A${data!.slice(1)}`].join("."))).toThrow();
  });
});

describe("where webhooks may point", () => {
  const strict = { allowHttp: false, allowPrivate: false };
  const loose = { allowHttp: true, allowPrivate: true };

  it("takes https URLs on public hosts; http and private addresses only when allowed; metadata never", () => {
    expect(checkWebhookUrl("https://hooks.example.com/x", strict)).toBeNull();
    expect(checkWebhookUrl("http://hooks.example.com/x", strict)).toBe("must be an https URL");
    expect(checkWebhookUrl("http://hooks.example.com/x", loose)).toBeNull();
    for (const host of ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.9", "172.20.0.1", "[::1]", "[fd00::1]"]) {
      expect({ host, why: checkWebhookUrl(`https://${host}/x`, strict) }).toEqual({ host, why: "must not point at loopback or private network addresses" });
      expect(checkWebhookUrl(`https://${host}/x`, loose)).toBeNull();
    }
    for (const host of ["169.254.169.254", "metadata.google.internal", "[fe80::1]", "0.0.0.0"]) {
      expect(checkWebhookUrl(`http://${host}/x`, loose)).toBe("must not point at link-local or metadata addresses");
    }
  });

  it("checks what a host resolves to as strictly (DNS rebinding)", () => {
    expect(checkWebhookAddress("93.184.216.34", strict)).toBeNull();
    expect(checkWebhookAddress("127.0.0.1", strict)).not.toBeNull();
    expect(checkWebhookAddress("10.0.0.5", strict)).toBe("resolves to a private network address");
    expect(checkWebhookAddress("::ffff:192.168.1.1", strict)).toBe("resolves to a private network address");
    expect(checkWebhookAddress("10.0.0.5", loose)).toBeNull();
    expect(checkWebhookAddress("169.254.169.254", loose)).toBe("resolves to a link-local or metadata address");
  });
});

describe("webhook outcomes and retries", () => {
  it("counts 2xx as sent, 410 as gone, anything else or no answer as worth another attempt", () => {
    expect([200, 204, 299].map((status) => outcomeOf({ status, snippet: "" }))).toEqual(["sent", "sent", "sent"]);
    expect(outcomeOf({ status: 410, snippet: "" })).toBe("gone");
    expect([301, 400, 404, 429, 500, 503].map((status) => outcomeOf({ status, snippet: "" }))).toEqual(Array(6).fill("retry"));
    expect(outcomeOf({ status: null, error: "TIMEOUT" })).toBe("retry");
  });

  it("doubles the wait with jitter within [half, whole] of the ceiling, capped, about a day over the defaults", () => {
    const options = { baseMs: 300_000, maxMs: 21_600_000 };
    expect(webhookRetryDelayMs(1, options, () => 0)).toBe(150_000);
    expect(webhookRetryDelayMs(1, options, () => 1)).toBe(300_000);
    expect(webhookRetryDelayMs(3, options, () => 1)).toBe(1_200_000);
    expect(webhookRetryDelayMs(20, options, () => 1)).toBe(21_600_000);
    const schedule = (random: () => number) => Array.from({ length: 9 }, (_, i) => webhookRetryDelayMs(i + 1, options, random)).reduce((a, b) => a + b, 0);
    expect(schedule(() => 0) / 3_600_000).toBeGreaterThan(11);
    expect(schedule(() => 1) / 3_600_000).toBeLessThan(24);
  });
});
