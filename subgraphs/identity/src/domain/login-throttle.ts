import { ErrorCode, appError, createRateLimiter, type Logger, type RateLimitDecision, type createRedis } from "@startales/service-kit";

type Redis = ReturnType<typeof createRedis>;

export type LoginThrottleSettings = {
  /** Failed sign-ins an account may have before it is locked (LOGIN_MAX_FAILURES). */
  maxFailures: number;
  /** The first lock; each further failure doubles it (LOGIN_LOCKOUT_SECONDS). */
  lockoutSeconds: number;
};

// Failures are remembered for a day, one forgotten every day / (maxFailures + MAX_DOUBLINGS):
// long enough that the doubling survives an attacker waiting out each lock, short enough
// that a player's occasional typos never add up.
const FAILURE_MEMORY_MS = 86_400_000;
const MAX_DOUBLINGS = 10;
const MAX_LOCK_SECONDS = 86_400;

/**
 * Login backoff against password guessing, per account (the normalized email; unknown
 * emails too, so a lock reveals nothing about which accounts exist). After `maxFailures`
 * failures the account is locked for `lockoutSeconds`, then 2×, 4×… that for each further
 * failure, up to a day; while locked every attempt is RATE_LIMITED with `retryAfter`, even
 * with the right password. A successful sign-in forgets every failure.
 *
 * Each attempt is charged as a failure *before* the password is checked and refunded on
 * success, so a burst of concurrent guesses cannot all slip in before the first is
 * counted. Both buckets are the shared Redis rate limiter, so the lock holds across
 * identity replicas; it fails closed (SERVICE_UNAVAILABLE) when Redis does not answer:
 * an outage must not open the door to guessing.
 *
 * Per account only: identity does not see the client's address (the gateway does, and
 * limits per address there). The flip side is that anyone can lock an account by failing
 * on purpose; the doubling is what keeps guessing slow enough to make that a nuisance only.
 */
export function createLoginThrottle(deps: { redis: Redis; settings: LoginThrottleSettings; logger: Logger }) {
  const { redis, settings, logger } = deps;
  const failureLimit = settings.maxFailures + MAX_DOUBLINGS;
  const failures = createRateLimiter(redis, {
    prefix: "login-throttle:failures:",
    limit: failureLimit,
    periodMs: FAILURE_MEMORY_MS,
    whenUnavailable: "deny",
    logger,
  });
  // A lock is a bucket of seconds: charging it D seconds empties it for D seconds, and an
  // attempt needs it full again. One atomic mechanism, with the limiter's bounded calls.
  const locks = createRateLimiter(redis, {
    prefix: "login-throttle:lock:",
    limit: MAX_LOCK_SECONDS,
    periodMs: MAX_LOCK_SECONDS * 1000,
    whenUnavailable: "deny",
    logger,
  });

  const refuse = (decision: RateLimitDecision) => {
    if (decision.unavailable) return appError(ErrorCode.SERVICE_UNAVAILABLE, "Sign-in is unavailable right now; try again shortly");
    const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    return appError(ErrorCode.RATE_LIMITED, `Too many failed sign-ins for this account; try again in ${retryAfter} s`, { retryAfter });
  };

  return {
    /** Before the password is checked: throws while the account is locked, else counts the attempt. */
    async attempt(email: string): Promise<void> {
      const lock = await locks.peek(email, MAX_LOCK_SECONDS);
      if (!lock.allowed) throw refuse(lock);
      const counted = await failures.consume(email);
      if (!counted.allowed) throw refuse(counted);
      const failed = failureLimit - counted.remaining;
      if (failed >= settings.maxFailures) {
        const seconds = Math.min(MAX_LOCK_SECONDS, settings.lockoutSeconds * 2 ** (failed - settings.maxFailures));
        await locks.consume(email, seconds);
        // Before the password check: if this attempt succeeds after all, `succeeded` lifts it.
        logger.warn({ failed, lockSeconds: seconds }, "failed sign-ins lock an account");
      }
    },
    /** The password was right: the attempt and every earlier failure are forgotten. */
    async succeeded(email: string): Promise<void> {
      await Promise.all([failures.reset(email), locks.reset(email)]);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
