import { DateTimeScalar, JSONScalar, parseId, parseInput, requireUser } from "@startales/service-kit";
import {
  failedDeliveriesPage,
  inboxPage,
  markReadInput,
  preferenceInput,
  quietHoursInput,
  digestScheduleInput,
  registerDeviceInput,
  retryDeliveriesInput,
  sendNotificationInput,
  webPushEndpoint,
  webPushSubscriptionInput,
} from "../domain/input";
import type { NotificationService } from "../domain/notification-service";
import type { Resolvers } from "../generated/resolvers-types";

const user = (id: string) => ({ __typename: "User" as const, id });
const campaign = (id: string) => ({ __typename: "Campaign" as const, id });

const servedByGateway = () => {
  throw new Error("Subscriptions are served by the gateway (@live), not by the notification subgraph");
};

export function createResolvers(service: NotificationService, env: { production: boolean }): Resolvers {
  const webPushSubscription = webPushSubscriptionInput(env);
  return {
    DateTime: DateTimeScalar,
    JSON: JSONScalar,
    Query: {
      notifications: (_parent, args, { viewer }) => service.inbox(requireUser(viewer), parseInput(inboxPage, args)),
      unreadNotificationCount: (_parent, _args, { viewer }) => service.unreadCount(requireUser(viewer)),
      // Whose it is is checked on the type (@policy notification_reader).
      notification: (_parent, args, { loaders }) => loaders.notificationById.load(parseId(args.id)),
      notificationPreferences: (_parent, _args, { viewer }) => service.preferences(requireUser(viewer)),
      quietHours: (_parent, _args, { viewer }) => service.quietHours(requireUser(viewer)),
      digestSchedule: (_parent, _args, { viewer }) => service.digestSchedule(requireUser(viewer)),
      pushDevices: (_parent, _args, { viewer }) => service.devices(requireUser(viewer)),
      webPushApplicationServerKey: (_parent, _args, { viewer }) => (requireUser(viewer), service.webPushKey()),
      failedNotificationDeliveries: (_parent, args) => service.failedDeliveries(parseInput(failedDeliveriesPage, args)),
    },
    Subscription: {
      notificationAdded: { subscribe: servedByGateway },
    },
    Mutation: {
      sendNotification: (_parent, args, context) =>
        service.send(requireUser(context.viewer), context.loaders, parseInput(sendNotificationInput, args.input), context),
      markNotificationsRead: (_parent, args, { viewer, loaders }) => service.markRead(requireUser(viewer), loaders, parseInput(markReadInput, args).ids),
      markAllNotificationsRead: (_parent, _args, { viewer }) => service.markAllRead(requireUser(viewer)),
      setNotificationPreference: (_parent, args, { viewer }) => service.setPreference(requireUser(viewer), parseInput(preferenceInput, args.input)),
      setQuietHours: (_parent, args, { viewer }) => service.setQuietHours(requireUser(viewer), parseInput(quietHoursInput, args).input),
      setDigestSchedule: (_parent, args, { viewer }) => service.setDigestSchedule(requireUser(viewer), parseInput(digestScheduleInput, args.input)),
      registerPushDevice: (_parent, args, { viewer }) => service.registerDevice(requireUser(viewer), parseInput(registerDeviceInput, args.input)),
      unregisterPushDevice: (_parent, args, { viewer }) => service.unregisterDevice(requireUser(viewer), parseId(args.id)),
      registerWebPushSubscription: (_parent, args, { viewer }) => service.registerWebPush(requireUser(viewer), parseInput(webPushSubscription, args.input)),
      unregisterWebPushSubscription: (_parent, args, { viewer }) => service.unregisterWebPush(requireUser(viewer), parseInput(webPushEndpoint, args).endpoint),
      retryNotificationDeliveries: (_parent, args, context) => service.retryDeliveries(parseInput(retryDeliveriesInput, args).ids, context),
    },
    Notification: {
      __resolveReference: (reference, { loaders }) => loaders.notificationById.load(parseId(reference.id)),
      recipient: (notification) => user(notification.recipientId),
      campaign: (notification) => (notification.campaignId ? campaign(notification.campaignId) : null),
      deliveries: (notification, _args, { loaders }) => loaders.deliveriesOf.load(notification.id),
    },
    NotificationDelivery: {
      notification: async (delivery, _args, { loaders }) => {
        const notification = await loaders.notificationById.load(delivery.notificationId);
        if (!notification) throw new Error(`delivery ${delivery.id} has no notification`);
        return notification;
      },
    },
    PushDevice: {
      active: (device) => device.disabledAt === null,
    },
  };
}
