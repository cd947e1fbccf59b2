import { z } from "zod";
import {
  ConfigError,
  baseConfigShape,
  booleanFlag,
  parseConfig,
  port,
  positiveInt,
  secret,
  subgraphConfigShape,
  url,
} from "../../packages/service-kit/src/config";

const SECRET = "s".repeat(32);

const schema = z.object({
  PORT: port(4000),
  API_URL: url(),
  CACHE_URL: url("redis://127.0.0.1:6379"),
  WORKERS: positiveInt(4),
  SIGNING_SECRET: secret(),
  DEBUG: booleanFlag(false),
});

function configErrorFrom(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("coerces and defaults the environment into typed values", () => {
    const config = parseConfig(schema, { API_URL: "https://api.example.test/v1", SIGNING_SECRET: SECRET, PORT: "8080", WORKERS: "12" });
    expect(config).toEqual({
      PORT: 8080,
      API_URL: "https://api.example.test/v1",
      CACHE_URL: "redis://127.0.0.1:6379",
      WORKERS: 12,
      SIGNING_SECRET: SECRET,
      DEBUG: false,
    });
  });

  it("ignores variables the schema does not know", () => {
    const config = parseConfig(schema, { API_URL: "http://x.test", SIGNING_SECRET: SECRET, UNRELATED: "1" });
    expect(config).not.toHaveProperty("UNRELATED");
  });

  it("names every bad variable in the issues and in the message", () => {
    const error = configErrorFrom(() => parseConfig(schema, { API_URL: "not a url", PORT: "70000", WORKERS: "0" }));
    expect(error.name).toBe("ConfigError");
    const variables = error.issues.map((i) => i.variable).sort();
    expect(variables).toEqual(["API_URL", "PORT", "SIGNING_SECRET", "WORKERS"]);
    for (const variable of variables) expect(error.message).toContain(`${variable}:`);
    expect(error.message).toMatch(/^Invalid configuration:/);
  });

  it("reports a missing secret as required", () => {
    const error = configErrorFrom(() => parseConfig(schema, { API_URL: "http://x.test" }));
    expect(error.issues).toEqual([{ variable: "SIGNING_SECRET", message: "is required" }]);
    expect(error.message).toContain("SIGNING_SECRET: is required");
  });

  it("rejects a secret shorter than 32 characters", () => {
    const error = configErrorFrom(() => parseConfig(schema, { API_URL: "http://x.test", SIGNING_SECRET: "s".repeat(31) }));
    expect(error.issues).toEqual([{ variable: "SIGNING_SECRET", message: "must be at least 32 characters" }]);
  });

  it("rejects a bad URL naming the variable", () => {
    const error = configErrorFrom(() => parseConfig(schema, { API_URL: "http://x.test", SIGNING_SECRET: SECRET, CACHE_URL: "nope" }));
    expect(error.issues.map((i) => i.variable)).toEqual(["CACHE_URL"]);
    expect(error.message).toContain("CACHE_URL");
  });

  it("rejects a non-integer port", () => {
    const error = configErrorFrom(() => parseConfig(schema, { API_URL: "http://x.test", SIGNING_SECRET: SECRET, PORT: "80.5" }));
    expect(error.issues.map((i) => i.variable)).toEqual(["PORT"]);
  });
});

describe("booleanFlag", () => {
  const flags = z.object({ FLAG: booleanFlag(false), ON_BY_DEFAULT: booleanFlag(true) });

  it.each([
    ["true", true],
    ["1", true],
    ["false", false],
    ["0", false],
  ])("reads %p as %p", (raw, expected) => {
    expect(parseConfig(flags, { FLAG: raw }).FLAG).toBe(expected);
  });

  it("uses the fallback when unset", () => {
    expect(parseConfig(flags, {})).toEqual({ FLAG: false, ON_BY_DEFAULT: true });
  });

  it("treats an empty variable as unset, so the fallback applies", () => {
    expect(parseConfig(flags, { FLAG: "", ON_BY_DEFAULT: "" })).toEqual({ FLAG: false, ON_BY_DEFAULT: true });
  });

  it.each([["yes"], ["TRUE"], ["on"]])("rejects %p", (raw) => {
    const error = configErrorFrom(() => parseConfig(flags, { FLAG: raw }));
    expect(error.issues.map((i) => i.variable)).toEqual(["FLAG"]);
  });
});

describe("baseConfigShape", () => {
  it("has development defaults", () => {
    expect(parseConfig(z.object(baseConfigShape), {})).toEqual({
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
      SHUTDOWN_GRACE_MS: 10_000,
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 65_000,
      // Tracing is off (no endpoint); when on, every new trace is sampled unless the ratio says less.
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: 1,
    });
  });

  it("rejects an unknown log level", () => {
    const error = configErrorFrom(() => parseConfig(z.object(baseConfigShape), { LOG_LEVEL: "verbose" }));
    expect(error.issues.map((i) => i.variable)).toEqual(["LOG_LEVEL"]);
  });
});

describe("subgraphConfigShape", () => {
  const subgraph = z.object(subgraphConfigShape({ port: 4002, database: "startales_campaign" }));

  it("defaults the port and a database URL with the given database name", () => {
    const config = parseConfig(subgraph, { GATEWAY_SIGNING_SECRET: SECRET });
    expect(config.PORT).toBe(4002);
    expect(config.DATABASE_URL).toBe("postgresql://postgres@127.0.0.1:5432/startales_campaign");
    expect(config.DATABASE_POOL_SIZE).toBe(10);
    expect(config.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(config.BODY_LIMIT_BYTES).toBe(1_000_000);
    expect(config.GATEWAY_SIGNING_SECRET).toBe(SECRET);
  });

  it("lets the environment override the defaults", () => {
    const config = parseConfig(subgraph, {
      GATEWAY_SIGNING_SECRET: SECRET,
      PORT: "0",
      DATABASE_URL: "postgresql://app@db.internal:5432/other",
    });
    expect(config.PORT).toBe(0);
    expect(config.DATABASE_URL).toBe("postgresql://app@db.internal:5432/other");
  });

  it("requires the gateway signing secret", () => {
    const error = configErrorFrom(() => parseConfig(subgraph, {}));
    expect(error.issues.map((i) => i.variable)).toEqual(["GATEWAY_SIGNING_SECRET"]);
  });
});
