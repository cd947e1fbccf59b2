/**
 * Realtime's hot reads are raw SQL (subgraphs/realtime/src/loaders.ts): they must give what
 * Prisma's own reads give, field for field and type for type, or a column added to the
 * models would silently go missing from them.
 */
import { createDb, type Db } from "../../subgraphs/realtime/src/db";
import { createChannelRows, rowLoaders } from "../../subgraphs/realtime/src/loaders";
import { privateDatabase } from "../testkit/databases";

let db: Db;
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await privateDatabase("realtime", "read_sql");
  drop = database.drop;
  db = createDb(database.url, 2);
});

afterAll(async () => {
  await db?.$disconnect();
  await drop?.();
});

it("reads channels and messages exactly as Prisma does", async () => {
  const campaignId = "00000000-0000-4000-8000-0000000000c1";
  const [alice, bob] = ["00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000b2"];
  const campaign = await db.channel.create({ data: { kind: "CAMPAIGN", campaignId, name: "Campaign", memberIds: [], uniqueKey: `campaign:${campaignId}` } });
  const alliance = await db.channel.create({ data: { kind: "ALLIANCE", campaignId, name: "Pact", memberIds: [alice, bob], createdById: alice } });
  const plain = await db.chatMessage.create({ data: { channelId: campaign.id, authorId: alice, text: "Hello", idempotencyKey: "k1" } });
  const deleted = await db.chatMessage.create({
    data: { channelId: alliance.id, authorId: bob, text: "", idempotencyKey: "k2", editedAt: new Date("2026-12-06T10:00:00.123Z"), deletedAt: new Date("2026-12-06T10:01:00.456Z"), deletedById: alice, version: 3 },
  });
  const missing = "00000000-0000-4000-8000-0000000000ff";
  const loaders = rowLoaders(db);

  const channelIds = [alliance.id, missing, "not-a-uuid", campaign.id];
  const channels = new Map((await db.channel.findMany({ where: { id: { in: [alliance.id, campaign.id] } } })).map((c) => [c.id, c]));
  expect(await loaders.channelById.loadMany(channelIds)).toStrictEqual(channelIds.map((id) => channels.get(id) ?? null));

  const messageIds = [deleted.id, plain.id, missing];
  const messages = new Map((await db.chatMessage.findMany({ where: { id: { in: [deleted.id, plain.id] } } })).map((m) => [m.id, m]));
  expect(await loaders.messageById.loadMany(messageIds)).toStrictEqual(messageIds.map((id) => messages.get(id) ?? null));
  expect(await loaders.messageById.load(deleted.id)).toMatchObject({ version: 3, deletedById: alice, editedAt: new Date("2026-12-06T10:00:00.123Z") });
});

it("keeps channel rows in process, but not a channel that is missing, and bounds how many", async () => {
  const campaignId = "00000000-0000-4000-8000-0000000000c2";
  const channelRows = createChannelRows(db, { maxEntries: 2 });
  const [a, b, c] = await Promise.all(
    ["a", "b", "c"].map((name) => db.channel.create({ data: { kind: "CAMPAIGN", campaignId, name, memberIds: [], uniqueKey: `kept:${name}` } })),
  );
  const later = "00000000-0000-4000-8000-00000000c0de";
  expect((await channelRows([a!.id, later])).map((row) => row?.id ?? null)).toEqual([a!.id, null]);
  // Gone from the table: still answered from the process (channels never change once written).
  await db.$executeRaw`DELETE FROM channels WHERE id = ${a!.id}::uuid`;
  expect((await channelRows([a!.id]))[0]).toMatchObject({ id: a!.id, name: "a" });
  // Each read has its own copy (a resolver may write to it); the members' list is shared, frozen.
  const [first, second] = [(await channelRows([a!.id]))[0]!, (await channelRows([a!.id]))[0]!];
  expect(first).not.toBe(second);
  expect(Object.isFrozen(first.memberIds)).toBe(true);
  // A miss was not kept: the channel created since is found.
  await db.channel.create({ data: { id: later, kind: "CAMPAIGN", campaignId, name: "later", memberIds: [], uniqueKey: "kept:later" } });
  expect((await channelRows([later]))[0]).toMatchObject({ id: later });
  // Two entries at most: reading b and c pushed a out, so its deletion shows now.
  await channelRows([b!.id, c!.id]);
  expect(await channelRows([a!.id])).toEqual([null]);
});
