import type { NotificationConfig } from "../config";
import type { UrlRules } from "./webhook-input";

/** Where webhooks may point under this config: plain http outside production or when WEBHOOK_ALLOW_HTTP says so. */
export const webhookUrlRules = (config: NotificationConfig): UrlRules => ({
  allowHttp: config.NODE_ENV !== "production" || config.WEBHOOK_ALLOW_HTTP,
  allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
});
