-- Provider's usage records for analytics (JOB_FINISHED on `ai:provider`), written in the
-- transaction that records a job's result and published by the worker pool's outbox relay,
-- like every other producer's.
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

CREATE INDEX "outbox_events_published_at_occurred_at_idx" ON "outbox_events"("published_at", "occurred_at");

-- A rebuild after Redis lost its data reads the published rows in stream-id order (numeric
-- `<ms>-<seq>`, then the row id). Prisma's schema cannot express an index on expressions.
CREATE INDEX "outbox_events_stream_order_idx" ON "outbox_events" ((split_part("stream_id", '-', 1)::bigint), (split_part("stream_id", '-', 2)::bigint), "id")
    WHERE "stream_id" IS NOT NULL;
