/**
 * Delay before retry `attempt` (1 = the first retry): "full jitter" exponential backoff
 * (a random delay between 0 and base × 2^(attempt-1), capped), but never sooner than the
 * vendor's Retry-After when it gave one (itself capped at maxMs). Shared by the worker pools
 * that retry outside calls (provider's vendors, notification's push service).
 */
export function retryDelayMs(attempt: number, options: { baseMs: number; maxMs: number; retryAfterMs?: number | null }, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(random() * ceiling);
  const floor = options.retryAfterMs != null && options.retryAfterMs > 0 ? Math.min(options.retryAfterMs, options.maxMs) : 0;
  return Math.max(floor, jittered);
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
