import { Writable } from "node:stream";
import { createLogger } from "../../packages/service-kit/src/logger";

function capture() {
  const lines: Record<string, unknown>[] = [];
  let raw = "";
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const text = chunk.toString();
      raw += text;
      for (const line of text.split("\n")) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { stream, lines, raw: () => raw };
}

describe("createLogger", () => {
  it("redacts secrets and personal data wherever they appear", () => {
    const out = capture();
    const logger = createLogger("identity", "info", out.stream);
    logger.info(
      {
        password: "hunter2-password",
        email: "alice@example.test",
        refreshToken: "refresh-secret-value",
        accessToken: "access-secret-value",
        authorization: "Bearer top-secret",
        input: { password: "nested-password", email: "nested@example.test" },
        user: { refreshToken: "nested-refresh", accessToken: "nested-access", authorization: "Bearer nested" },
        req: { headers: { authorization: "Bearer req-secret", cookie: "sid=cookie-secret", "x-startales-identity": "identity-secret", "x-api-key": "api-key-secret" } },
        variables: { input: { password: "variables-password", email: "variables@example.test" }, refreshToken: "variables-refresh" },
        displayName: "Alice",
      },
      "user registered",
    );
    expect(out.lines).toHaveLength(1);
    const line = out.lines[0]!;
    expect(line).toMatchObject({
      password: "[redacted]",
      email: "[redacted]",
      refreshToken: "[redacted]",
      accessToken: "[redacted]",
      authorization: "[redacted]",
      input: { password: "[redacted]", email: "[redacted]" },
      user: { refreshToken: "[redacted]", accessToken: "[redacted]", authorization: "[redacted]" },
      req: {
        headers: {
          authorization: "[redacted]",
          cookie: "[redacted]",
          "x-startales-identity": "[redacted]",
          "x-api-key": "[redacted]",
        },
      },
      variables: { input: { password: "[redacted]", email: "[redacted]" }, refreshToken: "[redacted]" },
      displayName: "Alice",
      msg: "user registered",
    });
    for (const secret of [
      "hunter2",
      "alice@example.test",
      "refresh-secret",
      "access-secret",
      "top-secret",
      "nested",
      "req-secret",
      "cookie-secret",
      "identity-secret",
      "api-key-secret",
      "variables-",
    ]) {
      expect(out.raw()).not.toContain(secret);
    }
  });

  it("writes the level as a string label and the service on every line", () => {
    const out = capture();
    const logger = createLogger("campaign", "debug", out.stream);
    logger.debug("one");
    logger.warn({ campaignId: "c-1" }, "two");
    logger.child({ requestId: "req-12345678" }).error("three");
    expect(out.lines.map((l) => [l.level, l.service, l.msg])).toEqual([
      ["debug", "campaign", "one"],
      ["warn", "campaign", "two"],
      ["error", "campaign", "three"],
    ]);
    expect(out.lines[2]!.requestId).toBe("req-12345678");
    for (const line of out.lines) {
      expect(line.pid).toBe(process.pid);
      expect(typeof line.time).toBe("string");
      expect(Number.isNaN(Date.parse(line.time as string))).toBe(false);
    }
  });

  it("drops lines below the configured level", () => {
    const out = capture();
    const logger = createLogger("gateway", "warn", out.stream);
    logger.info("hidden");
    logger.debug("hidden too");
    logger.warn("shown");
    expect(out.lines.map((l) => l.msg)).toEqual(["shown"]);
  });

  it("writes nothing when silent", () => {
    const out = capture();
    const logger = createLogger("gateway", "silent", out.stream);
    logger.fatal("nothing");
    expect(out.lines).toEqual([]);
  });
});
