-- AlterEnum
ALTER TYPE "DeliveryChannel" ADD VALUE 'EMAIL';

-- AlterTable
ALTER TABLE "preferences" ADD COLUMN "email" BOOLEAN;

-- CreateTable
CREATE TABLE "email_suppressions" (
    "user_id" UUID NOT NULL,
    "email_version" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "email_suppressions_pkey" PRIMARY KEY ("user_id")
);
