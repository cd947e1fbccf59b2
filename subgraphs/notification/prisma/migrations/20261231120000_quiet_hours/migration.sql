-- CreateTable
CREATE TABLE "quiet_hours" (
    "user_id" UUID NOT NULL,
    "start_minute" SMALLINT NOT NULL,
    "end_minute" SMALLINT NOT NULL,
    "time_zone" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "quiet_hours_pkey" PRIMARY KEY ("user_id")
);

-- Minutes of a day, and a window that is not empty; Prisma's schema cannot say so, so the database does.
ALTER TABLE "quiet_hours" ADD CONSTRAINT "quiet_hours_window_check"
    CHECK ("start_minute" BETWEEN 0 AND 1439 AND "end_minute" BETWEEN 0 AND 1439 AND "start_minute" <> "end_minute");
