-- CreateEnum
CREATE TYPE "PushService" AS ENUM ('FCM', 'WEB_PUSH');

-- AlterTable
ALTER TABLE "push_devices" ADD COLUMN     "auth" TEXT,
ADD COLUMN     "p256dh" TEXT,
ADD COLUMN     "service" "PushService" NOT NULL DEFAULT 'FCM';


-- A Web Push subscription is useless without both keys (nothing can be encrypted for it) and an
-- FCM token has none; Prisma's schema cannot say so, so the database does (like the audit log's triggers).
ALTER TABLE "push_devices" ADD CONSTRAINT "push_devices_web_push_keys_check"
    CHECK (("service" = 'WEB_PUSH') = ("p256dh" IS NOT NULL AND "auth" IS NOT NULL) AND ("service" <> 'WEB_PUSH' OR "platform" = 'WEB'));
