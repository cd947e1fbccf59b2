import { ECDH } from "node:crypto";
import { z } from "zod";
import { canonicalTimeZone, parseMinute } from "./quiet-hours";
import { checkEndpoint } from "./web-push-endpoint";

const id = z.uuid("must be a valid ID");
const categories = ["CAMPAIGN", "MEMBERSHIP", "ANNOUNCEMENT", "SYSTEM"] as const;

/** At most this many bytes of JSON in `data`: it travels in every push and every inbox page. */
export const MAX_DATA_BYTES = 4096;

const data = z
  .record(z.string(), z.unknown(), { error: "must be an object" })
  .nullish()
  .transform((value) => value ?? {})
  .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= MAX_DATA_BYTES, `must be at most ${MAX_DATA_BYTES} bytes of JSON`);

export const sendNotificationInput = z.object({
  recipientIds: z
    .array(id)
    .min(1, "must name at least one recipient")
    .max(500, "must name at most 500 recipients")
    .transform((ids) => [...new Set(ids)]),
  category: z.enum(["ANNOUNCEMENT", "SYSTEM"], { error: "must be ANNOUNCEMENT or SYSTEM (the others come from the game's own events)" }),
  title: z.string().trim().min(1, "must not be empty").max(120, "must be at most 120 characters"),
  body: z.string().trim().min(1, "must not be empty").max(2000, "must be at most 2000 characters"),
  campaignId: id.nullish().transform((value) => value ?? null),
  data,
  idempotencyKey: z.string().min(1, "must not be empty").max(128, "must be at most 128 characters"),
});
export type SendNotificationInput = z.infer<typeof sendNotificationInput>;

export const inboxPage = z.object({
  first: z.number().int().min(1, "must be at least 1").max(100, "must be at most 100").nullish().transform((v) => v ?? 20),
  after: id.nullish().transform((v) => v ?? null),
  unreadOnly: z.boolean().nullish().transform((v) => v ?? false),
});
export type InboxPage = z.infer<typeof inboxPage>;

export const markReadInput = z.object({
  ids: z.array(id).min(1, "must name at least one notification").max(500, "must name at most 500 notifications"),
});

export const failedDeliveriesPage = z.object({
  first: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").nullish().transform((v) => v ?? 50),
  after: id.nullish().transform((v) => v ?? null),
});

export const retryDeliveriesInput = z.object({
  ids: z.array(id).min(1, "must name at least one delivery").max(500, "must name at most 500 deliveries"),
});

export const preferenceInput = z.object({
  category: z.enum(categories, { error: `must be one of ${categories.join(", ")}` }),
  inApp: z.boolean(),
  push: z.boolean(),
  email: z.boolean().nullish(),
  digest: z.boolean().nullish(),
}).refine((input) => !(input.category === "SYSTEM" && input.digest === true), { message: "SYSTEM notifications (security, maintenance) are never held for a digest", path: ["digest"] });

export const registerDeviceInput = z.object({
  platform: z.enum(["ANDROID", "IOS", "WEB"], { error: "must be ANDROID, IOS or WEB" }),
  token: z.string().trim().min(1, "must not be empty").max(4096, "must be at most 4096 characters"),
  label: z.string().trim().max(64, "must be at most 64 characters").nullish().transform((v) => (v ? v : null)),
});

/** base64url (padding tolerated: some clients add it) of exactly `bytes` bytes; the value without padding. */
const base64urlKey = (bytes: number, what: string, valid: (key: Buffer) => boolean = () => true) =>
  z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, "must be base64url")
    .transform((value) => value.replace(/=+$/, ""))
    .superRefine((value, ctx) => {
      const key = Buffer.from(value, "base64url");
      // One message per field: the length, else what the key must be.
      if (key.length !== bytes) ctx.addIssue({ code: "custom", message: `must be ${what} (${bytes} bytes, base64url)` });
      else if (!valid(key)) ctx.addIssue({ code: "custom", message: `must be ${what}` });
    });

/**
 * A browser's PushSubscription (its `toJSON()`'s endpoint and keys). The endpoint is where
 * the worker pool will POST, so it is held to web-push-endpoint.ts's rules; p256dh must be a
 * point of P-256 (RFC 8291 §3.1: uncompressed), or nothing could ever be encrypted for it.
 */
export const webPushSubscriptionInput = (env: { production: boolean }) =>
  z.object({
    endpoint: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .max(4096, "must be at most 4096 characters")
      .superRefine((value, ctx) => {
        const refused = checkEndpoint(value, env);
        if (refused) ctx.addIssue({ code: "custom", message: refused });
      }),
    keys: z.object({
      p256dh: base64urlKey(65, "an uncompressed P-256 public key", isP256Point),
      auth: base64urlKey(16, "the subscription's authentication secret"),
    }),
    label: z.string().trim().max(64, "must be at most 64 characters").nullish().transform((v) => (v ? v : null)),
  });

function isP256Point(key: Buffer): boolean {
  if (key[0] !== 0x04) return false;
  try {
    // Throws for bytes that are not a point of the curve.
    ECDH.convertKey(key, "prime256v1");
    return true;
  } catch {
    return false;
  }
}

export const webPushEndpoint = z.object({ endpoint: z.string().trim().min(1, "must not be empty").max(4096, "must be at most 4096 characters") });

const minuteOfDay = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const minute = parseMinute(value);
    if (minute === null) {
      ctx.addIssue({ code: "custom", message: "must be a time of day as HH:MM (00:00 to 23:59)" });
      return z.NEVER;
    }
    return minute;
  });

/** Quiet hours as minutes of the day in a canonical IANA zone; null clears them. */
/** An IANA zone, canonicalised; anything else is refused by name. */
const ianaZone = z
  .string()
  .trim()
  .max(64, "must be at most 64 characters")
  .transform((value, ctx) => {
    const zone = canonicalTimeZone(value);
    if (zone === null) {
      ctx.addIssue({ code: "custom", message: "must be an IANA time zone (e.g. Europe/Paris)" });
      return z.NEVER;
    }
    return zone;
  });

export const digestScheduleInput = z.object({
  hour: z.number().int("must be a whole hour").min(0, "must be 0 to 23").max(23, "must be 0 to 23"),
  timeZone: ianaZone,
});

export const quietHoursInput = z.object({
  input: z
    .object({
      start: minuteOfDay,
      end: minuteOfDay,
      timeZone: ianaZone,
    })
    .refine((window) => window.start !== window.end, { message: "must differ from start", path: ["end"] })
    .nullish()
    .transform((window) => (window ? { startMinute: window.start, endMinute: window.end, timeZone: window.timeZone } : null)),
});
