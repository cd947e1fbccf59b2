import DataLoader from "dataloader";
import type { CampaignAccess, CampaignClient, CampaignReadAccess, ForwardedIdentity, Viewer } from "@startales/service-kit";
import type { Db } from "./db";
import type { Channel, ChatMessage } from "./generated/prisma/client";

const byKey = <T, K>(rows: T[], key: (row: T) => K) => new Map(rows.map((row) => [key(row), row]));

/**
 * One set per request: every entity and list read batches through a loader (no N+1). Who may
 * read a campaign is kept per caller and membership version (a leave or kick is a new version
 * at once); who may write is asked of campaign with every write.
 */
export function createLoaders(db: Db, campaigns: CampaignClient, readAccess: CampaignReadAccess, viewer: Viewer, forwarded: ForwardedIdentity) {
  return {
    viewer,
    forwarded,
    channelById: new DataLoader<string, Channel | null>(async (ids) => {
      const rows = byKey(await db.channel.findMany({ where: { id: { in: [...ids] } } }), (c) => c.id);
      return ids.map((id) => rows.get(id) ?? null);
    }),
    messageById: new DataLoader<string, ChatMessage | null>(async (ids) => {
      const rows = byKey(await db.chatMessage.findMany({ where: { id: { in: [...ids] } } }), (m) => m.id);
      return ids.map((id) => rows.get(id) ?? null);
    }),
    /** The caller's access to each campaign for reading, as campaign answered it for the campaign's current membership version. */
    campaignAccess: new DataLoader<string, CampaignAccess>(async (ids) =>
      viewer.kind === "user" ? readAccess(viewer, forwarded, ids) : ids.map(() => ({ kind: "forbidden" }) as const),
    ),
    /**
     * The same for writing: asked of campaign now, in one request per batch, and kept for the
     * reads that follow (revalidate): a player refused a write after leaving is refused the
     * next read too, even before the leave's publication reaches this replica.
     */
    campaignAccessForWrite: new DataLoader<string, CampaignAccess>(async (ids) =>
      viewer.kind === "user" ? readAccess(viewer, { ...forwarded, revalidate: true }, ids) : ids.map(() => ({ kind: "forbidden" }) as const),
    ),
    /** Member ids of a campaign (only asked where a write names other users). */
    campaignMembers: new DataLoader<string, Set<string> | null>(async (ids) => Promise.all(ids.map((id) => campaigns.memberIds(forwarded, id))), {
      batch: false,
    }),
  };
}

export type RealtimeLoaders = ReturnType<typeof createLoaders>;
