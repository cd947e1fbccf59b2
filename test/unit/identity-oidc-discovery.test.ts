import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { clientAuthentication, createOidcDiscovery } from "../../subgraphs/identity/src/domain/oidc-discovery";
import { OidcProviderUnavailable } from "../../subgraphs/identity/src/domain/oidc-errors";
import { openidClient } from "../../subgraphs/identity/src/domain/openid-client";
import { allowsPlainHttp, type OidcProviderSettings } from "../../subgraphs/identity/src/oidc-config";

const settings = (issuer: string): OidcProviderSettings => ({ name: "corp", issuer, clientId: "startales", clientSecret: "s3cret", scopes: "openid" });

/** A discovery document on loopback, for the issuer it is served at; `extra` changes it. */
async function serveDiscovery(extra: Record<string, unknown> = {}): Promise<{ issuer: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ["code"],
        ...extra,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

describe("identity's OIDC discovery through openid-client", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    jest.restoreAllMocks();
  });

  it("allows plain http only to a loopback issuer", () => {
    expect(allowsPlainHttp("http://127.0.0.1:8080")).toBe(true);
    expect(allowsPlainHttp("http://localhost:8080/realms/dev")).toBe(true);
    expect(allowsPlainHttp("http://[::1]:8080")).toBe(true);
    expect(allowsPlainHttp("http://keycloak:8080/realms/dev")).toBe(false);
    expect(allowsPlainHttp("http://127.0.0.1.example.com")).toBe(false);
    expect(allowsPlainHttp("https://sso.example.com")).toBe(false);
  });

  it("refuses a plain http issuer off loopback without sending it anything", async () => {
    const fetchSpy = jest.spyOn(globalThis, "fetch");
    const discovered = createOidcDiscovery().get(settings("http://keycloak.example.test:8080/realms/dev"));
    await expect(discovered).rejects.toBeInstanceOf(OidcProviderUnavailable);
    await expect(discovered).rejects.toMatchObject({ reason: "discovery failed (OAUTH_HTTP_REQUEST_FORBIDDEN)" });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("discovers a plain http issuer on loopback, and keeps what it found", async () => {
    const provider = await serveDiscovery();
    servers.push(provider.server);
    const discovery = createOidcDiscovery();
    const discovered = await discovery.get(settings(provider.issuer));
    expect(discovered.config.serverMetadata().token_endpoint).toBe(`${provider.issuer}/token`);
    await discovery.get(settings(provider.issuer));
    expect(provider.requests).toEqual(["/.well-known/openid-configuration"]);
  });

  it("refuses a provider whose discovery document names another issuer", async () => {
    const provider = await serveDiscovery({ issuer: "https://someone-else.example.test" });
    servers.push(provider.server);
    await expect(createOidcDiscovery().get(settings(provider.issuer))).rejects.toBeInstanceOf(OidcProviderUnavailable);
  });

  it("refuses a provider that names its PKCE methods without S256", async () => {
    const provider = await serveDiscovery({ code_challenge_methods_supported: ["plain"] });
    servers.push(provider.server);
    await expect(createOidcDiscovery().get(settings(provider.issuer))).rejects.toMatchObject({ reason: "provider does not support PKCE with S256" });
  });

  describe("client authentication at the token endpoint", () => {
    const authenticate = async (secret: string | undefined, methods?: string[]) => {
      const auth = clientAuthentication(await openidClient(), secret);
      const body = new URLSearchParams();
      const headers = new Headers();
      const server = { issuer: "https://idp.example.test", ...(methods ? { token_endpoint_auth_methods_supported: methods } : {}) };
      auth(server, { client_id: "startales web" }, body, headers);
      return { body: Object.fromEntries(body), authorization: headers.get("authorization") };
    };

    it("uses HTTP Basic (form-encoded parts) unless the provider supports only client_secret_post", async () => {
      const basic = { body: {}, authorization: `Basic ${Buffer.from("startales+web:p%40ss").toString("base64")}` };
      expect(await authenticate("p@ss")).toEqual(basic);
      expect(await authenticate("p@ss", ["client_secret_post", "client_secret_basic"])).toEqual(basic);
      expect(await authenticate("p@ss", ["client_secret_post"])).toEqual({ body: { client_id: "startales web", client_secret: "p@ss" }, authorization: null });
    });

    it("sends only the client id for a public client (PKCE is its proof)", async () => {
      expect(await authenticate(undefined)).toEqual({ body: { client_id: "startales web" }, authorization: null });
    });
  });
});
