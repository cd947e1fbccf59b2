import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import {
  addCounter,
  createAccountErasureConsumer,
  createCampaignClient,
  createRedis,
  createSubgraphApp,
  databaseReadiness,
  prismaOutboxRelay,
  redisReadiness,
  type Logger,
  type SubgraphApp,
} from "@startales/service-kit";
import { publicBaseUrl, storageOptions, uploadStagingDir, type ContentConfig } from "./config";
import { createDb } from "./db";
import { createAssetService } from "./domain/asset-service";
import { createAssetUrls } from "./domain/asset-urls";
import { createBlobSweep } from "./domain/blob-sweep";
import { createPackArchiveImporter } from "./domain/pack-archive-import";
import { createPackService } from "./domain/pack-service";
import { createUrlSigner } from "./domain/signed-url";
import { downloadRoute } from "./http/download-route";
import { RedisLocker } from "./http/redis-locker";
import { resumableUploadRoute } from "./http/resumable-uploads";
import { uploadRoute } from "./http/upload-route";
import { createLoaders } from "./loaders";
import { createResolvers } from "./resolvers";
import { createStorageDriver } from "./storage";

export const contentTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/**
 * The content subgraph as a value; `listen()` starts it (port 0 in tests), its outbox relay
 * and its consumer of account erasures. Besides GraphQL it serves the bytes: uploads
 * (`POST /content/assets`) and downloads (`GET /content/<sha256>`), both through the gateway.
 */
export function createContentApp(config: ContentConfig, logger: Logger): SubgraphApp {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "content");
  const storage = createStorageDriver(storageOptions(config));
  const signer = createUrlSigner(config.CONTENT_URL_SIGNING_SECRET);
  const urls = createAssetUrls({ baseUrl: publicBaseUrl(config), signer, ttlSeconds: config.CONTENT_SIGNED_URL_TTL_SECONDS });
  const assets = createAssetService({ db, storage, quotaBytes: config.CONTENT_USER_QUOTA_BYTES, afterCommit: () => relay.wake() });
  const packs = createPackService({ db, afterCommit: () => relay.wake() });
  const archives = createPackArchiveImporter({
    db,
    storage,
    packs,
    limits: {
      maxFiles: config.CONTENT_ARCHIVE_MAX_FILES,
      maxFileBytes: config.CONTENT_MAX_RESUMABLE_BYTES,
      maxUnpackedBytes: config.CONTENT_ARCHIVE_MAX_UNPACKED_BYTES,
      maxRatio: config.CONTENT_ARCHIVE_MAX_RATIO,
    },
    // Archives are copied here to be read (a zip is read from its end): beside resumable uploads' parts.
    workDir: uploadStagingDir(config),
    afterCommit: () => relay.wake(),
  });
  // Who may read or change a campaign's packs is campaign's to say, asked as the caller.
  const campaigns = createCampaignClient({ url: config.CAMPAIGN_URL, timeoutMs: config.CAMPAIGN_TIMEOUT_MS, logger: logger.child({ component: "campaign-client" }) });
  // A deleted account's avatars and uploads go, and their bytes once no other asset has them.
  const erasures = createAccountErasureConsumer({
    redis,
    topic: config.ACCOUNT_ERASURE_TOPIC,
    group: "content",
    logger: logger.child({ component: "account-erasures" }),
    erase: async (userId) => {
      const removed = await assets.eraseOwner(userId);
      logger.info({ assets: removed }, "removed a deleted account's assets");
    },
  });
  const app: SubgraphApp = createSubgraphApp({
    name: "content",
    config,
    logger,
    typeDefs: contentTypeDefs,
    resolvers: createResolvers({ assets, packs, archives, urls, quotaBytes: config.CONTENT_USER_QUOTA_BYTES, maxUploadBytes: config.CONTENT_MAX_UPLOAD_BYTES }),
    createLoaders: (_viewer, forwarded) => createLoaders(campaigns, forwarded),
    readiness: [databaseReadiness(db), redisReadiness(redis), storage.readiness],
    postRoutes: uploadRoute({ assets, urls, gatewaySigningSecret: config.GATEWAY_SIGNING_SECRET, maxBytes: config.CONTENT_MAX_UPLOAD_BYTES }),
    prefixRoutes: downloadRoute({ assets, storage, signer, presignedDownloads: config.CONTENT_STORAGE === "s3" && config.S3_PRESIGNED_DOWNLOADS, logger }),
    protocolRoutes: resumableUploadRoute({
      assets,
      urls,
      publicBaseUrl: publicBaseUrl(config),
      gatewaySigningSecret: config.GATEWAY_SIGNING_SECRET,
      stagingDir: uploadStagingDir(config),
      // Replicas share the staged parts, so they share each upload's lock too.
      locker: new RedisLocker({ redis, ttlMs: config.CONTENT_UPLOAD_LOCK_TTL_MS, logger: logger.child({ component: "upload-locks" }) }),
      maxBytes: config.CONTENT_MAX_RESUMABLE_BYTES,
      quotaBytes: config.CONTENT_USER_QUOTA_BYTES,
      logger: logger.child({ component: "resumable-uploads" }),
    }),
    onListen: () => {
      relay.start();
      erasures.start();
      sweep.start();
    },
    onStop: async () => {
      await sweep.stop();
      await erasures.stop();
      await relay.stop();
      await db.$disconnect();
      await storage.close();
      redis.disconnect();
    },
  });
  const relay = prismaOutboxRelay(db, { producer: "content", redis, logger, metrics: app.metrics, config });
  const orphansRemoved = addCounter(app.metrics, { name: "content_orphan_blobs_removed_total", help: "Blobs the orphan sweep removed: unreferenced (a row no asset or pack names) or unnamed (bytes no row names)", labelNames: ["reason"] });
  const sweep = createBlobSweep({
    db,
    storage,
    assets,
    graceMs: config.CONTENT_ORPHAN_GRACE_MS,
    everyMs: config.CONTENT_SWEEP_INTERVAL_MS,
    batchSize: 500,
    logger: logger.child({ component: "blob-sweep" }),
    onRemoved: (reason, count) => orphansRemoved.inc({ reason }, count),
  });
  return app;
}
