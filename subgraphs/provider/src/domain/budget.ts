/** What has been spent in a window, and what may be. A limit of 0 means unlimited. */
export type Spent = { requests: number; tokens: number; costMicros: number };
export type BudgetLimits = Spent;

/** Which limit is reached (so one more request is refused), or null. Pure. */
export function exceededLimit(spent: Spent, limits: BudgetLimits): keyof Spent | null {
  if (limits.requests > 0 && spent.requests >= limits.requests) return "requests";
  if (limits.tokens > 0 && spent.tokens >= limits.tokens) return "tokens";
  if (limits.costMicros > 0 && spent.costMicros >= limits.costMicros) return "costMicros";
  return null;
}
