import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { CreateApiKeyDocument, RevokeApiKeyDocument, type ApiKeyScope } from "../generated/operations";
import { BROWSER_TEST_TIMEOUT_MS, launchChromium, saveScreenshot, type TestBrowser } from "../testkit/chromium";
import { expectData, graphql } from "../testkit/graphql-client";
import { deleteKeysMatching } from "../testkit/redis-keys";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

jest.setTimeout(BROWSER_TEST_TIMEOUT_MS);

type BoardQueue = { name: string; counts: Record<string, number>; readOnlyMode: boolean };

/**
 * The queues admin end to end: bull-board on the gateway's admin listener, over the real
 * stack's BullMQ queues in the real Redis, for ADMINs only, driven in headless Chromium the
 * way an operator uses it: sign in with an API key, find the failed job, retry it.
 */
describe("queues admin", () => {
  const ADMIN_EMAIL = `admin-${randomUUID()}@example.test`;
  // This stack's simulation queues live under PREFIX, and so does the test's own queue.
  const PREFIX = `test-queues-admin-${randomUUID()}`;
  const TEST_QUEUE = "reactor-checks";
  let stack: Stack;
  let adminUrl: string;
  let admin: TestUser;
  let player: TestUser;
  const keys: { owner: TestUser; id: string }[] = [];
  let redis: Redis;
  let queue: Queue | undefined;
  let worker: Worker | undefined;
  let workerConnection: Redis | undefined;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    stack = await startStack({
      logLevel: "info",
      identityEnv: { BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL },
      simulationWorkerEnv: { QUEUE_PREFIX: PREFIX },
      // Port 0: a free port; queues created during the test appear within 200 ms.
      gatewayEnv: { QUEUES_ADMIN_PORT: "0", QUEUES_ADMIN_DISCOVERY_MS: "200" },
    });
    adminUrl = stack.apps.gateway.queuesAdminUrl() ?? "";
    admin = await registerUser(stack.graphqlUrl, "Admin", undefined, ADMIN_EMAIL);
    player = await registerUser(stack.graphqlUrl, "Player");
    redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    workerConnection?.disconnect();
    await queue?.obliterate({ force: true });
    await queue?.close();
    for (const { owner, id } of keys) await graphql(stack.graphqlUrl, RevokeApiKeyDocument, { id }, { token: owner.accessToken });
    await stack?.stop();
    // The simulation worker pool's queues and the test's, once nothing uses them.
    if (redis) await deleteKeysMatching(redis, `${PREFIX}:*`);
    redis?.disconnect();
  });

  async function createKey(owner: TestUser, scopes: ApiKeyScope[]): Promise<string> {
    const { key, apiKey } = expectData(await graphql(stack.graphqlUrl, CreateApiKeyDocument, { input: { name: `queues-${scopes.join("-")}`, scopes } }, { token: owner.accessToken })).createApiKey;
    keys.push({ owner, id: apiKey.id });
    return key;
  }
  const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`admin:${key}`).toString("base64")}` });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${adminUrl}${path}`, { headers });
  const put = (path: string, headers: Record<string, string> = {}) => fetch(`${adminUrl}${path}`, { method: "PUT", headers });
  const listQueues = async (headers: Record<string, string>): Promise<BoardQueue[]> => {
    const response = await get("/api/queues", headers);
    expect(response.status).toBe(200);
    return ((await response.json()) as { queues: BoardQueue[] }).queues;
  };
  const auditLines = () => stack.logs.gateway.lines().filter((line) => line.audit === "queues_admin");

  it("listens on a port of its own, not where /graphql is served", () => {
    expect(adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(adminUrl).port).not.toBe(new URL(stack.gatewayUrl).port);
  });

  it("asks a browser to sign in, and refuses whoever is not an admin", async () => {
    for (const path of ["/", "/api/queues"]) {
      const anonymous = await get(path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm="Startales queues"/);
    }
    // A password that is not an API key, an unknown key and a forged token: signed in as nobody.
    for (const headers of [basic(player.password), basic(`stk_${"0".repeat(8)}_${"0".repeat(64)}`), bearer("not.a.token")]) {
      const refused = await get("/api/queues", headers);
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toMatch(/^Basic realm="Startales queues"/);
    }
    // A player, with a key or an access token: known, and not allowed.
    const playerKey = await createKey(player, ["READ", "WRITE"]);
    for (const headers of [basic(playerKey), bearer(player.accessToken), { "x-api-key": playerKey }]) {
      const forbidden = await get("/api/queues", headers);
      expect(forbidden.status).toBe(403);
      expect(forbidden.headers.get("www-authenticate")).toBeNull();
    }
  });

  it("shows an admin every queue of the stack: simulation ticks and lifecycle, provider jobs, notification deliveries and webhooks", async () => {
    const adminKey = await createKey(admin, ["READ", "WRITE"]);
    // Discovery scans Redis every QUEUES_ADMIN_DISCOVERY_MS: the stack's queues may write their
    // meta after the gateway's first scan.
    const names = await eventually("the stack's five queues on the board", async () => {
      const listed = (await listQueues(basic(adminKey))).map((q) => q.name);
      return listed.length >= 5 ? listed : undefined;
    });
    expect(names).toEqual(
      expect.arrayContaining([
        `${PREFIX}:simulation-ticks`,
        `${PREFIX}:simulation-lifecycle`,
        expect.stringMatching(/^provider:test:[0-9a-f-]+:bull:provider-jobs$/),
        expect.stringMatching(/^notification:test:[0-9a-f-]+:bull:notification-deliveries$/),
        expect.stringMatching(/^notification:test:[0-9a-f-]+:bull:webhooks$/),
      ]),
    );
    // Only this stack's: the other stacks in the same Redis keep their queues to themselves.
    expect(names).toHaveLength(5);
    // The page: served whole from here (no remote font), never framed, never cached.
    const page = await get("/", basic(adminKey));
    expect(page.status).toBe(200);
    expect(await page.text()).not.toMatch(/https?:\/\//);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(page.headers.get("cache-control")).toBe("no-store");
    // An access token works too (curl, scripts).
    expect((await listQueues(bearer(admin.accessToken))).map((q) => q.name).sort()).toEqual([...names].sort());
  });

  it("lets a read-only key of an admin look, but not retry", async () => {
    const readKey = await createKey(admin, ["READ"]);
    const ticks = await eventually("the tick queue on the board", async () => (await listQueues(basic(readKey))).find((q) => q.name === `${PREFIX}:simulation-ticks`));
    // The read-only board: bull-board hides the buttons that change anything.
    expect(ticks?.readOnlyMode).toBe(true);
    const path = `/api/queues/${encodeURIComponent(`${PREFIX}:simulation-ticks`)}/retry/failed`;
    const refused = await put(path, basic(readKey));
    expect(refused.status).toBe(403);
    // The attempt is in the audit trail, with who made it.
    const line = await eventually("the audit line", async () => auditLines().find((l) => l.action === "retry/failed" && l.status === 403));
    expect(line).toMatchObject({ level: "info", queue: `${PREFIX}:simulation-ticks`, method: "PUT", credential: "api_key", userId: admin.user.id });
  });

  it("refuses a change a page of another site makes the browser send", async () => {
    const adminKey = await createKey(admin, ["READ", "WRITE"]);
    const path = `/api/queues/${encodeURIComponent(`${PREFIX}:simulation-ticks`)}/retry/failed`;
    expect((await put(path, { ...basic(adminKey), origin: "https://evil.example" })).status).toBe(403);
    expect((await put(path, { ...basic(adminKey), "sec-fetch-site": "cross-site" })).status).toBe(403);
    // The board's own page (and a tool, which sends neither header) may: nothing has failed, nothing is retried.
    expect((await put(path, { ...basic(adminKey), origin: adminUrl, "sec-fetch-site": "same-origin" })).status).toBe(200);
    expect((await put(path, basic(adminKey))).status).toBe(200);
  });

  it("lists a job that failed, and Retry in the browser runs it again", async () => {
    const adminKey = await createKey(admin, ["READ", "WRITE"]);
    // A queue of the test's own under the stack's prefix, created after the gateway started
    // (it must find it), with a real worker whose first run fails.
    queue = new Queue(TEST_QUEUE, { connection: redis, prefix: PREFIX });
    let runs = 0;
    workerConnection = redis.duplicate();
    worker = new Worker(
      TEST_QUEUE,
      async () => {
        runs += 1;
        if (runs === 1) throw new Error("reactor offline");
        return { checked: true };
      },
      { connection: workerConnection, prefix: PREFIX },
    );
    const job = await queue.add("check-reactor", { planet: "Vega IV" }, { attempts: 1 });
    await eventually("the job to fail", async () => ((await job.getState()) === "failed" ? true : undefined));
    const boardName = `${PREFIX}:${TEST_QUEUE}`;
    await eventually("the queue on the board", async () => (await listQueues(basic(adminKey))).find((q) => q.name === boardName && q.counts.failed === 1));

    browser = await launchChromium();
    const context = await browser.context({ httpCredentials: { username: "admin", password: adminKey } });
    const page = await context.newPage();
    // A step that cannot happen fails with its own message, well within the test's time.
    page.setDefaultTimeout(10_000);
    // Nothing the page does is refused by its Content-Security-Policy, or fails.
    const pageErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${adminUrl}/`);
    // The overview, then the queue in the sidebar, its failed jobs, the job.
    await page.locator("#bull-board-sidebar").getByRole("link", { name: boardName }).click();
    await page.getByRole("link", { name: /FAILED/ }).click();
    await page.getByRole("link", { name: /#1/ }).click();
    await page.waitForURL(/\/1\?status=failed$/);
    await page.getByText("reactor offline").first().waitFor();
    await saveScreenshot(page, "queues-admin-failed-job");
    // The job's own Retry (an icon with a tooltip), not the queue's "Retry all"; then confirm.
    const retry = page.locator("main button:has(svg.lucide-refresh-cw)").filter({ hasNotText: "Retry all" });
    await retry.hover();
    await page.getByText("Retry", { exact: true }).waitFor();
    await retry.click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("Are you sure?").waitFor({ state: "hidden" });

    // BullMQ ran it again, for real: completed on its second attempt.
    // (The state first: the job's hash is read once it is final.)
    const done = await eventually("the retried job to complete", async () => ((await queue!.getJobState(job.id!)) === "completed" ? queue!.getJob(job.id!) : undefined));
    expect({ attemptsMade: done?.attemptsMade, runs, result: done?.returnvalue }).toEqual({ attemptsMade: 2, runs: 2, result: { checked: true } });
    // The board shows it (it polls), and the page needed nothing from outside loopback.
    await page.getByText("Finished at").first().waitFor();
    await saveScreenshot(page, "queues-admin-retried-job");
    expect(context.blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
    const line = await eventually("the audit line", async () => auditLines().find((l) => l.queue === boardName && l.action === `${job.id}/retry`));
    expect(line).toMatchObject({ component: "queues-admin", method: "PUT", status: 204, userId: admin.user.id, credential: "api_key" });
  }, BROWSER_TEST_TIMEOUT_MS);
});
