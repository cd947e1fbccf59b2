import { ConfigError } from "@startales/service-kit";
import { loadGatewayConfig } from "../../gateway/src/config";
import { DEVELOPMENT_ORIGINS, originMatcher } from "../../gateway/src/cors";

const SECRET = "g".repeat(32);
const config = (env: Record<string, string>) => loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET, ...env });

function configError(env: Record<string, string>): string {
  try {
    config(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("originMatcher", () => {
  it("matches exact origins, as browsers send them", () => {
    const allowed = originMatcher(["https://play.startales.dev", "http://127.0.0.1:5173"]);
    expect(allowed("https://play.startales.dev")).toBe(true);
    expect(allowed("HTTPS://Play.Startales.dev")).toBe(true);
    expect(allowed("http://127.0.0.1:5173")).toBe(true);
    // Another scheme, port or host is another origin.
    expect(allowed("http://play.startales.dev")).toBe(false);
    expect(allowed("https://play.startales.dev:8443")).toBe(false);
    expect(allowed("http://127.0.0.1:5174")).toBe(false);
    expect(allowed("https://play.startales.dev.evil.example")).toBe(false);
    expect(allowed("https://evilplay.startales.dev")).toBe(false);
  });

  it("treats a default port as no port", () => {
    const allowed = originMatcher(["https://play.startales.dev:443", "http://tools.startales.dev"]);
    expect(allowed("https://play.startales.dev")).toBe(true);
    expect(allowed("https://play.startales.dev:443")).toBe(true);
    expect(allowed("http://tools.startales.dev:80")).toBe(true);
    expect(allowed("http://tools.startales.dev:8080")).toBe(false);
  });

  it("expands `*.` to any subdomain (not the domain itself) and `:*` to any port", () => {
    const allowed = originMatcher(["https://*.startales.dev", "http://localhost:*"]);
    expect(allowed("https://play.startales.dev")).toBe(true);
    expect(allowed("https://a.b.startales.dev")).toBe(true);
    expect(allowed("https://startales.dev")).toBe(false);
    expect(allowed("https://xstartales.dev")).toBe(false);
    expect(allowed("http://play.startales.dev")).toBe(false);
    expect(allowed("http://localhost:3000")).toBe(true);
    expect(allowed("http://localhost")).toBe(true);
    expect(allowed("https://localhost:3000")).toBe(false);
    expect(allowed("http://localhost.evil.example:3000")).toBe(false);
  });

  it("never allows a missing, opaque or malformed origin", () => {
    const allowed = originMatcher([...DEVELOPMENT_ORIGINS]);
    expect(allowed(undefined)).toBe(false);
    expect(allowed("null")).toBe(false);
    expect(allowed("")).toBe(false);
    expect(allowed("http://localhost:3000/path")).toBe(false);
    expect(allowed("file://")).toBe(false);
    expect(allowed("http://user@localhost:3000")).toBe(false);
  });

  it("allows every loopback page in development", () => {
    const allowed = originMatcher([...DEVELOPMENT_ORIGINS]);
    for (const origin of ["http://localhost:5173", "https://localhost:8443", "http://127.0.0.1:4000", "http://[::1]:3000", "http://localhost"]) {
      expect(allowed(origin)).toBe(true);
    }
    for (const origin of ["http://127.0.0.2:3000", "http://app.localhost:3000", "https://play.startales.dev"]) expect(allowed(origin)).toBe(false);
  });
});

describe("CORS_ORIGINS", () => {
  it("defaults to loopback pages outside production and to none in production", () => {
    expect(config({}).CORS_ORIGINS).toEqual([...DEVELOPMENT_ORIGINS]);
    expect(config({ NODE_ENV: "test" }).CORS_ORIGINS).toEqual([...DEVELOPMENT_ORIGINS]);
    expect(config({ NODE_ENV: "production" }).CORS_ORIGINS).toEqual([]);
  });

  it("is read as a comma-separated list, or none", () => {
    expect(config({ NODE_ENV: "production", CORS_ORIGINS: " https://play.startales.dev , https://*.tools.startales.dev," }).CORS_ORIGINS).toEqual([
      "https://play.startales.dev",
      "https://*.tools.startales.dev",
    ]);
    expect(config({ CORS_ORIGINS: "none" }).CORS_ORIGINS).toEqual([]);
  });

  it("refuses anything that is not an origin, and a wildcard that would allow anyone", () => {
    for (const bad of ["*", "https://*", "*.startales.dev", "https://play*.startales.dev", "https://play.startales.dev/", "play.startales.dev", "ftp://files.startales.dev", "https://*.[::1]", "http://localhost:70000"]) {
      expect(configError({ CORS_ORIGINS: `https://ok.startales.dev,${bad}` })).toMatch(/CORS_ORIGINS/);
    }
  });
});
