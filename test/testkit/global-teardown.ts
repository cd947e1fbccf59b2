import { Redis } from "ioredis";
import { migrateAll } from "./migrate-all";
import { deleteKeysMatching } from "./redis-keys";

/**
 * Drops the run's databases (their URLs are in the env global-setup set) and its
 * notification-request streams, which no relay trims: runs leave nothing behind.
 */
export default async function globalTeardown(): Promise<void> {
  await migrateAll({}, ["--drop"]);
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true });
  try {
    await redis.connect();
    await deleteKeysMatching(redis, `events:integration:notifications:test:${process.env.TEST_RUN_ID}*`);
  } finally {
    redis.disconnect();
  }
}
