import type { FailureKind } from "../routing/health";

/**
 * A vendor call that failed, classified for routing: `rate_limited` (429), `server` (5xx),
 * `timeout`, `network` (refused, reset, a stream that stopped midway) and `client` (other 4xx,
 * a misconfigured deployment). Messages are ours: never a vendor's body, never a key.
 */
export class ProviderError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly options: { status?: number; retryAfterMs?: number | null } = {},
  ) {
    super(message);
    this.name = "ProviderError";
  }
  get retryAfterMs(): number | null {
    return this.options.retryAfterMs ?? null;
  }
}

/** A job no deployment could serve; `retryable` unless every failure was the request's own fault. */
export class NoDeploymentSucceeded extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null,
    readonly failures: { deployment: string; kind: FailureKind | "limited" }[],
  ) {
    super(message);
    this.name = "NoDeploymentSucceeded";
  }
}
