/**
 * What one replica knows about each deployment's health: in flight, latency, cooldown and
 * circuit breaker. Pure state transitions (the clock is passed in), unit-tested without I/O.
 *
 * - Cooldown: after a 429, a 5xx or a timeout the deployment rests for its Retry-After, or
 *   `cooldownMs`; it is skipped while resting.
 * - Circuit breaker: `failureThreshold` consecutive failures open the circuit for `openMs`;
 *   then one trial request is let through (half-open): success closes it, failure reopens it.
 */
export type HealthOptions = { cooldownMs: number; failureThreshold: number; openMs: number };

export type DeploymentHealth = {
  inFlight: number;
  /** Exponentially weighted mean latency of successful calls (ms); null before the first. */
  latencyMs: number | null;
  consecutiveFailures: number;
  cooldownUntil: number;
  circuitOpenUntil: number;
  /** A half-open trial is in flight: nobody else may use the deployment until it ends. */
  trialInFlight: boolean;
};

export type FailureKind = "rate_limited" | "server" | "timeout" | "network" | "client";

export const freshHealth = (): DeploymentHealth => ({
  inFlight: 0,
  latencyMs: null,
  consecutiveFailures: 0,
  cooldownUntil: 0,
  circuitOpenUntil: 0,
  trialInFlight: false,
});

export type Availability = "OK" | "COOLDOWN" | "CIRCUIT_OPEN" | "HALF_OPEN";

export function availability(health: DeploymentHealth, now: number): Availability {
  if (health.circuitOpenUntil > now) return "CIRCUIT_OPEN";
  if (health.circuitOpenUntil > 0) return health.trialInFlight ? "CIRCUIT_OPEN" : "HALF_OPEN";
  if (health.cooldownUntil > now) return "COOLDOWN";
  return "OK";
}

export const isUsable = (health: DeploymentHealth, now: number) => {
  const state = availability(health, now);
  return state === "OK" || state === "HALF_OPEN";
};

/** A call starts: counts in flight; in half-open, it is the one trial. */
export function started(health: DeploymentHealth, now: number): DeploymentHealth {
  const halfOpen = availability(health, now) === "HALF_OPEN";
  return { ...health, inFlight: health.inFlight + 1, trialInFlight: health.trialInFlight || halfOpen };
}

const LATENCY_WEIGHT = 0.3;

export function succeeded(health: DeploymentHealth, latencyMs: number): DeploymentHealth {
  const latency = health.latencyMs === null ? latencyMs : health.latencyMs * (1 - LATENCY_WEIGHT) + latencyMs * LATENCY_WEIGHT;
  return { ...health, inFlight: Math.max(0, health.inFlight - 1), latencyMs: latency, consecutiveFailures: 0, circuitOpenUntil: 0, trialInFlight: false };
}

/**
 * A call failed. Client errors (400s other than 429) say nothing about the deployment's
 * health and change nothing but the count in flight.
 */
export function failed(health: DeploymentHealth, kind: FailureKind, now: number, options: HealthOptions, retryAfterMs?: number | null): DeploymentHealth {
  const done = { ...health, inFlight: Math.max(0, health.inFlight - 1), trialInFlight: false };
  if (kind === "client") return done;
  const failures = health.consecutiveFailures + 1;
  const rest = retryAfterMs != null && retryAfterMs > 0 ? retryAfterMs : options.cooldownMs;
  const wasHalfOpen = health.circuitOpenUntil > 0 && health.circuitOpenUntil <= now;
  const open = wasHalfOpen || failures >= options.failureThreshold;
  return {
    ...done,
    consecutiveFailures: failures,
    cooldownUntil: Math.max(health.cooldownUntil, now + rest),
    circuitOpenUntil: open ? now + Math.max(options.openMs, rest) : health.circuitOpenUntil,
  };
}

/** A call was abandoned without telling anything about the deployment (the caller gave up). */
export function released(health: DeploymentHealth): DeploymentHealth {
  return { ...health, inFlight: Math.max(0, health.inFlight - 1), trialInFlight: false };
}
