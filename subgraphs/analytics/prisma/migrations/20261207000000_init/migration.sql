-- Every event read, once, partitioned by day. Each day's partition is created by the ingest
-- process before the day's first event (analytics_events_YYYYMMDD) and dropped after the
-- retention; the default partition holds only events older than the retention that arrive
-- late (a replayed backlog), and the retention sweep empties it.
CREATE TABLE "analytics_events" (
    "id" UUID NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "producer" TEXT NOT NULL,
    "family" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "campaign_id" UUID,
    "actor_id" UUID,
    "data" JSONB NOT NULL,
    "ingested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "analytics_events_pkey" PRIMARY KEY ("occurred_at","id")
) PARTITION BY RANGE ("occurred_at");

CREATE TABLE "analytics_events_default" PARTITION OF "analytics_events" DEFAULT;

CREATE TABLE "event_counts" (
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "producer" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "event_counts_pkey" PRIMARY KEY ("minute","producer","type")
);

CREATE TABLE "user_activity" (
    "day" DATE NOT NULL,
    "user_id" UUID NOT NULL,
    "events" INTEGER NOT NULL,

    CONSTRAINT "user_activity_pkey" PRIMARY KEY ("day","user_id")
);

CREATE INDEX "user_activity_user_id_day_idx" ON "user_activity"("user_id", "day");

CREATE TABLE "campaign_ticks" (
    "campaign_id" UUID NOT NULL,
    "tick" INTEGER NOT NULL,
    "completed_at" TIMESTAMPTZ(3),
    "commands_applied" INTEGER NOT NULL DEFAULT 0,
    "commands_rejected" INTEGER NOT NULL DEFAULT 0,
    "engine_events" INTEGER NOT NULL DEFAULT 0,
    "battles" INTEGER NOT NULL DEFAULT 0,
    "fleets_destroyed" INTEGER NOT NULL DEFAULT 0,
    "wars" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "campaign_ticks_pkey" PRIMARY KEY ("campaign_id","tick")
);

CREATE TABLE "chat_activity" (
    "day" DATE NOT NULL,
    "campaign_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "messages" INTEGER NOT NULL,

    CONSTRAINT "chat_activity_pkey" PRIMARY KEY ("day","campaign_id","user_id")
);

CREATE INDEX "chat_activity_user_id_day_idx" ON "chat_activity"("user_id", "day");
