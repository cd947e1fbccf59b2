import type { Redis } from "./redis";

/**
 * What identity and the gateway agree on about deleted accounts. Access tokens are stateless
 * (the gateway verifies them against identity's public keys), so a deleted account's tokens
 * would stay good until they expire: identity records each deletion in a Redis sorted set
 * (member: the user id; score: when the account's last token expires, in epoch ms) and
 * announces it on a channel. A gateway refuses the account's tokens from the announcement
 * on, and reads the set whenever it (re)subscribes, so one that was down or disconnected
 * when the announcement was made learns it too.
 */
export const DELETED_ACCOUNTS_KEY = "startales:accounts:deleted";

/** Redis pub/sub channel on which identity publishes every deletion: `<user id> <epoch ms its last token expires>`. */
export const ACCOUNT_DELETED_CHANNEL = "startales:accounts:deleted";

/** A deletion as announced on ACCOUNT_DELETED_CHANNEL, or null for a message of any other shape. */
export function parseDeletedAccount(message: string): { userId: string; until: number } | null {
  const [userId, until] = message.split(" ");
  return userId && until && /^\d+$/.test(until) ? { userId, until: Number(until) } : null;
}

/** Records and announces a deletion; entries whose tokens have all expired are dropped on the way. */
export async function announceDeletedAccount(redis: Redis, userId: string, tokensExpireAt: number, now = Date.now()): Promise<void> {
  await redis
    .multi()
    .zadd(DELETED_ACCOUNTS_KEY, tokensExpireAt, userId)
    .zremrangebyscore(DELETED_ACCOUNTS_KEY, "-inf", now)
    .publish(ACCOUNT_DELETED_CHANNEL, `${userId} ${tokensExpireAt}`)
    .exec();
}

/** The deleted accounts some token may still name, each with when its last token expires. */
export async function deletedAccounts(redis: Redis, now = Date.now()): Promise<{ userId: string; until: number }[]> {
  const flat = await redis.zrangebyscore(DELETED_ACCOUNTS_KEY, `(${now}`, "+inf", "WITHSCORES");
  const accounts: { userId: string; until: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) accounts.push({ userId: flat[i]!, until: Number(flat[i + 1]) });
  return accounts;
}
