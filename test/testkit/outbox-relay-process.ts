/**
 * The campaign outbox relay as its own process, for the kill test (test/integration/outbox-relay.test.ts).
 * Env: DATABASE_URL, REDIS_URL. With OUTBOX_RELAY_CRASH_BEFORE_PUBLISH=1 it exits 1 as soon as
 * a claim returns rows, i.e. after claiming and before publishing (a crash the relay cannot
 * prepare for). Otherwise it relays until SIGTERM, then stops and exits 0.
 * Run: node --require ./node_modules/tsx/dist/cjs/index.cjs test/testkit/outbox-relay-process.ts
 */
import { createLogger, createOutboxRelay, createRedis } from "@startales/service-kit";
import { outboxRelayPool, pgOutboxSource } from "@startales/service-kit";
import { onClaim } from "./outbox-sources";
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "outbox-relay-process");
const logger = createLogger("outbox-relay-process", "warn");

const pool = outboxRelayPool(process.env.DATABASE_URL ?? "", logger);
const real = pgOutboxSource(pool);
const crashing = onClaim(real, (rows) => {
  if (rows.length === 0) return;
  process.stdout.write(`claimed ${rows.map((row) => row.id).join(",")}\n`);
  process.exit(1);
});

const relay = createOutboxRelay({
  source: process.env.OUTBOX_RELAY_CRASH_BEFORE_PUBLISH === "1" ? crashing : real,
  redis,
  logger,
  batchSize: 10,
  pollMs: 50,
  streamMaxLen: 100_000,
});

process.on("SIGTERM", () => {
  void relay.stop().then(async () => {
    await pool.end();
    redis.disconnect();
    process.exit(0);
  });
});
relay.start();
process.stdout.write("started\n");
