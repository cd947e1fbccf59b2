-- Who signed up when (ACCOUNT_REGISTERED): the cohorts retention is counted over.
CREATE TABLE "user_cohorts" (
    "user_id" UUID NOT NULL,
    "registered_day" DATE NOT NULL,
    "method" TEXT NOT NULL,

    CONSTRAINT "user_cohorts_pkey" PRIMARY KEY ("user_id")
);

CREATE INDEX "user_cohorts_registered_day_idx" ON "user_cohorts"("registered_day");
