-- CreateTable
CREATE TABLE "lifecycle_inbox" (
    "event_id" TEXT NOT NULL,
    "campaign_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "done_at" TIMESTAMPTZ(3),

    CONSTRAINT "lifecycle_inbox_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE INDEX "lifecycle_inbox_done_at_received_at_idx" ON "lifecycle_inbox"("done_at", "received_at");

