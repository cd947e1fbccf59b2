import { createHash, randomBytes, randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";
import { tusMetadata } from "../testkit/resumable-upload";

/**
 * Resumable uploads (tus 1.0) through the gateway: a file sent in parts survives a connection
 * cut midway (the client asks how much arrived and sends the rest), becomes an asset only once
 * whole and matching the SHA-256 declared when it began, is its uploader's alone, and leaves
 * nothing staged behind, stored or refused.
 */
jest.setTimeout(120_000);

let stack: Stack;
let alice: TestUser;
let bob: TestUser;
const QUOTA = 8 * 1024 * 1024;

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn", contentEnv: { CONTENT_USER_QUOTA_BYTES: String(QUOTA) } });
  const tag = randomUUID().slice(0, 6);
  alice = await registerUser(stack.graphqlUrl, `Alice ${tag}`);
  bob = await registerUser(stack.graphqlUrl, `Bob ${tag}`);
});
afterAll(async () => {
  await stack?.stop();
});

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const pngOfSize = (size: number) => Buffer.concat([PNG, randomBytes(size - PNG.length)]);
const TUS = { "tus-resumable": "1.0.0" };
const auth = (user: TestUser) => ({ authorization: `Bearer ${user.accessToken}` });
const staged = () => readdirSync(join(stack.contentDir, "uploads")).filter((name) => !name.startsWith("."));

async function begin(user: TestUser, file: Buffer, values: Record<string, string>): Promise<Response> {
  return fetch(`${stack.gatewayUrl}/content/uploads`, { method: "POST", headers: { ...TUS, ...auth(user), "upload-length": String(file.length), "upload-metadata": tusMetadata(values) } });
}

const patch = (user: TestUser, location: string, offset: number, part: Buffer) =>
  fetch(location, { method: "PATCH", headers: { ...TUS, ...auth(user), "upload-offset": String(offset), "content-type": "application/offset+octet-stream" }, body: part });

const offsetOf = async (user: TestUser, location: string) => {
  const head = await fetch(location, { method: "HEAD", headers: { ...TUS, ...auth(user) } });
  expect(head.status).toBe(200);
  return Number(head.headers.get("upload-offset"));
};

/** A PATCH whose connection is cut after `sent` bytes of `part`, as a phone losing its network does. */
function interruptedPatch(user: TestUser, location: string, offset: number, part: Buffer, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(location, { method: "PATCH", headers: { ...TUS, ...auth(user), "upload-offset": String(offset), "content-type": "application/offset+octet-stream", "content-length": String(part.length) } });
    req.on("error", () => resolve());
    req.on("response", (res) => {
      res.resume();
      resolve();
    });
    req.write(part.subarray(0, sent), () => setTimeout(() => req.destroy(), 200));
  });
}

describe("a resumable upload", () => {
  it("survives a cut connection: the client resumes where the server's offset says, and the whole file becomes an asset", async () => {
    const file = pngOfSize(3 * 1024 * 1024 + 17);
    const begun = await begin(alice, file, { kind: "PACK_FILE", name: "textures.png", sha256: sha256(file) });
    expect(begun.status).toBe(201);
    const location = begun.headers.get("location")!;
    expect(location.startsWith(`${stack.gatewayUrl}/content/uploads/`)).toBe(true);

    const first = await patch(alice, location, 0, file.subarray(0, 1024 * 1024));
    expect(first.status).toBe(204);
    expect(first.headers.get("upload-offset")).toBe(String(1024 * 1024));

    await interruptedPatch(alice, location, 1024 * 1024, file.subarray(1024 * 1024), 700 * 1024);
    const resumeAt = await offsetOf(alice, location);
    expect(resumeAt).toBeGreaterThanOrEqual(1024 * 1024);
    expect(resumeAt).toBeLessThan(file.length);

    // Someone else can neither see nor continue it, and no one unsigned can.
    expect((await fetch(location, { method: "HEAD", headers: { ...TUS, ...auth(bob) } })).status).toBe(404);
    expect((await fetch(location, { method: "HEAD", headers: TUS })).status).toBe(401);

    const last = await patch(alice, location, resumeAt, file.subarray(resumeAt));
    expect(last.status).toBe(201);
    const { asset } = (await last.json()) as { asset: { id: string; sha256: string; size: number; kind: string; url: string } };
    expect(asset).toMatchObject({ sha256: sha256(file), size: file.length, kind: "PACK_FILE" });
    const downloaded = Buffer.from(await (await fetch(asset.url)).arrayBuffer());
    expect(sha256(downloaded)).toBe(sha256(file));
    expect(staged()).toEqual([]);
  });

  it("whose bytes are not the SHA-256 declared when it began is refused at its last byte, and nothing is stored or left staged", async () => {
    const file = pngOfSize(256 * 1024);
    const begun = await begin(alice, file, { kind: "AVATAR", sha256: sha256(pngOfSize(10)) });
    const location = begun.headers.get("location")!;
    const last = await patch(alice, location, 0, file);
    expect(last.status).toBe(460);
    expect(((await last.json()) as { errors: { extensions: { reason: string } }[] }).errors[0]!.extensions.reason).toBe("CHECKSUM_MISMATCH");
    const quota = await fetch(`${stack.graphqlUrl}`, { method: "POST", headers: { ...auth(alice), "content-type": "application/json" }, body: JSON.stringify({ query: "{ myAssets(first: 100) { assets { sha256 } } }" }) });
    const mine = ((await quota.json()) as { data: { myAssets: { assets: { sha256: string }[] } } }).data.myAssets.assets;
    expect(mine.map((a) => a.sha256)).not.toContain(sha256(file));
    expect(staged()).toEqual([]);
  });

  it("is refused before any byte is sent when it cannot be stored: no credential, bad metadata, a player's MEDIA, past the quota", async () => {
    const file = pngOfSize(1024);
    const cases = [
      { name: "no credential", response: await fetch(`${stack.gatewayUrl}/content/uploads`, { method: "POST", headers: { ...TUS, "upload-length": "1024", "upload-metadata": tusMetadata({ sha256: sha256(file) }) } }), status: 401 },
      { name: "no sha256", response: await begin(bob, file, { kind: "AVATAR" }), status: 400 },
      { name: "an unknown kind", response: await begin(bob, file, { kind: "PACK", sha256: sha256(file) }), status: 400 },
      { name: "a player's MEDIA", response: await begin(bob, file, { kind: "MEDIA", sha256: sha256(file) }), status: 403 },
      { name: "past the quota", response: await begin(bob, pngOfSize(QUOTA + 1), { kind: "AVATAR", sha256: "0".repeat(64) }), status: 413 },
    ];
    expect(cases.map(({ name, response }) => ({ name, status: response.status }))).toEqual(cases.map(({ name, status }) => ({ name, status })));
    expect(staged()).toEqual([]);
  });

  it("of bytes that are no accepted type is refused when whole, with the reason", async () => {
    const html = Buffer.from(`<html>${"x".repeat(2000)}</html>`);
    const begun = await begin(bob, html, { kind: "AVATAR", sha256: sha256(html) });
    const last = await patch(bob, begun.headers.get("location")!, 0, html);
    expect(last.status).toBe(415);
    expect(((await last.json()) as { errors: { extensions: { reason: string } }[] }).errors[0]!.extensions.reason).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(staged()).toEqual([]);
  });
});

describe("a download the client cuts short", () => {
  it("frees the gateway's connection to content: after more cut downloads than the gateway has connections, a download is answered whole", async () => {
    const file = pngOfSize(4 * 1024 * 1024);
    const uploaded = await fetch(`${stack.gatewayUrl}/content/assets`, { method: "POST", headers: auth(alice), body: file });
    expect(uploaded.status).toBe(201);
    const { asset } = (await uploaded.json()) as { asset: { url: string; sha256: string } };
    // Each reads the first bytes and hangs up, as a cancelled video or a switched page does.
    const cut = () =>
      new Promise<void>((resolve) => {
        const req = request(asset.url, (res) => res.once("data", () => { req.destroy(); resolve(); }));
        req.on("error", () => resolve());
        req.end();
      });
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 10 }, cut));
    const whole = await fetch(asset.url, { signal: AbortSignal.timeout(20_000) });
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(asset.sha256);
  });
});
