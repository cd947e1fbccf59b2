import { z } from "zod";
import { ConfigError, UPSTREAM_KEEP_ALIVE_MS, parseConfig, subgraphConfigShape } from "../../packages/service-kit/src/config";
import { createHttpService } from "../../packages/service-kit/src/http-server";
import { createLogger } from "../../packages/service-kit/src/logger";
import { createMetrics } from "../../packages/service-kit/src/metrics";

const subgraphSchema = z.object(subgraphConfigShape({ port: 4009, database: "startales_test" }));
const env = { GATEWAY_SIGNING_SECRET: "s".repeat(32) };

describe("HTTP timeouts against slow clients", () => {
  it("default to 10 s for headers, 30 s for the request and 65 s keep-alive", () => {
    const config = parseConfig(subgraphSchema, env);
    expect([config.HTTP_HEADERS_TIMEOUT_MS, config.HTTP_REQUEST_TIMEOUT_MS, config.HTTP_KEEP_ALIVE_TIMEOUT_MS]).toEqual([10_000, 30_000, 65_000]);
  });

  it("refuse a subgraph keep-alive not longer than the gateway's upstream keep-alive", () => {
    expect(() => parseConfig(subgraphSchema, { ...env, HTTP_KEEP_ALIVE_TIMEOUT_MS: String(UPSTREAM_KEEP_ALIVE_MS) })).toThrow(ConfigError);
    expect(parseConfig(subgraphSchema, { ...env, HTTP_KEEP_ALIVE_TIMEOUT_MS: String(UPSTREAM_KEEP_ALIVE_MS + 1) }).HTTP_KEEP_ALIVE_TIMEOUT_MS).toBe(UPSTREAM_KEEP_ALIVE_MS + 1);
  });

  it("are applied to the server, and a headers timeout longer than the request timeout is refused by name", () => {
    const base = { logger: createLogger("test", "silent"), metrics: createMetrics("timeouts_test"), readiness: [], fallback: () => undefined };
    const { server } = createHttpService({ ...base, timeouts: { HTTP_HEADERS_TIMEOUT_MS: 5_000, HTTP_REQUEST_TIMEOUT_MS: 20_000, HTTP_KEEP_ALIVE_TIMEOUT_MS: 40_000 } });
    expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout]).toEqual([5_000, 20_000, 40_000]);
    expect(() => createHttpService({ ...base, timeouts: { HTTP_HEADERS_TIMEOUT_MS: 20_000, HTTP_REQUEST_TIMEOUT_MS: 5_000, HTTP_KEEP_ALIVE_TIMEOUT_MS: 40_000 } })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS: must not be longer than HTTP_REQUEST_TIMEOUT_MS/,
    );
  });
});
