import { isId, type Policies } from "@startales/service-kit";
import type { RealtimeContext } from "../context";
import type { Channel, ChatMessage } from "../generated/prisma/client";
import { canReadCampaign, canReadChannel } from "./access";

type Input = { typeName: string; parent: unknown; args: Record<string, unknown>; context: RealtimeContext };

/** The channel a field is about: the parent on Channel, `id`/`channelId` on root fields. */
async function subjectChannel({ typeName, parent, args, context }: Input): Promise<Channel | null> {
  if (typeName === "Channel") return parent as Channel | null;
  const id = args.channelId ?? args.id;
  return isId(id) ? context.loaders.channelById.load(id) : null;
}

async function subjectMessage({ typeName, parent, args, context }: Input): Promise<ChatMessage | null> {
  if (typeName === "ChatMessage") return parent as ChatMessage | null;
  return isId(args.id) ? context.loaders.messageById.load(args.id) : null;
}

/**
 * The data-dependent rules that schema.graphql names with @policy. As in campaign, a policy
 * that cannot identify an existing subject allows: there is nothing to protect, and the
 * resolver answers null, NOT_FOUND or BAD_USER_INPUT.
 */
export const realtimePolicies: Policies<RealtimeContext> = {
  /** Members of the campaign (and of an ALLIANCE/DIRECT channel), admins, analysts. */
  channel_reader: async (input) => {
    const channel = await subjectChannel(input);
    return !channel || canReadChannel(input.viewer, input.context.loaders, channel);
  },
  message_reader: async (input) => {
    const message = await subjectMessage(input);
    if (!message) return true;
    const channel = await input.context.loaders.channelById.load(message.channelId);
    return !channel || canReadChannel(input.viewer, input.context.loaders, channel);
  },
  /** Root fields named by `campaignId`: members, admins and analysts (campaign decides). */
  campaign_reader: async ({ args, context }) => {
    if (!isId(args.campaignId)) return true;
    const access = await context.loaders.campaignAccess.load(args.campaignId);
    return access.kind === "missing" || canReadCampaign(access);
  },
};
