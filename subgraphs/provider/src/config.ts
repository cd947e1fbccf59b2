import { z } from "zod";
import { booleanFlag, outboxConfigShape, positiveInt, subgraphConfigShape, url } from "@startales/service-kit";
import { deploymentsFromEnv } from "./domain/deployments";

const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

export const providerConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4004, database: "startales_provider" }),
  /** The campaign subgraph's GraphQL endpoint: whether a caller belongs to a campaign whose budget a job charges. */
  CAMPAIGN_URL: url("http://127.0.0.1:4002/graphql"),
  CAMPAIGN_TIMEOUT_MS: positiveInt(5_000),
  /**
   * The gateway's public origin (e.g. https://api.startales.example): content URLs in jobs start
   * with it, since clients fetch content only through the gateway's /content/ proxy. Unset: the
   * local stack's gateway, http://127.0.0.1:<GATEWAY_PORT>. `self`: this process's own origin,
   * for a provider reached without a gateway (the tests' harness).
   */
  PROVIDER_PUBLIC_URL: z.union([z.literal("self"), z.url({ protocol: /^https?$/ })]).optional(),
  /** The local stack's gateway port (npm start hands GATEWAY_PORT to every process): PROVIDER_PUBLIC_URL's default. */
  GATEWAY_PORT: positiveInt(4000),
  /** Namespace of the queue, caches and limits in Redis (replicas and the worker pool must share it). */
  PROVIDER_REDIS_PREFIX: z.string().min(1).default("provider:"),
  /** Vendor deployments (JSON array, see README); offline engines are always added unless PROVIDER_OFFLINE is false. */
  PROVIDER_DEPLOYMENTS: z
    .string()
    .default("[]")
    .transform((text, ctx) => {
      try {
        return deploymentsFromEnv(JSON.parse(text));
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** Model-group fallbacks (JSON object: {"narrator": ["text"]}): tried in order when a group's deployments all fail. */
  PROVIDER_FALLBACKS: z
    .string()
    .default("{}")
    .transform((text, ctx) => {
      const parsed = z.record(z.string(), z.array(z.string())).safeParse((() => {
        try {
          return JSON.parse(text);
        } catch {
          return null;
        }
      })());
      if (!parsed.success) {
        ctx.addIssue({ code: "custom", message: 'must be a JSON object of group → [group, …]' });
        return z.NEVER;
      }
      return parsed.data;
    }),
  /** The built-in offline engines (narrator, speech, images) as the last fallback of every kind. */
  PROVIDER_OFFLINE: booleanFlag(true),
  /** priority | weighted | least-latency | least-busy */
  PROVIDER_ROUTING: z.enum(["priority", "weighted", "least-latency", "least-busy"]).default("priority"),
  /** After a 429/5xx/timeout a deployment rests this long (or as long as its Retry-After says). */
  PROVIDER_COOLDOWN_MS: positiveInt(30_000),
  /** Consecutive failures that open a deployment's circuit, and how long it stays open. */
  PROVIDER_CIRCUIT_FAILURES: positiveInt(5),
  PROVIDER_CIRCUIT_OPEN_MS: positiveInt(60_000),
  /** BullMQ attempts per job (each attempt walks the whole fallback chain) and the backoff base. */
  PROVIDER_JOB_ATTEMPTS: positiveInt(3),
  PROVIDER_RETRY_BASE_MS: positiveInt(1_000),
  PROVIDER_RETRY_MAX_MS: positiveInt(60_000),
  PROVIDER_WORKER_CONCURRENCY: positiveInt(8),
  /**
   * Worker pool: how often (and once at start) unfinished jobs are checked against the queue.
   * A QUEUED job (or one RUNNING since before PROVIDER_STALE_MS) older than PROVIDER_STALE_MS
   * whose queue entry is gone (Redis lost its data) is queued again, PROVIDER_SWEEP_BATCH rows
   * per query, oldest first.
   */
  PROVIDER_SWEEP_MS: positiveInt(30_000),
  PROVIDER_STALE_MS: positiveInt(60_000),
  PROVIDER_SWEEP_BATCH: positiveInt(500),
  /** Response cache: entries in the in-process LRU, and TTL (seconds) per kind in Redis. */
  PROVIDER_CACHE_ENTRIES: positiveInt(500),
  PROVIDER_CACHE_TTL_TEXT_S: positiveInt(3_600),
  PROVIDER_CACHE_TTL_SPEECH_S: positiveInt(86_400),
  PROVIDER_CACHE_TTL_IMAGE_S: positiveInt(86_400),
  PROVIDER_CACHE_TTL_TRANSCRIPTION_S: positiveInt(86_400),
  /** Output caps: tokens asked of a vendor, and characters kept of any text result. */
  PROVIDER_MAX_OUTPUT_TOKENS: positiveInt(512),
  PROVIDER_MAX_OUTPUT_CHARS: positiveInt(4_000),
  PROVIDER_MAX_AUDIO_BYTES: positiveInt(700_000),
  /** Budgets per rolling window (0 = unlimited), per player and per campaign; admins are exempt. */
  PROVIDER_BUDGET_WINDOW_MS: positiveInt(86_400_000),
  PROVIDER_BUDGET_PLAYER_REQUESTS: nonNegativeInt(500),
  PROVIDER_BUDGET_PLAYER_TOKENS: nonNegativeInt(200_000),
  PROVIDER_BUDGET_PLAYER_COST_MICROS: nonNegativeInt(2_000_000),
  PROVIDER_BUDGET_CAMPAIGN_REQUESTS: nonNegativeInt(5_000),
  PROVIDER_BUDGET_CAMPAIGN_TOKENS: nonNegativeInt(2_000_000),
  PROVIDER_BUDGET_CAMPAIGN_COST_MICROS: nonNegativeInt(20_000_000),
  /** How long a job's chunk stream (`events:job:<id>`) is kept after its last chunk. */
  PROVIDER_STREAM_TTL_S: positiveInt(3_600),
  /** Use espeak-ng for speech when it is installed (else the built-in formant synthesizer). */
  PROVIDER_ESPEAK: booleanFlag(true),
  /**
   * Offline speech-to-text: pocketsphinx_continuous (a name looked up on PATH, or a path) and
   * its US English model directory, Debian's `pocketsphinx` and `pocketsphinx-en-us`. Checked
   * once at start; when either is missing there is no offline transcription deployment.
   */
  PROVIDER_POCKETSPHINX_COMMAND: z.string().min(1).default("pocketsphinx_continuous"),
  PROVIDER_POCKETSPHINX_MODEL: z.string().min(1).default("/usr/share/pocketsphinx/model/en-us"),
  /** Worker: pocketsphinx processes at once (each takes a core and about 100 MB); other transcriptions wait their turn. */
  PROVIDER_POCKETSPHINX_CONCURRENCY: positiveInt(2),
  /** The worker pool's outbox relay (usage records for analytics). */
  ...outboxConfigShape,
  /** One stream, `events:ai:provider`, read by analytics through the firehose: a short tail is enough. */
  EVENT_STREAM_MAX_LEN: positiveInt(1_000),
});

export type ProviderConfig = z.infer<typeof providerConfigSchema>;

/** Where content URLs start (no trailing slash); `listening` is this process's own origin, for `self`. */
export function contentOrigin(config: Pick<ProviderConfig, "PROVIDER_PUBLIC_URL" | "GATEWAY_PORT">, listening: string): string {
  if (config.PROVIDER_PUBLIC_URL === "self") return listening;
  return (config.PROVIDER_PUBLIC_URL ?? `http://127.0.0.1:${config.GATEWAY_PORT}`).replace(/\/+$/, "");
}
