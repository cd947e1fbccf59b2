-- Realtime's ended sessions (SESSION_ENDED): per user and day, how many and how long; per day,
-- a histogram of their lengths (bounds 1, 5, 15, 30 minutes, 1, 2, 4, 8 hours, then longer).
CREATE TABLE "session_activity" (
    "day" DATE NOT NULL,
    "user_id" UUID NOT NULL,
    "sessions" INTEGER NOT NULL,
    "duration_ms" BIGINT NOT NULL,

    CONSTRAINT "session_activity_pkey" PRIMARY KEY ("day","user_id")
);

CREATE INDEX "session_activity_user_id_day_idx" ON "session_activity"("user_id", "day");

CREATE TABLE "session_lengths" (
    "day" DATE NOT NULL,
    "sessions" INTEGER NOT NULL,
    "duration_ms" BIGINT NOT NULL,
    "buckets" INTEGER[] NOT NULL,

    CONSTRAINT "session_lengths_pkey" PRIMARY KEY ("day")
);

CREATE VIEW "analyst"."session_activity" AS
    SELECT "day", "user_id", "sessions", "duration_ms" FROM "session_activity";
CREATE VIEW "analyst"."session_lengths" AS
    SELECT "day", "sessions", "duration_ms", "buckets" FROM "session_lengths";
GRANT SELECT ON "analyst"."session_activity", "analyst"."session_lengths" TO "startales_analyst";
