-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "CommandStatus" AS ENUM ('PENDING', 'APPLIED', 'REJECTED');

-- CreateTable
CREATE TABLE "worlds" (
    "campaign_id" UUID NOT NULL,
    "tick" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "campaign_version" INTEGER NOT NULL,
    "tick_rate_ms" INTEGER NOT NULL,
    "params" JSONB NOT NULL,
    "state" JSONB NOT NULL,
    "hash" TEXT NOT NULL,
    "star_systems" JSONB NOT NULL,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "worlds_pkey" PRIMARY KEY ("campaign_id")
);

-- CreateTable
CREATE TABLE "commands" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "campaign_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "status" "CommandStatus" NOT NULL DEFAULT 'PENDING',
    "tick" INTEGER,
    "reason" TEXT,
    "error" TEXT,
    "civ_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "commands_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tick_log" (
    "campaign_id" UUID NOT NULL,
    "tick" INTEGER NOT NULL,
    "commands" JSONB NOT NULL,
    "results" JSONB NOT NULL,
    "events" JSONB NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tick_log_pkey" PRIMARY KEY ("campaign_id","tick")
);

-- CreateTable
CREATE TABLE "civilization_views" (
    "campaign_id" UUID NOT NULL,
    "civ_id" TEXT NOT NULL,
    "player_id" UUID,
    "tick" INTEGER NOT NULL,
    "data" JSONB NOT NULL,

    CONSTRAINT "civilization_views_pkey" PRIMARY KEY ("campaign_id","civ_id")
);

-- CreateTable
CREATE TABLE "galaxy_map_views" (
    "campaign_id" UUID NOT NULL,
    "civ_id" TEXT NOT NULL,
    "tick" INTEGER NOT NULL,
    "map" JSONB NOT NULL,

    CONSTRAINT "galaxy_map_views_pkey" PRIMARY KEY ("campaign_id","civ_id")
);

-- CreateTable
CREATE TABLE "leaderboard" (
    "campaign_id" UUID NOT NULL,
    "civ_id" TEXT NOT NULL,
    "rank" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "player_id" UUID,
    "score" INTEGER NOT NULL,
    "population" INTEGER NOT NULL,
    "techs" INTEGER NOT NULL,
    "ships" INTEGER NOT NULL,
    "tick" INTEGER NOT NULL,

    CONSTRAINT "leaderboard_pkey" PRIMARY KEY ("campaign_id","civ_id")
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

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "commands_campaign_id_status_seq_idx" ON "commands"("campaign_id", "status", "seq");

-- CreateIndex
CREATE INDEX "commands_campaign_id_user_id_seq_idx" ON "commands"("campaign_id", "user_id", "seq" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "commands_campaign_id_user_id_idempotency_key_key" ON "commands"("campaign_id", "user_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "civilization_views_campaign_id_player_id_idx" ON "civilization_views"("campaign_id", "player_id");

-- CreateIndex
CREATE INDEX "leaderboard_campaign_id_rank_idx" ON "leaderboard"("campaign_id", "rank");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_occurred_at_idx" ON "outbox_events"("published_at", "occurred_at");

