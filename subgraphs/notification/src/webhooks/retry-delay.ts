/**
 * The wait before attempt `attempt + 1` of a webhook delivery: doubling from `baseMs` up to
 * `maxMs`, with "equal jitter" (half fixed, half random) so a receiver back after an outage is
 * not hit by every delivery at once, yet the schedule keeps its length: with the defaults (5
 * minutes doubling to 6 hours, 10 attempts) the last attempt comes some 17 to 23 hours after
 * the first. A Retry-After the receiver sent is honoured up to `maxMs`.
 */
export function webhookRetryDelayMs(attempt: number, options: { baseMs: number; maxMs: number; retryAfterMs?: number | null }, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  const floor = options.retryAfterMs != null && options.retryAfterMs > 0 ? Math.min(options.retryAfterMs, options.maxMs) : 0;
  return Math.max(floor, delay);
}
