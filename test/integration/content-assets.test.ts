import { createHash, randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createRedis, signedIn, streamKey, Topics } from "@startales/service-kit";
import { encodePng } from "../../subgraphs/provider/src/offline/png";
import { gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The content subgraph on a whole stack, through the gateway's public origin: a player uploads
 * an avatar and fetches it back (ETag, 304, Range, HEAD), everything wrong with an upload is
 * refused before anything is stored, a retry with the same Idempotency-Key stores one asset,
 * a private asset is served only on its signed link, and a deleted asset's bytes go.
 */
jest.setTimeout(90_000);

const QUOTA = 200_000;
let stack: Stack;
let alice: TestUser;
let bob: TestUser;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "content-assets-test");

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn", contentEnv: { CONTENT_USER_QUOTA_BYTES: String(QUOTA), CONTENT_MAX_UPLOAD_BYTES: "150000" } });
  const tag = randomUUID().slice(0, 6);
  alice = await registerUser(stack.graphqlUrl, `Alice ${tag}`);
  bob = await registerUser(stack.graphqlUrl, `Bob ${tag}`);
});
afterAll(async () => {
  redis.disconnect();
  await stack?.stop();
});

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
/** A real PNG, different on every call. */
const picture = () => encodePng(4, 4, new Uint8Array(randomBytes(64)));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** `size` bytes that read as a PNG to content's sniffer. */
const pngOfSize = (size: number) => Buffer.concat([PNG_SIGNATURE, randomBytes(size - PNG_SIGNATURE.length)]);

type UploadedAsset = { id: string; sha256: string; size: number; mediaType: string; url: string; visibility: string; kind: string };

async function upload(body: Buffer, options: { token?: string; query?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${stack.gatewayUrl}/content/assets${options.query ?? ""}`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
    body,
  });
  const json = (await response.json()) as { asset?: UploadedAsset; errors?: { extensions: { code: string; reason?: string } }[] };
  return { status: response.status, location: response.headers.get("location"), ...json };
}

const myAssets = async (user: TestUser) =>
  expectData<{ myAssets: { assets: { id: string; sha256: string }[] } }>(await postGraphQL(stack.graphqlUrl, { query: "{ myAssets(first: 100) { assets { id sha256 } } }" }, { token: user.accessToken })).myAssets.assets;

const blobPath = (hash: string) => join(stack.contentDir, "blobs", hash.slice(0, 2), hash.slice(2, 4), hash);

describe("a player's avatar", () => {
  it("is uploaded through the gateway and served back from its URL on the public origin, byte for byte", async () => {
    const bytes = picture();
    const uploaded = await upload(bytes, { token: alice.accessToken, query: "?kind=AVATAR&name=me.png", headers: { "content-type": "image/png" } });
    expect(uploaded.status).toBe(201);
    const asset = uploaded.asset!;
    expect(asset).toMatchObject({ kind: "AVATAR", visibility: "PUBLIC", sha256: sha256(bytes), size: bytes.length, mediaType: "image/png" });
    expect(asset.url).toBe(`${stack.gatewayUrl}/content/${asset.sha256}`);
    expect(uploaded.location).toBe(asset.url);

    const fetched = await fetch(asset.url);
    expect(fetched.status).toBe(200);
    const body = Buffer.from(await fetched.arrayBuffer());
    expect(sha256(body)).toBe(asset.sha256);
    expect(fetched.headers.get("etag")).toBe(`"${asset.sha256}"`);
    expect(fetched.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(fetched.headers.get("content-type")).toBe("image/png");
    expect(fetched.headers.get("x-content-type-options")).toBe("nosniff");

    const listed = await myAssets(alice);
    expect(listed.map((a) => a.id)).toContain(asset.id);
  });

  it("answers If-None-Match with 304, a Range with 206, an unsatisfiable one with 416, and HEAD with no body", async () => {
    const bytes = pngOfSize(5_000);
    const { asset } = await upload(bytes, { token: alice.accessToken });
    const url = asset!.url;

    const again = await fetch(url, { headers: { "if-none-match": `"${asset!.sha256}"` } });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);

    const partial = await fetch(url, { headers: { range: "bytes=100-199" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await partial.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);

    const tail = await fetch(url, { headers: { range: "bytes=-10" } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);

    // If-Range with another validator: the whole blob, not the range.
    const changed = await fetch(url, { headers: { range: "bytes=0-9", "if-range": '"something-else"' } });
    expect(changed.status).toBe(200);
    expect((await changed.arrayBuffer()).byteLength).toBe(bytes.length);

    const beyond = await fetch(url, { headers: { range: `bytes=${bytes.length + 10}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe(`bytes */${bytes.length}`);

    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(bytes.length));
    expect(head.headers.get("accept-ranges")).toBe("bytes");
  });

  it("retried with the same Idempotency-Key is one asset", async () => {
    const bytes = picture();
    const key = randomUUID();
    const first = await upload(bytes, { token: alice.accessToken, headers: { "idempotency-key": key } });
    const second = await upload(bytes, { token: alice.accessToken, headers: { "idempotency-key": key } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.asset!.id).toBe(first.asset!.id);
    expect((await myAssets(alice)).filter((a) => a.sha256 === first.asset!.sha256)).toHaveLength(1);
  });
});

describe("an upload that is wrong", () => {
  const refusal = (result: Awaited<ReturnType<typeof upload>>) => ({ status: result.status, code: result.errors?.[0]?.extensions.code, reason: result.errors?.[0]?.extensions.reason });

  it("is refused with a clear status and code, and nothing is stored", async () => {
    const html = Buffer.from("<html><script>alert(1)</script></html>");
    const png = picture();
    const wrongDigest = createHash("sha256").update("other bytes").digest("base64");
    const cases = [
      { name: "no credential", result: await upload(png), expected: { status: 401, code: "UNAUTHENTICATED" } },
      { name: "a forged token", result: await upload(png, { token: "not-a-token" }), expected: { status: 401, code: "UNAUTHENTICATED" } },
      { name: "bytes that are no image", result: await upload(html, { token: bob.accessToken }), expected: { status: 415, code: "BAD_REQUEST", reason: "UNSUPPORTED_MEDIA_TYPE" } },
      { name: "a PNG declared as JPEG", result: await upload(png, { token: bob.accessToken, headers: { "content-type": "image/jpeg" } }), expected: { status: 415, code: "BAD_REQUEST", reason: "UNSUPPORTED_MEDIA_TYPE" } },
      { name: "a PNG declared as text", result: await upload(png, { token: bob.accessToken, headers: { "content-type": "text/plain" } }), expected: { status: 415, code: "BAD_REQUEST", reason: "UNSUPPORTED_MEDIA_TYPE" } },
      { name: "a digest that does not match", result: await upload(png, { token: bob.accessToken, headers: { "content-digest": `sha-256=:${wrongDigest}:` } }), expected: { status: 400, code: "BAD_REQUEST", reason: "CHECKSUM_MISMATCH" } },
      { name: "over the upload limit", result: await upload(pngOfSize(150_001), { token: bob.accessToken }), expected: { status: 413, code: "BAD_REQUEST", reason: "TOO_LARGE" } },
      { name: "an unknown kind", result: await upload(png, { token: bob.accessToken, query: "?kind=PACK" }), expected: { status: 400, code: "BAD_USER_INPUT" } },
      { name: "a name with a path in it", result: await upload(png, { token: bob.accessToken, query: "?name=../../etc/passwd" }), expected: { status: 400, code: "BAD_USER_INPUT" } },
      { name: "a player's MEDIA", result: await upload(png, { token: bob.accessToken, query: "?kind=MEDIA" }), expected: { status: 403, code: "FORBIDDEN" } },
      { name: "an empty body", result: await upload(Buffer.alloc(0), { token: bob.accessToken }), expected: { status: 400, code: "BAD_REQUEST", reason: "EMPTY" } },
    ];
    for (const { name, result, expected } of cases) expect({ name, ...refusal(result) }).toEqual({ name, reason: undefined, ...expected });
    expect(await myAssets(bob)).toEqual([]);
    expect(existsSync(blobPath(sha256(png)))).toBe(false);
    expect(existsSync(blobPath(sha256(html)))).toBe(false);
  });

  it("past the player's quota is refused, and the quota reports what is used", async () => {
    const carol = await registerUser(stack.graphqlUrl, `Carol ${randomUUID().slice(0, 6)}`);
    expect((await upload(pngOfSize(120_000), { token: carol.accessToken })).status).toBe(201);
    const over = await upload(pngOfSize(90_000), { token: carol.accessToken });
    expect({ status: over.status, reason: over.errors?.[0]?.extensions.reason }).toEqual({ status: 413, reason: "QUOTA_EXCEEDED" });
    const quota = expectData<{ myContentQuota: { usedBytes: number; limitBytes: number } }>(
      await postGraphQL(stack.graphqlUrl, { query: "{ myContentQuota { usedBytes limitBytes } }" }, { token: carol.accessToken }),
    );
    expect(quota.myContentQuota).toEqual({ usedBytes: 120_000, limitBytes: QUOTA });
  });
});

describe("a private asset", () => {
  it("is served only on the signed link its owner is given, and shown to no one else", async () => {
    const bytes = picture();
    const { asset } = await upload(bytes, { token: alice.accessToken, query: "?visibility=PRIVATE" });
    const bare = `${stack.gatewayUrl}/content/${asset!.sha256}`;
    expect(asset!.url.startsWith(`${bare}?expires=`)).toBe(true);

    const signed = await fetch(asset!.url);
    expect(signed.status).toBe(200);
    expect(signed.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
    expect(sha256(Buffer.from(await signed.arrayBuffer()))).toBe(asset!.sha256);

    expect((await fetch(bare)).status).toBe(404);
    const forged = asset!.url.replace(/signature=[^&]+/, `signature=${randomBytes(32).toString("base64url")}`);
    expect((await fetch(forged)).status).toBe(403);

    const query = "query($id: ID!) { asset(id: $id) { id url } }";
    const forOwner = expectData<{ asset: { url: string } | null }>(await postGraphQL(stack.graphqlUrl, { query, variables: { id: asset!.id } }, { token: alice.accessToken }));
    expect((await fetch(forOwner.asset!.url)).status).toBe(200);
    const forBob = expectData<{ asset: unknown }>(await postGraphQL(stack.graphqlUrl, { query, variables: { id: asset!.id } }, { token: bob.accessToken }));
    expect(forBob.asset).toBeNull();
  });
});

describe("deleting an asset", () => {
  it("is its owner's: another player is told it does not exist; once deleted its bytes are gone, and both changes are events", async () => {
    const bytes = picture();
    const { asset } = await upload(bytes, { token: alice.accessToken });
    const remove = "mutation($id: ID!) { deleteAsset(id: $id) { id sha256 } }";
    expect(errorCodes(await postGraphQL(stack.graphqlUrl, { query: remove, variables: { id: asset!.id } }, { token: bob.accessToken }))).toEqual(["NOT_FOUND"]);
    expect((await fetch(asset!.url)).status).toBe(200);

    const deleted = expectData<{ deleteAsset: { id: string } }>(await postGraphQL(stack.graphqlUrl, { query: remove, variables: { id: asset!.id } }, { token: alice.accessToken }));
    expect(deleted.deleteAsset.id).toBe(asset!.id);
    expect((await fetch(asset!.url)).status).toBe(404);
    expect(existsSync(blobPath(asset!.sha256))).toBe(false);

    const types = await eventually("both events of the asset on its stream", async () => {
      const entries = await redis.xrange(streamKey(Topics.assets), "-", "+");
      const mine = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf("envelope") + 1]!) as { aggregateId: string; type: string }).filter((e) => e.aggregateId === asset!.id);
      return mine.length === 2 ? mine.map((e) => e.type) : undefined;
    }, 15_000);
    expect(types).toEqual(["ASSET_UPLOADED", "ASSET_DELETED"]);
  });

  it("keeps the bytes while another asset has them", async () => {
    const bytes = picture();
    const first = await upload(bytes, { token: alice.accessToken });
    const second = await upload(bytes, { token: bob.accessToken });
    expect(second.asset!.sha256).toBe(first.asset!.sha256);
    expectData(await postGraphQL(stack.graphqlUrl, { query: "mutation($id: ID!) { deleteAsset(id: $id) { id } }", variables: { id: first.asset!.id } }, { token: alice.accessToken }));
    const still = await fetch(second.asset!.url);
    expect(still.status).toBe(200);
    expect(sha256(Buffer.from(await still.arrayBuffer()))).toBe(first.asset!.sha256);
  });
});

describe("a service's media", () => {
  it("belongs to no one and is uploaded with the service's signed identity", async () => {
    const wav = Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from("WAVEfmt "), randomBytes(64)]);
    const response = await fetch(`${stack.contentUrl}/content/assets?kind=MEDIA`, {
      method: "POST",
      headers: { ...(await gatewayHeaders(signedIn(randomUUID(), ["SERVICE"]))), "content-type": "audio/wav" },
      body: wav,
    });
    expect(response.status).toBe(201);
    const { asset } = (await response.json()) as { asset: UploadedAsset & { id: string } };
    expect(asset).toMatchObject({ kind: "MEDIA", mediaType: "audio/wav" });
    const found = expectData<{ asset: { owner: unknown; mediaType: string } | null }>(
      await postGraphQL(stack.graphqlUrl, { query: "query($id: ID!) { asset(id: $id) { owner { id } mediaType } }", variables: { id: asset.id } }, { token: bob.accessToken }),
    );
    expect(found.asset).toEqual({ owner: null, mediaType: "audio/wav" });
  });
});
