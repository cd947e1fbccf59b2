-- AlterTable
ALTER TABLE "outbox_events" ADD COLUMN     "stream_id" TEXT;

-- A rebuild after Redis lost its data reads the published rows in stream-id order (numeric
-- `<ms>-<seq>`, then the row id), a batch at a time. Prisma's schema cannot express an index
-- on expressions, so it lives here only (like the audit log's triggers).
CREATE INDEX "outbox_events_stream_order_idx" ON "outbox_events" ((split_part("stream_id", '-', 1)::bigint), (split_part("stream_id", '-', 2)::bigint), "id")
    WHERE "stream_id" IS NOT NULL;
