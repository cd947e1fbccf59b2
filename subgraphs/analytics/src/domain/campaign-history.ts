import type { AnalyticsStore, CivilizationTick, EconomyTick } from "../store/analytics-store";
import type { CampaignHistoryArgs, LeaderboardHistoryArgs } from "./input";

export type EconomyPoint = Omit<EconomyTick, "prices"> & { campaignId: string; prices: { good: string; price: number }[] };

/** A campaign's economy at each recorded tick, prices as a list (in the order the simulation names its goods). */
export async function economyHistory(store: AnalyticsStore, args: CampaignHistoryArgs): Promise<EconomyPoint[]> {
  const ticks = await store.economyHistory(args);
  return ticks.map((tick) => ({ ...tick, campaignId: args.campaignId, prices: Object.entries(tick.prices).map(([good, price]) => ({ good, price })) }));
}

export type Standing = CivilizationTick & { rank: number };

/**
 * The leaderboard at each recorded tick: every civilization ranked by score (1 the highest;
 * equal scores share a rank), or one civilization's standing with its rank among all.
 */
export async function leaderboardHistory(store: AnalyticsStore, args: LeaderboardHistoryArgs): Promise<{ tick: number; standings: Standing[] }[]> {
  const rows = await store.civilizationHistory(args);
  const ticks: { tick: number; standings: Standing[] }[] = [];
  for (const row of rows) {
    let current = ticks.at(-1);
    if (!current || current.tick !== row.tick) {
      current = { tick: row.tick, standings: [] };
      ticks.push(current);
    }
    const above = current.standings.at(-1);
    const rank = above && above.score === row.score ? above.rank : current.standings.length + 1;
    current.standings.push({ ...row, rank });
  }
  if (args.civId === null) return ticks;
  return ticks.map(({ tick, standings }) => ({ tick, standings: standings.filter((s) => s.civId === args.civId) }));
}
