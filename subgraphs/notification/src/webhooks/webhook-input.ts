import { z } from "zod";
import type { WebhookEvent } from "../generated/prisma/client";
import { checkWebhookHost, type AddressRules } from "./webhook-address";

export const WEBHOOK_EVENTS = ["ALERT_FIRING", "ALERT_RESOLVED", "PING"] as const satisfies readonly WebhookEvent[];

export const MAX_URL_LENGTH = 2048;

/** What the URL rules depend on: plain http outside production (or when allowed), and the address rules. */
export type UrlRules = AddressRules & { allowHttp: boolean };

const id = z.uuid("must be a valid ID");

/** Why `value` is refused as a webhook URL, before any DNS lookup; null when it may be used. */
export function checkWebhookUrl(value: string, rules: UrlRules): string | null {
  if (!URL.canParse(value)) return "must be a URL";
  const url = new URL(value);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && rules.allowHttp)) return "must be an https URL";
  if (url.username || url.password) return "must not contain credentials";
  return checkWebhookHost(url.hostname, rules);
}

const urlField = (rules: UrlRules) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
    .superRefine((value, ctx) => {
      const refused = checkWebhookUrl(value, rules);
      if (refused) ctx.addIssue({ code: "custom", message: refused });
    });

const events = z
  .array(z.enum(WEBHOOK_EVENTS, { error: `must be among ${WEBHOOK_EVENTS.join(", ")}` }))
  .min(1, "must name at least one event")
  .transform((list) => [...new Set(list)]);

const description = z
  .string()
  .trim()
  .max(200, "must be at most 200 characters")
  .nullish()
  .transform((value) => (value ? value : null));

export const createWebhookInput = (rules: UrlRules) => z.object({ url: urlField(rules), events, description });
export type CreateWebhookInput = z.infer<ReturnType<typeof createWebhookInput>>;

/** Only what is given changes: null or absent leaves it (a description is cleared with ""). */
export const updateWebhookInput = (rules: UrlRules) =>
  z.object({
    url: urlField(rules).nullish().transform((v) => v ?? undefined),
    events: events.nullish().transform((v) => v ?? undefined),
    description: z
      .string()
      .trim()
      .max(200, "must be at most 200 characters")
      .nullish()
      .transform((value) => (value === null || value === undefined ? undefined : value || null)),
  });
export type UpdateWebhookInput = z.infer<ReturnType<typeof updateWebhookInput>>;

export const webhookDeliveriesPage = z.object({
  webhookId: id,
  first: z.number().int().min(1, "must be at least 1").max(100, "must be at most 100").nullish().transform((v) => v ?? 20),
  after: id.nullish().transform((v) => v ?? null),
});
export type WebhookDeliveriesPage = z.infer<typeof webhookDeliveriesPage>;
