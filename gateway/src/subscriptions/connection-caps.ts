import type { Logger, Redis } from "@startales/service-kit";

/**
 * Takes a slot in a cap shared by every gateway replica: a sorted set of connection ids
 * scored by when each lapses. Lapsed members (a replica that died without closing its
 * sockets) are dropped first; the member is added only when the set is under the cap.
 * KEYS: the set. ARGV: now ms, lapse ms, cap, connection id. Returns 1 when taken.
 */
const CLAIM_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
const COMMAND = "claimConnectionSlot";

type WithClaim = Redis & { [COMMAND](key: string, now: number, lapseMs: number, cap: number, id: string): Promise<number> };

export type ConnectionCaps = {
  /** True when the slot was taken (or Redis cannot be asked: caps fail open, like rate limits). */
  claim(scope: string, connectionId: string, cap: number): Promise<boolean>;
  release(scope: string, connectionId: string): Promise<void>;
  /** Keeps the slots of live connections from lapsing (called on every heartbeat). */
  refresh(slots: { scope: string; connectionId: string }[]): Promise<void>;
};

export function createConnectionCaps(options: { redis: Redis; prefix: string; lapseMs: number; logger: Logger }): ConnectionCaps {
  const { redis, prefix, lapseMs, logger } = options;
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: CLAIM_SCRIPT });
  const key = (scope: string) => `${prefix}${scope}`;
  return {
    async claim(scope, connectionId, cap) {
      try {
        return (await (redis as WithClaim)[COMMAND](key(scope), Date.now(), lapseMs, cap, connectionId)) === 1;
      } catch (error) {
        logger.warn({ err: error }, "connection caps unavailable; allowing the connection");
        return true;
      }
    },
    async release(scope, connectionId) {
      await redis.zrem(key(scope), connectionId).catch((error: unknown) => logger.warn({ err: error }, "could not release a connection slot"));
    },
    async refresh(slots) {
      if (slots.length === 0) return;
      const until = Date.now() + lapseMs;
      const pipeline = redis.pipeline();
      for (const { scope, connectionId } of slots) {
        pipeline.zadd(key(scope), "XX", until, connectionId);
        pipeline.pexpire(key(scope), lapseMs);
      }
      await pipeline.exec().catch((error: unknown) => logger.warn({ err: error }, "could not refresh connection slots"));
    },
  };
}
