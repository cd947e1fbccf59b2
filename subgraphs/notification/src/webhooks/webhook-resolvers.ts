import { parseId, parseInput } from "@startales/service-kit";
import type { Resolvers } from "../generated/resolvers-types";
import { createWebhookInput, updateWebhookInput, webhookDeliveriesPage, type UrlRules } from "./webhook-input";
import type { WebhookService } from "./webhook-service";

/** The outgoing webhooks' root fields, added to the subgraph's (who may call them is in the schema: admins). */
export function withWebhookResolvers(base: Resolvers, webhooks: WebhookService, rules: UrlRules): Resolvers {
  const createInput = createWebhookInput(rules);
  const updateInput = updateWebhookInput(rules);
  return {
    ...base,
    Query: {
      ...base.Query,
      webhooks: () => webhooks.list(),
      webhookDeliveries: (_parent, args) => webhooks.deliveries(parseInput(webhookDeliveriesPage, args)),
    },
    Mutation: {
      ...base.Mutation,
      createWebhook: (_parent, args, context) => webhooks.create(parseInput(createInput, args.input), context),
      updateWebhook: (_parent, args, context) => webhooks.update(parseId(args.id), parseInput(updateInput, args.input), context),
      setWebhookEnabled: (_parent, args, context) => webhooks.setEnabled(parseId(args.id), args.enabled, context),
      deleteWebhook: (_parent, args, context) => webhooks.delete(parseId(args.id), context),
      rotateWebhookSecret: (_parent, args, context) => webhooks.rotateSecret(parseId(args.id), context),
      pingWebhook: (_parent, args) => webhooks.ping(parseId(args.id)),
      redeliverWebhook: (_parent, args, context) => webhooks.redeliver(parseId(args.deliveryId, "deliveryId"), context),
    },
  };
}
