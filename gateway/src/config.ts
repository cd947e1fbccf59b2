import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError, baseConfigShape, booleanFlag, firehosePrefix, parseConfig, port, positiveInt, secret, url } from "@startales/service-kit";
import { DEVELOPMENT_ORIGINS, corsOriginsVariable } from "./cors";

export const gatewayConfigSchema = z.object({
  ...baseConfigShape,
  PORT: port(4000),
  SUPERGRAPH_PATH: z.string().min(1).default(join(__dirname, "..", "..", "supergraph.graphql")),
  REDIS_URL: url("redis://127.0.0.1:6379"),
  /** The firehose prefix analytics reads (the same value as the services' EVENT_FIREHOSE_PREFIX): the gateway's usage statistics go there. */
  EVENT_FIREHOSE_PREFIX: firehosePrefix,
  /** How long each usage-statistics window is (at most a minute, which analytics counts by): one event per replica per window. */
  OPERATION_STATS_WINDOW_MS: z.coerce.number().int().min(100).max(60_000).default(60_000),
  IDENTITY_JWKS_URL: url("http://127.0.0.1:4001/.well-known/jwks.json"),
  /** Where identity verifies API keys (POST /internal/api-keys/verify); default: IDENTITY_JWKS_URL's origin. */
  IDENTITY_INTERNAL_URL: url().optional(),
  /** How long a verified API key is cached; revocations evict at once (Redis pub/sub), role changes wait for it. */
  API_KEY_CACHE_TTL_MS: positiveInt(30_000),
  JWT_ISSUER: z.string().min(1).default("startales-identity"),
  JWT_AUDIENCE: z.string().min(1).default("startales"),
  /** Signs the identity the gateway passes to subgraphs; the subgraphs hold the same secret. */
  GATEWAY_SIGNING_SECRET: secret(),
  BODY_LIMIT_BYTES: positiveInt(1_000_000),
  SUBGRAPH_TIMEOUT_MS: positiveInt(10_000),
  /** Keep-alive sockets per subgraph origin. */
  SUBGRAPH_CONNECTIONS: positiveInt(64),
  /**
   * Entity types whose public answers (Cache-Control public, max-age) the gateway keeps and
   * serves to every caller (execution/entity-cache.ts): comma-separated, or none.
   */
  ENTITY_CACHE_TYPES: z
    .string()
    .default("User")
    .transform((value) => new Set(value.split(",").map((type) => type.trim()).filter((type) => type !== "" && type !== "none"))),
  ENTITY_CACHE_MAX_ENTRIES: positiveInt(100_000),
  ENTITY_CACHE_MAX_TTL_MS: positiveInt(60_000),
  /**
   * Subgraph answers named by the campaign versions they were computed from (a galaxy map, a
   * leaderboard), kept per caller until a version moves (execution/versioned-answers.ts): at
   * most this many (0: none) and about this many bytes, each at most VERSIONED_ANSWERS_MAX_TTL_MS.
   */
  VERSIONED_ANSWERS_MAX_ENTRIES: z.coerce.number().int().min(0).default(20_000),
  VERSIONED_ANSWERS_MAX_BYTES: positiveInt(64 * 1024 * 1024),
  VERSIONED_ANSWERS_MAX_TTL_MS: positiveInt(300_000),
  /** How long a campaign's version, once learnt, is trusted without a publication: a bound on a missed one. */
  READ_CACHE_VERSION_TTL_MS: positiveInt(30_000),
  /** true/false/1/0; unset: on, except in production (see loadGatewayConfig). */
  INTROSPECTION: z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1").optional(),
  /** The schema explorer (GraphiQL) at /explorer and GET /graphql; true/false/1/0; unset: on, except in production. */
  EXPLORER: z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1").optional(),
  /** Origins whose pages may call /graphql and /content/ (cors.ts): comma-separated, patterns allowed, or none; unset: loopback pages in development, none in production. */
  CORS_ORIGINS: corsOriginsVariable(),
  // Query limits (plugins/query-limits.ts), checked before anything runs; defaults after
  // the OWASP cheat sheet, graphql-armor and Apollo Router, with room for our own operations.
  MAX_QUERY_DEPTH: positiveInt(12),
  MAX_ALIASES: positiveInt(30),
  MAX_DIRECTIVES: positiveInt(50),
  /** Lexical tokens per document: graphql-js stops parsing beyond it. */
  MAX_TOKENS: positiveInt(5000),
  /** Estimated fields resolved: each field 1, times the lists it sits under. */
  MAX_QUERY_COST: positiveInt(5000),
  /**
   * Deepest nesting of a document's brackets and of a JSON value in variables or extensions
   * (request-preflight.ts): well past any real operation, well short of where a recursive
   * parser or serializer would overflow the stack.
   */
  MAX_INPUT_DEPTH: positiveInt(64),
  /** Values (scalars, objects, arrays) in one operation's variables. */
  MAX_VARIABLE_VALUES: positiveInt(10_000),
  /** Operations in one batched request (a JSON array body); 0 refuses batches. */
  MAX_BATCH_SIZE: z.coerce.number().int().min(0).default(10),
  /** How long an automatically persisted query (APQ) stays registered in Redis. */
  APQ_TTL_SECONDS: positiveInt(86_400),
  /** enforce: only the operations in OPERATION_SAFELIST_PATH (an Apollo persisted query manifest) run. */
  SAFELIST_MODE: z.enum(["off", "enforce"]).default("off"),
  OPERATION_SAFELIST_PATH: z.string().min(1).optional(),
  // Rate limits (plugins/rate-limit.ts), kept in Redis so every replica charges the same buckets.
  /** Requests per minute from one client address (an IPv6 /64), checked before any credential. */
  RATE_LIMIT_IP_PER_MINUTE: positiveInt(1200),
  RATE_LIMIT_USER_PER_MINUTE: positiveInt(600),
  RATE_LIMIT_API_KEY_PER_MINUTE: positiveInt(1200),
  /** Estimated query cost (as MAX_QUERY_COST counts it) per minute per user, or per address when anonymous. */
  RATE_LIMIT_COST_PER_MINUTE: positiveInt(50_000),
  /** When Redis does not answer: true serves the request unlimited, false refuses it (503). */
  RATE_LIMIT_FAIL_OPEN: booleanFlag(true),
  /** Namespace of the buckets in Redis: gateways with the same prefix share their budgets. */
  RATE_LIMIT_KEY_PREFIX: z.string().min(1).default("rate-limit:"),
  // Subscriptions over graphql-ws on /graphql (subscriptions/, gateway/README.md "Subscriptions").
  /** Open WebSockets from one client address across all replicas (Redis); more are refused with HTTP 429. */
  WS_MAX_CONNECTIONS_PER_IP: positiveInt(50),
  /** Open WebSockets of one user (or API key holder) across all replicas; more are closed with 4429. */
  WS_MAX_CONNECTIONS_PER_USER: positiveInt(10),
  /** Open WebSockets on this replica; more are refused with HTTP 503 (the client tries another replica). */
  WS_MAX_CONNECTIONS: positiveInt(20_000),
  /** Active subscriptions (and in-flight operations) on one socket. */
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: positiveInt(100),
  /** Messages a client may send per second on one socket (bursts up to twice that); a flood is closed with 4429. */
  WS_MAX_MESSAGES_PER_SECOND: positiveInt(20),
  /** connection_init must arrive within this; otherwise close 4408. */
  WS_INIT_TIMEOUT_MS: positiveInt(10_000),
  /** Server pings; a socket that has not answered the previous ping is terminated. */
  WS_PING_INTERVAL_MS: positiveInt(30_000),
  /** Bytes queued for one socket beyond which it is a slow consumer and is closed with 4413. */
  WS_MAX_BUFFERED_BYTES: positiveInt(1_000_000),
  /** Events replayed per Redis read when a subscription resumes with `after`. */
  WS_REPLAY_BATCH: positiveInt(200),
  /** Missed events a resuming subscription may replay; further behind it gets RESUME_POINT_EXPIRED and refetches. */
  WS_MAX_REPLAY_EVENTS: positiveInt(1_000),
  /** Events waiting to be resolved for one group of identical subscriptions before they are told to resume. */
  WS_MAX_GROUP_BACKLOG: positiveInt(1_000),
  /**
   * Subscribers who share one execution per event are each authorized again as themselves
   * once their last check is this old (0: before every event): how long a player who lost
   * access may still receive a shared feed.
   */
  WS_REAUTHORIZE_SECONDS: z.coerce.number().int().min(0).max(3600).default(15),
  /** The content subgraph's origin: `/content/` (uploads, and downloads of assets) is proxied there. */
  CONTENT_URL: url("http://127.0.0.1:4006"),
  /** The notification subgraph's origin: mails' one-click unsubscribe links (`/email/unsubscribe/`) are forwarded there. */
  NOTIFICATION_URL: url("http://127.0.0.1:4007"),
  /** The provider's origin: `GET /content/<sha256>` of generated audio and images stored before content existed is proxied there. */
  PROVIDER_CONTENT_URL: url("http://127.0.0.1:4004"),
  /** The realtime subgraph's origin, told of every socket's connect, heartbeat and disconnect (presence). */
  REALTIME_INTERNAL_URL: url("http://127.0.0.1:4008"),
  /** How often the sockets of this replica are reported alive to realtime (presence) and the connection caps. */
  WS_HEARTBEAT_INTERVAL_MS: positiveInt(20_000),
  /** How many reverse proxies in front append to X-Forwarded-For; 0 ignores the header. */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  /** PEM files: with both, the gateway serves HTTPS itself (deployments without a TLS-terminating ingress). */
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  // The queues admin (admin/queues-admin.ts, docs/queues-admin.md): bull-board on a listener
  // of its own, on HOST, never where /graphql is served.
  /** Its port; unset: 4010 in development, off otherwise; "off" turns it off; 0 picks a free port. */
  QUEUES_ADMIN_PORT: z.union([z.literal("off"), z.coerce.number().int().min(0).max(65535)]).optional(),
  /** Comma-separated BullMQ key prefixes whose queues it shows (the worker pools' defaults: simulation's QUEUE_PREFIX, provider's and notification's `<redis prefix>bull`). */
  QUEUES_ADMIN_PREFIXES: z
    .string()
    .default("bull,provider:bull,notification:bull")
    .transform((list) => list.split(",").map((prefix) => prefix.trim().replace(/:+$/, "")).filter(Boolean))
    .refine((prefixes) => prefixes.length > 0, "must name at least one prefix"),
  /** How often it looks for queues in Redis: a queue created later appears within this. */
  QUEUES_ADMIN_DISCOVERY_MS: positiveInt(30_000),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema> & {
  IDENTITY_INTERNAL_URL: string;
  INTROSPECTION: boolean;
  EXPLORER: boolean;
  CORS_ORIGINS: string[];
  /** From SUBGRAPH_<NAME>_URL: replaces the routing_url composed into the supergraph. */
  subgraphUrls: Record<string, string>;
  /** Read from TLS_CERT_FILE and TLS_KEY_FILE at start-up. */
  tls?: { cert: Buffer; key: Buffer };
  /** The queues admin's port, or undefined when it is off (see loadGatewayConfig). */
  QUEUES_ADMIN_PORT: number | undefined;
};

const SUBGRAPH_URL_VARIABLE = /^SUBGRAPH_([A-Z0-9_]+)_URL$/;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const config = parseConfig(gatewayConfigSchema, env);
  const subgraphUrls: Record<string, string> = {};
  const issues: { variable: string; message: string }[] = [];
  for (const [key, value] of Object.entries(env)) {
    const name = SUBGRAPH_URL_VARIABLE.exec(key)?.[1];
    if (!name || value === undefined) continue;
    if (isHttpUrl(value)) subgraphUrls[name.toLowerCase()] = value;
    else issues.push({ variable: key, message: "must be a URL (http:// or https://)" });
  }
  if (config.SAFELIST_MODE === "enforce" && !config.OPERATION_SAFELIST_PATH) {
    issues.push({ variable: "OPERATION_SAFELIST_PATH", message: "is required when SAFELIST_MODE=enforce" });
  }
  const tls = readTlsFiles(config, issues);
  if (issues.length) throw new ConfigError(issues);
  // Introspection: a production schema is not published unless asked for; development tools need it.
  const introspection = config.INTROSPECTION ?? config.NODE_ENV !== "production";
  // The explorer and cross-origin pages: a developer's, on their machine; in production, only those named.
  const explorer = config.EXPLORER ?? config.NODE_ENV !== "production";
  const corsOrigins = config.CORS_ORIGINS ?? (config.NODE_ENV === "production" ? [] : [...DEVELOPMENT_ORIGINS]);
  // The queues admin: on where a developer runs the stack, only where asked for elsewhere.
  const queuesAdminPort = config.QUEUES_ADMIN_PORT === "off" ? undefined : (config.QUEUES_ADMIN_PORT ?? (config.NODE_ENV === "development" ? 4010 : undefined));
  return { ...config, IDENTITY_INTERNAL_URL: config.IDENTITY_INTERNAL_URL ?? new URL(config.IDENTITY_JWKS_URL).origin, INTROSPECTION: introspection, EXPLORER: explorer, CORS_ORIGINS: corsOrigins, QUEUES_ADMIN_PORT: queuesAdminPort, subgraphUrls, ...(tls ? { tls } : {}) };
}

function readTlsFiles(config: { TLS_CERT_FILE?: string; TLS_KEY_FILE?: string }, issues: { variable: string; message: string }[]) {
  const files = { TLS_CERT_FILE: config.TLS_CERT_FILE, TLS_KEY_FILE: config.TLS_KEY_FILE };
  if (!files.TLS_CERT_FILE && !files.TLS_KEY_FILE) return undefined;
  const read = (variable: keyof typeof files, marker: RegExp): Buffer | undefined => {
    const path = files[variable];
    if (!path) {
      issues.push({ variable, message: "is required when the other TLS file is set" });
      return undefined;
    }
    try {
      const pem = readFileSync(path);
      if (!marker.test(pem.toString("utf8"))) issues.push({ variable, message: `${path} is not a PEM file of the right kind` });
      return pem;
    } catch (error) {
      issues.push({ variable, message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}` });
      return undefined;
    }
  };
  const cert = read("TLS_CERT_FILE", /-----BEGIN CERTIFICATE-----/);
  const key = read("TLS_KEY_FILE", /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  return cert && key ? { cert, key } : undefined;
}

const isHttpUrl = (value: string) => URL.canParse(value) && ["http:", "https:"].includes(new URL(value).protocol);
