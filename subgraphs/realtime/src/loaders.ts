import DataLoader from "dataloader";
import { createTtlCache, rowsById, type CampaignAccess, type CampaignClient, type CampaignReadAccess, type ForwardedIdentity, type Viewer } from "@startales/service-kit";
import type { Db } from "./db";
import { Prisma, type Channel, type ChatMessage } from "./generated/prisma/client";

/**
 * A chat message's columns as the ChatMessage model names them: read by id here and returned
 * by a post (chat-service.ts), so both give what Prisma's own reads give (a test compares).
 */
export const MESSAGE_COLUMNS = Prisma.raw(`id::text AS id, channel_id::text AS "channelId", author_id::text AS "authorId", text, idempotency_key AS "idempotencyKey",
  created_at AS "createdAt", edited_at AS "editedAt", deleted_at AS "deletedAt", deleted_by_id::text AS "deletedById", version`);

const copies = (rows: (Channel | null)[]) => rows.map((row) => (row ? { ...row } : null));

/** How long a channel row is kept in process: rows never change once written, so this only bounds memory and out-of-band edits. */
const CHANNEL_TTL_MS = 10 * 60_000;

/**
 * Channel rows by id, kept in process: a channel's kind, campaign and members are fixed when
 * it is created (nothing updates a channel), and every post and every message a room receives
 * reads its channel, a database round trip on the path of each chat message otherwise. A
 * missing channel is not kept (it may be created next). The kept rows are frozen and each read
 * gets its own copy: @apollo/subgraph writes __typename into an entity it resolves.
 */
export function createChannelRows(db: Db, options: { maxEntries?: number } = {}) {
  const kept = createTtlCache<Channel>({ maxEntries: options.maxEntries ?? 10_000 });
  const read = (ids: readonly string[]) =>
    rowsById(
      ids,
      (valid) => db.$queryRaw<Channel[]>`
        SELECT id::text AS id, kind::text AS kind, campaign_id::text AS "campaignId", name, member_ids::text[] AS "memberIds",
               unique_key AS "uniqueKey", created_by_id::text AS "createdById", created_at AS "createdAt"
          FROM channels WHERE id = ANY(${valid}::uuid[])`,
    );
  return async (ids: readonly string[]): Promise<(Channel | null)[]> => {
    const found = ids.map((id) => kept.get(id) ?? null);
    const missing = ids.filter((_, i) => found[i] === null);
    if (missing.length === 0) return copies(found);
    const rows = new Map((await read(missing)).flatMap((row) => (row ? [[row.id, row] as const] : [])));
    for (const row of rows.values()) {
      Object.freeze(row.memberIds);
      kept.set(row.id, Object.freeze(row), CHANNEL_TTL_MS);
    }
    return copies(ids.map((id, i) => found[i] ?? rows.get(id) ?? null));
  };
}

/**
 * Channels and messages by id, batched per request, in raw SQL: every chat message a room
 * receives and every post reads them, and Prisma compiles a model query on every call (its
 * WebAssembly query compiler), a sixth of realtime's CPU time in bench:game at 50 players.
 */
export function rowLoaders(db: Db, channelRows = createChannelRows(db)) {
  return {
    channelById: new DataLoader<string, Channel | null>(channelRows),
    messageById: new DataLoader<string, ChatMessage | null>((ids) =>
      rowsById(
        ids,
        (valid) => db.$queryRaw<ChatMessage[]>`SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE id = ANY(${valid}::uuid[])`,
      ),
    ),
  };
}

/**
 * One set per request: every entity and list read batches through a loader (no N+1). Who may
 * read a campaign is kept per caller and membership version (a leave or kick is a new version
 * at once); who may write is asked of campaign with every write.
 */
export function createLoaders(
  db: Db,
  channelRows: ReturnType<typeof createChannelRows>,
  campaigns: CampaignClient,
  readAccess: CampaignReadAccess,
  viewer: Viewer,
  forwarded: ForwardedIdentity,
) {
  return {
    viewer,
    forwarded,
    ...rowLoaders(db, channelRows),
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
