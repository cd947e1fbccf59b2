import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";

/**
 * Signing as the Standard Webhooks spec says, with its maintained reference library
 * (`standardwebhooks`): receivers verify with the same library in their language, so signing
 * with it rules out our reading of the spec drifting from theirs (the secret's `whsec_`
 * prefix, base64 key, the signed content `${id}.${timestamp}.${body}`, the `v1,` prefix).
 */

export const SECRET_PREFIX = "whsec_";

/** A new secret: `whsec_` and 32 random bytes in base64, as the spec's libraries take it. */
export const newWebhookSecret = () => `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;

export type SignedHeaders = { "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string };

/** The three headers of one attempt: `id` stays the same across retries (receivers dedupe on it), the timestamp is the attempt's. */
export function signatureHeaders(secret: string, id: string, at: Date, body: string): SignedHeaders {
  const timestamp = Math.floor(at.getTime() / 1000);
  // The library signs with the whole seconds of `at`, as the header says.
  const signature = new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature };
}
