import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createRedis, streamKey, Topics } from "@startales/service-kit";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { resumableUpload } from "../testkit/resumable-upload";
import { startS3rver, type TestS3 } from "../testkit/s3rver";
import { startStack, type Stack } from "../testkit/stack";
import { subscribe, untilSubscribed, activeSubscriptions, wsClient } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";
import { zipOf } from "../testkit/zip";

/**
 * Content packs on a whole stack, as the story goes: a modder uploads version 1.0.0 of
 * a pack as one zip through a resumable upload cut midway and resumed, unpacks it into a draft
 * and publishes it; the campaign's game master enables it; a player subscribed to the
 * campaign's content learns of it, downloads the manifest and every file (one by Range),
 * verifies each against its hash and gets 304 on a second pass; version 1.1.0, another zip,
 * changes, adds and removes files, and its diff lists exactly those. An NPC portrait the
 * provider generates is served on the gateway's origin from the same storage.
 */

let stack: Stack;
let modder: TestUser;
let gameMaster: TestUser;
let player: TestUser;
let outsider: TestUser;
let url: string;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "content-packs-test");

/** The same story on each storage driver (content-packs.test.ts, content-packs-s3.test.ts): S3 on a real S3 server (s3rver). */
export function describeContentPacks(driver: "filesystem" | "s3"): void {
  let s3: TestS3 | undefined;

  beforeAll(async () => {
    s3 = driver === "s3" ? await startS3rver() : undefined;
    // On S3 a private asset's link redirects to the bucket (S3_PRESIGNED_DOWNLOADS).
    stack = await startStack({ logLevel: "warn", contentEnv: s3 ? { ...s3.contentEnv, S3_PRESIGNED_DOWNLOADS: "true" } : {} });
    url = stack.graphqlUrl;
    const tag = randomUUID().slice(0, 6);
    modder = await registerUser(url, `Modder ${tag}`);
    gameMaster = await registerUser(url, `Keeper ${tag}`);
    player = await registerUser(url, `Player ${tag}`);
    outsider = await registerUser(url, `Outsider ${tag}`);
  });
  afterAll(async () => {
    redis.disconnect();
    await stack?.stop();
    await s3?.close();
  });

  const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
  const gql = async <T>(user: TestUser, query: string, variables: Record<string, unknown> = {}) => expectData<T>(await postGraphQL<T>(url, { query, variables }, { token: user.accessToken }));
  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const file = {
    png: (size = 3_000) => Buffer.concat([PNG, randomBytes(size - PNG.length)]),
    json: (value: unknown) => Buffer.from(JSON.stringify(value)),
  };

  async function uploadPackFile(bytes: Buffer): Promise<string> {
    const response = await fetch(`${stack.gatewayUrl}/content/assets?kind=PACK_FILE`, { method: "POST", headers: { authorization: `Bearer ${modder.accessToken}` }, body: bytes });
    expect(response.status).toBe(201);
    return ((await response.json()) as { asset: { id: string } }).asset.id;
  }

  type Manifest = { id: string; version: string; status: string; manifestSha256: string; files: { path: string; sha256: string; size: number; url: string }[] };
  const VERSION_FIELDS = "id version status manifestSha256 files { path sha256 size url }";

  async function versionWith(pack: string, version: string, files: Record<string, Buffer>, dependencies: { pack: string; range: string }[] = []): Promise<Manifest> {
    const created = await gql<{ createPackVersion: { id: string } }>(modder, "mutation($i: CreatePackVersionInput!) { createPackVersion(input: $i) { id } }", { i: { pack, version, dependencies } });
    const versionId = created.createPackVersion.id;
    for (const [path, bytes] of Object.entries(files)) {
      await gql(modder, "mutation($v: ID!, $p: String!, $a: ID!) { setPackFile(versionId: $v, path: $p, assetId: $a) { id } }", { v: versionId, p: path, a: await uploadPackFile(bytes) });
    }
    return (await gql<{ publishPackVersion: Manifest }>(modder, `mutation($v: ID!) { publishPackVersion(versionId: $v) { ${VERSION_FIELDS} } }`, { v: versionId })).publishPackVersion;
  }

  /** A version unpacked from a zip uploaded in one request; `expected`: what the import says of it. */
  async function versionFromArchive(pack: string, version: string, zip: Buffer, expected: { newBlobs: number }): Promise<Manifest> {
    const uploaded = await fetch(`${stack.gatewayUrl}/content/assets?kind=PACK_ARCHIVE`, { method: "POST", headers: { authorization: `Bearer ${modder.accessToken}` }, body: zip });
    expect(uploaded.status).toBe(201);
    const archiveId = ((await uploaded.json()) as { asset: { id: string } }).asset.id;
    const created = await gql<{ createPackVersion: { id: string } }>(modder, "mutation($i: CreatePackVersionInput!) { createPackVersion(input: $i) { id } }", { i: { pack, version } });
    const imported = await gql<{ importPackArchive: { newBlobs: number } }>(modder, "mutation($v: ID!, $a: ID!) { importPackArchive(versionId: $v, assetId: $a) { newBlobs } }", { v: created.createPackVersion.id, a: archiveId });
    expect(imported.importPackArchive).toEqual(expected);
    return (await gql<{ publishPackVersion: Manifest }>(modder, `mutation($v: ID!) { publishPackVersion(versionId: $v) { ${VERSION_FIELDS} } }`, { v: created.createPackVersion.id })).publishPackVersion;
  }

  async function campaignWithPlayer(): Promise<string> {
    const { createCampaign } = await gql<{ createCampaign: { id: string } }>(gameMaster, 'mutation { createCampaign(input: { name: "Modded" }) { id } }');
    await gql(player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: createCampaign.id });
    return createCampaign.id;
  }

  describe(`a content pack (${driver} storage)`, () => {
    it("is uploaded as a zip (cut and resumed), published, enabled for a campaign, downloaded and verified by a player, and updated by a diff", async () => {
      const name = `fleet-${randomUUID().slice(0, 8)}`;
      await gql(modder, "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", { i: { name, title: "Fleet of the Northern Star" } });
      const v1Files = { "ships/corvette.png": file.png(3 * 1024 * 1024), "ships/frigate.png": file.png(), "lang/en.json": file.json({ corvette: "Corvette" }), "lang/fr.json": file.json({ corvette: "Corvette" }) };
      const zip = await zipOf([{ name: "ships/" }, ...Object.entries(v1Files).map(([path, bytes]) => ({ name: path, bytes })), { name: "__MACOSX/ships/._corvette.png", bytes: randomBytes(64) }]);

      // The zip in 1 MiB parts, the connection cut 40 % of the way: the client asks where to resume and sends the rest.
      const upload = await resumableUpload(stack.gatewayUrl, { authorization: `Bearer ${modder.accessToken}` }, zip, { partBytes: 1024 * 1024, cutAt: Math.floor(zip.length * 0.4), kind: "PACK_ARCHIVE" });
      expect(upload.status).toBe(201);
      expect(upload.resumedAt).toBeGreaterThan(0);
      expect(upload.resumedAt).toBeLessThan(zip.length);
      const archive = (JSON.parse(upload.body) as { asset: { id: string; sha256: string; mediaType: string; visibility: string } }).asset;
      expect(archive).toMatchObject({ sha256: sha256(zip), mediaType: "application/zip", visibility: "PRIVATE" });

      const { createPackVersion: draft } = await gql<{ createPackVersion: { id: string } }>(modder, "mutation($i: CreatePackVersionInput!) { createPackVersion(input: $i) { id } }", { i: { pack: name, version: "1.0.0" } });
      const imported = await gql<{ importPackArchive: { files: number; bytes: number; newBlobs: number; skipped: string[] } }>(
        modder,
        "mutation($v: ID!, $a: ID!) { importPackArchive(versionId: $v, assetId: $a) { files bytes newBlobs skipped version { id } } }",
        { v: draft.id, a: archive.id },
      );
      const unpacked = Object.values(v1Files).reduce((sum, bytes) => sum + bytes.length, 0);
      // lang/en.json and lang/fr.json hold the same bytes: one blob.
      expect(imported.importPackArchive).toMatchObject({ files: 4, bytes: unpacked, newBlobs: 3, skipped: ["__MACOSX/ships/._corvette.png"] });
      // The archive was consumed: its files are the draft's now.
      expect(await gql(modder, "query($id: ID!) { asset(id: $id) { id } }", { id: archive.id })).toEqual({ asset: null });
      const v1 = (await gql<{ publishPackVersion: Manifest }>(modder, `mutation($v: ID!) { publishPackVersion(versionId: $v) { ${VERSION_FIELDS} } }`, { v: draft.id })).publishPackVersion;
      expect(v1.status).toBe("PUBLISHED");
      expect(v1.files.map((f) => [f.path, f.sha256, f.size])).toEqual(Object.entries(v1Files).sort(([x], [y]) => (x < y ? -1 : 1)).map(([path, bytes]) => [path, sha256(bytes), bytes.length]));

      const campaignId = await campaignWithPlayer();
      const client = wsClient(url, { token: player.accessToken });
      const before = await activeSubscriptions(stack.gatewayUrl);
      const changes = subscribe<{ campaignContentChanged: { packs: { version: string }[] } }>(client, "subscription($c: ID!) { campaignContentChanged(campaignId: $c) { packs { version pack { name } } } }", { c: campaignId });
      try {
        await untilSubscribed(stack.gatewayUrl, before, { unless: () => changes.error !== null });
        const enabled = await gql<{ enableContentPack: { packs: { id: string }[] } }>(gameMaster, "mutation($c: ID!, $p: String!) { enableContentPack(campaignId: $c, pack: $p, version: \"1.0.0\") { packs { id } } }", { c: campaignId, p: name });
        expect(enabled.enableContentPack.packs.map((p) => p.id)).toEqual([v1.id]);
        await changes.waitFor(1, 15_000);
        expect(changes.results[0]!.data!.campaignContentChanged.packs.map((p) => p.version)).toEqual(["1.0.0"]);

        // The player reads the campaign's packs through the campaign itself (federation), and fetches every byte.
        const { campaign } = await gql<{ campaign: { contentPacks: Manifest[] } }>(player, `query($c: ID!) { campaign(id: $c) { contentPacks { ${VERSION_FIELDS} } } }`, { c: campaignId });
        const manifest = campaign.contentPacks[0]!;
        expect(manifest.manifestSha256).toBe(sha256(Buffer.from(manifest.files.map((f) => `${f.path} ${f.sha256} ${f.size}\n`).join(""))));
        for (const entry of manifest.files) {
          expect(new URL(entry.url).origin).toBe(stack.gatewayUrl);
          const body = Buffer.from(await (await fetch(entry.url)).arrayBuffer());
          expect({ path: entry.path, sha256: sha256(body) }).toEqual({ path: entry.path, sha256: entry.sha256 });
          const again = await fetch(entry.url, { headers: { "if-none-match": `"${entry.sha256}"` } });
          expect({ path: entry.path, status: again.status }).toEqual({ path: entry.path, status: 304 });
        }
        // One file in two halves by Range, as a resuming client fetches it.
        const big = manifest.files.find((f) => f.path === "ships/corvette.png")!;
        const half = Math.floor(big.size / 2);
        const first = await fetch(big.url, { headers: { range: `bytes=0-${half - 1}` } });
        const rest = await fetch(big.url, { headers: { range: `bytes=${half}-` } });
        expect([first.status, rest.status]).toEqual([206, 206]);
        expect(sha256(Buffer.concat([Buffer.from(await first.arrayBuffer()), Buffer.from(await rest.arrayBuffer())]))).toBe(big.sha256);

        // 1.1.0, another zip (small: one request): one file changed, one added, one removed, the rest the same.
        const { "lang/fr.json": _removed, ...kept } = v1Files;
        const v2 = await versionFromArchive(name, "1.1.0", await zipOf({ ...kept, "ships/frigate.png": file.png(), "ships/carrier.png": file.png() }), { newBlobs: 2 });
        const { contentPackDiff: diff } = await gql<{ contentPackDiff: { added: { path: string }[]; changed: { path: string; sha256: string }[]; removed: string[]; unchanged: number } }>(
          player,
          "query($p: String!) { contentPackDiff(pack: $p, from: \"1.0.0\", to: \"1.1.0\") { added { path } changed { path sha256 } removed unchanged } }",
          { p: name },
        );
        expect(diff).toEqual({
          added: [{ path: "ships/carrier.png" }],
          changed: [{ path: "ships/frigate.png", sha256: v2.files.find((f) => f.path === "ships/frigate.png")!.sha256 }],
          removed: ["lang/fr.json"],
          unchanged: 2,
        });
        await gql(gameMaster, "mutation($c: ID!, $p: String!) { enableContentPack(campaignId: $c, pack: $p, version: \"1.1.0\") { packs { id } } }", { c: campaignId, p: name });
        await changes.waitFor(2, 15_000);
        expect(changes.results[1]!.data!.campaignContentChanged.packs.map((p) => p.version)).toEqual(["1.1.0"]);
      } finally {
        changes.stop();
        await client.dispose();
      }
      const published = await eventually("both publications on the packs stream", async () => {
        const entries = await redis.xrange(streamKey(Topics.packs), "-", "+");
        const mine = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf("envelope") + 1]!) as { type: string; data: { name: string; version: string } }).filter((e) => e.data.name === name);
        return mine.length === 2 ? mine.map((e) => `${e.type} ${e.data.version}`) : undefined;
      }, 15_000);
      expect(published).toEqual(["PACK_VERSION_PUBLISHED 1.0.0", "PACK_VERSION_PUBLISHED 1.1.0"]);
    });

    it(`serves a private asset only on its signed link${driver === "s3" ? ", its bytes from the bucket on a presigned URL" : ""}`, async () => {
      const wav = Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from("WAVEfmt "), randomBytes(3_000)]);
      const uploaded = await fetch(`${stack.gatewayUrl}/content/assets?kind=VOICE`, { method: "POST", headers: { authorization: `Bearer ${player.accessToken}` }, body: wav });
      expect(uploaded.status).toBe(201);
      const asset = ((await uploaded.json()) as { asset: { sha256: string; url: string; visibility: string; mediaType: string } }).asset;
      expect(asset).toMatchObject({ sha256: sha256(wav), visibility: "PRIVATE", mediaType: "audio/wav" });
      const link = new URL(asset.url);
      expect(link.origin).toBe(stack.gatewayUrl);
      // Unsigned, it is as unknown as no asset; forged, refused.
      expect((await fetch(`${stack.gatewayUrl}/content/${asset.sha256}`)).status).toBe(404);
      const forged = new URL(link);
      forged.searchParams.set("signature", "A".repeat(43));
      expect((await fetch(forged)).status).toBe(403);

      const answer = await fetch(link, { redirect: "manual" });
      if (driver === "s3") {
        expect(answer.status).toBe(302);
        const location = new URL(answer.headers.get("location")!);
        expect(location.origin).toBe(new URL(s3!.connection.endpoint).origin);
        const fromBucket = await fetch(location);
        expect([fromBucket.status, fromBucket.headers.get("content-type")]).toEqual([200, "audio/wav"]);
        expect(sha256(Buffer.from(await fromBucket.arrayBuffer()))).toBe(asset.sha256);
        // Signed (SigV4; S3 checks it, s3rver does not) for as long as the link has left, at most CONTENT_SIGNED_URL_TTL_SECONDS.
        expect(location.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
        expect(Number(location.searchParams.get("X-Amz-Expires"))).toBeGreaterThan(800);
        expect(Number(location.searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(900);
      } else {
        expect(answer.status).toBe(200);
        expect(sha256(Buffer.from(await answer.arrayBuffer()))).toBe(asset.sha256);
      }
      // A range of it, following the redirect where there is one.
      const ranged = await fetch(link, { headers: { range: "bytes=0-99" } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(wav.subarray(0, 100))).toBe(true);
    });

    it("stores an NPC portrait the provider generates, served on the gateway's public origin", async () => {
      const made = await gql<{ generateImage: { id: string } }>(player, "mutation($i: GenerateImageInput!) { generateImage(input: $i) { id } }", { i: { idempotencyKey: randomUUID(), subject: "PORTRAIT", prompt: `Envoy ${randomUUID()}`, size: 64 } });
      const done = await eventually("the portrait's job finished", async () => {
        const { job } = await gql<{ job: { status: string; contentUrl: string | null } }>(player, "query($id: ID!) { job(id: $id) { status contentUrl } }", { id: made.generateImage.id });
        return job.status === "SUCCEEDED" || job.status === "FAILED" ? job : undefined;
      }, 60_000);
      expect(done.status).toBe("SUCCEEDED");
      const [, sha] = /^(?:.*)\/content\/([0-9a-f]{64})$/.exec(done.contentUrl!) ?? [];
      expect(done.contentUrl).toBe(`${stack.gatewayUrl}/content/${sha}`);
      const served = await fetch(done.contentUrl!);
      expect([served.status, served.headers.get("content-type")]).toEqual([200, "image/png"]);
      expect(sha256(Buffer.from(await served.arrayBuffer()))).toBe(sha);
      expect((await fetch(done.contentUrl!, { headers: { "if-none-match": `"${sha}"` } })).status).toBe(304);
    });

    it("is refused whole from a zip that is hostile or holds what a pack may not, and a draft is merged from another", async () => {
      const name = `merge-${randomUUID().slice(0, 8)}`;
      await gql(modder, "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", { i: { name, title: "Merged" } });
      const { createPackVersion: draft } = await gql<{ createPackVersion: { id: string } }>(modder, "mutation($i: CreatePackVersionInput!) { createPackVersion(input: $i) { id } }", { i: { pack: name, version: "1.0.0" } });
      await gql(modder, "mutation($v: ID!, $a: ID!) { setPackFile(versionId: $v, path: \"rules.json\", assetId: $a) { id } }", { v: draft.id, a: await uploadPackFile(file.json({ rule: 1 })) });
      const uploadArchive = async (zip: Buffer) => {
        const uploaded = await fetch(`${stack.gatewayUrl}/content/assets?kind=PACK_ARCHIVE`, { method: "POST", headers: { authorization: `Bearer ${modder.accessToken}` }, body: zip });
        expect(uploaded.status).toBe(201);
        return ((await uploaded.json()) as { asset: { id: string } }).asset.id;
      };
      const importing = (user: TestUser, assetId: string, mode = "REPLACE") =>
        postGraphQL<{ importPackArchive: { files: number } }>(url, { query: "mutation($v: ID!, $a: ID!, $m: PackArchiveMode) { importPackArchive(versionId: $v, assetId: $a, mode: $m) { files version { files { path } } } }", variables: { v: draft.id, a: assetId, m: mode } }, { token: user.accessToken });
      const paths = async () => (await gql<{ contentPack: { versions: { files: { path: string }[] }[] } }>(modder, "query($n: String!) { contentPack(name: $n) { versions { files { path } } } }", { n: name })).contentPack.versions[0]!.files.map((f) => f.path);

      // A page of HTML and a link, beside a good file: every problem is named, and nothing of the archive is set.
      const hostile = await uploadArchive(await zipOf([{ name: "ok.json", bytes: file.json({ ok: true }) }, { name: "index.json", bytes: Buffer.from("<html><script>alert(1)</script>") }, { name: "link.json", bytes: Buffer.from("/etc/passwd"), mode: 0o120777 }]));
      const refused = await importing(modder, hostile);
      expect(errorCodes(refused)).toEqual(["BAD_USER_INPUT"]);
      expect((refused.errors![0]!.extensions as { fields: { field: string }[] }).fields.map((f) => f.field)).toEqual(["link.json"]);
      const typed = await uploadArchive(await zipOf([{ name: "ok.json", bytes: file.json({ ok: true }) }, { name: "index.json", bytes: Buffer.from("<html><script>alert(1)</script>") }]));
      const wrongType = await importing(modder, typed);
      expect((wrongType.errors![0]!.extensions as { fields: { field: string; message: string }[] }).fields).toEqual([{ field: "index.json", message: expect.stringContaining("of no accepted type") }]);
      expect(await paths()).toEqual(["rules.json"]);
      // A refused archive is kept, for the modder to see what they sent; nobody else's archive is theirs to import.
      expect(await gql(modder, "query($id: ID!) { asset(id: $id) { kind } }", { id: typed })).toEqual({ asset: { kind: "PACK_ARCHIVE" } });
      const good = await uploadArchive(await zipOf({ "ships/corvette.png": file.png() }));
      expect(errorCodes(await importing(outsider, good))).toEqual(["NOT_FOUND"]);

      // MERGE keeps what only the draft has.
      expect(expectData(await importing(modder, good, "MERGE")).importPackArchive.files).toBe(1);
      expect(await paths()).toEqual(["rules.json", "ships/corvette.png"]);
    });

    it("is frozen once published, checks its paths and dependencies, and is enabled only by the campaign's game master", async () => {
      const name = `rules-${randomUUID().slice(0, 8)}`;
      const base = `base-${randomUUID().slice(0, 8)}`;
      await gql(modder, "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", { i: { name, title: "Rules" } });
      await gql(modder, "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", { i: { name: base, title: "Base" } });
      expect(errorCodes(await postGraphQL(url, { query: "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", variables: { i: { name, title: "Again" } } }, { token: outsider.accessToken }))).toEqual(["CONFLICT"]);

      const { createPackVersion: draft } = await gql<{ createPackVersion: { id: string } }>(modder, "mutation($i: CreatePackVersionInput!) { createPackVersion(input: $i) { id } }", {
        i: { pack: name, version: "1.0.0", dependencies: [{ pack: base, range: "^2.0.0" }] },
      });
      const asset = await uploadPackFile(file.json({ rule: 1 }));
      const setFile = (user: TestUser, path: string) =>
        postGraphQL(url, { query: "mutation($v: ID!, $p: String!, $a: ID!) { setPackFile(versionId: $v, path: $p, assetId: $a) { id } }", variables: { v: draft.id, p: path, a: asset } }, { token: user.accessToken });
      for (const path of ["../escape.json", "/abs.json", "a/./b.json", "a\\b.json", ".hidden", "a//b.json", ""]) expect({ path, codes: errorCodes(await setFile(modder, path)) }).toEqual({ path, codes: ["BAD_USER_INPUT"] });
      expect(errorCodes(await setFile(outsider, "rules.json"))).toEqual(["NOT_FOUND"]);
      expectData(await setFile(modder, "rules.json"));

      const publish = (user: TestUser) => postGraphQL(url, { query: "mutation($v: ID!) { publishPackVersion(versionId: $v) { status } }", variables: { v: draft.id } }, { token: user.accessToken });
      // Its dependency has no published version in range yet.
      expect(errorCodes(await publish(modder))).toEqual(["BAD_USER_INPUT"]);
      await versionWith(base, "2.1.0", { "base.json": file.json({ base: true }) });
      expect(expectData(await publish(modder))).toEqual({ publishPackVersion: { status: "PUBLISHED" } });
      expect(errorCodes(await setFile(modder, "more.json"))).toEqual(["CONFLICT"]);

      const campaignId = await campaignWithPlayer();
      const enable = (user: TestUser, pack: string) =>
        postGraphQL(url, { query: "mutation($c: ID!, $p: String!, $v: String!) { enableContentPack(campaignId: $c, pack: $p, version: $v) { packs { version } } }", variables: { c: campaignId, p: pack, v: pack === base ? "2.1.0" : "1.0.0" } }, { token: user.accessToken });
      expect(errorCodes(await enable(player, name))).toEqual(["FORBIDDEN"]);
      expect(errorCodes(await enable(outsider, name))).toEqual(["FORBIDDEN"]);
      // The dependency first.
      expect(errorCodes(await enable(gameMaster, name))).toEqual(["BAD_USER_INPUT"]);
      expectData(await enable(gameMaster, base));
      expectData(await enable(gameMaster, name));
      expect(errorCodes(await postGraphQL(url, { query: "query($c: ID!) { campaignContent(campaignId: $c) { packs { id } } }", variables: { c: campaignId } }, { token: outsider.accessToken }))).toEqual(["FORBIDDEN"]);
    });
  });
}
