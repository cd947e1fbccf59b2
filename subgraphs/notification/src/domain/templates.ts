import { notificationRequestEvents, type NotificationRequest, type NotificationTemplate } from "@startales/service-kit";
import type { NotificationCategory } from "../generated/prisma/client";
import type { NewNotification } from "./notification-writer";

type Template = { category: NotificationCategory; title: (p: Record<string, string>) => string; body: (p: Record<string, string>) => string };

const name = (p: Record<string, string>) => p.campaignName ?? "Your campaign";

/** The wording of what the game's own events tell players: notification owns it, senders only name a template. */
export const TEMPLATES: Record<NotificationTemplate, Template> = {
  CAMPAIGN_STARTED: { category: "CAMPAIGN", title: (p) => `${name(p)} has started`, body: () => "The galaxy is live: your civilization awaits its first orders." },
  CAMPAIGN_PAUSED: { category: "CAMPAIGN", title: (p) => `${name(p)} is paused`, body: () => "The game master paused the campaign; nothing moves until it resumes." },
  CAMPAIGN_RESUMED: { category: "CAMPAIGN", title: (p) => `${name(p)} has resumed`, body: () => "Time flows again in the galaxy." },
  CAMPAIGN_ENDED: { category: "CAMPAIGN", title: (p) => `${name(p)} has ended`, body: () => "The campaign is over: see how your civilization fared." },
  PLAYER_JOINED: { category: "MEMBERSHIP", title: (p) => `A player joined ${name(p)}`, body: () => "A new civilization takes its place in your campaign." },
  PLAYER_LEFT: { category: "MEMBERSHIP", title: (p) => `A player left ${name(p)}`, body: () => "A civilization has left your campaign." },
};

/** The request in an event's data (checked against its contract), or null when it is not one this version understands. */
export function parseRequest(data: unknown): NotificationRequest | null {
  const parsed = notificationRequestEvents.NOTIFICATION_REQUESTED.safeParse(data);
  return parsed.success ? parsed.data : null;
}

/** One notification per recipient of the event `eventId` (its id is what makes it idempotent). */
export function render(eventId: string, request: NotificationRequest): NewNotification[] {
  const template = TEMPLATES[request.template];
  const { campaignName: _shown, ...rest } = request.params;
  return [...new Set(request.recipientIds)].map((recipientId) => ({
    recipientId,
    category: template.category,
    title: template.title(request.params),
    body: template.body(request.params),
    campaignId: request.campaignId,
    data: { template: request.template, ...rest },
    senderId: null,
    sourceKey: `event:${eventId}`,
  }));
}
