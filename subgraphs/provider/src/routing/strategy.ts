import type { Deployment } from "../domain/deployments";
import { isUsable, type DeploymentHealth } from "./health";

export type RoutingStrategy = "priority" | "weighted" | "least-latency" | "least-busy";

export type Candidate = Pick<Deployment, "name" | "priority" | "weight">;

/**
 * The order in which one group's deployments are tried, best first; deployments resting
 * (cooldown) or with an open circuit are left out. Every strategy keeps priority tiers: a
 * lower `priority` number always goes first, the strategy orders deployments within a tier.
 *
 * - priority: by priority, then by name (stable).
 * - weighted: weighted random order (a deployment of weight 3 leads three times as often as one of weight 1).
 * - least-latency: fastest mean latency first; unmeasured deployments first, so they get measured.
 * - least-busy: fewest calls in flight on this replica first.
 */
export function orderCandidates<C extends Candidate>(
  candidates: readonly C[],
  health: (name: string) => DeploymentHealth,
  strategy: RoutingStrategy,
  now: number,
  random: () => number = Math.random,
): C[] {
  const usable = candidates.filter((c) => isUsable(health(c.name), now));
  const tiers = new Map<number, C[]>();
  for (const c of usable) tiers.set(c.priority, [...(tiers.get(c.priority) ?? []), c]);
  return [...tiers.keys()].sort((a, b) => a - b).flatMap((priority) => orderTier(tiers.get(priority)!, health, strategy, random));
}

function orderTier<C extends Candidate>(tier: C[], health: (name: string) => DeploymentHealth, strategy: RoutingStrategy, random: () => number): C[] {
  const byName = [...tier].sort((a, b) => a.name.localeCompare(b.name));
  switch (strategy) {
    case "priority":
      return byName;
    case "least-busy":
      return byName.sort((a, b) => health(a.name).inFlight - health(b.name).inFlight);
    case "least-latency":
      return byName.sort((a, b) => (health(a.name).latencyMs ?? -1) - (health(b.name).latencyMs ?? -1));
    case "weighted":
      return weightedOrder(byName, random);
  }
}

/** Weighted sampling without replacement: each pick proportional to the weights left. */
export function weightedOrder<C extends Candidate>(items: C[], random: () => number): C[] {
  const left = [...items];
  const order: C[] = [];
  while (left.length > 0) {
    const total = left.reduce((sum, c) => sum + Math.max(1, c.weight), 0);
    let pick = random() * total;
    let index = 0;
    for (; index < left.length - 1; index++) {
      pick -= Math.max(1, left[index]!.weight);
      if (pick < 0) break;
    }
    order.push(left.splice(index, 1)[0]!);
  }
  return order;
}

/**
 * The fallback chain of groups for a request: the group asked for, then its configured
 * fallbacks (transitively, each once), then the kind's default group (where the offline
 * engine lives) unless it was already in the chain.
 */
export function groupChain(group: string, fallbacks: Record<string, string[]>, defaultGroup: string): string[] {
  const chain: string[] = [];
  const visit = (g: string) => {
    if (chain.includes(g)) return;
    chain.push(g);
    for (const next of fallbacks[g] ?? []) visit(next);
  };
  visit(group);
  if (!chain.includes(defaultGroup)) visit(defaultGroup);
  return chain;
}
