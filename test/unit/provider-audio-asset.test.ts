import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GraphQLError } from "graphql";
import type { Logger } from "@startales/service-kit";
import { audioFromAsset } from "../../subgraphs/provider/src/domain/audio-asset";
import { createContentReader, type ContentReader } from "../../subgraphs/provider/src/domain/content-reader";
import { transcribeAudioInput } from "../../subgraphs/provider/src/domain/input";

/**
 * Where transcribeAudio's audio comes from: the request itself (audioBase64 and contentType) or
 * a recording the caller may read in content (audioAssetId), exactly one of the two; and how
 * the recording is read from content, against a content of our own on loopback.
 */

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const quiet = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;

function issuesOf(value: unknown) {
  const result = transcribeAudioInput.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be refused`);
  return result.error.issues.map((issue) => ({ field: issue.path.join("."), message: issue.message }));
}

describe("transcribeAudioInput", () => {
  const key = { idempotencyKey: "k1" };
  const assetId = randomUUID();

  it("takes the audio inline, with its type", () => {
    expect(transcribeAudioInput.parse({ ...key, audioBase64: "UklGRg==", contentType: "audio/wav", language: "en" })).toMatchObject({
      idempotencyKey: "k1",
      language: "en",
      audio: { from: "request", base64: "UklGRg==", contentType: "audio/wav" },
    });
  });

  it("or from an asset in content, by id; GraphQL's nulls count as not given", () => {
    expect(transcribeAudioInput.parse({ ...key, audioAssetId: assetId, audioBase64: null, contentType: null })).toMatchObject({ audio: { from: "asset", assetId } });
  });

  it.each([
    ["neither", {}, [{ field: "audioBase64", message: "or audioAssetId is required" }]],
    ["neither (nulls)", { audioBase64: null, audioAssetId: null }, [{ field: "audioBase64", message: "or audioAssetId is required" }]],
    ["both", { audioBase64: "UklGRg==", contentType: "audio/wav", audioAssetId: assetId }, [{ field: "audioAssetId", message: "must not be given with audioBase64" }]],
    ["inline audio without its type", { audioBase64: "UklGRg==" }, [{ field: "contentType", message: "is required with audioBase64" }]],
    ["a type for an asset (content knows its type)", { audioAssetId: assetId, contentType: "audio/wav" }, [{ field: "contentType", message: "must not be given with audioAssetId: the asset's own type is used" }]],
    ["an asset id that is no ID", { audioAssetId: "voice-1" }, [{ field: "audioAssetId", message: "must be a valid ID" }]],
    ["inline audio that is not base64", { audioBase64: "not base64!", contentType: "audio/wav" }, [{ field: "audioBase64", message: "must be base64" }]],
  ])("refuses %s, naming the field", (_name, audio, issues) => {
    expect(issuesOf({ ...key, ...audio })).toEqual(issues);
  });
});

type Served = { status?: number; headers?: Record<string, string>; body?: Buffer | string; chunks?: Buffer[] };

/** A content subgraph on loopback: GraphQL answers and blobs as the test sets them; it records what it was asked. */
async function fakeContent(answer: { graphql: (body: { query: string; variables: Record<string, unknown> }, req: IncomingMessage) => Served; blob: (url: URL) => Served }) {
  const asked: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
  const respond = (res: ServerResponse, served: Served) => {
    res.writeHead(served.status ?? 200, served.headers ?? {});
    // Chunked, with no Content-Length; the reader hangs up once it has had enough.
    for (const chunk of served.chunks ?? []) res.write(chunk);
    res.end(served.body);
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => {
      const body = Buffer.concat(parts).toString("utf8");
      asked.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const url = new URL(req.url ?? "/", "http://content");
      const served = url.pathname === "/graphql" ? answer.graphql(JSON.parse(body) as { query: string; variables: Record<string, unknown> }, req) : answer.blob(url);
      respond(res, served);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, asked, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const json = (value: unknown): Served => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(value) });
const caller = { identity: "signed-identity-of-the-caller", requestId: "request-1" };

describe("a recording read from content as the caller", () => {
  const wav = Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(2_000, 7)]);
  const sha = sha256(wav);
  const id = randomUUID();
  const asset = (extra: Record<string, unknown> = {}) => ({ kind: "VOICE", mediaType: "audio/wav", size: wav.length, sha256: sha, url: `https://api.startales.example/content/${sha}?expires=4102444800&signature=c2lnbmVk`, ...extra });
  let content: Awaited<ReturnType<typeof fakeContent>> | undefined;
  afterEach(async () => {
    await content?.stop();
    content = undefined;
  });
  const readerFor = async (answer: Parameters<typeof fakeContent>[0]): Promise<ContentReader> => {
    content = await fakeContent(answer);
    return createContentReader({ url: content.origin, timeoutMs: 2_000, logger: quiet });
  };
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => null, (e: unknown) => e);
    if (!(error instanceof GraphQLError)) throw new Error(`expected a GraphQL error, got ${String(error)}`);
    return { code: error.extensions.code, message: error.message, fields: error.extensions.fields };
  };

  it("asks content's GraphQL with the caller's identity, then fetches the bytes from content's own port with the URL's signed query", async () => {
    const reader = await readerFor({ graphql: () => json({ data: { asset: asset() } }), blob: () => ({ body: wav, headers: { "content-type": "audio/wav" } }) });
    await expect(audioFromAsset(reader, caller, id, 700_000)).resolves.toEqual({ bytes: wav, contentType: "audio/wav" });
    const [query, blob] = content!.asked;
    expect(query).toMatchObject({ method: "POST", url: "/graphql", headers: { "x-startales-identity": caller.identity, "x-request-id": caller.requestId } });
    expect(JSON.parse(query!.body)).toMatchObject({ variables: { id } });
    // The host of the signed URL is the gateway's; content signs only the hash and the expiry.
    expect(blob).toMatchObject({ method: "GET", url: `/content/${sha}?expires=4102444800&signature=c2lnbmVk` });
  });

  it("takes audio MEDIA too (what admins and services upload)", async () => {
    const reader = await readerFor({ graphql: () => json({ data: { asset: asset({ kind: "MEDIA", mediaType: "audio/ogg" }) } }), blob: () => ({ body: wav }) });
    await expect(audioFromAsset(reader, caller, id, 700_000)).resolves.toEqual({ bytes: wav, contentType: "audio/ogg" });
  });

  it("is NOT_FOUND when content shows the caller no such asset (someone else's private recording, or none)", async () => {
    const reader = await readerFor({ graphql: () => json({ data: { asset: null } }), blob: () => ({ status: 500 }) });
    expect(await refusal(audioFromAsset(reader, caller, id, 700_000))).toEqual({ code: "NOT_FOUND", message: "No such audio asset", fields: undefined });
    expect(content!.asked).toHaveLength(1);
  });

  it.each([
    ["an image", asset({ kind: "AVATAR", mediaType: "image/png" }), "audioAssetId is not audio (an AVATAR asset of image/png)"],
    ["audio of a kind that is not a recording", asset({ kind: "PACK_FILE", mediaType: "audio/wav" }), "audioAssetId is not audio (a PACK_FILE asset of audio/wav)"],
    ["a recording over the limit", asset({ size: 700_001 }), "audioAssetId must be at most 700000 bytes"],
  ])("refuses %s before reading a byte of it", async (_name, found, message) => {
    const reader = await readerFor({ graphql: () => json({ data: { asset: found } }), blob: () => ({ body: wav }) });
    expect(await refusal(audioFromAsset(reader, caller, id, 700_000))).toEqual({ code: "BAD_USER_INPUT", message, fields: [{ field: "audioAssetId", message: expect.any(String) }] });
    expect(content!.asked).toHaveLength(1);
  });

  it("stops reading bytes past the limit, even when content said the asset was smaller", async () => {
    const reader = await readerFor({
      graphql: () => json({ data: { asset: asset({ size: 1_000 }) } }),
      // No Content-Length: only counting what arrives can tell.
      blob: () => ({ chunks: Array.from({ length: 64 }, () => Buffer.alloc(16_384, 1)) }),
    });
    expect(await refusal(audioFromAsset(reader, caller, id, 5_000))).toMatchObject({ code: "BAD_USER_INPUT", message: "audioAssetId must be at most 5000 bytes" });
  });

  it("is SERVICE_UNAVAILABLE, never a 500, when content is down, failing or serving other bytes", async () => {
    const down = createContentReader({ url: "http://127.0.0.1:9", timeoutMs: 2_000, logger: quiet });
    expect(await refusal(audioFromAsset(down, caller, id, 700_000))).toMatchObject({ code: "SERVICE_UNAVAILABLE" });

    let reader = await readerFor({ graphql: () => ({ status: 503, body: "" }), blob: () => ({ body: wav }) });
    expect(await refusal(audioFromAsset(reader, caller, id, 700_000))).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    await content!.stop();

    reader = await readerFor({ graphql: () => json({ data: null, errors: [{ message: "db down", extensions: { code: "SERVICE_UNAVAILABLE" } }] }), blob: () => ({ body: wav }) });
    expect(await refusal(audioFromAsset(reader, caller, id, 700_000))).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    await content!.stop();

    reader = await readerFor({ graphql: () => json({ data: { asset: asset() } }), blob: () => ({ status: 502, body: "" }) });
    expect(await refusal(audioFromAsset(reader, caller, id, 700_000))).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    await content!.stop();

    reader = await readerFor({ graphql: () => json({ data: { asset: asset() } }), blob: () => ({ body: Buffer.from("RIFF and something else") }) });
    expect(await refusal(audioFromAsset(reader, caller, id, 700_000))).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
  });

  it("is NOT_FOUND when the bytes went between the question and the download (the asset was deleted)", async () => {
    const reader = await readerFor({ graphql: () => json({ data: { asset: asset() } }), blob: () => ({ status: 404, body: "{}" }) });
    expect(await refusal(audioFromAsset(reader, caller, id, 700_000))).toMatchObject({ code: "NOT_FOUND", message: "No such audio asset" });
  });

  it("needs the caller's forwarded identity: content decides what they may read", async () => {
    const reader = await readerFor({ graphql: () => json({ data: { asset: asset() } }), blob: () => ({ body: wav }) });
    expect(await refusal(audioFromAsset(reader, { requestId: "r" }, id, 700_000))).toMatchObject({ code: "UNAUTHENTICATED" });
    expect(content!.asked).toHaveLength(0);
  });
});
