import type { Redis } from "ioredis";
import type { Logger } from "./logger";

/**
 * A Redis-backed rate limiter: every replica charges the same buckets, so a limit holds
 * across the whole fleet. One policy (a limit per period) per limiter; keys name buckets.
 *
 * Algorithm: GCRA (the generic cell rate algorithm, a leaky bucket in one number). Each
 * bucket stores only its "theoretical arrival time"; a charge of `cost` moves it forward by
 * cost × period / limit, and is refused when that would put it more than one period ahead
 * of now. Chosen over a sliding window because it is O(1) in memory and time per key (one
 * string, no sorted set of timestamps), exact (no window-boundary bursts), supports costs
 * natively, and its state answers "retry after" and "remaining" directly. A full bucket
 * allows `limit` at once; after that capacity returns smoothly, one unit every
 * period / limit. The clock is Redis' own TIME, so replicas with skewed clocks agree.
 *
 * Reusable beyond HTTP: the WebSocket message rate limit (a later issue) is a limiter keyed
 * by connection or user. A cap on *concurrent* connections is not a rate and needs a
 * counter that is released on disconnect; this limiter only bounds how fast they open.
 */
const GCRA_SCRIPT = `
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local debt = (tonumber(redis.call('GET', KEYS[1])) or now) - now
if debt < 0 then debt = 0 end
local after = debt + cost * interval
-- 1 microsecond of slack absorbs the rounding of the stored decimal.
if after > period + 0.001 then
  return {0, math.max(0, math.floor((period - debt) / interval + 1e-9)), math.ceil(after - period), math.ceil(debt)}
end
if ARGV[4] == '1' and after > 0 then
  redis.call('SET', KEYS[1], string.format('%.3f', now + after), 'PX', math.ceil(after))
end
return {1, math.max(0, math.floor((period - after) / interval + 1e-9)), 0, math.ceil(after)}
`;

const COMMAND = "startalesGcra";
type GcraReply = [allowed: number, remaining: number, retryAfterMs: number, resetMs: number];
type WithGcra = Redis & { [COMMAND](key: string, interval: string, period: string, cost: string, charge: "0" | "1"): Promise<GcraReply> };

export type RateLimitPolicy = { limit: number; periodMs: number };

export type RateLimitDecision = {
  allowed: boolean;
  limit: number;
  /** Units left after this charge (or, when refused, left now). */
  remaining: number;
  /** When refused: how long until this cost would be allowed. 0 when allowed. */
  retryAfterMs: number;
  /** How long until the bucket is full again. */
  resetMs: number;
  /** Redis could not answer in time: `allowed` is the limiter's `whenUnavailable` choice. */
  unavailable: boolean;
};

export type RateLimiterOptions = RateLimitPolicy & {
  /** Namespace of this policy's buckets, e.g. "rate-limit:ip:". */
  prefix: string;
  /**
   * What to answer when Redis is unreachable or slow. There is no default on purpose: a
   * request limit usually fails open (a Redis blip must not take the API down), a security
   * throttle usually fails closed (an outage must not unlock password guessing).
   */
  whenUnavailable: "allow" | "deny";
  /** Bound on one Redis call, so an unreachable Redis never holds a request. */
  timeoutMs?: number;
  logger?: Logger;
};

export type RateLimiter = {
  readonly policy: RateLimitPolicy;
  /** Charges `cost` to the bucket `key` if it fits; a refused charge records nothing. */
  consume(key: string, cost?: number): Promise<RateLimitDecision>;
  /** What `consume` would answer, without charging. */
  peek(key: string, cost?: number): Promise<RateLimitDecision>;
  /** Empties the bucket's debt (full capacity again). False when Redis could not be reached. */
  reset(key: string): Promise<boolean>;
};

const DEFAULT_TIMEOUT_MS = 250;
// While ioredis reconnects, a command would wait in its offline queue and run late,
// charging a request that is long gone; answer at once instead.
const DOWN_STATES = new Set(["reconnecting", "close", "end"]);

export function createRateLimiter(redis: Redis, options: RateLimiterOptions): RateLimiter {
  const { limit, periodMs, prefix, whenUnavailable, timeoutMs = DEFAULT_TIMEOUT_MS, logger } = options;
  if (!(Number.isInteger(limit) && limit > 0 && periodMs > 0)) throw new Error(`invalid rate-limit policy: ${limit} per ${periodMs} ms`);
  // defineCommand runs the script by EVALSHA, loading it on the first NOSCRIPT.
  const client = redis as WithGcra;
  if (typeof client[COMMAND] !== "function") redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: GCRA_SCRIPT });
  const interval = String(periodMs / limit);
  let degraded = false;

  const bounded = async <T>(call: () => Promise<T>): Promise<T> => {
    if (DOWN_STATES.has(redis.status)) throw new Error(`redis is ${redis.status}`);
    let timer: NodeJS.Timeout | undefined;
    const pending = call();
    // After a timeout the call may still fail later; nobody waits for it any more.
    pending.catch(() => undefined);
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  // Logged on the transitions only: during an outage every request would log otherwise.
  const noteHealthy = () => {
    if (degraded) logger?.info({ prefix }, "rate limiter reaches redis again");
    degraded = false;
  };
  const unavailable = (error: unknown): RateLimitDecision => {
    if (!degraded) logger?.warn({ prefix, reason: (error as Error).message, whenUnavailable }, "rate limiter cannot reach redis");
    degraded = true;
    const allowed = whenUnavailable === "allow";
    return { allowed, limit, remaining: allowed ? limit : 0, retryAfterMs: 0, resetMs: 0, unavailable: true };
  };

  const run = async (key: string, cost: number, charge: "0" | "1"): Promise<RateLimitDecision> => {
    if (!(cost > 0 && Number.isFinite(cost))) throw new Error(`rate-limit cost must be a positive number, got ${cost}`);
    // A cost above the whole budget is charged as the whole budget: it runs only on a full
    // bucket and empties it. Refusing outright is a complexity limit's job, not this one's.
    const charged = Math.min(cost, limit);
    try {
      const [allowed, remaining, retryAfterMs, resetMs] = await bounded(() =>
        client[COMMAND](prefix + key, interval, String(periodMs), String(charged), charge),
      );
      noteHealthy();
      return { allowed: allowed === 1, limit, remaining, retryAfterMs, resetMs, unavailable: false };
    } catch (error) {
      return unavailable(error);
    }
  };

  return {
    policy: { limit, periodMs },
    consume: (key, cost = 1) => run(key, cost, "1"),
    peek: (key, cost = 1) => run(key, cost, "0"),
    async reset(key) {
      try {
        await bounded(() => redis.del(prefix + key));
        noteHealthy();
        return true;
      } catch (error) {
        unavailable(error);
        return false;
      }
    },
  };
}
