import { z } from "zod";
import type { EmailSettings } from "./delivery/email-client";
import { accountErasureTopicShape, accountMailTopicShape, booleanFlag, notificationTopicShape, outboxConfigShape, positiveInt, secret, subgraphConfigShape, url } from "@startales/service-kit";

/** base64url of exactly `bytes` bytes (what VAPID keys are written as). */
const base64urlOf = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "must be base64url")
    .refine((value) => Buffer.from(value, "base64url").length === bytes, `must be ${what} (${bytes} bytes, base64url)`);

/** Where a development stack's VAPID claims point when WEB_PUSH_SUBJECT is unset (production must name a real contact). */
export const DEV_WEB_PUSH_SUBJECT = "mailto:webpush@startales.invalid";
/** One config for the subgraph and its worker pool (they share the database and the queue). */
export const notificationConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4007, database: "startales_notification" }),
  /** The campaign subgraph's GraphQL endpoint: who runs and who belongs to a campaign is asked there. */
  CAMPAIGN_URL: url("http://127.0.0.1:4002/graphql"),
  CAMPAIGN_TIMEOUT_MS: positiveInt(5_000),
  /** Namespace of the delivery queue in Redis (the subgraph and its worker pool must share it). */
  NOTIFICATION_REDIS_PREFIX: z.string().min(1).default("notification:"),
  /**
   * The push service (FCM HTTP v1: `POST <PUSH_URL>/v1/projects/<PUSH_PROJECT_ID>/messages:send`).
   * Unset: push is off, and notifications reach the in-app inbox only.
   */
  PUSH_URL: z.url().optional(),
  PUSH_PROJECT_ID: z.string().min(1).default("startales"),
  /** The bearer token the push service accepts (a secret: from the environment only). */
  PUSH_ACCESS_TOKEN: z.string().optional(),
  /** How long one call to the push service may take. */
  PUSH_TIMEOUT_MS: positiveInt(10_000),
  /**
   * Web Push (RFC 8030/8291) to browsers, signed with VAPID (RFC 8292): the key pair clients
   * subscribe with (`webPushApplicationServerKey`) and the worker pool signs with. Both unset:
   * web push is off (the query answers null, registering a subscription SERVICE_UNAVAILABLE).
   * Keys made with `npx web-push generate-vapid-keys`; changing them orphans every subscription.
   */
  WEB_PUSH_VAPID_PUBLIC_KEY: base64urlOf(65, "an uncompressed P-256 public key").optional(),
  /** The VAPID private key (a secret: from the environment only). */
  WEB_PUSH_VAPID_PRIVATE_KEY: base64urlOf(32, "a P-256 private key").optional(),
  /**
   * Who push services contact about our traffic (the JWT's `sub`): a mailto: or https: URL.
   * Required in production with the keys; elsewhere a placeholder is used.
   */
  WEB_PUSH_SUBJECT: z
    .string()
    .refine((value) => URL.canParse(value) && ["mailto:", "https:"].includes(new URL(value).protocol), "must be a mailto: or https: URL")
    .optional(),
  /** How long a push service keeps a message for an offline browser: a day, past which "campaign started" is old news (the inbox has it). */
  WEB_PUSH_TTL_SECONDS: positiveInt(86_400),
  /** RFC 8030 Urgency: `normal` wakes a phone on battery, `low` would wait for it to be plugged in. */
  WEB_PUSH_URGENCY: z.enum(["very-low", "low", "normal", "high"]).default("normal"),
  /** Attempts per delivery before it is FAILED (and left in the queue's failed set). */
  DELIVERY_ATTEMPTS: positiveInt(8),
  DELIVERY_RETRY_BASE_MS: positiveInt(1_000),
  DELIVERY_RETRY_MAX_MS: positiveInt(300_000),
  /** Deliveries the worker pool runs at once per process. */
  DELIVERY_CONCURRENCY: positiveInt(32),
  /** How often the worker pool requeues PENDING deliveries that never reached the queue (a crash between commit and enqueue). */
  DELIVERY_SWEEP_MS: positiveInt(30_000),
  /** How often the worker pool looks for daily digests that are due (a digest goes out within this of its hour). */
  DIGEST_INTERVAL_MS: positiveInt(60_000),
  /** A PENDING delivery this old, not in the queue, is requeued by the sweep. */
  DELIVERY_STALE_MS: positiveInt(60_000),
  /** Notifications older than this are deleted by the sweep (with their deliveries). */
  NOTIFICATION_RETENTION_DAYS: positiveInt(90),
  /** How long the worker waits on the integration stream per read (it also stops within this). */
  EVENTS_BLOCK_MS: positiveInt(2_000),
  /** An event another consumer took but did not acknowledge this long ago is taken over (a crashed worker). */
  EVENTS_CLAIM_IDLE_MS: positiveInt(60_000),
  /** A request that failed this many times (one claim each) goes to `events:<topic>:dead-letter` for operators. */
  EVENTS_MAX_DELIVERIES: positiveInt(10),
  ...outboxConfigShape,
  /** Per user (`events:inbox:<userId>`): enough to resume a subscription, not an archive (the inbox is). */
  EVENT_STREAM_MAX_LEN: positiveInt(200),
  /** The integration stream other services' notification requests arrive on (campaign's NOTIFICATION_TOPIC). */
  ...notificationTopicShape,
  /** Where identity asks for a deleted account's data to be erased (read by the worker pool as consumer group `notification`, with the EVENTS_* settings). */
  ...accountErasureTopicShape,
  /**
   * The bearer credential Alertmanager's webhook_config sends (`authorization.credentials`) to
   * `POST /internal/alerts/alertmanager` (a secret: from the environment only). Unset: the
   * receiver answers 503, so Alertmanager keeps retrying and says why in its logs.
   */
  ALERT_WEBHOOK_TOKEN: z.string().min(16, "must be at least 16 characters (e.g. openssl rand -base64 32)").max(512).optional(),
  /**
   * Identity's internal origin: the alert receiver asks it who holds the ADMIN role
   * (`POST /internal/users/admins`), as a SERVICE identity it signs for NOTIFICATION_SERVICE_ID.
   */
  IDENTITY_URL: url("http://127.0.0.1:4001"),
  IDENTITY_TIMEOUT_MS: positiveInt(5_000),
  /** How long the receiver keeps identity's answer: a storm of alerts makes one call, a role change shows within it. */
  ALERT_ADMINS_CACHE_MS: positiveInt(30_000),
  /** The subject of the SERVICE identity the subgraph signs to ask identity (the alert receiver). */
  NOTIFICATION_SERVICE_ID: z.uuid().default("00000000-0000-4000-8000-000000004007"),
  /**
   * The key outgoing webhooks' signing secrets are encrypted with at rest (AES-256-GCM; at least
   * 32 bytes, e.g. openssl rand -base64 48; a secret: from the environment only). Changing it
   * makes every stored secret unreadable: rotate each webhook's secret afterwards.
   */
  WEBHOOK_SECRET_KEY: z.string().refine((value) => Buffer.byteLength(value) >= 32, "must be at least 32 bytes (e.g. openssl rand -base64 48)"),
  /** Plain http webhook URLs in production too (an operator's tool on an internal network); outside production http is always allowed. */
  WEBHOOK_ALLOW_HTTP: booleanFlag(false),
  /** Webhook URLs on loopback and private networks (tests, an operator's tool on the same network); metadata and link-local never. */
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: booleanFlag(false),
  /** Attempts per webhook delivery before it is FAILED: with the defaults below, about a day of retries. */
  WEBHOOK_MAX_ATTEMPTS: positiveInt(10),
  /** The first retry's delay; each next one doubles (jittered), up to WEBHOOK_RETRY_MAX_MS. */
  WEBHOOK_RETRY_BASE_MS: positiveInt(300_000),
  WEBHOOK_RETRY_MAX_MS: positiveInt(21_600_000),
  /** How long one POST to a webhook may take, connection included. */
  WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
  /** Webhook deliveries the worker pool sends at once per process. */
  WEBHOOK_CONCURRENCY: positiveInt(16),
  /**
   * The mail server (nodemailer's pooled SMTP transport): smtp://host:port (STARTTLS when the
   * server offers it) or smtps://host:port (TLS from the start); credentials in the URL's user
   * info. Unset: email is off, as push is without PUSH_URL.
   */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  /** The From of every mail (an address, optionally `Name <address>`). */
  SMTP_FROM: z.string().min(3).default("Startales <no-reply@startales.invalid>"),
  /** Refuse a smtp:// server that does not offer STARTTLS (production should). */
  SMTP_REQUIRE_TLS: booleanFlag(false),
  /** Check the server's certificate (off only for a development server's self-signed one). */
  SMTP_TLS_REJECT_UNAUTHORIZED: booleanFlag(true),
  /** Connections kept open to the mail server per worker process. */
  SMTP_POOL_SIZE: positiveInt(5),
  SMTP_TIMEOUT_MS: positiveInt(30_000),
  /** Where identity asks for account mail (ACCOUNT_MAIL_REQUESTED; consumer group `notification`). */
  ...accountMailTopicShape,
  /**
   * Signs the one-click unsubscribe links of every mail (RFC 8058), which never expire: a
   * secret of at least 32 bytes (changing it breaks the links of mails already sent).
   */
  UNSUBSCRIBE_SIGNING_SECRET: secret(),
  /** The public origin mails' links name (the gateway's, which forwards /email/unsubscribe/ here). */
  NOTIFICATION_PUBLIC_BASE_URL: url("http://127.0.0.1:4000"),
}).refine((config) => !config.PUSH_URL || (config.PUSH_ACCESS_TOKEN?.length ?? 0) > 0, {
  path: ["PUSH_ACCESS_TOKEN"],
  message: "is required when PUSH_URL is set",
})
  .refine((config) => Boolean(config.WEB_PUSH_VAPID_PUBLIC_KEY) === Boolean(config.WEB_PUSH_VAPID_PRIVATE_KEY), {
    path: ["WEB_PUSH_VAPID_PRIVATE_KEY"],
    message: "and WEB_PUSH_VAPID_PUBLIC_KEY are a pair: set both (web push on) or neither (off)",
  })
  .refine((config) => !config.WEB_PUSH_VAPID_PUBLIC_KEY || config.NODE_ENV !== "production" || Boolean(config.WEB_PUSH_SUBJECT), {
    path: ["WEB_PUSH_SUBJECT"],
    message: "is required in production when web push is on (a mailto: or https: contact for push services)",
  });

export type NotificationConfig = z.infer<typeof notificationConfigSchema>;

export type WebPushSettings = { publicKey: string; privateKey: string; subject: string; ttlSeconds: number; urgency: NotificationConfig["WEB_PUSH_URGENCY"] };

/** Web push's settings, or null when it is off (no VAPID keys). */
export function webPushSettings(config: NotificationConfig): WebPushSettings | null {
  if (!config.WEB_PUSH_VAPID_PUBLIC_KEY || !config.WEB_PUSH_VAPID_PRIVATE_KEY) return null;
  return {
    publicKey: config.WEB_PUSH_VAPID_PUBLIC_KEY,
    privateKey: config.WEB_PUSH_VAPID_PRIVATE_KEY,
    subject: config.WEB_PUSH_SUBJECT ?? DEV_WEB_PUSH_SUBJECT,
    ttlSeconds: config.WEB_PUSH_TTL_SECONDS,
    urgency: config.WEB_PUSH_URGENCY,
  };
}

/** The email channel's transport settings, or null when it is off (no SMTP_URL). */
export function emailSettings(config: NotificationConfig): EmailSettings | null {
  if (!config.SMTP_URL) return null;
  return {
    url: config.SMTP_URL,
    from: config.SMTP_FROM,
    requireTls: config.SMTP_REQUIRE_TLS,
    rejectUnauthorized: config.SMTP_TLS_REJECT_UNAUTHORIZED,
    poolSize: config.SMTP_POOL_SIZE,
    timeoutMs: config.SMTP_TIMEOUT_MS,
  };
}
