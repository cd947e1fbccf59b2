import DataLoader from "dataloader";
import type { AnswerVersions, CampaignAccess, CampaignReadAccess, ForwardedIdentity, Viewer } from "@startales/service-kit";
import type { GalaxyMap } from "./engine";
import type { CivilizationView, LeaderboardRow } from "./generated/prisma/client";
import type { StarSystemModel, WorldSummary } from "./domain/read-models";
import type { WorldReads } from "./read-cache/world-reads";

const each = <K, V>(keys: readonly K[], read: (key: K) => Promise<V>) => Promise.all(keys.map(read));

/**
 * One set per request: every read goes through a loader (no N+1), and reads only the read
 * models (never the world's state), each once per tick per process whoever asks
 * (read-cache/world-reads.ts). What campaign says about membership is asked afresh per
 * request for commands and game-master reads (`campaignAccess`), and kept across requests
 * until the campaign's membership changes for the reads clients poll (`readAccess`).
 */
export function createLoaders(reads: WorldReads, readAccess: CampaignReadAccess, viewer: Viewer, forwarded: ForwardedIdentity, answer?: AnswerVersions) {
  const userId = viewer.kind === "user" ? viewer.userId : null;
  return {
    viewer,
    forwarded,
    /**
     * The caller's access to each campaign, asked of campaign now in one request per batch: for
     * commands and game-master reads. Kept for the polled reads that follow (revalidate), so a
     * fresh answer is never contradicted by an older one.
     */
    campaignAccess: new DataLoader<string, CampaignAccess>(async (ids) =>
      viewer.kind === "user" ? readAccess(viewer, { ...forwarded, revalidate: true }, ids) : ids.map(() => ({ kind: "forbidden" }) as const),
    ),
    /** The same, as campaign answered it for the campaign's current membership (service-kit campaign-access-cache.ts): for the reads clients poll. */
    readAccess: new DataLoader<string, CampaignAccess>(async (ids) =>
      viewer.kind === "user" ? readAccess(viewer, forwarded, ids, answer) : ids.map(() => ({ kind: "forbidden" }) as const),
    ),
    worldByCampaign: new DataLoader<string, WorldSummary | null>((ids) => each(ids, (id) => reads.world(id, answer))),
    starSystemsByCampaign: new DataLoader<string, StarSystemModel[]>((ids) => each(ids, (id) => reads.starSystems(id, answer))),
    civilizationsByCampaign: new DataLoader<string, CivilizationView[]>((ids) => each(ids, (id) => reads.civilizations(id, answer))),
    /** The caller's civilization in each campaign. */
    viewerCivilization: new DataLoader<string, CivilizationView | null>((ids) => each(ids, (id) => (userId ? reads.civilizationLedBy(id, userId, answer) : Promise.resolve(null)))),
    /** The caller's galaxy map in each campaign: that of the civilization they lead, and no other's (fog of war). */
    viewerGalaxyMap: new DataLoader<string, GalaxyMap | null>((ids) => each(ids, (id) => (userId ? reads.galaxyMapOf(id, userId, answer) : Promise.resolve(null)))),
    /** The top `first` rows of each campaign's leaderboard. */
    leaderboard: new DataLoader<{ campaignId: string; first: number }, LeaderboardRow[], string>(
      (keys) => each(keys, ({ campaignId, first }) => reads.leaderboard(campaignId, first, answer)),
      { cacheKeyFn: ({ campaignId, first }) => `${campaignId}:${first}` },
    ),
  };
}

export type SimulationLoaders = ReturnType<typeof createLoaders>;
