import type { EventData } from "@startales/service-kit";
import { GOODS, type World } from "../engine";

/**
 * What analytics keeps of a tick (TICK_STATS): the world's totals (its KPIs, computed by the
 * tick's kpis step), each good's mean price over the markets, and every civilization's
 * standing, with the commands its player had decided since the last record and the goods its
 * cities produced in the tick (`output`, from the tick's outcome: the world does not keep it).
 * Read from the saved world, so it is what the tick decided.
 */
export function tickStatsOf(
  campaignId: string,
  world: World,
  commandsByPlayer: ReadonlyMap<string, number> = new Map(),
  output: ReadonlyMap<string, number> = new Map(),
): EventData<"TICK_STATS"> {
  const population = new Map<string, number>();
  for (const city of world.cities) population.set(city.ownerId, (population.get(city.ownerId) ?? 0) + city.population);
  const ships = new Map<string, number>();
  for (const fleet of world.fleets) ships.set(fleet.ownerId, (ships.get(fleet.ownerId) ?? 0) + fleet.ships.reduce((sum, n) => sum + n, 0));
  const prices: Record<string, number> = {};
  GOODS.forEach((good, g) => {
    const quotes = world.markets.map((market) => market.goods[g]?.price ?? 0);
    prices[good] = quotes.length ? Math.round((quotes.reduce((sum, p) => sum + p, 0) / quotes.length) * 100) / 100 : 0;
  });
  const { kpis } = world;
  return {
    campaignId,
    tick: world.tick,
    population: kpis.population,
    credits: Math.round(kpis.credits),
    ships: kpis.ships,
    battles: kpis.battles,
    tradeVolume: Math.round(kpis.tradeVolume),
    meanStability: kpis.meanStability,
    prices,
    civilizations: world.civilizations.map((civ) => ({
      civId: civ.id,
      playerId: civ.playerId,
      population: population.get(civ.id) ?? 0,
      credits: Math.round(civ.credits),
      score: Math.round(civ.score),
      stability: Math.round(civ.stability),
      ships: ships.get(civ.id) ?? 0,
      output: output.get(civ.id) ?? 0,
      eliminated: civ.eliminated,
      commands: civ.playerId ? (commandsByPlayer.get(civ.playerId) ?? 0) : 0,
    })),
  };
}
