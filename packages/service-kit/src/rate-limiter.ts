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
 *
 * The script decides several buckets at once (one request's address and user, say): every
 * bucket is decided first and charged only if all allow, so a refusal charges none. ARGV:
 * charge, then interval, period and cost per key. Keys of one call must live on one Redis node.
 */
const GCRA_SCRIPT = `
local charge = ARGV[1] == '1'
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local replies = {}
local afters = {}
local all = true
for i = 1, #KEYS do
  local interval = tonumber(ARGV[i * 3 - 1])
  local period = tonumber(ARGV[i * 3])
  local cost = tonumber(ARGV[i * 3 + 1])
  local debt = (tonumber(redis.call('GET', KEYS[i])) or now) - now
  if debt < 0 then debt = 0 end
  local after = debt + cost * interval
  -- 1 microsecond of slack absorbs the rounding of the stored decimal.
  if after > period + 0.001 then
    all = false
    replies[i] = {0, math.max(0, math.floor((period - debt) / interval + 1e-9)), math.ceil(after - period), math.ceil(debt)}
  else
    afters[i] = after
    replies[i] = {1, math.max(0, math.floor((period - after) / interval + 1e-9)), 0, math.ceil(after)}
  end
end
if charge and all then
  for i = 1, #KEYS do
    if afters[i] > 0 then redis.call('SET', KEYS[i], string.format('%.3f', now + afters[i]), 'PX', math.ceil(afters[i])) end
  end
end
return replies
`;

const COMMAND = "startalesGcraAll";
type GcraReply = [allowed: number, remaining: number, retryAfterMs: number, resetMs: number];
type WithGcra = Redis & { [COMMAND](keyCount: number, ...keysAndArgs: string[]): Promise<GcraReply[]> };

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

/** One bucket of one limiter, ready for the script, and how its reply becomes a decision. */
type Bucket = {
  redis: Redis;
  timeoutMs: number;
  redisKey: string;
  args: [interval: string, period: string, cost: string];
  decide(reply: GcraReply): RateLimitDecision;
  unavailable(error: unknown): RateLimitDecision;
};

const bucketsOf = new WeakMap<RateLimiter, (key: string, cost: number) => Bucket>();

async function bounded<T>(redis: Redis, timeoutMs: number, call: () => Promise<T>): Promise<T> {
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
}

/** Decides (and with `charge`, charges) buckets sharing one Redis client in one script call. */
async function decide(buckets: Bucket[], charge: "0" | "1"): Promise<RateLimitDecision[]> {
  const redis = buckets[0]!.redis;
  if (buckets.some((bucket) => bucket.redis !== redis)) throw new Error("rate limiters decided together must share one Redis client");
  const timeoutMs = Math.max(...buckets.map((bucket) => bucket.timeoutMs));
  try {
    const replies = await bounded(redis, timeoutMs, () =>
      (redis as WithGcra)[COMMAND](buckets.length, ...buckets.map((bucket) => bucket.redisKey), charge, ...buckets.flatMap((bucket) => bucket.args)),
    );
    return replies.map((reply, i) => buckets[i]!.decide(reply));
  } catch (error) {
    return buckets.map((bucket) => bucket.unavailable(error));
  }
}

/**
 * Charges several limiters' buckets in one Redis round trip, all or none: when one refuses,
 * nothing is charged, and its decision says so (the others' say what they would have
 * allowed). The limiters must share one Redis client. A request's address and user budgets
 * are charged this way once the user is known without work (a token verified before).
 */
export function consumeTogether(charges: readonly { limiter: RateLimiter; key: string; cost?: number }[]): Promise<RateLimitDecision[]> {
  if (charges.length === 0) return Promise.resolve([]);
  return decide(
    charges.map(({ limiter, key, cost = 1 }) => bucketsOf.get(limiter)!(key, cost)),
    "1",
  );
}

export function createRateLimiter(redis: Redis, options: RateLimiterOptions): RateLimiter {
  const { limit, periodMs, prefix, whenUnavailable, timeoutMs = DEFAULT_TIMEOUT_MS, logger } = options;
  if (!(Number.isInteger(limit) && limit > 0 && periodMs > 0)) throw new Error(`invalid rate-limit policy: ${limit} per ${periodMs} ms`);
  // defineCommand runs the script by EVALSHA, loading it on the first NOSCRIPT; without
  // numberOfKeys, each call passes its key count first.
  if (typeof (redis as WithGcra)[COMMAND] !== "function") redis.defineCommand(COMMAND, { lua: GCRA_SCRIPT });
  const interval = String(periodMs / limit);
  let degraded = false;

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

  const bucket = (key: string, cost: number): Bucket => {
    if (!(cost > 0 && Number.isFinite(cost))) throw new Error(`rate-limit cost must be a positive number, got ${cost}`);
    // A cost above the whole budget is charged as the whole budget: it runs only on a full
    // bucket and empties it. Refusing outright is a complexity limit's job, not this one's.
    const charged = Math.min(cost, limit);
    return {
      redis,
      timeoutMs,
      redisKey: prefix + key,
      args: [interval, String(periodMs), String(charged)],
      decide([allowed, remaining, retryAfterMs, resetMs]) {
        noteHealthy();
        return { allowed: allowed === 1, limit, remaining, retryAfterMs, resetMs, unavailable: false };
      },
      unavailable,
    };
  };
  const one = async (key: string, cost: number, charge: "0" | "1") => (await decide([bucket(key, cost)], charge))[0]!;

  const limiter: RateLimiter = {
    policy: { limit, periodMs },
    consume: (key, cost = 1) => one(key, cost, "1"),
    peek: (key, cost = 1) => one(key, cost, "0"),
    async reset(key) {
      try {
        await bounded(redis, timeoutMs, () => redis.del(prefix + key));
        noteHealthy();
        return true;
      } catch (error) {
        unavailable(error);
        return false;
      }
    },
  };
  bucketsOf.set(limiter, bucket);
  return limiter;
}
