import type { Redis } from "./redis";

/**
 * What identity and the gateway agree on about accounts whose sign-ins were all ended (a
 * password reset): every access token issued before `notBefore` (epoch seconds, as a token's
 * `iat`) is refused, the later ones work. Kept like deleted accounts (deleted-accounts.ts): a
 * sorted set (member `<user id> <notBefore>`; score: when the last such token expires, epoch
 * ms) read on every (re)subscription, and a channel for the announcement itself.
 */
export const REVOKED_SESSIONS_KEY = "startales:accounts:sessions-revoked";

/** Redis pub/sub channel: `<user id> <notBefore epoch s> <epoch ms the last older token expires>`. */
export const REVOKED_SESSIONS_CHANNEL = "startales:accounts:sessions-revoked";

export type RevokedSessions = { userId: string; notBefore: number; until: number };

/** An announcement as published on REVOKED_SESSIONS_CHANNEL, or null for a message of any other shape. */
export function parseRevokedSessions(message: string): RevokedSessions | null {
  const [userId, notBefore, until, ...rest] = message.split(" ");
  if (!userId || rest.length > 0 || !/^\d+$/.test(notBefore ?? "") || !/^\d+$/.test(until ?? "")) return null;
  return { userId, notBefore: Number(notBefore), until: Number(until) };
}

/** Records and announces that the user's tokens issued before `notBefore` are void; expired entries are dropped on the way. */
export async function announceRevokedSessions(redis: Redis, revoked: RevokedSessions, now = Date.now()): Promise<void> {
  await redis
    .multi()
    .zadd(REVOKED_SESSIONS_KEY, revoked.until, `${revoked.userId} ${revoked.notBefore}`)
    .zremrangebyscore(REVOKED_SESSIONS_KEY, "-inf", now)
    .publish(REVOKED_SESSIONS_CHANNEL, `${revoked.userId} ${revoked.notBefore} ${revoked.until}`)
    .exec();
}

/** The revocations some token may still fall under. */
export async function revokedSessions(redis: Redis, now = Date.now()): Promise<RevokedSessions[]> {
  const flat = await redis.zrangebyscore(REVOKED_SESSIONS_KEY, `(${now}`, "+inf", "WITHSCORES");
  const all: RevokedSessions[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const parsed = parseRevokedSessions(`${flat[i]} ${flat[i + 1]}`);
    if (parsed) all.push(parsed);
  }
  return all;
}
