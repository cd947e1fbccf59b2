import { join } from "node:path";
import { z } from "zod";

/** An optional variable given empty (compose's `${VAR:-}`, a ConfigMap's "") is unset. */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === "" ? undefined : value), schema.optional());
import { accountErasureTopicShape, booleanFlag, outboxConfigShape, positiveInt, secret, subgraphConfigShape, url } from "@startales/service-kit";
import type { StorageOptions } from "./storage";

export const contentConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4006, database: "startales_content" }),
  ...outboxConfigShape,
  /** Where identity asks for a deleted account's data to be erased (read as consumer group `content`). */
  ...accountErasureTopicShape,
  /** Campaign's GraphQL endpoint: who may read and change a campaign's packs (its members, its game master). */
  CAMPAIGN_URL: url("http://127.0.0.1:4002/graphql"),
  CAMPAIGN_TIMEOUT_MS: positiveInt(5_000),
  /** Where the bytes are kept: `filesystem` (CONTENT_DIR, the default) or `s3` (S3_*, MinIO or AWS). */
  CONTENT_STORAGE: z.enum(["filesystem", "s3"]).default("filesystem"),
  /** The filesystem driver's root; relative paths are from the working directory. Replicas must share it (a ReadWriteMany volume). */
  CONTENT_DIR: z.string().min(1).default(".local/content"),
  /** The S3 endpoint, for MinIO or another S3-compatible store; unset: AWS's for S3_REGION. */
  S3_ENDPOINT: unsetWhenEmpty(z.url({ protocol: /^https?$/ })),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_BUCKET: z.string().min(3).default("startales-content"),
  /** Secrets from the environment; unset: the AWS SDK's default chain (an IAM role, say). */
  S3_ACCESS_KEY_ID: unsetWhenEmpty(z.string().min(1)),
  S3_SECRET_ACCESS_KEY: unsetWhenEmpty(z.string().min(1)),
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), which MinIO needs. */
  S3_FORCE_PATH_STYLE: booleanFlag(true),
  /**
   * A private asset's signed link (on the gateway's origin) redirects to a presigned URL of the
   * bucket, valid as long as the link, so its bytes come from S3 rather than through content.
   * Public assets are always served on the gateway's origin (a CDN keeps them there).
   */
  S3_PRESIGNED_DOWNLOADS: booleanFlag(false),
  /** The origin clients reach the bucket at (MinIO's public URL, a CDN in front of S3); unset: S3_ENDPOINT. */
  S3_PUBLIC_ENDPOINT: unsetWhenEmpty(z.url({ protocol: /^https?$/ })),
  /**
   * Where clients fetch content (no trailing slash): the gateway's public origin, or a CDN in
   * front of it. Unset: the local stack's gateway, http://127.0.0.1:<GATEWAY_PORT>.
   */
  CONTENT_PUBLIC_BASE_URL: unsetWhenEmpty(z.url({ protocol: /^https?$/ })),
  /** The local stack's gateway port (npm start hands GATEWAY_PORT to every process): CONTENT_PUBLIC_BASE_URL's default. */
  GATEWAY_PORT: positiveInt(4000),
  /** Signs the expiring URLs of private assets (HMAC-SHA256); every replica must hold the same. */
  CONTENT_URL_SIGNING_SECRET: secret(),
  /** How long a signed URL of a private asset works. */
  CONTENT_SIGNED_URL_TTL_SECONDS: positiveInt(900),
  /** The largest file one upload request may carry. */
  CONTENT_MAX_UPLOAD_BYTES: positiveInt(16 * 1024 * 1024),
  /** The largest file a resumable upload (tus, `/content/uploads`) may carry. */
  CONTENT_MAX_RESUMABLE_BYTES: positiveInt(1024 * 1024 * 1024),
  /**
   * Where resumable uploads' parts wait until the file is whole; unset: `<CONTENT_DIR>/uploads`.
   * Replicas must share it (a client may resume on another one). Expired after a day.
   */
  CONTENT_UPLOAD_DIR: unsetWhenEmpty(z.string().min(1)),
  /** A pack's zip (`importPackArchive`): the most its files may unpack to, together. */
  CONTENT_ARCHIVE_MAX_UNPACKED_BYTES: positiveInt(512 * 1024 * 1024),
  /** The most files one archive may hold (a version holds at most 10,000). */
  CONTENT_ARCHIVE_MAX_FILES: positiveInt(10_000),
  /**
   * How many times its packed size an entry past 1 MiB (or the whole archive) may unpack to;
   * beyond, it is taken for a zip bomb. Game assets (textures, models, audio) are mostly
   * compressed already; JSON and plain images reach 10-30 times.
   */
  CONTENT_ARCHIVE_MAX_RATIO: positiveInt(100),
  /**
   * The orphan sweep: bytes no asset or pack version names any more, and bytes no row names
   * (an upload that failed after storing them), are removed once this old. Must outlast the
   * longest upload or archive import (the time between storing bytes and committing their row).
   */
  CONTENT_ORPHAN_GRACE_MS: z.coerce.number().int().min(1_000).default(60 * 60 * 1000),
  /** How often each replica sweeps (and once at start). */
  CONTENT_SWEEP_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60 * 60 * 1000),
  /** What one user's assets may add up to (admins and services are not counted). */
  CONTENT_USER_QUOTA_BYTES: positiveInt(64 * 1024 * 1024),
  /**
   * How long a resumable upload's lock (in Redis, shared by the replicas) outlives a replica
   * that died holding it: the longest the upload's next request then waits. Renewed every third
   * of it while held; past 30 s (how long a request waits for a lock) that next request fails
   * with 423 and the client retries.
   */
  CONTENT_UPLOAD_LOCK_TTL_MS: z.coerce.number().int().min(1_000).default(10_000),
});

export type ContentConfig = z.infer<typeof contentConfigSchema>;

export function storageOptions(config: ContentConfig): StorageOptions {
  if (config.CONTENT_STORAGE === "filesystem") return { kind: "filesystem", dir: config.CONTENT_DIR };
  return {
    kind: "s3",
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    bucket: config.S3_BUCKET,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    publicEndpoint: config.S3_PUBLIC_ENDPOINT,
  };
}

export const uploadStagingDir = (config: Pick<ContentConfig, "CONTENT_UPLOAD_DIR" | "CONTENT_DIR">): string => config.CONTENT_UPLOAD_DIR ?? join(config.CONTENT_DIR, "uploads");

/** Where content URLs start (no trailing slash). */
export const publicBaseUrl = (config: Pick<ContentConfig, "CONTENT_PUBLIC_BASE_URL" | "GATEWAY_PORT">): string =>
  (config.CONTENT_PUBLIC_BASE_URL ?? `http://127.0.0.1:${config.GATEWAY_PORT}`).replace(/\/+$/, "");
