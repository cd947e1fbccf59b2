-- Daily digest: categories a user batches, what waits for their digest, and when it goes out.
ALTER TABLE "preferences" ADD COLUMN "digest" BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE "digest_entries" (
    "notification_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "digested_at" TIMESTAMPTZ(3),
    CONSTRAINT "digest_entries_pkey" PRIMARY KEY ("notification_id"),
    CONSTRAINT "digest_entries_notification_id_fkey" FOREIGN KEY ("notification_id") REFERENCES "notifications"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "digest_entries_user_id_digested_at_idx" ON "digest_entries"("user_id", "digested_at");
CREATE INDEX "digest_entries_digested_at_created_at_idx" ON "digest_entries"("digested_at", "created_at");

CREATE TABLE "digest_schedules" (
    "user_id" UUID NOT NULL,
    "hour" SMALLINT NOT NULL,
    "time_zone" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "digest_schedules_pkey" PRIMARY KEY ("user_id"),
    CONSTRAINT "digest_schedules_hour_check" CHECK ("hour" BETWEEN 0 AND 23)
);
