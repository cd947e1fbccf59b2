-- Content's assets, the blobs that hold their bytes, content packs (versions, manifests of files by path and hash, dependencies, the versions each campaign enabled) and its outbox (prisma/schema.prisma).

-- CreateEnum
CREATE TYPE "AssetKind" AS ENUM ('AVATAR', 'MEDIA', 'PACK_FILE');

-- CreateEnum
CREATE TYPE "PackVersionStatus" AS ENUM ('DRAFT', 'PUBLISHED', 'DEPRECATED');

-- CreateEnum
CREATE TYPE "AssetVisibility" AS ENUM ('PUBLIC', 'PRIVATE');

-- CreateTable
CREATE TABLE "blobs" (
    "sha256" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "media_type" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blobs_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "assets" (
    "id" UUID NOT NULL,
    "sha256" TEXT NOT NULL,
    "owner_id" UUID,
    "kind" "AssetKind" NOT NULL,
    "visibility" "AssetVisibility" NOT NULL,
    "name" TEXT,
    "idempotency_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "assets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "content_packs" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT,
    "owner_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "content_packs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pack_versions" (
    "id" UUID NOT NULL,
    "pack_id" UUID NOT NULL,
    "version" TEXT NOT NULL,
    "status" "PackVersionStatus" NOT NULL DEFAULT 'DRAFT',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "deprecated_at" TIMESTAMPTZ(3),

    CONSTRAINT "pack_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pack_files" (
    "version_id" UUID NOT NULL,
    "path" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,

    CONSTRAINT "pack_files_pkey" PRIMARY KEY ("version_id","path")
);

-- CreateTable
CREATE TABLE "pack_dependencies" (
    "version_id" UUID NOT NULL,
    "pack_name" TEXT NOT NULL,
    "range" TEXT NOT NULL,

    CONSTRAINT "pack_dependencies_pkey" PRIMARY KEY ("version_id","pack_name")
);

-- CreateTable
CREATE TABLE "campaign_packs" (
    "campaign_id" UUID NOT NULL,
    "pack_id" UUID NOT NULL,
    "version_id" UUID NOT NULL,
    "enabled_by_id" UUID NOT NULL,
    "enabled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "campaign_packs_pkey" PRIMARY KEY ("campaign_id","pack_id")
);

-- CreateTable
CREATE TABLE "campaign_content" (
    "campaign_id" UUID NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "campaign_content_pkey" PRIMARY KEY ("campaign_id")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" UUID NOT NULL,
    "topic" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "aggregate_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "data" JSONB NOT NULL,
    "traceparent" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "stream_id" TEXT,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "assets_owner_id_created_at_idx" ON "assets"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "assets_sha256_idx" ON "assets"("sha256");

-- CreateIndex
CREATE UNIQUE INDEX "assets_owner_id_idempotency_key_key" ON "assets"("owner_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "content_packs_name_key" ON "content_packs"("name");

-- CreateIndex
CREATE UNIQUE INDEX "pack_versions_pack_id_version_key" ON "pack_versions"("pack_id", "version");

-- CreateIndex
CREATE INDEX "pack_files_sha256_idx" ON "pack_files"("sha256");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_occurred_at_idx" ON "outbox_events"("published_at", "occurred_at");

-- AddForeignKey
ALTER TABLE "assets" ADD CONSTRAINT "assets_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "blobs"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pack_versions" ADD CONSTRAINT "pack_versions_pack_id_fkey" FOREIGN KEY ("pack_id") REFERENCES "content_packs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pack_files" ADD CONSTRAINT "pack_files_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "pack_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pack_files" ADD CONSTRAINT "pack_files_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "blobs"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pack_dependencies" ADD CONSTRAINT "pack_dependencies_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "pack_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaign_packs" ADD CONSTRAINT "campaign_packs_pack_id_fkey" FOREIGN KEY ("pack_id") REFERENCES "content_packs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaign_packs" ADD CONSTRAINT "campaign_packs_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "pack_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- A rebuild after Redis lost its data reads the published rows in stream-id order (numeric
-- `<ms>-<seq>`, then the row id). Prisma's schema cannot express an index on expressions.
CREATE INDEX "outbox_events_stream_order_idx" ON "outbox_events" ((split_part("stream_id", '-', 1)::bigint), (split_part("stream_id", '-', 2)::bigint), "id")
    WHERE "stream_id" IS NOT NULL;
