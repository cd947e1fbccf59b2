import { DateTimeScalar, cacheHint, notFound, parseId, parseInput, requireUser } from "@startales/service-kit";
import type { RealtimeContext } from "../context";
import { canReadChannel, isReaderRole } from "../domain/access";
import type { ChatService } from "../domain/chat-service";
import { allianceChannelInput, directChannelInput, editMessageInput, messagesPage, postMessageInput, setPresenceInput } from "../domain/input";
import type { PresenceService } from "../domain/presence-service";
import type { PresenceStore } from "../domain/presence-store";
import type { Resolvers } from "../generated/resolvers-types";
import type { Channel } from "../generated/prisma/client";
import type { SideWork } from "../side-work";

const user = (id: string) => ({ __typename: "User" as const, id });
/** A message may be edited or deleted: a reader's copy is trusted this long. */
const MESSAGE_MAX_AGE_S = 5;
/** What never changes once written (a presence event, who wrote a message). */
const EVENT_MAX_AGE_S = 300;
const campaign = (id: string) => ({ __typename: "Campaign" as const, id });
const servedByGateway = () => {
  throw new Error("Subscriptions are served by the gateway (@live), not by the realtime subgraph");
};

export function createResolvers(deps: { chat: ChatService; presence: PresenceService; store: PresenceStore; sideWork: SideWork }): Resolvers {
  const { chat, presence, store, sideWork } = deps;

  /** The channels of a campaign the viewer may read (each checked like any other channel read). */
  async function visibleChannels(context: RealtimeContext, campaignId: string): Promise<Channel[]> {
    const viewer = requireUser(context.viewer);
    if ((await context.loaders.campaignAccess.load(campaignId)).kind === "missing") return [];
    const rows = await chat.channelsOf(campaignId, isReaderRole(viewer) ? null : viewer.userId);
    const allowed = await Promise.all(rows.map((row) => canReadChannel(viewer, context.loaders, row)));
    return rows.filter((_row, i) => allowed[i]);
  }

  return {
    DateTime: DateTimeScalar,
    Query: {
      // Who may read is declared in the schema (@policy channel_reader, message_reader, campaign_reader).
      channel: (_parent, args, { loaders }) => loaders.channelById.load(parseId(args.id)),
      channels: (_parent, args, context) => visibleChannels(context, parseId(args.campaignId, "campaignId")),
      campaignChannel: (_parent, args, { loaders }) => chat.campaignChannel(loaders, parseId(args.campaignId, "campaignId")),
      messages: async (_parent, args, { loaders }) => {
        const page = parseInput(messagesPage, args);
        if (!(await loaders.channelById.load(page.channelId))) throw notFound("No channel with this id");
        return chat.listMessages(page);
      },
      // The same message for every reader (message_reader decides who): a shared answer, briefly,
      // since an edit or delete changes it (service-kit cache-hints.ts says what PUBLIC means here).
      chatMessage: (_parent, args, { loaders }, info) => {
        cacheHint(info, { maxAge: MESSAGE_MAX_AGE_S });
        return loaders.messageById.load(parseId(args.id));
      },
      presence: async (_parent, args) => {
        const campaignId = parseId(args.campaignId, "campaignId");
        const rows = await store.list(campaignId, presence.now());
        return rows.map((row) => ({ user: user(row.userId), status: row.status, lastSeenAt: row.lastSeenAt === null ? null : new Date(row.lastSeenAt) }));
      },
      // An event of the feed never changes; every member of the campaign sees the same one.
      presenceEvent: (_parent, args, _context, info) => {
        cacheHint(info, { maxAge: EVENT_MAX_AGE_S });
        return presence.event(parseId(args.campaignId, "campaignId"), args.id);
      },
    },
    Subscription: {
      messageAdded: { subscribe: servedByGateway },
      presenceChanged: { subscribe: servedByGateway },
    },
    Mutation: {
      createAllianceChannel: (_parent, args, { viewer, loaders }) =>
        chat.createAllianceChannel(requireUser(viewer), loaders, parseInput(allianceChannelInput, args)),
      openDirectChannel: (_parent, args, { viewer, loaders }) => chat.openDirectChannel(requireUser(viewer), loaders, parseInput(directChannelInput, args)),
      postMessage: async (_parent, args, { viewer, loaders, logger }) => {
        const signedIn = requireUser(viewer);
        const message = await chat.postMessage(signedIn, loaders, parseInput(postMessageInput, args));
        // The message is committed: presence must neither delay nor fail its answer.
        const now = presence.now();
        sideWork.run("mark the author active", logger, () => store.markActive(signedIn.userId, now));
        return message;
      },
      editMessage: (_parent, args, { viewer, loaders }) => chat.editMessage(requireUser(viewer), loaders, parseInput(editMessageInput, args)),
      deleteMessage: (_parent, args, context) => chat.deleteMessage(requireUser(context.viewer), context.loaders, parseId(args.id), context),
      setPresence: async (_parent, args, { viewer, loaders }) => {
        const signedIn = requireUser(viewer);
        const input = parseInput(setPresenceInput, args);
        await chat.assertMember(loaders, input.campaignId);
        const now = presence.now();
        if (input.status === "ONLINE") await store.markActive(signedIn.userId, now);
        await store.setAway(input.campaignId, signedIn.userId, input.status === "AWAY");
        await store.addCampaign(signedIn.userId, input.campaignId, now);
        const transition = await store.refresh(input.campaignId, signedIn.userId, now);
        if (transition) await presence.announce([transition]);
        const current = await store.get(input.campaignId, signedIn.userId, now);
        return { user: user(signedIn.userId), status: current.status, lastSeenAt: current.lastSeenAt === null ? null : new Date(current.lastSeenAt) };
      },
    },
    Channel: {
      // Reached through another subgraph's reference: the same readers-only rule applies (@policy on the type).
      __resolveReference: (reference, { loaders }) => loaders.channelById.load(parseId(reference.id)),
      campaign: (channel) => campaign(channel.campaignId),
      members: (channel) => channel.memberIds.map(user),
    },
    ChatMessage: {
      __resolveReference: (reference, { loaders }) => loaders.messageById.load(parseId(reference.id)),
      channel: async (message, _args, { loaders }, info) => {
        // A message never moves; its channel reads the same to every reader (@policy on Channel decides who).
        cacheHint(info, { maxAge: EVENT_MAX_AGE_S });
        const channel = await loaders.channelById.load(message.channelId);
        if (!channel) throw new Error(`message ${message.id} has no channel`);
        return channel;
      },
      author: (message, _args, _context, info) => {
        cacheHint(info, { maxAge: EVENT_MAX_AGE_S });
        return user(message.authorId);
      },
      text: (message) => (message.deletedAt ? null : message.text),
      deleted: (message) => message.deletedAt !== null,
    },
    PresenceEvent: {
      user: (event, _args, _context, info) => {
        cacheHint(info, { maxAge: EVENT_MAX_AGE_S });
        return user(event.userId);
      },
      campaign: (event) => campaign(event.campaignId),
    },
  };
}
