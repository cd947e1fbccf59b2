-- AlterTable
-- The W3C trace context of the submitCommand request (null while tracing is off): the tick
-- that applies the command records its span in that trace (docs/tracing.md).
ALTER TABLE "commands" ADD COLUMN     "traceparent" TEXT;
