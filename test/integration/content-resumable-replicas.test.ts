import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, type Logger, type Redis, type SubgraphApp } from "@startales/service-kit";
import { createContentApp } from "../../subgraphs/content/src/app";
import { DEFAULT_LOCK_PREFIX } from "../../subgraphs/content/src/http/redis-locker";
import { contentTestConfig } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { captureLogs } from "../testkit/logs";
import { untilReady } from "../testkit/ready";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";
import { tusMetadata } from "../testkit/resumable-upload";

/**
 * Resumable uploads (tus) with two content replicas, as the HPA runs them: the stack's content
 * and a second one in this process with the same config (the same staging directory, database
 * and Redis). Requests go straight to each replica (signed as the gateway signs them), so
 * which replica answers is the test's choice, not a load balancer's. An upload begun on one is
 * continued and finished on the other; two PATCHes at once never both write it (the lock is
 * in Redis, not in a process); a lock a dead replica left behind is taken over once it expires.
 */
jest.setTimeout(120_000);

/** Short, so a dead holder's lock expires within the test. */
const LOCK_TTL_MS = 2_000;

let stack: Stack;
let replica2: SubgraphApp;
let replica1Url: string;
let replica2Url: string;
let contentDir: string;
let redis: Redis;
let alice: TestUser;

beforeAll(async () => {
  contentDir = mkdtempSync(join(tmpdir(), "startales-content-replicas-"));
  // What both replicas are given alike: what a Deployment's pods share.
  const shared = { CONTENT_DIR: contentDir, CONTENT_URL_SIGNING_SECRET: randomBytes(32).toString("base64url"), CONTENT_UPLOAD_LOCK_TTL_MS: String(LOCK_TTL_MS) };
  stack = await startStack({ logLevel: "warn", contentEnv: shared });
  replica1Url = stack.contentUrl;
  replica2 = createContentApp(contentTestConfig(stack.campaignUrl, stack.gatewayUrl, shared), captureLogs("content-replica-2", "warn").logger as Logger);
  replica2Url = await replica2.listen();
  await untilReady(replica2Url);
  redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "test-replicas");
  alice = await registerUser(stack.graphqlUrl, `Alice ${randomUUID().slice(0, 6)}`);
});
afterAll(async () => {
  await replica2?.stop();
  await stack?.stop();
  redis?.disconnect();
  if (contentDir) await rm(contentDir, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const pngOfSize = (size: number) => Buffer.concat([PNG, randomBytes(size - PNG.length)]);

/** The headers the gateway adds: Alice's signed identity (signed per request, as the gateway does). */
const asAlice = async (): Promise<Record<string, string>> => ({ "tus-resumable": "1.0.0", ...(await gatewayHeaders(asUser(alice.user.id))) });
const at = (replica: string, id: string) => `${replica}/content/uploads/${id}`;
const stagedBytes = (id: string) => {
  try {
    return statSync(join(contentDir, "uploads", id)).size;
  } catch {
    return undefined;
  }
};

/** Begins an upload of `file` on `replica`; its id (the Location names the gateway, not the replica). */
async function begin(replica: string, file: Buffer): Promise<string> {
  const begun = await fetch(`${replica}/content/uploads`, {
    method: "POST",
    headers: { ...(await asAlice()), "upload-length": String(file.length), "upload-metadata": tusMetadata({ kind: "PACK_FILE", name: "ship.png", sha256: sha256(file) }) },
  });
  expect(begun.status).toBe(201);
  const location = begun.headers.get("location")!;
  expect(location.startsWith(`${stack.gatewayUrl}/content/uploads/`)).toBe(true);
  return location.slice(location.lastIndexOf("/") + 1);
}

const patch = async (replica: string, id: string, offset: number, part: Buffer) =>
  fetch(at(replica, id), { method: "PATCH", headers: { ...(await asAlice()), "upload-offset": String(offset), "content-type": "application/offset+octet-stream" }, body: part });

async function offsetOn(replica: string, id: string): Promise<number> {
  const head = await fetch(at(replica, id), { method: "HEAD", headers: await asAlice() });
  expect(head.status).toBe(200);
  return Number(head.headers.get("upload-offset"));
}

type Asset = { id: string; sha256: string; size: number; url: string };

/** Downloads the asset through the gateway and checks every byte. */
async function expectStored(asset: Asset, file: Buffer): Promise<void> {
  expect(asset).toMatchObject({ sha256: sha256(file), size: file.length });
  const downloaded = Buffer.from(await (await fetch(asset.url)).arrayBuffer());
  expect(sha256(downloaded)).toBe(sha256(file));
}

/** Alice's assets with these bytes: one per upload that was answered 201. */
async function assetsWith(sha: string): Promise<number> {
  const answer = await fetch(stack.graphqlUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${alice.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ query: "{ myAssets(first: 100) { assets { sha256 } } }" }),
  });
  const { data } = (await answer.json()) as { data: { myAssets: { assets: { sha256: string }[] } } };
  return data.myAssets.assets.filter((a) => a.sha256 === sha).length;
}

/**
 * A PATCH whose headers go at once and whose body waits for send(): a request that has reached
 * the server (and asked for the upload's lock) before any byte of it has. `status` is its
 * answer's, or 0 when the connection was dropped first.
 */
function headersFirst(url: string, headers: Record<string, string>, offset: number, part: Buffer): { send: () => void; status: Promise<number> } {
  const req = request(url, {
    method: "PATCH",
    headers: { ...headers, "upload-offset": String(offset), "content-type": "application/offset+octet-stream", "content-length": String(part.length) },
  });
  const status = new Promise<number>((resolve) => {
    req.on("error", () => resolve(0));
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
  });
  req.flushHeaders();
  return { send: () => req.end(part), status };
}

/** Resolves with the first release request for upload `id` that a replica publishes (redis-locker.ts). */
async function releaseRequested(id: string): Promise<{ heard: Promise<void>; stop: () => void }> {
  const subscriber = redis.duplicate();
  const heard = new Promise<void>((resolve) => subscriber.on("message", (_channel: string, message: string) => message === id && resolve()));
  await subscriber.subscribe(`${DEFAULT_LOCK_PREFIX}release`);
  return { heard, stop: () => subscriber.disconnect() };
}

describe("a resumable upload across two content replicas", () => {
  it("begun on one replica is continued and finished on the other, and the asset is every byte of the file", async () => {
    const file = pngOfSize(3 * 1024 * 1024 + 5);
    const id = await begin(replica1Url, file);
    const MiB = 1024 * 1024;

    expect((await patch(replica1Url, id, 0, file.subarray(0, MiB))).status).toBe(204);
    // The next request lands on the other replica, which reads the part the first one staged.
    expect(await offsetOn(replica2Url, id)).toBe(MiB);
    const second = await patch(replica2Url, id, MiB, file.subarray(MiB, 2 * MiB));
    expect(second.status).toBe(204);
    expect(second.headers.get("upload-offset")).toBe(String(2 * MiB));
    const last = await patch(replica2Url, id, 2 * MiB, file.subarray(2 * MiB));
    expect(last.status).toBe(201);

    const { asset } = (await last.json()) as { asset: Asset };
    await expectStored(asset, file);
    expect(stagedBytes(id)).toBeUndefined();
  });

  it("written by two PATCHes at the same offset on the two replicas at once: never both succeed, and the file stored is byte-correct", async () => {
    const file = pngOfSize(2 * 1024 * 1024);
    const half = file.length / 2;
    const id = await begin(replica1Url, file);
    const [headers1, headers2] = await Promise.all([asAlice(), asAlice()]);
    const release = await releaseRequested(id);

    // The same part (the first half, at offset 0) to both replicas, neither body sent until one
    // replica holds the upload's lock and the other has asked for it: without a lock the
    // replicas share, both would have read offset 0 by then, both write, and both answer 204 (a
    // client retrying on another replica while its first PATCH still runs does just this).
    const part = file.subarray(0, half);
    const patches = [headersFirst(at(replica1Url, id), headers1, 0, part), headersFirst(at(replica2Url, id), headers2, 0, part)];
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([release.heard, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("no replica asked for the upload's lock within 15 s")), 15_000)))]);
    } finally {
      clearTimeout(timer);
      release.stop();
    }
    for (const { send } of patches) send();
    const statuses = await Promise.all(patches.map(({ status }) => status));
    expect({ statuses, succeeded: statuses.filter((status) => status === 204).length }).toEqual({ statuses, succeeded: 1 });

    // The client resumes where the server says, as a tus client does, on either replica.
    expect(await offsetOn(replica1Url, id)).toBe(half);
    const last = await patch(replica2Url, id, half, file.subarray(half));
    expect(last.status).toBe(201);
    await expectStored(((await last.json()) as { asset: Asset }).asset, file);
    expect(await assetsWith(sha256(file))).toBe(1);
    expect(stagedBytes(id)).toBeUndefined();
  });

  it("whose lock a dead replica left in Redis (never renewed) is taken over once the lock expires", async () => {
    const file = pngOfSize(512 * 1024);
    const id = await begin(replica1Url, file);
    // As a replica that died mid-PATCH leaves it: its token, its expiry, no one renewing it.
    await redis.set(`${DEFAULT_LOCK_PREFIX}${id}`, "a-replica-that-died", "PX", LOCK_TTL_MS);
    const started = Date.now();
    const last = await patch(replica2Url, id, 0, file);
    expect(last.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(LOCK_TTL_MS - 300);
    await expectStored(((await last.json()) as { asset: Asset }).asset, file);
    expect(await redis.exists(`${DEFAULT_LOCK_PREFIX}${id}`)).toBe(0);
  });
});
