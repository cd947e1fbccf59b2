import { Redis } from "ioredis";
import { dropRunDatabases } from "./databases";
import { migrateAll } from "./migrate-all";
import { deleteKeysMatching } from "./redis-keys";

/**
 * Drops the run's databases (their URLs are in the env global-setup set) and its
 * integration streams (notification requests, campaign lifecycle changes) and firehoses,
 * which no relay trims: runs leave nothing behind.
 */
export default async function globalTeardown(): Promise<void> {
  await migrateAll({}, ["--drop"]);
  // The template and the stacks' copies of it, and any suite's own database a crash left.
  await dropRunDatabases(process.env.SIMULATION_DATABASE_URL!, process.env.TEST_RUN_ID!);
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true });
  try {
    await redis.connect();
    await deleteKeysMatching(redis, `events:integration:*:test:${process.env.TEST_RUN_ID}*`);
    await deleteKeysMatching(redis, `events:firehose:test:${process.env.TEST_RUN_ID}*`);
  } finally {
    redis.disconnect();
  }
}
