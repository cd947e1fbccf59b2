import { ConfigError } from "../../packages/service-kit/src/config";
import { loadGatewayConfig } from "../../gateway/src/config";

const SECRET = "g".repeat(32);
const load = (env: Record<string, string> = {}) => loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET, ...env });

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.variable}: ${i.message}`);
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("the gateway's security settings", () => {
  it("have defaults for every limit", () => {
    const config = load();
    expect({
      depth: config.MAX_QUERY_DEPTH,
      aliases: config.MAX_ALIASES,
      directives: config.MAX_DIRECTIVES,
      tokens: config.MAX_TOKENS,
      cost: config.MAX_QUERY_COST,
      batch: config.MAX_BATCH_SIZE,
      apqTtl: config.APQ_TTL_SECONDS,
      safelist: config.SAFELIST_MODE,
    }).toEqual({ depth: 12, aliases: 30, directives: 50, tokens: 5000, cost: 5000, batch: 10, apqTtl: 86_400, safelist: "off" });
  });

  it("turn introspection off by default in production only, and let it be set either way", () => {
    expect(load().INTROSPECTION).toBe(true);
    expect(load({ NODE_ENV: "test" }).INTROSPECTION).toBe(true);
    expect(load({ NODE_ENV: "production" }).INTROSPECTION).toBe(false);
    expect(load({ NODE_ENV: "production", INTROSPECTION: "true" }).INTROSPECTION).toBe(true);
    expect(load({ NODE_ENV: "development", INTROSPECTION: "0" }).INTROSPECTION).toBe(false);
    expect(issuesOf(() => load({ INTROSPECTION: "yes" })).map((i) => i.split(":")[0])).toEqual(["INTROSPECTION"]);
  });

  it("read limits as positive integers, and a batch size of 0 as batching off", () => {
    expect(load({ MAX_QUERY_DEPTH: "20", MAX_BATCH_SIZE: "0" })).toMatchObject({ MAX_QUERY_DEPTH: 20, MAX_BATCH_SIZE: 0 });
    expect(issuesOf(() => load({ MAX_QUERY_DEPTH: "0", MAX_QUERY_COST: "lots", MAX_BATCH_SIZE: "-1" })).map((i) => i.split(":")[0]).sort()).toEqual([
      "MAX_BATCH_SIZE",
      "MAX_QUERY_COST",
      "MAX_QUERY_DEPTH",
    ]);
  });

  it("need a manifest to enforce a safelist", () => {
    expect(issuesOf(() => load({ SAFELIST_MODE: "enforce" }))).toEqual(["OPERATION_SAFELIST_PATH: is required when SAFELIST_MODE=enforce"]);
    expect(load({ SAFELIST_MODE: "enforce", OPERATION_SAFELIST_PATH: "/etc/startales/operations.json" }).SAFELIST_MODE).toBe("enforce");
    expect(issuesOf(() => load({ SAFELIST_MODE: "strict" })).map((i) => i.split(":")[0])).toEqual(["SAFELIST_MODE"]);
  });
});
