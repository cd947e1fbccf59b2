import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { DocumentNode, GraphQLSchema } from "graphql";
import {
  ErrorCode,
  consumeTogether,
  createRateLimiter,
  requestError,
  type createRedis,
  type Logger,
  type RateLimitDecision,
  type RateLimiter,
  type SignedInViewer,
  type Viewer,
} from "@startales/service-kit";
import type { GatewayConfig } from "../config";
import { estimateCost } from "./query-limits";

type Redis = ReturnType<typeof createRedis>;

export type RateLimitConfig = Pick<
  GatewayConfig,
  | "RATE_LIMIT_IP_PER_MINUTE"
  | "RATE_LIMIT_USER_PER_MINUTE"
  | "RATE_LIMIT_API_KEY_PER_MINUTE"
  | "RATE_LIMIT_COST_PER_MINUTE"
  | "RATE_LIMIT_FAIL_OPEN"
  | "RATE_LIMIT_KEY_PREFIX"
>;

/** What one HTTP request has been charged; the tightest bucket becomes its RateLimit-* headers. */
export type RateLimitState = {
  /** Whose cost budget operations are charged to: the user, or the address when anonymous. */
  costKey: string;
  tightest?: RateLimitDecision;
};

type RateLimitedContext = BaseContext & { rateLimit: RateLimitState };

/**
 * THE place an operation's cost is decided for rate limiting: query-limits' estimate (each
 * field 1, times the sizes of the lists it sits under), at least 1 so every operation
 * counts. Change the pricing here and nowhere else.
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null, variables?: Record<string, unknown>): number {
  return Math.max(1, estimateCost(schema, document, { operationName, variables }));
}

/** IETF draft RateLimit fields (draft-ietf-httpapi-ratelimit-headers): the quota, what is left, seconds until full. */
function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    "ratelimit-limit": String(decision.limit),
    "ratelimit-remaining": String(decision.remaining),
    "ratelimit-reset": String(Math.ceil(decision.resetMs / 1000)),
  };
}

/** The decision closer to exhaustion (a refusal always is). */
function tighter(current: RateLimitDecision | undefined, next: RateLimitDecision): RateLimitDecision {
  if (!current || !next.allowed) return next;
  if (!current.allowed) return current;
  return next.remaining / next.limit < current.remaining / current.limit ? next : current;
}

function rateLimited(decision: RateLimitDecision, what: string) {
  const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return requestError(ErrorCode.RATE_LIMITED, `Too many requests ${what}; retry after ${retryAfter} s`, {
    extensions: { retryAfter },
    headers: { "retry-after": String(retryAfter), ...rateLimitHeaders(decision) },
  });
}

/**
 * Rate limits per client address, per user, per API key and per operation cost, in Redis so
 * they hold across gateway replicas. The order is the point: the address is charged before
 * any credential is verified (a flood is refused for one Redis call, not a JWT check or an
 * API-key lookup), the user or key right after (with the address, in the same call, when the
 * token was verified before), and the cost once the operation is parsed,
 * validated and known. A batched request counts once per HTTP request against the request
 * limits, and each of its operations against the cost budget.
 */
export function createRateLimits(deps: { redis: Redis; config: RateLimitConfig; logger: Logger }) {
  const { redis, config, logger } = deps;
  const limiter = (name: string, limit: number) =>
    createRateLimiter(redis, {
      prefix: `${config.RATE_LIMIT_KEY_PREFIX}${name}:`,
      limit,
      periodMs: 60_000,
      whenUnavailable: config.RATE_LIMIT_FAIL_OPEN ? "allow" : "deny",
      logger,
    });
  const byAddress = limiter("ip", config.RATE_LIMIT_IP_PER_MINUTE);
  const byUser = limiter("user", config.RATE_LIMIT_USER_PER_MINUTE);
  const byApiKey = limiter("api-key", config.RATE_LIMIT_API_KEY_PER_MINUTE);
  const byCost = limiter("cost", config.RATE_LIMIT_COST_PER_MINUTE);

  async function charge(state: RateLimitState, bucket: RateLimiter, key: string, cost: number, what: string): Promise<void> {
    settle(state, await bucket.consume(key, cost), what);
  }

  function settle(state: RateLimitState, decision: RateLimitDecision, what: string): void {
    if (decision.unavailable) {
      if (decision.allowed) return;
      throw requestError(ErrorCode.SERVICE_UNAVAILABLE, "Rate limits cannot be checked right now; try again shortly");
    }
    state.tightest = tighter(state.tightest, decision);
    if (!decision.allowed) throw rateLimited(decision, what);
  }

  const viewerBucket = (viewer: SignedInViewer): [RateLimiter, string, string] =>
    viewer.credential === "api_key" && viewer.apiKeyId ? [byApiKey, viewer.apiKeyId, "for this API key"] : [byUser, viewer.userId, "for this user"];

  // Costs are charged by the operation-admission plugin, once an operation is known to be
  // runnable; this plugin only reports the tightest bucket.
  const plugin: ApolloServerPlugin<RateLimitedContext> = {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const { tightest } = contextValue.rateLimit;
          if (!tightest) return;
          for (const [name, value] of Object.entries(rateLimitHeaders(tightest))) response.http.headers.set(name, value);
        },
      };
    },
  };

  return {
    /** Before any credential is checked. */
    async chargeAddress(address: string): Promise<RateLimitState> {
      const state: RateLimitState = { costKey: `ip:${address}` };
      await charge(state, byAddress, address, 1, "from this address");
      return state;
    },
    /** After the credential is verified: an API key has its own budget, a signed-in user theirs. */
    async chargeViewer(viewer: Viewer, state: RateLimitState): Promise<void> {
      if (viewer.kind !== "user") return;
      // Every credential of one user shares one cost budget: more keys buy no more work.
      state.costKey = `user:${viewer.userId}`;
      const [bucket, key, what] = viewerBucket(viewer);
      await charge(state, bucket, key, 1, what);
    },
    /**
     * The address and the user at once (one Redis call, all or none), for a caller known
     * without verifying anything (a token the gateway verified before): the address goes
     * first only to refuse a flood before the work of verifying a credential.
     */
    async chargeAddressAndViewer(address: string, viewer: SignedInViewer): Promise<RateLimitState> {
      const state: RateLimitState = { costKey: `user:${viewer.userId}` };
      const [bucket, key, what] = viewerBucket(viewer);
      const [byIp, byViewer] = await consumeTogether([
        { limiter: byAddress, key: address },
        { limiter: bucket, key },
      ]);
      settle(state, byIp!, "from this address");
      settle(state, byViewer!, what);
      return state;
    },
    /** An admitted operation's cost, to the user's budget (the address's when anonymous). */
    chargeCost: (state: RateLimitState, cost: number) => charge(state, byCost, state.costKey, cost, "for this caller's query cost budget"),
    plugin,
  };
}
