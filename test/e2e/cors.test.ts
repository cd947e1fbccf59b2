import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { BROWSER_TEST_TIMEOUT_MS, launchChromium, type TestBrowser } from "../testkit/chromium";
import { gatewayTestConfig } from "../testkit/config";
import { captureLogs } from "../testkit/logs";
import { untilReady } from "../testkit/ready";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

jest.setTimeout(BROWSER_TEST_TIMEOUT_MS);

/**
 * Cross-origin calls, as a web client on another origin makes them: a page served from a
 * second loopback server calls the gateway with fetch (JSON and a Bearer token, so the
 * browser sends a preflight first). The gateway allows exactly CORS_ORIGINS; the browser
 * enforces the answer, and Apollo's CSRF prevention still refuses what no preflight guards.
 */

let stack: Stack;
let gateway: GatewayApp;
let graphqlUrl: string;
let pages: Server;
/** The same page server is two origins: 127.0.0.1 is allowed, localhost is not. */
let allowedOrigin: string;
let otherOrigin: string;
let chromium: TestBrowser;
let player: TestUser;

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  pages = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>another web client</title><p>hello</p>");
  });
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
  const { port } = pages.address() as AddressInfo;
  allowedOrigin = `http://127.0.0.1:${port}`;
  otherOrigin = `http://localhost:${port}`;
  gateway = createGatewayApp(
    gatewayTestConfig(
      { identity: stack.identityUrl, campaign: stack.campaignUrl, realtime: stack.realtimeUrl, simulation: stack.simulationUrl, provider: stack.providerUrl, notification: stack.notificationUrl },
      `${stack.identityUrl}/.well-known/jwks.json`,
      { CORS_ORIGINS: `${allowedOrigin},https://*.startales.test` },
    ),
    captureLogs("gateway-cors", "warn").logger as Logger,
  );
  const gatewayUrl = await gateway.listen();
  await untilReady(gatewayUrl);
  graphqlUrl = `${gatewayUrl}/graphql`;
  player = await registerUser(graphqlUrl, "Crosser");
  chromium = await launchChromium();
}, BROWSER_TEST_TIMEOUT_MS);

afterAll(async () => {
  await chromium?.close();
  await gateway?.stop();
  await new Promise((resolve) => pages?.close(resolve));
  await stack?.stop();
});

/** What the page's own script gets from `fetch`: the answer, or the error the browser raised. */
async function fetchFromPage(origin: string, token: string) {
  const context = await chromium.context();
  try {
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    const outcome = await page.evaluate(
      async ({ url, token }) => {
        try {
          const response = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: "{ me { id displayName } }" }),
          });
          return { status: response.status, body: (await response.json()) as unknown, requestId: response.headers.get("x-request-id") };
        } catch (error) {
          return { failed: String(error) };
        }
      },
      { url: graphqlUrl, token },
    );
    return { ...outcome, blocked: context.blocked };
  } finally {
    await context.close();
  }
}

describe("a page on another origin", () => {
  it("calls the gateway with a Bearer token when its origin is allowed", async () => {
    const outcome = await fetchFromPage(allowedOrigin, player.accessToken);
    expect(outcome).toMatchObject({ status: 200, body: { data: { me: { id: player.user.id, displayName: "Crosser" } } }, blocked: [] });
    // Exposed to the page: the id to find the request's logs by.
    expect(outcome.requestId).toEqual(expect.any(String));
  });

  it("is stopped by the browser when its origin is not allowed", async () => {
    const outcome = await fetchFromPage(otherOrigin, player.accessToken);
    expect(outcome).toEqual({ failed: expect.stringMatching(/TypeError: Failed to fetch/), blocked: [] });
  });
});

const preflight = (origin: string | undefined, path = "/graphql", requestHeaders = "content-type,authorization") =>
  fetch(graphqlUrl.replace("/graphql", path), {
    method: "OPTIONS",
    headers: { ...(origin ? { origin } : {}), "access-control-request-method": "POST", "access-control-request-headers": requestHeaders },
  });

describe("preflights", () => {
  it("let a page on an allowed origin upload to content, and resume an upload with the tus protocol's headers", async () => {
    const res = await preflight(allowedOrigin, "/content/uploads/0b3c6a3e-5f1f-4d1e-9a55-2b6f1c0d9e01", "tus-resumable,upload-offset,content-type,authorization");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-methods")?.split(",")).toEqual(expect.arrayContaining(["POST", "HEAD", "PATCH", "DELETE"]));
    expect(res.headers.get("access-control-allow-headers")?.split(",")).toEqual(expect.arrayContaining(["tus-resumable", "upload-offset", "upload-length", "upload-metadata", "content-digest", "idempotency-key"]));
  });

  it("answers an allowed origin 204 with the methods, headers and how long to keep them", async () => {
    for (const origin of [allowedOrigin, "https://play.startales.test"]) {
      const res = await preflight(origin, "/graphql", "content-type,authorization,x-api-key,apollo-require-preflight,x-request-id,traceparent,apollographql-client-name");
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("access-control-allow-methods")).toBe("GET,POST,HEAD,PATCH,DELETE");
      expect(res.headers.get("access-control-allow-headers")?.split(",")).toEqual(
        expect.arrayContaining(["content-type", "authorization", "x-api-key", "apollo-require-preflight", "x-request-id", "traceparent", "apollographql-client-name", "apollographql-client-version"]),
      );
      expect(res.headers.get("access-control-max-age")).toBe("7200");
      expect(res.headers.get("vary")).toMatch(/Origin/);
      // Tokens travel in headers, never cookies: no credentialed CORS.
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
      expect(await res.text()).toBe("");
    }
  });

  it("covers the content proxy too", async () => {
    const res = await preflight(allowedOrigin, `/content/${"0".repeat(64)}`, "if-none-match");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    const content = await fetch(graphqlUrl.replace("/graphql", `/content/${"0".repeat(64)}`), { headers: { origin: allowedOrigin } });
    expect(content.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
  });

  it("refuses a disallowed origin with 403 and a code, and no CORS headers", async () => {
    for (const origin of [otherOrigin, "https://startales.test", "https://evil.example", "null"]) {
      const res = await preflight(origin);
      expect(res.status).toBe(403);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("access-control-allow-methods")).toBeNull();
      expect(await res.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code: "FORBIDDEN" } }] });
    }
  });
});

describe("requests", () => {
  const query = (headers: Record<string, string>, body = JSON.stringify({ query: "{ me { id } }" })) =>
    fetch(graphqlUrl, { method: "POST", headers: { authorization: `Bearer ${player.accessToken}`, ...headers }, body });

  it("carry Access-Control-Allow-Origin for an allowed origin only, and are served either way", async () => {
    const allowed = await query({ "content-type": "application/json", origin: allowedOrigin });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(allowed.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);
    expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();

    // Not CORS's to refuse: the browser withholds the answer from the page (above).
    const other = await query({ "content-type": "application/json", origin: otherOrigin });
    expect(other.status).toBe(200);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(other.headers.get("vary")).toMatch(/Origin/);

    const none = await query({ "content-type": "application/json" });
    expect(none.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("that a browser sends without a preflight are still refused by CSRF prevention, whatever the origin", async () => {
    // A form (or fetch in no-cors mode) can POST these cross-site without asking first.
    for (const origin of [otherOrigin, allowedOrigin]) {
      for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
        const res = await fetch(graphqlUrl, {
          method: "POST",
          headers: { origin, "content-type": contentType },
          body: JSON.stringify({ query: 'mutation { createCampaign(input: { name: "Forged" }) { id } }' }),
        });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("BAD_REQUEST");
      }
      const get = await fetch(`${graphqlUrl}?query=${encodeURIComponent("{ me { id } }")}`, { headers: { origin } });
      expect(get.status).toBe(400);
    }
  });

  it("follow the development default on a gateway without CORS_ORIGINS: any loopback page", async () => {
    const res = await fetch(stack.graphqlUrl, { method: "OPTIONS", headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect((await fetch(stack.graphqlUrl, { method: "OPTIONS", headers: { origin: "https://play.startales.test", "access-control-request-method": "POST" } })).status).toBe(403);
  });
});
