-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "JobKind" AS ENUM ('TEXT', 'SPEECH', 'IMAGE', 'TRANSCRIPTION');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "provider_jobs" (
    "id" UUID NOT NULL,
    "kind" "JobKind" NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'QUEUED',
    "owner_id" UUID NOT NULL,
    "campaign_id" UUID,
    "idempotency_key" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "request_hash" TEXT NOT NULL,
    "stream" BOOLEAN NOT NULL DEFAULT false,
    "bypass_cache" BOOLEAN NOT NULL DEFAULT false,
    "result_text" TEXT,
    "content_sha" TEXT,
    "content_type" TEXT,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "cost_micros" INTEGER NOT NULL DEFAULT 0,
    "cached" BOOLEAN NOT NULL DEFAULT false,
    "deployment" TEXT,
    "model" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error_code" TEXT,
    "error" TEXT,
    "stream_start_id" TEXT,
    "billed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "provider_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "content_blobs" (
    "sha256" TEXT NOT NULL,
    "content_type" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "content_blobs_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "provider_deployments" (
    "name" TEXT NOT NULL,
    "kind" "JobKind" NOT NULL,
    "driver" TEXT NOT NULL,
    "model_group" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "base_url" TEXT,
    "api_key_env" TEXT,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "weight" INTEGER NOT NULL DEFAULT 1,
    "rpm" INTEGER,
    "tpm" INTEGER,
    "timeout_ms" INTEGER NOT NULL DEFAULT 30000,
    "input_cost_micros_per_1k" INTEGER NOT NULL DEFAULT 0,
    "output_cost_micros_per_1k" INTEGER NOT NULL DEFAULT 0,
    "request_cost_micros" INTEGER NOT NULL DEFAULT 0,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "provider_deployments_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" UUID NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_id" UUID,
    "actor_roles" TEXT[],
    "credential" TEXT,
    "action" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "target_type" TEXT,
    "target_id" TEXT,
    "request_id" TEXT NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "provider_jobs_owner_id_created_at_idx" ON "provider_jobs"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "provider_jobs_campaign_id_created_at_idx" ON "provider_jobs"("campaign_id", "created_at");

-- CreateIndex
CREATE INDEX "provider_jobs_created_at_idx" ON "provider_jobs"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "provider_jobs_owner_id_idempotency_key_key" ON "provider_jobs"("owner_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "audit_log_occurred_at_idx" ON "audit_log"("occurred_at" DESC);

-- CreateIndex
CREATE INDEX "audit_log_action_idx" ON "audit_log"("action");

-- CreateIndex
CREATE INDEX "audit_log_target_id_idx" ON "audit_log"("target_id");


-- Append-only: the database itself refuses to change or remove an audit entry.
CREATE FUNCTION "audit_log_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "audit_log_append_only"
    BEFORE UPDATE OR DELETE ON "audit_log"
    FOR EACH ROW EXECUTE FUNCTION "audit_log_append_only"();

-- TRUNCATE skips row triggers: refuse it with a statement trigger.
CREATE TRIGGER "audit_log_no_truncate"
    BEFORE TRUNCATE ON "audit_log"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_append_only"();
