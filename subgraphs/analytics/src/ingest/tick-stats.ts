import type { EventRow } from "./event-rows";

/** A campaign's economy after a tick, from one TICK_STATS event. */
export type EconomyTickRow = {
  eventId: string;
  campaignId: string;
  tick: number;
  recordedAt: string;
  population: number;
  credits: number;
  ships: number;
  battles: number;
  tradeVolume: number;
  meanStability: number;
  prices: Record<string, number>;
};

/** One civilization's standing after a tick. */
export type CivilizationTickRow = {
  eventId: string;
  campaignId: string;
  tick: number;
  civId: string;
  playerId: string | null;
  population: number;
  credits: number;
  score: number;
  stability: number;
  ships: number;
  eliminated: boolean;
};

type TickStats = Omit<EconomyTickRow, "eventId" | "recordedAt"> & { civilizations: Omit<CivilizationTickRow, "eventId" | "campaignId" | "tick">[] };

/** Simulation's TICK_STATS events of a batch, as rows of the economy and civilization rollups, each tagged with its event. */
export function tickStatRows(rows: EventRow[]): { economy: EconomyTickRow[]; civilizations: CivilizationTickRow[] } {
  const economy: EconomyTickRow[] = [];
  const civilizations: CivilizationTickRow[] = [];
  for (const row of rows) {
    if (row.type !== "TICK_STATS" || row.family !== "telemetry") continue;
    const { civilizations: civs, ...world } = row.data as TickStats;
    economy.push({ ...world, eventId: row.id, recordedAt: row.occurredAt });
    for (const civ of civs) civilizations.push({ ...civ, eventId: row.id, campaignId: world.campaignId, tick: world.tick });
  }
  return { economy, civilizations };
}
