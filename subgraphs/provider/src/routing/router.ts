import { createRateLimiter, type Logger, type Redis, type RateLimiter } from "@startales/service-kit";
import { DEFAULT_GROUP, type Deployment } from "../domain/deployments";
import { estimateTokens } from "../domain/prompt";
import type { ProviderRequest } from "../domain/requests";
import type { CallOptions, Driver, DriverResult, DriverUsage } from "../drivers/driver";
import { NoDeploymentSucceeded, ProviderError } from "../drivers/provider-error";
import { availability, failed, freshHealth, released, started, succeeded, type DeploymentHealth, type FailureKind, type HealthOptions } from "./health";
import { groupChain, orderCandidates, type RoutingStrategy } from "./strategy";

export type RouterOptions = {
  deployments: () => Promise<Deployment[]>;
  fallbacks: Record<string, string[]>;
  strategy: RoutingStrategy;
  health: HealthOptions;
  drivers: Record<Deployment["driver"], Driver>;
  redis: Redis;
  /** Redis namespace of the per-deployment RPM/TPM buckets. */
  prefix: string;
  maxOutputTokens: number;
  logger: Logger;
  clock?: () => number;
  /** Told about every vendor call (metrics); a successful one with the usage the vendor reported. */
  onCall?: (deployment: Deployment, outcome: "ok" | FailureKind | "limited", seconds: number, usage?: DriverUsage) => void;
};

export type Routed = { deployment: Deployment; result: DriverResult; tries: number };

/**
 * Runs a request on the best deployment that works: through the fallback chain of model
 * groups, in the order the routing strategy gives within each, skipping deployments that
 * rest (cooldown), have an open circuit or are over their RPM/TPM (GCRA buckets in Redis,
 * shared by every worker); each call bounded by the deployment's timeout. Health (latency,
 * cooldown, circuit) is this replica's view.
 */
export function createRouter(options: RouterOptions) {
  const clock = options.clock ?? Date.now;
  const healthByName = new Map<string, DeploymentHealth>();
  const health = (name: string) => healthByName.get(name) ?? freshHealth();
  const limiters = new Map<string, RateLimiter>();

  const limiter = (kind: "rpm" | "tpm", limit: number) => {
    const key = `${kind}:${limit}`;
    let found = limiters.get(key);
    if (!found) {
      // Fails open: a Redis blip must not stop the game's narration (vendors throttle anyway).
      found = createRateLimiter(options.redis, { limit, periodMs: 60_000, prefix: `${options.prefix}${kind}:`, whenUnavailable: "allow", logger: options.logger });
      limiters.set(key, found);
    }
    return found;
  };

  /** Charges the deployment's per-minute buckets; the wait until it fits when refused. */
  async function admit(deployment: Deployment, request: ProviderRequest): Promise<number | null> {
    if (deployment.rpm) {
      const decision = await limiter("rpm", deployment.rpm).consume(deployment.name);
      if (!decision.allowed) return decision.retryAfterMs;
    }
    if (deployment.tpm) {
      const tokens = request.kind === "TEXT" ? estimateTokens(request.prompt + (request.context ?? "")) + request.maxTokens : request.kind === "SPEECH" ? estimateTokens(request.text) : 1;
      const decision = await limiter("tpm", deployment.tpm).consume(deployment.name, tokens);
      if (!decision.allowed) return decision.retryAfterMs;
    }
    return null;
  }

  /** Resting deployments are written to Redis too, for the admins' view (providerDeployments). */
  function publishHealth(name: string, state: DeploymentHealth) {
    const now = clock();
    const until = Math.max(state.cooldownUntil, state.circuitOpenUntil);
    if (until <= now) return;
    const label = state.circuitOpenUntil > now ? "CIRCUIT_OPEN" : "COOLDOWN";
    options.redis.set(`${options.prefix}health:${name}`, label, "PX", Math.ceil(until - now)).catch(() => undefined);
  }

  async function run(request: ProviderRequest, call: Omit<CallOptions, "maxOutputTokens"> & { onTry?: (deployment: Deployment, tries: number) => Promise<void> }): Promise<Routed> {
    const all = (await options.deployments()).filter((d) => d.enabled && d.kind === request.kind);
    const failures: NoDeploymentSucceeded["failures"] = [];
    let retryAfterMs: number | null = null;
    const noteWait = (ms: number | null) => {
      if (ms != null && ms > 0) retryAfterMs = retryAfterMs === null ? ms : Math.min(retryAfterMs, ms);
    };
    let tries = 0;
    for (const group of groupChain(request.group, options.fallbacks, DEFAULT_GROUP[request.kind])) {
      const candidates = all.filter((d) => d.modelGroup === group);
      for (const skipped of candidates) {
        const h = health(skipped.name);
        if (availability(h, clock()) !== "OK" && availability(h, clock()) !== "HALF_OPEN") noteWait(Math.max(h.cooldownUntil, h.circuitOpenUntil) - clock());
      }
      for (const deployment of orderCandidates(candidates, health, options.strategy, clock())) {
        if (call.signal.aborted) break;
        const wait = await admit(deployment, request);
        if (wait !== null) {
          failures.push({ deployment: deployment.name, kind: "limited" });
          noteWait(wait);
          options.onCall?.(deployment, "limited", 0);
          continue;
        }
        tries++;
        await call.onTry?.(deployment, tries);
        const begun = clock();
        healthByName.set(deployment.name, started(health(deployment.name), begun));
        const driver = options.drivers[deployment.driver];
        try {
          const result = await driver.run(deployment, request, { ...call, maxOutputTokens: options.maxOutputTokens });
          healthByName.set(deployment.name, succeeded(health(deployment.name), clock() - begun));
          options.onCall?.(deployment, "ok", (clock() - begun) / 1000, result.usage);
          return { deployment, result, tries };
        } catch (error) {
          if (!(error instanceof ProviderError)) {
            healthByName.set(deployment.name, released(health(deployment.name)));
            throw error;
          }
          const after = failed(health(deployment.name), error.kind, clock(), options.health, error.retryAfterMs);
          healthByName.set(deployment.name, after);
          publishHealth(deployment.name, after);
          options.onCall?.(deployment, error.kind, (clock() - begun) / 1000);
          options.logger.warn({ deployment: deployment.name, kind: error.kind, status: error.options.status, reason: error.message }, "provider call failed; trying the next deployment");
          failures.push({ deployment: deployment.name, kind: error.kind });
          noteWait(error.retryAfterMs);
        }
      }
    }
    const retryable = failures.length === 0 || failures.some((f) => f.kind !== "client");
    const message = failures.length === 0 ? "no deployment is available for this request" : `every deployment failed (${failures.map((f) => `${f.deployment}: ${f.kind}`).join(", ")})`;
    throw new NoDeploymentSucceeded(message, retryable, retryAfterMs, failures);
  }

  return {
    run,
    /** How this replica sees a deployment: OK, COOLDOWN or CIRCUIT_OPEN. */
    healthOf: (name: string) => {
      const state = availability(health(name), clock());
      return state === "HALF_OPEN" ? "OK" : state;
    },
  };
}

export type Router = ReturnType<typeof createRouter>;
