/**
 * Campaign's hot reads are raw SQL (subgraphs/campaign/src/loaders.ts): they must give what
 * Prisma's own reads give, field for field and type for type, or a column added to the
 * models would silently go missing from them.
 */
import { anonymous, signedIn, Role } from "@startales/service-kit";
import { createDb, type Db } from "../../subgraphs/campaign/src/db";
import { createLoaders } from "../../subgraphs/campaign/src/loaders";
import { privateDatabase } from "../testkit/databases";

let db: Db;
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await privateDatabase("campaign", "read_sql");
  drop = database.drop;
  db = createDb(database.url, 2);
});

afterAll(async () => {
  await db?.$disconnect();
  await drop?.();
});

describe("campaign's raw reads", () => {
  it("read campaigns, memberships and member counts exactly as Prisma does", async () => {
    const gm = "00000000-0000-4000-8000-0000000000a1";
    const player = "00000000-0000-4000-8000-0000000000a2";
    const started = await db.campaign.create({
      data: { name: "Raw", tickRateMs: 1500, maxPlayers: 6, seed: "seed-1", createdById: gm, status: "RUNNING", version: 3, startedAt: new Date("2026-12-01T10:00:00.123Z") },
    });
    const draft = await db.campaign.create({ data: { name: "Draft", tickRateMs: 1000, maxPlayers: 2, seed: "seed-2", createdById: gm } });
    await db.membership.createMany({
      data: [
        { campaignId: started.id, userId: gm, role: "GAME_MASTER" },
        { campaignId: started.id, userId: player, role: "PLAYER" },
        { campaignId: draft.id, userId: gm, role: "GAME_MASTER" },
      ],
    });
    const missing = "00000000-0000-4000-8000-0000000000ff";
    const ids = [started.id, missing, draft.id];
    const loaders = createLoaders(db, signedIn(player, [Role.PLAYER]));

    const campaigns = await loaders.campaignById.loadMany(ids);
    const byId = new Map((await db.campaign.findMany({ where: { id: { in: ids } } })).map((c) => [c.id, c]));
    expect(campaigns).toStrictEqual(ids.map((id) => byId.get(id) ?? null));
    expect(campaigns[0]).toMatchObject({ status: "RUNNING", version: 3, startedAt: new Date("2026-12-01T10:00:00.123Z"), endedAt: null });

    const memberships = await loaders.viewerMembership.loadMany(ids);
    const mine = new Map((await db.membership.findMany({ where: { userId: player } })).map((m) => [m.campaignId, m]));
    expect(memberships).toStrictEqual(ids.map((id) => mine.get(id) ?? null));
    expect(memberships[0]).toMatchObject({ role: "PLAYER", userId: player });

    expect(await loaders.memberCountByCampaign.loadMany(ids)).toEqual([2, 0, 1]);
    expect(await createLoaders(db, anonymous).viewerMembership.loadMany(ids)).toEqual([null, null, null]);
  });
});
