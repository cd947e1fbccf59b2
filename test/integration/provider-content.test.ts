import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { IDENTITY_HEADER, createIdentityVerifier, type Logger, type SubgraphApp, type Viewer } from "@startales/service-kit";
import { createContentApp } from "../../subgraphs/content/src/app";
import { contentTestConfig, required } from "../testkit/config";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { unusedPort } from "../testkit/ports";
import { startProvider } from "../testkit/provider";
import { untilReady } from "../testkit/ready";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Where the provider's generated audio and images live: the worker pool stores them in the
 * content subgraph (as a SERVICE identity of its own, owned by no one), never in its own
 * content_blobs, and clients fetch them on the gateway's public origin with content's headers.
 * Content down: the job is retried until content is back. Content refusing the bytes: the job
 * fails, saying why.
 */
jest.setTimeout(120_000);

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const IMAGE = "mutation($i: GenerateImageInput!) { generateImage(input: $i) { id } }";
const SPEECH = "mutation($i: SynthesizeSpeechInput!) { synthesizeSpeech(input: $i) { id } }";
const JOB = "query($id: ID!) { job(id: $id) { id status contentUrl contentType attempts errorCode error } }";
type Job = { id: string; status: string; contentUrl: string | null; contentType: string | null; attempts: number; errorCode: string | null; error: string | null };

describe("on a whole stack", () => {
  let stack: Stack;
  let player: TestUser;
  let contentDb: pg.Client;
  let providerDb: pg.Client;
  let contentPort: string;
  /** The content app started in place of the stack's, after its outage. */
  let restarted: SubgraphApp | undefined;

  beforeAll(async () => {
    // Below the ephemeral range, so content can come back on the same port after its outage.
    contentPort = String(await unusedPort());
    stack = await startStack({
      logLevel: "warn",
      contentEnv: { PORT: contentPort },
      // Retries enough to outlast the outage below, soon after one another.
      providerEnv: { PROVIDER_JOB_ATTEMPTS: "60", PROVIDER_RETRY_BASE_MS: "100", PROVIDER_RETRY_MAX_MS: "500", CONTENT_TIMEOUT_MS: "3000" },
    });
    player = await registerUser(stack.graphqlUrl, `Nia ${randomUUID().slice(0, 6)}`);
    contentDb = new pg.Client({ connectionString: required("CONTENT_DATABASE_URL") });
    providerDb = new pg.Client({ connectionString: required("PROVIDER_DATABASE_URL") });
    await Promise.all([contentDb.connect(), providerDb.connect()]);
  }, 90_000);
  afterAll(async () => {
    await contentDb?.end();
    await providerDb?.end();
    await restarted?.stop();
    await stack?.stop();
  });

  const call = (query: string, variables: Record<string, unknown>) => postGraphQL<Record<string, unknown>>(stack.graphqlUrl, { query, variables }, { token: player.accessToken });
  const job = async (id: string) => expectData(await call(JOB, { id })).job as Job;
  const finished = (id: string) => eventually(`job ${id} finished`, async () => {
    const found = await job(id);
    return found.status === "SUCCEEDED" || found.status === "FAILED" ? found : undefined;
  }, 60_000, 50);

  it("a generated portrait is stored in content, not in the provider, and served on the gateway's origin with content's headers", async () => {
    const { generateImage } = expectData(await call(IMAGE, { i: { idempotencyKey: randomUUID(), subject: "PORTRAIT", prompt: `Envoy ${randomUUID()}`, size: 64 } })) as { generateImage: { id: string } };
    const done = await finished(generateImage.id);
    expect(done).toMatchObject({ status: "SUCCEEDED", contentType: "image/png" });
    const [, sha] = /\/content\/([0-9a-f]{64})$/.exec(done.contentUrl!) ?? [];
    expect(done.contentUrl).toBe(`${stack.gatewayUrl}/content/${sha}`);

    // Content has the blob and an asset of no one's naming it; the provider's own table has not.
    const blob = await contentDb.query<{ size: string; media_type: string }>("SELECT size, media_type FROM blobs WHERE sha256 = $1", [sha]);
    expect(blob.rows).toEqual([{ size: expect.any(String), media_type: "image/png" }]);
    const assets = await contentDb.query("SELECT owner_id, kind, visibility FROM assets WHERE sha256 = $1", [sha]);
    expect(assets.rows).toEqual([{ owner_id: null, kind: "MEDIA", visibility: "PUBLIC" }]);
    expect((await providerDb.query("SELECT 1 FROM content_blobs WHERE sha256 = $1", [sha])).rowCount).toBe(0);

    // Byte for byte through the gateway, with the headers content gives.
    const viaGateway = await fetch(done.contentUrl!);
    const direct = await fetch(`${stack.contentUrl}/content/${sha}`);
    expect(viaGateway.status).toBe(200);
    const bytes = Buffer.from(await viaGateway.arrayBuffer());
    expect(sha256(bytes)).toBe(sha);
    expect(bytes.equals(Buffer.from(await direct.arrayBuffer()))).toBe(true);
    expect(Number(blob.rows[0]!.size)).toBe(bytes.length);
    for (const header of ["content-type", "etag", "cache-control", "x-content-type-options", "content-security-policy", "accept-ranges"]) {
      expect({ header, value: viaGateway.headers.get(header) }).toEqual({ header, value: direct.headers.get(header) });
    }
    expect(viaGateway.headers.get("etag")).toBe(`"${sha}"`);
    expect(viaGateway.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await fetch(done.contentUrl!, { headers: { "if-none-match": `"${sha}"` } })).status).toBe(304);
  });

  it("while content is down the job is retried, and it succeeds once content is back", async () => {
    await stack.apps.content.stop();
    const { synthesizeSpeech } = expectData(await call(SPEECH, { i: { idempotencyKey: randomUUID(), text: `Docking clearance ${randomUUID().slice(0, 8)} granted.` } })) as { synthesizeSpeech: { id: string } };
    // Made, not stored: queued again, saying why.
    const waiting = await eventually("a retry for want of content", async () => {
      const found = await job(synthesizeSpeech.id);
      return found.error?.startsWith("retrying: the result could not be stored") ? found : undefined;
    }, 30_000, 50);
    expect(waiting).toMatchObject({ status: expect.stringMatching(/^(QUEUED|RUNNING)$/), contentUrl: null });
    expect(stack.logs.providerWorker.lines().some((line) => line.msg === "content unreachable for an upload")).toBe(true);

    restarted = createContentApp(contentTestConfig(stack.campaignUrl, stack.gatewayUrl, { PORT: contentPort, CONTENT_DIR: stack.contentDir }), captureLogs("content", "warn").logger as Logger);
    await restarted.listen();
    await untilReady(stack.contentUrl);

    const done = await finished(synthesizeSpeech.id);
    expect(done).toMatchObject({ status: "SUCCEEDED", contentType: "audio/wav" });
    expect(done.attempts).toBeGreaterThan(1);
    const wav = await fetch(done.contentUrl!);
    expect(wav.status).toBe(200);
    expect(wav.headers.get("content-type")).toBe("audio/wav");
    const bytes = Buffer.from(await wav.arrayBuffer());
    expect(`${stack.gatewayUrl}/content/${sha256(bytes)}`).toBe(done.contentUrl);
    expect(bytes.subarray(0, 4).toString("latin1")).toBe("RIFF");
  });
});

describe("against a content service that refuses", () => {
  type Received = { viewer: Viewer; headers: IncomingMessage["headers"]; url: string; body: Buffer };
  let server: Server;
  let origin: string;
  const received: Received[] = [];
  const verify = createIdentityVerifier(required("TEST_GATEWAY_SIGNING_SECRET"));

  beforeAll(async () => {
    // Verifies who is calling as content does, then refuses the bytes as content would a type it does not accept.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        void verify(req.headers[IDENTITY_HEADER] as string | undefined).then((viewer) => {
          received.push({ viewer, headers: req.headers, url: req.url ?? "", body: Buffer.concat(chunks) });
          res.writeHead(415, { "content-type": "application/json" });
          res.end(JSON.stringify({ errors: [{ message: "MEDIA accepts image/png; these bytes are none of them", extensions: { code: "BAD_REQUEST", reason: "UNSUPPORTED_MEDIA_TYPE" } }] }));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("the job fails at once as INTERNAL_SERVER_ERROR naming content's reason, which the worker logs; the upload was signed as the provider's SERVICE identity with the bytes' digest", async () => {
    const provider = await startProvider({ CONTENT_URL: origin, PROVIDER_PUBLIC_URL: "https://api.startales.example" });
    try {
      const owner = randomUUID();
      const made = expectData(await provider.call<{ generateImage: { id: string } }>(owner, IMAGE, { i: { idempotencyKey: randomUUID(), subject: "PLANET", prompt: `Refused ${randomUUID()}`, size: 64 } }));
      const done = await provider.finished(owner, made.generateImage.id);
      expect(done).toMatchObject({ status: "FAILED", errorCode: "INTERNAL_SERVER_ERROR", contentUrl: null, attempts: 1 });
      expect(done.error).toBe("The result could not be stored: content refused it (UNSUPPORTED_MEDIA_TYPE)");
      expect(provider.logs.worker.lines()).toEqual(
        expect.arrayContaining([expect.objectContaining({ msg: "content refused generated bytes", status: 415, code: "BAD_REQUEST", reason: "UNSUPPORTED_MEDIA_TYPE", contentType: "image/png" })]),
      );

      expect(received).toHaveLength(1);
      const [upload] = received;
      expect(upload!.url).toBe("/content/assets?kind=MEDIA");
      expect(upload!.viewer).toMatchObject({ kind: "user", userId: "00000000-0000-4000-8000-000000004004", roles: ["SERVICE"], scopes: expect.arrayContaining(["write"]) });
      expect(upload!.headers["content-type"]).toBe("image/png");
      expect(upload!.headers["content-digest"]).toBe(`sha-256=:${createHash("sha256").update(upload!.body).digest("base64")}:`);
      expect(upload!.headers["idempotency-key"]).toBeUndefined();
      expect(upload!.body.subarray(1, 4).toString("latin1")).toBe("PNG");
    } finally {
      await provider.stop();
    }
  });
});
