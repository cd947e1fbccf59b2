import { ConfigError } from "@startales/service-kit";
import { loadIdentityConfig } from "../../subgraphs/identity/src/config";

const base = {
  GATEWAY_SIGNING_SECRET: "s".repeat(32),
  JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nnot parsed here\n-----END PRIVATE KEY-----",
  EMAIL_LINK_SECRET: "e".repeat(32),
};

function issuesOf(env: Record<string, string>) {
  try {
    loadIdentityConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("identity's OIDC configuration (OIDC_PROVIDERS and OIDC_<NAME>_*)", () => {
  it("has no providers by default", () => {
    const config = loadIdentityConfig(base);
    expect(config.oidcProviders).toEqual([]);
    expect(config.OIDC_REDIRECT_URIS).toEqual([]);
    expect(config.OIDC_STATE_TTL_SECONDS).toBe(600);
  });

  it("reads each named provider's variables, with default scopes and an optional secret", () => {
    const config = loadIdentityConfig({
      ...base,
      OIDC_PROVIDERS: " Google , corp_sso",
      OIDC_GOOGLE_ISSUER: "https://accounts.google.com",
      OIDC_GOOGLE_CLIENT_ID: "google-client",
      OIDC_GOOGLE_CLIENT_SECRET: "google-secret",
      OIDC_CORP_SSO_ISSUER: "https://sso.corp.example/realms/main",
      OIDC_CORP_SSO_CLIENT_ID: "startales",
      OIDC_CORP_SSO_SCOPES: "openid,email",
      OIDC_REDIRECT_URIS: "https://play.startales.example/oidc/callback, com.startales.app:/oidc",
    });
    expect(config.oidcProviders).toEqual([
      { name: "google", issuer: "https://accounts.google.com", clientId: "google-client", clientSecret: "google-secret", scopes: "openid email profile" },
      { name: "corp_sso", issuer: "https://sso.corp.example/realms/main", clientId: "startales", scopes: "openid email" },
    ]);
    expect(config.OIDC_REDIRECT_URIS).toEqual(["https://play.startales.example/oidc/callback", "com.startales.app:/oidc"]);
  });

  it("names every missing or bad variable", () => {
    expect(
      issuesOf({
        OIDC_PROVIDERS: "a,b",
        OIDC_A_ISSUER: "not a url",
        OIDC_A_CLIENT_ID: "x",
        OIDC_B_SCOPES: "email profile",
        OIDC_REDIRECT_URIS: "https://app.example/cb",
      }).map((issue) => issue.variable),
    ).toEqual(["OIDC_A_ISSUER", "OIDC_B_ISSUER", "OIDC_B_CLIENT_ID", "OIDC_B_SCOPES"]);
  });

  it("requires redirect URIs once a provider is configured", () => {
    expect(issuesOf({ OIDC_PROVIDERS: "a", OIDC_A_ISSUER: "https://idp.example", OIDC_A_CLIENT_ID: "x" })).toEqual([
      { variable: "OIDC_REDIRECT_URIS", message: "is required when OIDC_PROVIDERS is set" },
    ]);
  });

  it.each([
    ["a fragment", "https://app.example/cb#frag"],
    ["a relative path", "/oidc/callback"],
  ])("refuses a redirect URI with %s", (_case, uri) => {
    expect(issuesOf({ OIDC_REDIRECT_URIS: uri }).map((issue) => issue.variable)).toEqual(["OIDC_REDIRECT_URIS"]);
  });

  it.each([
    ["a query", "https://app.example/cb?from=oidc", "must not have a query"],
    ["an unnormalized spelling", "https://App.Example:443/cb", "must be written in its normal form, https://app.example/cb"],
    ["no path", "https://app.example", "must be written in its normal form, https://app.example/"],
  ])("refuses a redirect URI with %s: openid-client redeems codes for the normalized URL without its query", (_case, uri, message) => {
    expect(issuesOf({ OIDC_REDIRECT_URIS: uri })).toEqual([{ variable: "OIDC_REDIRECT_URIS", message }]);
  });

  it.each([["9lives"], ["has-dash"], ["a,A"]])("refuses the provider list %p", (list) => {
    expect(issuesOf({ OIDC_PROVIDERS: list }).map((issue) => issue.variable)).toEqual(["OIDC_PROVIDERS"]);
  });

  it("wants https issuers in production, except on loopback", () => {
    const provider = { OIDC_PROVIDERS: "a", OIDC_A_CLIENT_ID: "x", OIDC_REDIRECT_URIS: "https://app.example/cb" };
    expect(issuesOf({ ...provider, NODE_ENV: "production", OIDC_A_ISSUER: "http://idp.example" })).toEqual([
      { variable: "OIDC_A_ISSUER", message: "must be an https:// URL" },
    ]);
    expect(loadIdentityConfig({ ...base, ...provider, NODE_ENV: "production", OIDC_A_ISSUER: "http://127.0.0.1:8080" }).oidcProviders).toHaveLength(1);
    expect(loadIdentityConfig({ ...base, ...provider, NODE_ENV: "development", OIDC_A_ISSUER: "http://keycloak:8080/realms/dev" }).oidcProviders).toHaveLength(1);
  });
});
