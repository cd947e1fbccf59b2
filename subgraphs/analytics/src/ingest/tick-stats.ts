import type { EventData } from "@startales/service-kit";
import type { EventRow } from "./event-rows";

type TickStats = EventData<"TICK_STATS">;

/** A campaign's economy after a tick, from one TICK_STATS event. */
export type EconomyTickRow = Omit<TickStats, "civilizations"> & { eventId: string; recordedAt: string };

/** One civilization's standing after a tick. */
export type CivilizationTickRow = TickStats["civilizations"][number] & { eventId: string; campaignId: string; tick: number };

/** A player's commands in a campaign, counted on the day of the TICK_STATS that reported them. */
export type CommandRow = { eventId: string; day: string; at: string; campaignId: string; userId: string; commands: number };

/** The first time a user did something the funnel counts: joined a campaign, had a command decided. */
export type MilestoneRow = { eventId: string; userId: string; milestone: "JOINED" | "COMMANDED"; at: string };

/**
 * Simulation's TICK_STATS events of a batch, as rows of the economy, civilization and command
 * rollups, and the funnel's milestones (a campaign joined, a command decided), each tagged
 * with its event so an engine keeps only those of events new to it.
 */
export function tickStatRows(rows: EventRow[]): { economy: EconomyTickRow[]; civilizations: CivilizationTickRow[]; commands: CommandRow[]; milestones: MilestoneRow[] } {
  const economy: EconomyTickRow[] = [];
  const civilizations: CivilizationTickRow[] = [];
  const commands: CommandRow[] = [];
  const milestones: MilestoneRow[] = [];
  for (const row of rows) {
    if (row.type === "PLAYER_JOINED" && row.family === "campaign" && row.actorId) milestones.push({ eventId: row.id, userId: row.actorId, milestone: "JOINED", at: row.occurredAt });
    if (row.type !== "TICK_STATS" || row.family !== "telemetry") continue;
    const { civilizations: civs, ...world } = row.data as TickStats;
    economy.push({ ...world, eventId: row.id, recordedAt: row.occurredAt });
    for (const civ of civs) {
      civilizations.push({ ...civ, eventId: row.id, campaignId: world.campaignId, tick: world.tick });
      if (!civ.playerId || civ.commands === 0) continue;
      commands.push({ eventId: row.id, day: row.occurredAt.slice(0, 10), at: row.occurredAt, campaignId: world.campaignId, userId: civ.playerId, commands: civ.commands });
      milestones.push({ eventId: row.id, userId: civ.playerId, milestone: "COMMANDED", at: row.occurredAt });
    }
  }
  return { economy, civilizations, commands, milestones };
}
