import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { Kind, parse } from "graphql";
import type { Page } from "playwright-core";
import type { Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { loadGatewayConfig } from "../../gateway/src/config";
import { prefersHtml } from "../../gateway/src/explorer/prefers-html";
import { BROWSER_TEST_TIMEOUT_MS, launchChromium, saveScreenshot, type TestBrowser } from "../testkit/chromium";
import { gatewayTestConfig } from "../testkit/config";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { untilReady } from "../testkit/ready";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, untilSubscribed } from "../testkit/subscriptions";
import { registerUser } from "../testkit/users";

jest.setTimeout(BROWSER_TEST_TIMEOUT_MS);

/**
 * The schema explorer (GraphiQL, served by the gateway) in a real browser, offline: every
 * request but loopback is aborted, so a page that needed a CDN would fail here. It signs in
 * with its helper, runs a query, streams a subscription and opens the docs, as a developer
 * would.
 */

const CATALOGUE = join(__dirname, "..", "..", "packages", "client", "operations");

/** The tabs the catalogue should open as: one per file that parses, titled by its first operation (GraphiQL's rule). */
function catalogueTabTitles(): string[] {
  const files = existsSync(CATALOGUE) ? readdirSync(CATALOGUE).filter((file) => file.endsWith(".graphql")).sort() : [];
  return files.flatMap((file) => {
    let document;
    try {
      document = parse(readFileSync(join(CATALOGUE, file), "utf8"));
    } catch {
      return [];
    }
    const first = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    return [first?.name?.value ?? "<untitled>"];
  });
}

let stack: Stack;
let chromium: TestBrowser;
beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  chromium = await launchChromium();
}, BROWSER_TEST_TIMEOUT_MS);
afterAll(async () => {
  await chromium?.close();
  await stack?.stop();
});

/** The explorer in a fresh browser context, with everything the page logs as an error. */
async function openExplorer(path = "/explorer") {
  const context = await chromium.context({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${stack.gatewayUrl}${path}`);
  await page.locator(".graphiql-container .graphiql-query-editor .view-lines").first().waitFor();
  return { context, page, errors };
}

/** What the response pane shows, without white space (Monaco wraps long lines and indents the rest). */
const responseText = async (page: Page) =>
  (
    await page.locator(".result-window .view-line").evaluateAll((lines) =>
      // Monaco positions its lines absolutely, in any DOM order.
      lines.map((line) => ({ top: parseFloat(line.style.top), text: line.textContent ?? "" })).sort((a, b) => a.top - b.top).map((line) => line.text).join(""),
    )
  ).replace(/\s/g, "");

const responseShows = (page: Page, text: string) =>
  eventually(`the response to show ${text}`, async () => ((await responseText(page)).includes(text.replace(/\s/g, "")) ? true : undefined), BROWSER_TEST_TIMEOUT_MS / 2);

/** A new tab holding `operation`, with the signed-in token in its headers; resolves once GraphiQL has read it. */
async function newTab(page: Page, operation: string, name: string) {
  await page.getByRole("button", { name: "New tab" }).click();
  await page.getByRole("button", { name: "Use in this tab" }).click();
  await page.locator(".graphiql-query-editor .monaco-editor").click();
  await page.keyboard.insertText(operation);
  // The tab's title is the operation's name once GraphiQL has taken in the new text.
  await page.locator(".graphiql-tab-active .graphiql-tab-button", { hasText: name }).waitFor();
}

describe("the schema explorer", () => {
  it("loads with no request leaving the machine and the operation catalogue as its tabs", async () => {
    const { context, page, errors } = await openExplorer();
    try {
      await page.locator(".graphiql-tab-button").first().waitFor();
      const titles = (await page.locator(".graphiql-tab-button").allTextContents()).map((title) => title.trim());
      const expected = catalogueTabTitles();
      expect(titles).toEqual(expected.length ? expected : [expect.any(String)]);
      expect(context.blocked).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("signs in, runs a query, shows a subscription's live event and opens the docs", async () => {
    const gameMaster = await registerUser(stack.graphqlUrl, "Cartographer");
    const player = await registerUser(stack.graphqlUrl, "Latecomer");
    const { createCampaign: campaign } = expectData(
      await postGraphQL<{ createCampaign: { id: string } }>(stack.graphqlUrl, { query: 'mutation { createCampaign(input: { name: "Charted" }) { id } }' }, { token: gameMaster.accessToken }),
    );
    const { context, page, errors } = await openExplorer();
    try {
      // The sign-in helper: identity's login, the token into the tab's headers.
      await page.getByRole("button", { name: "Show Sign in" }).click();
      await page.getByLabel("Email").fill(gameMaster.email);
      await page.getByLabel("Password").fill(gameMaster.password);
      await page.locator("form.explorer-sign-in button[type=submit]").click();
      await page.getByRole("status").filter({ hasText: "Signed in as Cartographer" }).waitFor();

      await newTab(page, "query WhoAmI { me { id displayName } }", "WhoAmI");
      await page.locator(".graphiql-execute-button").click();
      await responseShows(page, `"id": "${gameMaster.user.id}"`);

      // A subscription over graphql-ws, the token in connection_init: live once the gateway counts it.
      await newTab(page, `subscription Feed { campaignEvents(campaignId: "${campaign.id}") { type data } }`, "Feed");
      const before = await activeSubscriptions(stack.gatewayUrl);
      await page.locator(".graphiql-execute-button").click();
      await untilSubscribed(stack.gatewayUrl, before);
      expectData(await postGraphQL(stack.graphqlUrl, { query: "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", variables: { id: campaign.id } }, { token: player.accessToken }));
      await responseShows(page, `"type": "PLAYER_JOINED"`);
      await responseShows(page, player.user.id);

      await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
      await page.locator(".graphiql-doc-explorer").getByText("Root Types").waitFor();
      await page.locator(".graphiql-doc-explorer a", { hasText: "Subscription" }).first().click();
      await page.locator(".graphiql-doc-explorer").getByText("campaignEvents").first().waitFor();
      await saveScreenshot(page, "explorer");

      expect(context.blocked).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("answers browsers at GET /graphql, and GraphQL clients there as before", async () => {
    const { context, page, errors } = await openExplorer("/graphql");
    try {
      expect(await page.title()).toBe("Startales API explorer");
      expect(context.blocked).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
    const client = await fetch(`${stack.graphqlUrl}?query=${encodeURIComponent("{ __typename }")}`, { headers: { accept: "application/json", "apollo-require-preflight": "true" } });
    expect(await client.json()).toEqual({ data: { __typename: "Query" } });
    const anything = await fetch(`${stack.graphqlUrl}?query=${encodeURIComponent("{ __typename }")}`, { headers: { accept: "*/*", "apollo-require-preflight": "true" } });
    expect(anything.headers.get("content-type")).toMatch(/json/);
  });
});

/** A GET with the path sent exactly as written (fetch would resolve `..` first). */
function rawGet(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the explorer over plain HTTP", () => {
  it("goes to a browser's navigation, never to a GraphQL client, by Accept", () => {
    for (const browser of ["text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", "text/html", "text/html, */*", "text/html, application/json;q=0.5"]) {
      expect([browser, prefersHtml(browser)]).toEqual([browser, true]);
    }
    for (const client of [undefined, "", "*/*", "application/json", "application/graphql-response+json, application/json;q=0.9", "text/*, application/json", "text/html;q=0.5, application/json", "text/html;q=0, */*"]) {
      expect([client, prefersHtml(client)]).toEqual([client, false]);
    }
  });

  it("is sent with a strict Content-Security-Policy", async () => {
    for (const [path, accept] of [["/explorer", "*/*"], ["/explorer/", "*/*"], ["/graphql", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"]] as const) {
      const res = await rawGet(stack.gatewayUrl, path, { accept });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
      const policy = String(res.headers["content-security-policy"]).split("; ");
      const host = new URL(stack.gatewayUrl).host;
      expect(policy).toEqual(
        expect.arrayContaining([
          "default-src 'none'",
          "script-src 'self'",
          "worker-src 'self'",
          `connect-src 'self' ws://${host} wss://${host}`,
          "object-src 'none'",
          "base-uri 'none'",
          "frame-ancestors 'none'",
        ]),
      );
      expect(policy.join("; ")).not.toMatch(/unsafe-eval|\*|https?:/);
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["cache-control"]).toBe("no-cache");
    }
  });

  it("serves its hashed files with their types, compressed, cached for a year", async () => {
    const page = (await rawGet(stack.gatewayUrl, "/explorer")).body.toString();
    const files = [...page.matchAll(/(?:src|href)="(\/explorer\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(files.map((file) => file.replace(/-[A-Z0-9]{8}\./, "-<hash>."))).toEqual(["/explorer/assets/explorer-<hash>.css", "/explorer/assets/explorer-<hash>.js"]);
    for (const file of files) {
      const plain = await rawGet(stack.gatewayUrl, file);
      expect(plain.status).toBe(200);
      expect(plain.headers["content-type"]).toBe(file.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
      expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(plain.headers["content-encoding"]).toBeUndefined();
      const gzipped = await rawGet(stack.gatewayUrl, file, { "accept-encoding": "gzip, deflate, br" });
      expect(gzipped.headers["content-encoding"]).toBe("gzip");
      expect(gzipped.body.length).toBeLessThan(plain.body.length);
    }
  });

  it("reads nothing outside its build", async () => {
    const script = /src="\/explorer\/assets\/([^"]+)"/.exec((await rawGet(stack.gatewayUrl, "/explorer")).body.toString())![1]!;
    for (const path of [
      "/explorer/assets/../index.html",
      "/explorer/assets/../../../../package.json",
      "/explorer/assets/..%2f..%2f..%2f..%2fpackage.json",
      "/explorer/assets/%2e%2e/index.html",
      "/explorer/assets/",
      "/explorer/assets/.inputs-sha256",
      `/explorer/assets/${script}.gz`,
      "/explorer/index.html",
      "/explorer/nothing",
    ]) {
      const res = await rawGet(stack.gatewayUrl, path);
      expect([path, res.status]).toEqual([path, 404]);
    }
  });
});

describe("EXPLORER=false", () => {
  let gateway: GatewayApp;
  let baseUrl: string;
  beforeAll(async () => {
    gateway = createGatewayApp(
      gatewayTestConfig(
        { identity: stack.identityUrl, campaign: stack.campaignUrl, realtime: stack.realtimeUrl, simulation: stack.simulationUrl, provider: stack.providerUrl, notification: stack.notificationUrl },
        `${stack.identityUrl}/.well-known/jwks.json`,
        { EXPLORER: "false" },
      ),
      captureLogs("gateway-no-explorer", "warn").logger as Logger,
    );
    baseUrl = await gateway.listen();
    await untilReady(baseUrl);
  });
  afterAll(() => gateway?.stop());

  it("serves no explorer: /explorer is 404 and a browser's GET /graphql gets GraphQL's answer", async () => {
    for (const path of ["/explorer", "/explorer/", "/explorer/assets/x.js"]) expect((await rawGet(baseUrl, path)).status).toBe(404);
    const browser = await rawGet(baseUrl, "/graphql", { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" });
    expect(browser.headers["content-type"]).not.toMatch(/html/);
    expect(browser.headers["content-security-policy"]).toBeUndefined();
    expect(browser.body.toString()).not.toMatch(/explorer/i);
  });

  it("is the default in production, where EXPLORER=true turns it on", () => {
    const base = { GATEWAY_SIGNING_SECRET: "g".repeat(32) };
    expect(loadGatewayConfig({ ...base }).EXPLORER).toBe(true);
    expect(loadGatewayConfig({ ...base, NODE_ENV: "production" }).EXPLORER).toBe(false);
    expect(loadGatewayConfig({ ...base, NODE_ENV: "production", EXPLORER: "true" }).EXPLORER).toBe(true);
    expect(loadGatewayConfig({ ...base, EXPLORER: "0" }).EXPLORER).toBe(false);
  });
});
