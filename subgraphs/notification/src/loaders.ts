import DataLoader from "dataloader";
import type { CampaignAccess, CampaignClient, ForwardedIdentity, Viewer } from "@startales/service-kit";
import type { Db } from "./db";
import type { Delivery, Notification } from "./generated/prisma/client";

/** One set per request: every entity and list read batches through a loader (no N+1). */
export function createLoaders(db: Db, campaigns: CampaignClient, viewer: Viewer, forwarded: ForwardedIdentity) {
  return {
    viewer,
    forwarded,
    notificationById: new DataLoader<string, Notification | null>(async (ids) => {
      const rows = new Map((await db.notification.findMany({ where: { id: { in: [...ids] } } })).map((n) => [n.id, n]));
      return ids.map((id) => rows.get(id) ?? null);
    }),
    deliveriesOf: new DataLoader<string, Delivery[]>(async (ids) => {
      const rows = await db.delivery.findMany({ where: { notificationId: { in: [...ids] } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
      return ids.map((id) => rows.filter((d) => d.notificationId === id));
    }),
    /** The caller's access to each campaign, asked of campaign in one request per batch. */
    campaignAccess: new DataLoader<string, CampaignAccess>(async (ids) =>
      viewer.kind === "user" ? campaigns.access(forwarded, ids) : ids.map(() => ({ kind: "forbidden" }) as const),
    ),
  };
}

export type NotificationLoaders = ReturnType<typeof createLoaders>;
