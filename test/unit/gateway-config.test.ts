import { ConfigError } from "../../packages/service-kit/src/config";
import { loadGatewayConfig } from "../../gateway/src/config";

const SECRET = "g".repeat(32);

function configErrorFrom(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadGatewayConfig", () => {
  it("has defaults and no subgraph overrides when only the secret is set", () => {
    const config = loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET });
    expect(config.PORT).toBe(4000);
    expect(config.IDENTITY_JWKS_URL).toBe("http://127.0.0.1:4001/.well-known/jwks.json");
    expect(config.JWT_ISSUER).toBe("startales-identity");
    expect(config.JWT_AUDIENCE).toBe("startales");
    expect(config.INTROSPECTION).toBe(true);
    expect(config.SUPERGRAPH_PATH).toMatch(/supergraph\.graphql$/);
    expect(config.subgraphUrls).toEqual({});
  });

  it("collects SUBGRAPH_<NAME>_URL overrides under lower-cased names", () => {
    const config = loadGatewayConfig({
      GATEWAY_SIGNING_SECRET: SECRET,
      SUBGRAPH_IDENTITY_URL: "http://identity.internal:4001/graphql",
      SUBGRAPH_CAMPAIGN_URL: "http://127.0.0.1:5002/graphql",
      SUBGRAPH_MARKET_DATA_URL: "http://market:4003/graphql",
    });
    expect(config.subgraphUrls).toEqual({
      identity: "http://identity.internal:4001/graphql",
      campaign: "http://127.0.0.1:5002/graphql",
      market_data: "http://market:4003/graphql",
    });
  });

  it("ignores variables that only look similar", () => {
    const config = loadGatewayConfig({
      GATEWAY_SIGNING_SECRET: SECRET,
      SUBGRAPH_URL: "not a url",
      SUBGRAPH_TIMEOUT_MS: "5000",
      subgraph_identity_url: "not a url",
      SUBGRAPH_IDENTITY_URLS: "not a url",
    });
    expect(config.subgraphUrls).toEqual({});
    expect(config.SUBGRAPH_TIMEOUT_MS).toBe(5000);
  });

  it("raises a ConfigError naming a SUBGRAPH_<NAME>_URL that is not a URL", () => {
    const error = configErrorFrom(() =>
      loadGatewayConfig({
        GATEWAY_SIGNING_SECRET: SECRET,
        SUBGRAPH_IDENTITY_URL: "http://identity:4001/graphql",
        SUBGRAPH_CAMPAIGN_URL: "campaign.internal/graphql",
      }),
    );
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toEqual({ variable: "SUBGRAPH_CAMPAIGN_URL", message: expect.stringMatching(/^must be a URL/) });
    expect(error.message).toContain("SUBGRAPH_CAMPAIGN_URL: must be a URL");
  });

  it("names every bad SUBGRAPH_<NAME>_URL", () => {
    const error = configErrorFrom(() =>
      loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET, SUBGRAPH_IDENTITY_URL: "", SUBGRAPH_CAMPAIGN_URL: "not a url" }),
    );
    expect(error.issues.map((i) => i.variable).sort()).toEqual(["SUBGRAPH_CAMPAIGN_URL", "SUBGRAPH_IDENTITY_URL"]);
  });

  it.each([["identity:4001"], ["ftp://identity.internal/graphql"]])("rejects %p, which is not an http(s) URL", (value) => {
    const error = configErrorFrom(() => loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET, SUBGRAPH_IDENTITY_URL: value }));
    expect(error.issues.map((i) => i.variable)).toEqual(["SUBGRAPH_IDENTITY_URL"]);
  });

  it("rejects a signing secret shorter than 32 characters", () => {
    const error = configErrorFrom(() => loadGatewayConfig({ GATEWAY_SIGNING_SECRET: "g".repeat(31) }));
    expect(error.issues).toEqual([{ variable: "GATEWAY_SIGNING_SECRET", message: "must be at least 32 characters" }]);
  });

  it("requires the signing secret", () => {
    const error = configErrorFrom(() => loadGatewayConfig({}));
    expect(error.issues.map((i) => i.variable)).toEqual(["GATEWAY_SIGNING_SECRET"]);
  });

  it("reads INTROSPECTION as a boolean flag", () => {
    expect(loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET, INTROSPECTION: "0" }).INTROSPECTION).toBe(false);
    const error = configErrorFrom(() => loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET, INTROSPECTION: "yes" }));
    expect(error.issues.map((i) => i.variable)).toEqual(["INTROSPECTION"]);
  });
});
