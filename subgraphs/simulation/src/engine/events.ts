/** What a tick announces. Data holds ids and numbers only; readers fetch the rest by id. */
export const EVENT_TYPES = [
  "TICK_COMPLETED",
  "COMMAND_REJECTED",
  "FLEET_ARRIVED",
  "BATTLE_RESOLVED",
  "FLEET_DESTROYED",
  "RESEARCH_COMPLETED",
  "BUILD_COMPLETED",
  "PRICE_SHOCK",
  "WAR_DECLARED",
  "PEACE_MADE",
  "TREATY_SIGNED",
  "CHARACTER_LEVELED",
  "CORPORATION_REROUTED",
  "CIVILIZATION_UNREST",
  "CIVILIZATION_CLAIMED",
  "CIVILIZATION_RELEASED",
] as const;
export type SimEventType = (typeof EVENT_TYPES)[number];

export interface SimEvent {
  type: SimEventType;
  tick: number;
  data: Record<string, string | number>;
}
