import { randomUUID } from "node:crypto";
import {
  AuditOutcome,
  Role,
  Topics,
  activeTraceparent,
  badInput,
  conflict,
  eventData,
  forbidden,
  hasRole,
  notFound,
  type AuditContext,
  type EventData,
  type SignedInViewer,
} from "@startales/service-kit";
import type { Db } from "../db";
import { Prisma, type Channel, type ChatMessage } from "../generated/prisma/client";
import { MESSAGE_COLUMNS, type RealtimeLoaders } from "../loaders";
import { assertCanPost, assertMember } from "./access";
import { recordAudit } from "./audit";

type Tx = Prisma.TransactionClient;

/** Message events carry ids only: the text is read through the graph, with its rules. */
export const MessageEvent = { ADDED: "MESSAGE_ADDED", EDITED: "MESSAGE_EDITED", DELETED: "MESSAGE_DELETED" } as const;

type MessageEventType = (typeof MessageEvent)[keyof typeof MessageEvent];

/** Records a message event in the caller's transaction (transactional outbox), checked against its contract. */
function recordEvent<T extends MessageEventType>(tx: Tx, message: ChatMessage, type: T, data: EventData<T>) {
  const topic = Topics.channel(message.channelId);
  return tx.outboxEvent.create({
    data: { topic, type, aggregateId: message.id, version: message.version, data: eventData(topic, type, data) as Prisma.InputJsonValue, traceparent: activeTraceparent() },
  });
}

const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";

/** Channels and messages: each write and its event commit together or not at all. */
export function createChatService(db: Db, options: { afterCommit?: () => void } = {}) {
  const transaction = async <T>(work: (tx: Tx) => Promise<T>): Promise<T> => {
    const result = await db.$transaction(work);
    options.afterCommit?.();
    return result;
  };

  /** Creates the channel with `uniqueKey`, or returns the one a concurrent call created. */
  async function createOnce(data: Prisma.ChannelUncheckedCreateInput & { uniqueKey: string }): Promise<Channel> {
    const existing = await db.channel.findUnique({ where: { uniqueKey: data.uniqueKey } });
    if (existing) return existing;
    try {
      return await db.channel.create({ data });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return db.channel.findUniqueOrThrow({ where: { uniqueKey: data.uniqueKey } });
    }
  }

  async function loadMessageForWrite(loaders: RealtimeLoaders, id: string) {
    const message = await loaders.messageById.load(id);
    if (!message) throw notFound("No message with this id");
    const channel = await loaders.channelById.load(message.channelId);
    if (!channel) throw notFound("No message with this id");
    return { message, channel };
  }

  /**
   * A new message and its event in one statement (so one implicit transaction and one round
   * trip, where an interactive transaction took four): posting is the hottest write, and a
   * message's delivery waits for this commit. Null when the author already used the key.
   */
  async function insertMessage(authorId: string, channel: Channel, input: { text: string; idempotencyKey: string }): Promise<ChatMessage | null> {
    const id = randomUUID();
    const topic = Topics.channel(channel.id);
    const data = eventData(topic, MessageEvent.ADDED, { channelId: channel.id, campaignId: channel.campaignId, authorId });
    const rows = await db.$queryRaw<ChatMessage[]>`
      WITH message AS (
        INSERT INTO chat_messages (id, channel_id, author_id, text, idempotency_key)
        VALUES (${id}::uuid, ${channel.id}::uuid, ${authorId}::uuid, ${input.text}, ${input.idempotencyKey})
        ON CONFLICT (author_id, idempotency_key) DO NOTHING
        RETURNING *
      ), event AS (
        INSERT INTO outbox_events (id, topic, type, aggregate_id, version, data, traceparent)
        SELECT ${randomUUID()}::uuid, ${topic}, ${MessageEvent.ADDED}, id, version, ${JSON.stringify(data)}::jsonb, ${activeTraceparent() ?? null} FROM message
      )
      SELECT ${MESSAGE_COLUMNS} FROM message`;
    if (rows.length === 0) return null;
    options.afterCommit?.();
    return rows[0]!;
  }

  return {
    /** The campaign's own channel, created at first use (callers are checked by @policy). */
    async campaignChannel(loaders: RealtimeLoaders, campaignId: string): Promise<Channel> {
      if ((await loaders.campaignAccess.load(campaignId)).kind === "missing") throw notFound("No campaign with this id");
      return createOnce({ kind: "CAMPAIGN", campaignId, name: "Campaign", memberIds: [], uniqueKey: `campaign:${campaignId}` });
    },

    async createAllianceChannel(viewer: SignedInViewer, loaders: RealtimeLoaders, input: { campaignId: string; name: string; memberIds: string[] }) {
      await assertMember(loaders, input.campaignId);
      const memberIds = [...new Set([viewer.userId, ...input.memberIds])];
      const members = await loaders.campaignMembers.load(input.campaignId);
      const strangers = memberIds.filter((id) => !members?.has(id));
      if (strangers.length > 0) {
        throw badInput("memberIds must be members of the campaign", [{ field: "memberIds", message: `not members of the campaign: ${strangers.join(", ")}` }]);
      }
      return db.channel.create({ data: { kind: "ALLIANCE", campaignId: input.campaignId, name: input.name, memberIds, createdById: viewer.userId } });
    },

    async openDirectChannel(viewer: SignedInViewer, loaders: RealtimeLoaders, input: { campaignId: string; userId: string }) {
      if (input.userId === viewer.userId) throw badInput("userId must be someone else", [{ field: "userId", message: "must be someone else" }]);
      await assertMember(loaders, input.campaignId);
      const members = await loaders.campaignMembers.load(input.campaignId);
      if (!members?.has(input.userId)) throw badInput("userId must be a member of the campaign", [{ field: "userId", message: "is not a member of the campaign" }]);
      const pair = [viewer.userId, input.userId].sort();
      return createOnce({
        kind: "DIRECT",
        campaignId: input.campaignId,
        name: "Direct",
        memberIds: pair,
        createdById: viewer.userId,
        uniqueKey: `direct:${input.campaignId}:${pair.join(":")}`,
      });
    },

    /** The same idempotency key (per author) returns the first message, wherever it was posted. */
    async postMessage(viewer: SignedInViewer, loaders: RealtimeLoaders, input: { channelId: string; text: string; idempotencyKey: string }): Promise<ChatMessage> {
      const channel = await loaders.channelById.load(input.channelId);
      if (!channel) throw notFound("No channel with this id");
      const where = { authorId_idempotencyKey: { authorId: viewer.userId, idempotencyKey: input.idempotencyKey } };
      // A refusal refuses a repeat of the key too; an accepted repeat is found by the insert's conflict.
      const access = await assertCanPost(viewer, loaders, channel);
      if (access.status === "ENDED") {
        // A retry of a message posted before the campaign ended still gets its answer.
        const earlier = await db.chatMessage.findUnique({ where });
        if (earlier) return earlier;
        throw conflict("This campaign has ended");
      }
      // Null: the author used this key before (or a concurrent retry just did).
      return (await insertMessage(viewer.userId, channel, input)) ?? db.chatMessage.findUniqueOrThrow({ where });
    },

    async editMessage(viewer: SignedInViewer, loaders: RealtimeLoaders, input: { id: string; text: string }): Promise<ChatMessage> {
      const { message, channel } = await loadMessageForWrite(loaders, input.id);
      if (message.authorId !== viewer.userId) throw forbidden("Only its author can edit a message");
      await assertCanPost(viewer, loaders, channel);
      return transaction(async (tx) => {
        // Compare-and-set: a message deleted meanwhile is not edited.
        const updated = await tx.chatMessage.updateMany({
          where: { id: message.id, deletedAt: null },
          data: { text: input.text, editedAt: new Date(), version: { increment: 1 } },
        });
        if (updated.count === 0) throw conflict("A deleted message cannot be edited");
        const edited = await tx.chatMessage.findUniqueOrThrow({ where: { id: message.id } });
        await recordEvent(tx, edited, MessageEvent.EDITED, { channelId: channel.id, campaignId: channel.campaignId, authorId: edited.authorId });
        return edited;
      });
    },

    /** By its author, the campaign's game master or an admin; moderation is audited. */
    async deleteMessage(viewer: SignedInViewer, loaders: RealtimeLoaders, id: string, audit: AuditContext): Promise<ChatMessage> {
      const { message, channel } = await loadMessageForWrite(loaders, id);
      const isAuthor = message.authorId === viewer.userId;
      if (isAuthor) {
        await assertCanPost(viewer, loaders, channel);
      } else if (!hasRole(viewer, Role.ADMIN)) {
        const access = await loaders.campaignAccessForWrite.load(channel.campaignId);
        if (access.kind !== "member" || access.role !== "GAME_MASTER") {
          throw forbidden("Only its author, the campaign's game master or an admin can delete a message");
        }
      }
      if (message.deletedAt) return message;
      return transaction(async (tx) => {
        const updated = await tx.chatMessage.updateMany({
          where: { id: message.id, deletedAt: null },
          data: { text: "", deletedAt: new Date(), deletedById: viewer.userId, version: { increment: 1 } },
        });
        const deleted = await tx.chatMessage.findUniqueOrThrow({ where: { id: message.id } });
        if (updated.count === 0) return deleted; // deleted concurrently: nothing more to record
        await recordEvent(tx, deleted, MessageEvent.DELETED, {
          channelId: channel.id,
          campaignId: channel.campaignId,
          authorId: deleted.authorId,
          deletedById: viewer.userId,
        });
        if (!isAuthor) {
          await recordAudit(tx, audit, {
            action: "realtime.message.delete",
            outcome: AuditOutcome.SUCCESS,
            targetType: "ChatMessage",
            targetId: message.id,
            details: { channelId: channel.id, campaignId: channel.campaignId, authorId: message.authorId },
          });
        }
        return deleted;
      });
    },

    assertMember,

    /** A campaign's channels, oldest first: all of them, or those `userId` may use. */
    channelsOf(campaignId: string, userId: string | null) {
      return db.channel.findMany({
        where: { campaignId, ...(userId ? { OR: [{ kind: "CAMPAIGN" }, { memberIds: { has: userId } }] } : {}) },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: 500,
      });
    },

    /** Newest first, `first` older than the message `before`. */
    listMessages(page: { channelId: string; first: number; before?: string | null }) {
      return db.chatMessage.findMany({
        where: { channelId: page.channelId },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.first,
        ...(page.before ? { cursor: { id: page.before }, skip: 1 } : {}),
      });
    },
  };
}

export type ChatService = ReturnType<typeof createChatService>;
