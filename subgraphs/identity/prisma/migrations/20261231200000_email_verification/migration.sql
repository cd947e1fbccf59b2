-- CreateEnum
CREATE TYPE "AccountMailKind" AS ENUM ('VERIFY_EMAIL', 'RESET_PASSWORD', 'CONFIRM_EMAIL_CHANGE', 'EMAIL_CHANGE_NOTICE', 'PASSWORD_CHANGED_NOTICE');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "email_verified_at" TIMESTAMPTZ(3),
ADD COLUMN     "email_version" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "locale" TEXT NOT NULL DEFAULT 'en';

-- CreateTable
CREATE TABLE "account_mail" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "kind" "AccountMailKind" NOT NULL,
    "address" TEXT NOT NULL,
    "new_email" TEXT,
    "expires_at" TIMESTAMPTZ(3),
    "used_at" TIMESTAMPTZ(3),
    "superseded_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_mail_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "account_mail_user_id_kind_created_at_idx" ON "account_mail"("user_id", "kind", "created_at");

-- AddForeignKey
ALTER TABLE "account_mail" ADD CONSTRAINT "account_mail_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
