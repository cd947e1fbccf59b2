import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createRedis, streamKey, Topics } from "@startales/service-kit";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startS3rver, type TestS3 } from "../testkit/s3rver";
import { startStack, type Stack } from "../testkit/stack";
import { subscribe, untilSubscribed, activeSubscriptions, wsClient } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Content packs on a whole stack, as the story goes: a modder uploads files and
 * publishes version 1.0.0 of a pack; the campaign's game master enables it; a player subscribed
 * to the campaign's content learns of it, downloads the manifest and every file (one by Range),
 * verifies each against its hash and gets 304 on a second pass; version 1.1.0 changes, adds and
 * removes files, and its diff lists exactly those.
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
    stack = await startStack({ logLevel: "warn", contentEnv: s3?.contentEnv ?? {} });
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

  async function campaignWithPlayer(): Promise<string> {
    const { createCampaign } = await gql<{ createCampaign: { id: string } }>(gameMaster, 'mutation { createCampaign(input: { name: "Modded" }) { id } }');
    await gql(player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: createCampaign.id });
    return createCampaign.id;
  }

  describe(`a content pack (${driver} storage)`, () => {
    it("is published, enabled for a campaign, downloaded and verified by a player, and updated by a diff", async () => {
      const name = `fleet-${randomUUID().slice(0, 8)}`;
      await gql(modder, "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", { i: { name, title: "Fleet of the Northern Star" } });
      const v1Files = { "ships/corvette.png": file.png(), "ships/frigate.png": file.png(), "lang/en.json": file.json({ corvette: "Corvette" }), "lang/fr.json": file.json({ corvette: "Corvette" }) };
      const v1 = await versionWith(name, "1.0.0", v1Files);
      expect(v1.status).toBe("PUBLISHED");
      expect(v1.files.map((f) => f.path)).toEqual(Object.keys(v1Files).sort());

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

        // 1.1.0: one file changed, one added, one removed, the rest the same.
        const { "lang/fr.json": _removed, ...kept } = v1Files;
        const v2 = await versionWith(name, "1.1.0", { ...kept, "ships/frigate.png": file.png(), "ships/carrier.png": file.png() });
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
