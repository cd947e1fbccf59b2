import type { Redis } from "@startales/service-kit";

/**
 * Presence in Redis, shared by every realtime replica (and so by every gateway replica that
 * reports connections). Keys (`presence:` is PRESENCE_KEY_PREFIX):
 *
 *   presence:connections                 zset  connectionId → expiry (ms): what the sweeper scans
 *   presence:conn:<connectionId>         string JSON { userId, campaignIds } of a live connection
 *   presence:user:<userId>:conns         set   the user's live connection ids
 *   presence:user:<userId>:active        string last activity (ms); idle longer than AWAY_AFTER is AWAY
 *   presence:idle                        zset  userId → when they turn idle (ms): what the sweeper scans
 *   presence:users                       zset  userId → latest expiry of their live connections (ms): players online
 *   presence:c:<campaignId>:u:<userId>   zset  the user's connections in the campaign → expiry (ms)
 *   presence:c:<campaignId>:online       zset  userId → latest connection expiry (ms), ONLINE or AWAY users
 *   presence:c:<campaignId>:away         set   users who set themselves AWAY
 *   presence:c:<campaignId>:status       hash  userId → last announced status (absent: OFFLINE)
 *   presence:c:<campaignId>:seen         hash  userId → last seen connected (ms)
 *   presence:c:<campaignId>:version      hash  userId → count of announced changes (the event's version)
 */
export type PresenceStatus = "ONLINE" | "AWAY" | "OFFLINE";
/** A status change; `startedAt`: on going OFFLINE, when the session that ends began (ms; 0 if unknown). */
export type Transition = { campaignId: string; userId: string; from: PresenceStatus; to: PresenceStatus; version: number; seenAt: number; startedAt: number };
export type ConnectionInfo = { userId: string; campaignIds: string[] };

const presenceKeys = (P: string) => ({
  connections: `${P}connections`,
  idle: `${P}idle`,
  users: `${P}users`,
  connection: (id: string) => `${P}conn:${id}`,
  userConnections: (userId: string) => `${P}user:${userId}:conns`,
  userActive: (userId: string) => `${P}user:${userId}:active`,
  memberConnections: (campaignId: string, userId: string) => `${P}c:${campaignId}:u:${userId}`,
  online: (campaignId: string) => `${P}c:${campaignId}:online`,
  away: (campaignId: string) => `${P}c:${campaignId}:away`,
  status: (campaignId: string) => `${P}c:${campaignId}:status`,
  seen: (campaignId: string) => `${P}c:${campaignId}:seen`,
  version: (campaignId: string) => `${P}c:${campaignId}:version`,
  since: (campaignId: string) => `${P}c:${campaignId}:since`,
});

/**
 * Recomputes one user's status in one campaign from the state above and, when it differs
 * from the last announced one, records it and returns {from, to, version, seenAt}; atomic,
 * so two replicas never announce the same transition twice or out of order.
 * A session starts when the user leaves OFFLINE (since, per campaign) and ends when they
 * return to it: that transition also returns when the session began.
 * KEYS: memberConnections, online, away, status, seen, version, userActive, since.
 * ARGV: userId, now (ms), awayAfterMs.
 */
const REFRESH_SCRIPT = `
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local status
if #top == 0 then
  status = 'OFFLINE'
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], top[2], ARGV[1])
  redis.call('HSET', KEYS[5], ARGV[1], now)
  local active = tonumber(redis.call('GET', KEYS[7]) or '0')
  if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 or now - active >= tonumber(ARGV[3]) then status = 'AWAY' else status = 'ONLINE' end
end
local old = redis.call('HGET', KEYS[4], ARGV[1]) or 'OFFLINE'
local seen = redis.call('HGET', KEYS[5], ARGV[1]) or '0'
if old == status then return false end
local started = '0'
if status == 'OFFLINE' then
  redis.call('HDEL', KEYS[4], ARGV[1])
  started = redis.call('HGET', KEYS[8], ARGV[1]) or '0'
  redis.call('HDEL', KEYS[8], ARGV[1])
else
  redis.call('HSET', KEYS[4], ARGV[1], status)
  if old == 'OFFLINE' then redis.call('HSET', KEYS[8], ARGV[1], now) end
end
local version = redis.call('HINCRBY', KEYS[6], ARGV[1], 1)
return {old, status, version, seen, started}
`;
const COMMAND = "presenceRefresh";

/**
 * Sets a user's entry in the online users to the latest expiry of their remaining
 * connections, or removes it when none is left alive; atomic with the connections it reads.
 * KEYS: userConnections, connections, users. ARGV: userId, now (ms).
 */
const USER_SCRIPT = `
local latest = nil
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local expiry = tonumber(redis.call('ZSCORE', KEYS[2], id))
  if expiry and (latest == nil or expiry > latest) then latest = expiry end
end
if latest and latest > tonumber(ARGV[2]) then redis.call('ZADD', KEYS[3], latest, ARGV[1]) else redis.call('ZREM', KEYS[3], ARGV[1]) end
return 1
`;
const USER_COMMAND = "presenceUserRefresh";
type WithRefresh = Redis & {
  [COMMAND](...args: (string | number)[]): Promise<[string, string, number, string, string] | null>;
  [USER_COMMAND](...args: (string | number)[]): Promise<number>;
};

export function createPresenceStore(redis: Redis, settings: { ttlMs: number; awayAfterMs: number; keyPrefix: string }) {
  const keys = presenceKeys(settings.keyPrefix);
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 8, lua: REFRESH_SCRIPT });
  if (!(USER_COMMAND in redis)) redis.defineCommand(USER_COMMAND, { numberOfKeys: 3, lua: USER_SCRIPT });
  const scripted = redis as WithRefresh;
  // Connection records outlive their TTL (the sweeper removes them), but not forever.
  const recordTtlMs = settings.ttlMs * 10;

  async function refresh(campaignId: string, userId: string, now: number): Promise<Transition | null> {
    const result = await scripted[COMMAND](
      keys.memberConnections(campaignId, userId),
      keys.online(campaignId),
      keys.away(campaignId),
      keys.status(campaignId),
      keys.seen(campaignId),
      keys.version(campaignId),
      keys.userActive(userId),
      keys.since(campaignId),
      userId,
      now,
      settings.awayAfterMs,
    );
    if (!result) return null;
    const [from, to, version, seen, started] = result;
    return { campaignId, userId, from: from as PresenceStatus, to: to as PresenceStatus, version: Number(version), seenAt: Number(seen), startedAt: Number(started) };
  }

  async function connection(connectionId: string): Promise<ConnectionInfo | null> {
    const json = await redis.get(keys.connection(connectionId));
    return json ? (JSON.parse(json) as ConnectionInfo) : null;
  }

  /** Marks a connection alive until now + TTL in each of its campaigns. */
  async function touch(connectionId: string, info: ConnectionInfo, now: number) {
    const expiry = now + settings.ttlMs;
    const multi = redis
      .multi()
      .set(keys.connection(connectionId), JSON.stringify(info), "PX", recordTtlMs)
      .zadd(keys.connections, expiry, connectionId)
      .sadd(keys.userConnections(info.userId), connectionId)
      .pexpire(keys.userConnections(info.userId), recordTtlMs)
      // GT: a connection's new expiry never shortens the user's (another may last longer).
      .zadd(keys.users, "GT", expiry, info.userId);
    for (const campaignId of info.campaignIds) {
      multi.zadd(keys.memberConnections(campaignId, info.userId), expiry, connectionId).pexpire(keys.memberConnections(campaignId, info.userId), recordTtlMs);
    }
    await multi.exec();
  }

  const refreshAll = async (campaignIds: string[], userId: string, now: number) =>
    (await Promise.all(campaignIds.map((c) => refresh(c, userId, now)))).filter((t): t is Transition => t !== null);

  /** Removes a connection everywhere; the caller then refreshes its campaigns. */
  async function drop(connectionId: string, info: ConnectionInfo, now: number) {
    const multi = redis.multi().del(keys.connection(connectionId)).zrem(keys.connections, connectionId).srem(keys.userConnections(info.userId), connectionId);
    for (const campaignId of info.campaignIds) multi.zrem(keys.memberConnections(campaignId, info.userId), connectionId);
    await multi.exec();
    await scripted[USER_COMMAND](keys.userConnections(info.userId), keys.connections, keys.users, info.userId, now);
  }

  return {
    connection,
    refresh,

    /** Activity (a new connection, a post, setPresence ONLINE): not idle until now + AWAY_AFTER. */
    async markActive(userId: string, now: number) {
      await redis.multi().set(keys.userActive(userId), now, "PX", settings.awayAfterMs + recordTtlMs).zadd(keys.idle, now + settings.awayAfterMs, userId).exec();
    },

    async connect(connectionId: string, info: ConnectionInfo, now: number): Promise<Transition[]> {
      await touch(connectionId, info, now);
      return refreshAll(info.campaignIds, info.userId, now);
    },

    /** Extends a live connection (and may turn an idle user AWAY); false for one unknown or lapsed. */
    async heartbeat(connectionId: string, now: number, userId?: string): Promise<{ known: boolean; transitions: Transition[] }> {
      const info = await connection(connectionId);
      if (!info || (userId !== undefined && info.userId !== userId)) return { known: false, transitions: [] };
      const expiry = await redis.zscore(keys.connections, connectionId);
      if (expiry === null || Number(expiry) <= now) return { known: false, transitions: [] }; // lapsed: the sweeper ends it
      await touch(connectionId, info, now);
      return { known: true, transitions: await refreshAll(info.campaignIds, info.userId, now) };
    },

    async disconnect(connectionId: string, info: ConnectionInfo, now: number): Promise<Transition[]> {
      await drop(connectionId, info, now);
      return refreshAll(info.campaignIds, info.userId, now);
    },

    /** Adds a campaign to the user's live connections (they joined it after connecting). */
    async addCampaign(userId: string, campaignId: string, now: number) {
      for (const connectionId of await redis.smembers(keys.userConnections(userId))) {
        const info = await connection(connectionId);
        const expiry = await redis.zscore(keys.connections, connectionId);
        if (!info || expiry === null || Number(expiry) <= now || info.campaignIds.includes(campaignId)) continue;
        await redis
          .multi()
          .set(keys.connection(connectionId), JSON.stringify({ ...info, campaignIds: [...info.campaignIds, campaignId] }), "PX", recordTtlMs)
          .zadd(keys.memberConnections(campaignId, userId), Number(expiry), connectionId)
          .pexpire(keys.memberConnections(campaignId, userId), recordTtlMs)
          .exec();
      }
    },

    async setAway(campaignId: string, userId: string, away: boolean) {
      await (away ? redis.sadd(keys.away(campaignId), userId) : redis.srem(keys.away(campaignId), userId));
    },

    /** The campaigns of the user's live connections. */
    async campaignsOf(userId: string): Promise<string[]> {
      const ids = new Set<string>();
      for (const connectionId of await redis.smembers(keys.userConnections(userId))) {
        for (const campaignId of (await connection(connectionId))?.campaignIds ?? []) ids.add(campaignId);
      }
      return [...ids];
    },

    /** Connections past their expiry, each claimed by exactly one caller (ZREM wins once). */
    async claimLapsed(now: number, limit: number): Promise<{ connectionId: string; info: ConnectionInfo | null }[]> {
      const ids = await redis.zrangebyscore(keys.connections, "-inf", now, "LIMIT", 0, limit);
      const claimed: { connectionId: string; info: ConnectionInfo | null }[] = [];
      for (const connectionId of ids) {
        if ((await redis.zrem(keys.connections, connectionId)) !== 1) continue;
        const info = await connection(connectionId);
        if (info) await drop(connectionId, info, now);
        claimed.push({ connectionId, info });
      }
      return claimed;
    },

    /** Users whose idle time has come, each claimed by exactly one caller. */
    async claimIdle(now: number, limit: number): Promise<string[]> {
      const ids = await redis.zrangebyscore(keys.idle, "-inf", now, "LIMIT", 0, limit);
      const claimed: string[] = [];
      for (const userId of ids) if ((await redis.zrem(keys.idle, userId)) === 1) claimed.push(userId);
      return claimed;
    },

    /** Users with at least one connection that has not lapsed, whatever their campaigns. */
    playersOnline: (now: number): Promise<number> => redis.zcount(keys.users, `(${now}`, "+inf"),

    /** ONLINE and AWAY users of a campaign whose connections have not lapsed. */
    async list(campaignId: string, now: number): Promise<{ userId: string; status: PresenceStatus; lastSeenAt: number | null }[]> {
      const userIds = await redis.zrangebyscore(keys.online(campaignId), `(${now}`, "+inf");
      if (userIds.length === 0) return [];
      const [statuses, seen] = await Promise.all([redis.hmget(keys.status(campaignId), ...userIds), redis.hmget(keys.seen(campaignId), ...userIds)]);
      return userIds.map((userId, i) => ({
        userId,
        status: (statuses[i] as PresenceStatus | null) ?? "ONLINE",
        lastSeenAt: seen[i] ? Number(seen[i]) : null,
      }));
    },

    /** One user's presence in a campaign (OFFLINE when not connected). */
    async get(campaignId: string, userId: string, now: number): Promise<{ status: PresenceStatus; lastSeenAt: number | null }> {
      const [expiry, status, seen] = await Promise.all([
        redis.zscore(keys.online(campaignId), userId),
        redis.hget(keys.status(campaignId), userId),
        redis.hget(keys.seen(campaignId), userId),
      ]);
      const live = expiry !== null && Number(expiry) > now;
      return { status: live ? ((status as PresenceStatus | null) ?? "ONLINE") : "OFFLINE", lastSeenAt: seen ? Number(seen) : null };
    },
  };
}

export type PresenceStore = ReturnType<typeof createPresenceStore>;
