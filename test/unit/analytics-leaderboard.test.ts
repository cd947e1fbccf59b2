import { leaderboardHistory } from "../../subgraphs/analytics/src/domain/campaign-history";
import type { AnalyticsStore, CivilizationTick } from "../../subgraphs/analytics/src/store/analytics-store";

/** Only the read the domain makes here; the engines' own answers are the contract suite's (analytics-store.test.ts). */
const storeWith = (rows: CivilizationTick[]) => ({ civilizationHistory: async () => rows }) as unknown as AnalyticsStore;
const standing = (tick: number, civId: string, score: number): CivilizationTick => ({ tick, civId, playerId: null, population: 0, credits: 0, score, stability: 50, ships: 0, output: 0, eliminated: false, commands: 0 });
const args = { campaignId: "00000000-0000-4000-8000-000000000001", fromTick: 0, first: 10 };

describe("the leaderboard's history", () => {
  // The store answers by tick, then score (highest first).
  const rows = [standing(10, "a", 300), standing(10, "b", 200), standing(10, "c", 200), standing(10, "d", 100), standing(20, "d", 500), standing(20, "a", 400)];

  it("ranks each tick's civilizations by score, equal scores sharing a rank", async () => {
    const ticks = await leaderboardHistory(storeWith(rows), { ...args, civId: null });
    expect(ticks.map((t) => [t.tick, t.standings.map((s) => `${s.civId}${s.rank}`)])).toEqual([
      [10, ["a1", "b2", "c2", "d4"]],
      [20, ["d1", "a2"]],
    ]);
  });

  it("gives one civilization's standing with its rank among all", async () => {
    const ticks = await leaderboardHistory(storeWith(rows), { ...args, civId: "d" });
    expect(ticks.map((t) => [t.tick, t.standings.map((s) => [s.civId, s.rank])])).toEqual([
      [10, [["d", 4]]],
      [20, [["d", 1]]],
    ]);
  });
});
