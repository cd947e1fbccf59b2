-- Content's assets and the blobs that hold their bytes, and its outbox (prisma/schema.prisma).
-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "AssetKind" AS ENUM ('AVATAR', 'MEDIA');

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
CREATE INDEX "outbox_events_published_at_occurred_at_idx" ON "outbox_events"("published_at", "occurred_at");

-- AddForeignKey
ALTER TABLE "assets" ADD CONSTRAINT "assets_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "blobs"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;


-- A rebuild after Redis lost its data reads the published rows in stream-id order (numeric
-- `<ms>-<seq>`, then the row id). Prisma's schema cannot express an index on expressions.
CREATE INDEX "outbox_events_stream_order_idx" ON "outbox_events" ((split_part("stream_id", '-', 1)::bigint), (split_part("stream_id", '-', 2)::bigint), "id")
    WHERE "stream_id" IS NOT NULL;
