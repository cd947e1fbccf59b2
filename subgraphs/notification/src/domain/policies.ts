import { Role, hasRole, isId, type Policies } from "@startales/service-kit";
import type { NotificationContext } from "../context";
import type { Notification } from "../generated/prisma/client";

/**
 * The data-dependent rules that schema.graphql names with @policy. A notification is
 * personal: its recipient, its sender (to follow its deliveries) and admins read it, nobody
 * else (analysts included). A policy
 * that cannot find its subject allows: the resolver answers null or NOT_FOUND.
 */
export const notificationPolicies: Policies<NotificationContext> = {
  notification_reader: async ({ typeName, parent, args, viewer, context }) => {
    const notification =
      typeName === "Notification" ? (parent as Notification | null) : isId(args.id) ? await context.loaders.notificationById.load(args.id) : null;
    if (!notification) return true;
    if (viewer.kind !== "user") return false;
    return notification.recipientId === viewer.userId || notification.senderId === viewer.userId || hasRole(viewer, Role.ADMIN);
  },
};
